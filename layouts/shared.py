import dash
from dash import dcc
from flask import session as flask_session

from dashboard import context
from dashboard.services import projects, sharing
from layouts.components.access import not_found
from layouts.components.project_header import project_path

dash.register_page(__name__, path_template="/shared/<token>", path="/shared/link", title="Shared project - Halley",
                   order=6)


def layout(token: str = "", **_query):
    """A valid link remembers its token in this browser's session and opens the project."""
    with context.db().session() as s:
        project = sharing.project_for_token(s, token)
        target = project_path(projects.workspace_name(s, project), project.name) if project else None
    if project is None:
        return not_found("This shared link does not exist or was deleted.")
    flask_session[context.SHARE_SESSION_KEY] = sharing.remember_token(
        flask_session.get(context.SHARE_SESSION_KEY), token)
    return dcc.Location(id="shared-redirect", href=target, refresh=True)
