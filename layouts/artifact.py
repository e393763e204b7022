import dash
from dash import dcc, html

from dashboard import context
from dashboard.errors import NotFound
from dashboard.services import artifacts
from layouts.components.access import actor, not_found, sign_in_redirect
from layouts.components.artifacts import version_cards
from layouts.components.project_header import route_names

# before /artifacts/<workspace>, whose wildcard would take "<workspace>/<name>" too
dash.register_page(__name__, path_template="/artifacts/<workspace>/<name>", path="/artifact",
                   title="Artifact - Halley", order=6)


def layout(workspace: str = "", name: str = "", **_query):
    names = route_names(workspace, name)
    if names is None:
        return not_found()
    me = actor()
    with context.db().session() as s:
        try:
            artifact = artifacts.find_artifact(s, me, workspace=names[0], name=names[1])
            ws = artifacts.readable_workspace(s, me, names[0])
            views = artifacts.version_views(s, me, artifact)
        except NotFound:
            if not me.is_authenticated:
                return sign_in_redirect(f"/artifacts/{workspace}/{name}")
            return not_found(f"Artifact '{names[1]}' not found.")
    return html.Div([
        html.Div([dcc.Link(ws.name, href=f"/{ws.name}"), " / ",
                  dcc.Link("Artifacts", href=f"/artifacts/{ws.name}", id="artifact-back")],
                 className="text-muted mb-1"),
        html.Div([html.H3(artifact.name, className="mb-0 me-3", id="artifact-title"),
                  html.Span(artifact.type, className="badge bg-light text-dark border")],
                 className="d-flex align-items-center mb-3"),
        version_cards(views),
    ], id="artifact-page")
