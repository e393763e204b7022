"""Saved project views (``SavedView`` with kind "project") and saved queries of a project.

Anyone who can read the project can list and open them; saving, setting the default and
deleting need write access. The state stored is validated by ``view_state.ProjectViewState``.
"""
from __future__ import annotations

import json

from sqlalchemy import func, select, update
from sqlmodel import Session

from dashboard.auth import Actor, can_read_project, can_write_project
from dashboard.db import is_id
from dashboard.errors import Conflict, Forbidden, Invalid, NotFound
from dashboard.query import validate_filters
from dashboard.services.view_state import normalize_state
from models import Project, SavedQuery, SavedView, utcnow

KIND = "project"
MAX_NAME = 200


def _read(session: Session, actor: Actor, project: Project) -> None:
    if not can_read_project(session, actor, project):
        raise NotFound("Project not found")


def _write(session: Session, actor: Actor, project: Project, what: str) -> None:
    _read(session, actor, project)
    if not can_write_project(session, actor, project):
        raise Forbidden(f"Only the project's collaborators can save {what}")


def _name(name: str | None) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid(f"Give it a name of 1-{MAX_NAME} characters")
    return name


# --- views ---------------------------------------------------------------------------------

def list_views(session: Session, actor: Actor, project: Project) -> list[SavedView]:
    _read(session, actor, project)
    return list(session.execute(
        select(SavedView).where(SavedView.project_id == project.id, SavedView.kind == KIND,
                                SavedView.deleted == False)  # noqa: E712
        .order_by(func.lower(SavedView.name))
    ).scalars())


def get_view(session: Session, actor: Actor, project: Project, view_id) -> SavedView:
    _read(session, actor, project)
    view = session.get(SavedView, view_id) if is_id(view_id) else None
    if view is None or view.project_id != project.id or view.kind != KIND or view.deleted:
        raise NotFound("View not found")
    return view


def default_view(session: Session, actor: Actor, project: Project) -> SavedView | None:
    _read(session, actor, project)
    return session.execute(
        select(SavedView).where(SavedView.project_id == project.id, SavedView.kind == KIND,
                                SavedView.is_default == True, SavedView.deleted == False)  # noqa: E712
    ).scalars().first()


def view_state(view: SavedView) -> dict:
    try:
        return normalize_state(json.loads(view.state_json))
    except (ValueError, Invalid):
        return normalize_state(None)


def create_view(session: Session, actor: Actor, project: Project, name: str, state) -> SavedView:
    _write(session, actor, project, "views")
    name = _name(name)
    taken = session.execute(select(SavedView.id).where(
        SavedView.project_id == project.id, SavedView.kind == KIND, SavedView.deleted == False,  # noqa: E712
        func.lower(SavedView.name) == func.lower(name))).first()
    if taken:
        raise Conflict(f"A view named '{name}' already exists")
    view = SavedView(project_id=project.id, kind=KIND, name=name, created_by_id=actor.user_id,
                     state_json=json.dumps(normalize_state(state)))
    session.add(view)
    session.flush()
    return view


def update_view(session: Session, actor: Actor, project: Project, view_id, state) -> SavedView:
    _write(session, actor, project, "views")
    view = get_view(session, actor, project, view_id)
    view.state_json = json.dumps(normalize_state(state))
    view.updated_at = utcnow()
    session.add(view)
    session.flush()
    return view


def set_default(session: Session, actor: Actor, project: Project, view_id) -> SavedView:
    _write(session, actor, project, "views")
    view = get_view(session, actor, project, view_id)
    session.execute(update(SavedView).where(SavedView.project_id == project.id, SavedView.kind == KIND)
                    .values(is_default=False))
    view.is_default = True
    session.add(view)
    session.flush()
    return view


def delete_view(session: Session, actor: Actor, project: Project, view_id) -> None:
    _write(session, actor, project, "views")
    view = get_view(session, actor, project, view_id)
    view.deleted = True
    view.is_default = False
    session.add(view)


# --- queries -------------------------------------------------------------------------------

def list_queries(session: Session, actor: Actor, project: Project) -> list[SavedQuery]:
    _read(session, actor, project)
    return list(session.execute(
        select(SavedQuery).where(SavedQuery.project_id == project.id, SavedQuery.deleted == False)  # noqa: E712
        .order_by(func.lower(SavedQuery.name))
    ).scalars())


def get_query(session: Session, actor: Actor, project: Project, query_id) -> SavedQuery:
    _read(session, actor, project)
    saved = session.get(SavedQuery, query_id) if is_id(query_id) else None
    if saved is None or saved.project_id != project.id or saved.deleted:
        raise NotFound("Query not found")
    return saved


def query_filters(saved: SavedQuery) -> dict:
    try:
        return validate_filters(json.loads(saved.filters_json) or None)
    except (ValueError, Invalid):
        return validate_filters(None)


def create_query(session: Session, actor: Actor, project: Project, name: str, filters) -> SavedQuery:
    _write(session, actor, project, "queries")
    name = _name(name)
    taken = session.execute(select(SavedQuery.id).where(
        SavedQuery.project_id == project.id, SavedQuery.deleted == False,  # noqa: E712
        func.lower(SavedQuery.name) == func.lower(name))).first()
    if taken:
        raise Conflict(f"A query named '{name}' already exists")
    saved = SavedQuery(project_id=project.id, name=name, created_by_id=actor.user_id,
                       filters_json=json.dumps(validate_filters(filters)))
    session.add(saved)
    session.flush()
    return saved


def update_query(session: Session, actor: Actor, project: Project, query_id, filters) -> SavedQuery:
    _write(session, actor, project, "queries")
    saved = get_query(session, actor, project, query_id)
    saved.filters_json = json.dumps(validate_filters(filters))
    session.add(saved)
    session.flush()
    return saved


def delete_query(session: Session, actor: Actor, project: Project, query_id) -> None:
    _write(session, actor, project, "queries")
    saved = get_query(session, actor, project, query_id)
    saved.deleted = True
    session.add(saved)
