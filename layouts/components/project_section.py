"""What every project section page does first: decode the URL, check access, build the header."""
from __future__ import annotations

from dataclasses import dataclass

from dashboard import context
from dashboard.errors import NotFound
from dashboard.services import projects, workspaces
from layouts.components.access import actor, not_found, sign_in_redirect
from layouts.components.project_header import project_header, project_path, route_names


@dataclass
class Section:
    workspace: str
    project: object
    can_write: bool
    header: object


def open_section(workspace: str, project: str, active: str):
    """A ``Section`` for a visitor who may read the project, else the component to show instead
    (not found, or the sign-in page for anonymous visitors)."""
    names = route_names(workspace, project)
    if names is None:
        return not_found()
    ws_name, project_name = names
    me = actor()
    with context.db().session() as s:
        try:
            found, can_write = projects.access(s, me, ws_name, project_name)
        except NotFound:
            if not me.is_authenticated:
                return sign_in_redirect(project_path(ws_name, project_name, "" if active == "experiments" else f"/{active}"))
            return not_found(f"Project '{ws_name}/{project_name}' not found.")
        ws_display = workspaces.find_by_name(s, ws_name).name
    return Section(ws_display, found, can_write, project_header(ws_display, found, active, can_write, me))
