import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.errors import NotFound
from dashboard.services import projects, workspaces
from layouts.components.access import actor, not_found

dash.register_page(__name__, path_template="/<workspace>", path="/workspace", title="Workspace - Halley", order=70)


def layout(workspace: str = "", **_query):
    if "/" in workspace:
        return not_found()
    me = actor()
    with context.db().session() as s:
        try:
            ws, role = workspaces.get_visible(s, me, workspace)
        except NotFound:
            if not me.is_authenticated:
                from layouts.components.access import sign_in_redirect

                return sign_in_redirect(f"/{workspace}")
            return not_found(f"Workspace '{workspace}' not found.")
        items = projects.list_readable(s, me, ws.id)
    cards = [
        dbc.Col(dbc.Card(dbc.CardBody([
            html.H5(dcc.Link(p.name, href=f"/{ws.name}/{p.name}"), className="card-title"),
            html.P(p.description or "No description", className="text-muted small mb-1"),
            dbc.Badge("public" if p.is_public else "private", color="success" if p.is_public else "secondary"),
            html.Span(f" {p.experiment_count} experiments", className="small ms-2"),
        ]), className="h-100 project-card"), md=4, lg=3, className="mb-3")
        for p in items
    ]
    return html.Div([
        html.Div([
            html.H3(ws.name, className="mb-0", id="workspace-title"),
            html.Span(f"your role: {role.value}" if role else "public projects", className="text-muted ms-3"),
        ], className="d-flex align-items-baseline mb-3"),
        dbc.Row(cards) if cards else html.P("No projects yet. Log an experiment with the SDK to create one.",
                                            className="text-muted", id="workspace-empty"),
    ])
