"""Projects: lookup with access checks, creation (also on first log), listing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from dashboard.auth import Actor, can_read_project, can_write_workspace, role_in
from dashboard.errors import Forbidden, Invalid, NotFound
from dashboard.services import workspaces
from models import Experiment, Project

MAX_PROJECT_NAME = 100


@dataclass
class ProjectSummary:
    id: int
    name: str
    description: str
    is_public: bool
    experiment_count: int
    updated_at: datetime
    created_at: datetime


def check_project_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_PROJECT_NAME or "/" in name or name.startswith(".") or name in ("compare",):
        raise Invalid("Project name must be 1-100 characters, without '/', not starting with '.'")
    return name


def find(session: Session, workspace_id: int, name: str) -> Project | None:
    return session.exec(
        select(Project).where(Project.workspace_id == workspace_id, func.lower(Project.name) == name.lower())
    ).first()


def get_readable(session: Session, actor: Actor, workspace_name: str, project_name: str) -> Project:
    """The project if the actor may read it; NotFound otherwise (no existence leak)."""
    ws = workspaces.find_by_name(session, workspace_name)
    project = find(session, ws.id, project_name) if ws is not None else None
    if project is None or not can_read_project(session, actor, project):
        raise NotFound(f"Project '{workspace_name}/{project_name}' not found")
    return project


def get_or_create_for_logging(session: Session, actor: Actor, workspace_name: str | None,
                              project_name: str | None) -> Project:
    """The project an SDK run logs into, created on first use in a workspace the actor can write."""
    ws_name = workspace_name or workspaces.default_workspace_name(session, actor)
    ws = workspaces.find_by_name(session, ws_name or "")
    if ws is None or role_in(session, actor.user_id, ws.id) is None:
        raise NotFound(f"Workspace '{ws_name}' not found")
    if not can_write_workspace(session, actor, ws.id):
        raise Forbidden(f"You can't log experiments in workspace '{ws.name}' (read-only role)")
    name = check_project_name(project_name or "general")
    project = find(session, ws.id, name)
    if project is None:
        project = Project(workspace_id=ws.id, name=name, created_by_id=actor.user_id)
        session.add(project)
        session.flush()
    return project


def list_readable(session: Session, actor: Actor, workspace_id: int) -> list[ProjectSummary]:
    stmt = select(Project).where(Project.workspace_id == workspace_id)
    if role_in(session, actor.user_id, workspace_id) is None:
        stmt = stmt.where(Project.is_public == True)  # noqa: E712
    items = session.exec(stmt.order_by(Project.name)).all()
    ids = [p.id for p in items]
    counts = dict(session.exec(
        select(Experiment.project_id, func.count()).where(
            Experiment.project_id.in_(ids), Experiment.archived == False  # noqa: E712
        ).group_by(Experiment.project_id)
    ).all()) if ids else {}
    return [ProjectSummary(p.id, p.name, p.description, p.is_public, counts.get(p.id, 0), p.updated_at,
                           p.created_at) for p in items]
