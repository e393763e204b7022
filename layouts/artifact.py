import dash
from dash import dcc, html

from dashboard.services import artifacts
from layouts.components.access import not_found
from layouts.components.artifacts import members_page, version_cards
from layouts.components.project_header import route_names

# before /artifacts/<workspace>, whose wildcard would take "<workspace>/<name>" too
dash.register_page(__name__, path_template="/artifacts/<workspace>/<name>", path="/artifact",
                   title="Artifact - Halley", order=6)


def layout(workspace: str = "", name: str = "", **_query):
    names = route_names(workspace, name)
    if names is None:
        return not_found()

    def page(s, me):
        artifact = artifacts.find_artifact(s, me, workspace=names[0], name=names[1])
        ws = artifacts.readable_workspace(s, me, names[0])
        return html.Div([
            html.Div([dcc.Link(ws.name, href=f"/{ws.name}"), " / ",
                      dcc.Link("Artifacts", href=f"/artifacts/{ws.name}", id="artifact-back")],
                     className="text-muted mb-1"),
            html.Div([html.H3(artifact.name, className="mb-0 me-3", id="artifact-title"),
                      html.Span(artifact.type, className="badge bg-light text-dark border")],
                     className="d-flex align-items-center mb-3"),
            version_cards(artifacts.version_views(s, me, artifact)),
        ], id="artifact-page")

    return members_page(f"/artifacts/{workspace}/{name}", f"Artifact '{names[1]}' not found.", page)
