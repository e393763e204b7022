"""Where a new owner starts: the demo project when the server has one, else "Get started"."""
from __future__ import annotations

from urllib.parse import quote

from sqlmodel import Session

from dashboard.auth import Actor
from dashboard.errors import HalleyError
from dashboard.services import projects, workspaces
from dashboard.services.demo_owner import DEMO_USERNAME

DEMO_PROJECT = "digits-mlp"  # what ``halley demo`` logs into by default
GET_STARTED = "/get-started"
FIRST_PROJECT = "my-first-project"  # the project the "Get started" snippet logs into


def landing_path(session: Session, actor: Actor) -> str:
    """The first page after first-run setup: the demo project when it exists and ``actor``
    can read it (the first account adopts the demo workspace), else the "Get started" page."""
    try:
        projects.get_readable(session, actor, DEMO_USERNAME, DEMO_PROJECT)
    except HalleyError:
        return GET_STARTED
    return f"/{quote(DEMO_USERNAME, safe='')}/{quote(DEMO_PROJECT, safe='')}"


def start_workspace(session: Session, actor: Actor, requested: str | None) -> str | None:
    """The workspace "Get started" is about: ``requested`` when ``actor`` may log into it,
    else their default workspace."""
    if requested:
        try:
            ws, role = workspaces.get_visible(session, actor, requested)
        except HalleyError:
            ws, role = None, None
        if ws is not None and role is not None and role.can_write:
            return ws.name
    return workspaces.default_workspace_name(session, actor)
