"""Projects over REST: read, create, edit, delete; the icon; the share link; the archive.

Reads are public routes that check access themselves (public projects and share links are
readable without a key); writes need an API key or a signed-in session.
"""
from __future__ import annotations

from typing import Annotated

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dashboard import context
from dashboard.api import json_body, key_route, public_route, stored_file
from dashboard.api.openapi import body_model
from dashboard.auth import can_write_project
from dashboard.errors import Invalid
from dashboard.services import archive, projects, sharing, workspaces


class ProjectCreateIn(BaseModel):
    """Create a project in the workspace."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(max_length=2000)] = ""
    public: bool = False


class ProjectPatchIn(BaseModel):
    """Change any of a project's name, description, visibility, notes and GitHub link."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    public: bool | None = None
    notes: Annotated[str, Field(max_length=projects.MAX_NOTES)] | None = None
    github_url: Annotated[str, Field(max_length=500)] | None = None


class ExperimentKeysIn(BaseModel):
    """Archived experiments of the project, by key."""

    model_config = ConfigDict(extra="forbid")
    keys: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=archive.MAX_KEYS)]


def _parse(model: type[BaseModel]):
    try:
        return model.model_validate(json_body())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise Invalid(f"Invalid {where}: {first.get('msg')}") from None


def _project_json(session, actor, ws_name: str, project) -> dict:
    return {
        "name": project.name, "workspace": ws_name, "description": project.description,
        "public": project.is_public, "notes": project.notes, "github_url": project.github_url,
        "created_at": project.created_at.isoformat(), "updated_at": project.updated_at.isoformat(),
        "can_write": can_write_project(session, actor, project),
    }


@public_route("/workspaces/<ws>/projects/<project>", methods=["GET"])
def project_get(ws, project):
    """A project's details (public projects and share-link visitors need no key)."""
    actor = context.current_actor()
    with context.db().session() as s:
        p = projects.get_readable(s, actor, ws, project)
        return jsonify(_project_json(s, actor, projects.workspace_name(s, p), p))


@key_route("/workspaces/<ws>/projects", methods=["POST"])
@body_model(ProjectCreateIn)
def project_create(ws, actor):
    """Create a project."""
    body = _parse(ProjectCreateIn)
    with context.db().session() as s:
        space = workspaces.get_readable(s, actor, ws)
        p = projects.create(s, actor, space.id, body.name, body.description, body.public)
        data = _project_json(s, actor, space.name, p)
    return jsonify(data), 201


@key_route("/workspaces/<ws>/projects/<project>", methods=["PATCH"])
@body_model(ProjectPatchIn)
def project_patch(ws, project, actor):
    """Edit a project (members with write access)."""
    body = _parse(ProjectPatchIn)
    with context.db().session() as s:
        p = projects.get_writable(s, actor, ws, project)
        projects.update(s, actor, p.id, name=body.name, description=body.description, is_public=body.public)
        if body.notes is not None:
            projects.set_notes(s, actor, p.id, body.notes)
        if body.github_url is not None:
            projects.set_github_url(s, actor, p.id, body.github_url)
        data = _project_json(s, actor, projects.workspace_name(s, p), p)
    return jsonify(data)


@key_route("/workspaces/<ws>/projects/<project>", methods=["DELETE"])
def project_delete(ws, project, actor):
    """Delete a project with all its experiments and their files."""
    with context.db().session() as s:
        p = projects.get_readable(s, actor, ws, project)
        n = projects.delete(s, actor, p.id, context.settings())
    return jsonify({"deleted": True, "experiments": n})


@public_route("/workspaces/<ws>/projects/<project>/icon", methods=["GET"])
def project_icon(ws, project):
    """The project's icon image (PNG), for whoever may read the project."""
    actor = context.current_actor()
    with context.db().session() as s:
        name = projects.icon_file(s, actor, ws, project)
    response = stored_file(name, "image/png", max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@key_route("/workspaces/<ws>/projects/<project>/share-link", methods=["POST"])
def project_share_create(ws, project, actor):
    """Create the project's shareable link (or return the existing one)."""
    with context.db().session() as s:
        p = projects.get_readable(s, actor, ws, project)
        token = sharing.create_link(s, actor, p.id)
    return jsonify({"token": token, "path": f"/shared/{token}"})


@key_route("/workspaces/<ws>/projects/<project>/share-link", methods=["DELETE"])
def project_share_delete(ws, project, actor):
    """Delete the project's shareable link; it stops working at once."""
    with context.db().session() as s:
        p = projects.get_readable(s, actor, ws, project)
        sharing.delete_link(s, actor, p.id)
    return jsonify({"deleted": True})


@public_route("/workspaces/<ws>/projects/<project>/archive", methods=["GET"])
def project_archive_list(ws, project):
    """The project's archived experiments."""
    actor = context.current_actor()
    with context.db().session() as s:
        p = projects.get_readable(s, actor, ws, project)
        items = archive.list_archived(s, actor, p.id)
    return jsonify({"experiments": [{"experiment_key": e.key, "name": e.name, "status": e.status} for e in items]})


@key_route("/workspaces/<ws>/projects/<project>/archive/restore", methods=["POST"])
@body_model(ExperimentKeysIn)
def project_archive_restore(ws, project, actor):
    """Restore archived experiments."""
    body = _parse(ExperimentKeysIn)
    with context.db().session() as s:
        p = projects.get_readable(s, actor, ws, project)
        n = archive.restore(s, actor, p.id, body.keys)
    return jsonify({"restored": n})


@key_route("/workspaces/<ws>/projects/<project>/archive/delete", methods=["POST"])
@body_model(ExperimentKeysIn)
def project_archive_delete(ws, project, actor):
    """Delete archived experiments permanently, with their metrics, parameters and files."""
    body = _parse(ExperimentKeysIn)
    with context.db().session() as s:
        p = projects.get_readable(s, actor, ws, project)
        n = archive.delete_permanently(s, actor, p.id, body.keys, context.settings())
    return jsonify({"deleted": n})
