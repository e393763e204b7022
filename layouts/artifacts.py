import dash
from dash import dcc, html

from dashboard.services import artifacts
from layouts.components.access import not_found
from layouts.components.artifacts import artifacts_table, members_page
from layouts.components.project_header import route_names

# before the /<workspace>/<project> pages: "artifacts" is a reserved workspace name
dash.register_page(__name__, path_template="/artifacts/<workspace>", path="/artifacts",
                   title="Artifacts - Halley", order=7)


def layout(workspace: str = "", **_query):
    names = route_names(workspace)
    if names is None:
        return not_found()

    def page(s, me):
        rows = artifacts.list_artifacts(s, me, names[0])
        ws = artifacts.readable_workspace(s, me, names[0])
        return html.Div([
            html.Div([dcc.Link(ws.name, href=f"/{ws.name}"), html.Span(" / Artifacts")], className="text-muted mb-1"),
            html.H3("Artifacts", className="mb-3", id="artifacts-title"),
            artifacts_table(ws.name, rows),
        ], id="artifacts-page")

    return members_page(f"/artifacts/{workspace}", f"Workspace '{names[0]}' not found.", page)
