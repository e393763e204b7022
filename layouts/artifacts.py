import dash
from dash import dcc, html

from dashboard import context
from dashboard.errors import NotFound
from dashboard.services import artifacts
from layouts.components.access import actor, not_found, sign_in_redirect
from layouts.components.artifacts import artifacts_table
from layouts.components.project_header import route_names

# before the /<workspace>/<project> pages: "artifacts" is a reserved workspace name
dash.register_page(__name__, path_template="/artifacts/<workspace>", path="/artifacts",
                   title="Artifacts - Halley", order=7)


def layout(workspace: str = "", **_query):
    names = route_names(workspace)
    if names is None:
        return not_found()
    me = actor()
    with context.db().session() as s:
        try:
            rows = artifacts.list_artifacts(s, me, names[0])
            ws = artifacts.readable_workspace(s, me, names[0])
        except NotFound:
            if not me.is_authenticated:
                return sign_in_redirect(f"/artifacts/{workspace}")
            return not_found(f"Workspace '{names[0]}' not found.")
    return html.Div([
        html.Div([dcc.Link(ws.name, href=f"/{ws.name}"), html.Span(" / Artifacts")], className="text-muted mb-1"),
        html.H3("Artifacts", className="mb-3", id="artifacts-title"),
        artifacts_table(ws.name, rows),
    ], id="artifacts-page")
