import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.services import workspaces
from layouts.components.access import actor, require_signed_in

dash.register_page(__name__, path="/workspaces", title="Workspaces - Halley", order=3)


def workspace_table(summaries):
    if not summaries:
        return html.P("You are not a member of any workspace yet.", className="text-muted")
    header = html.Thead(html.Tr([html.Th("Workspace"), html.Th("Your role"), html.Th("Projects"),
                                 html.Th("Collaborators"), html.Th("")]))
    rows = [
        html.Tr([
            html.Td([dcc.Link(w.name, href=f"/{w.name}", className="fw-semibold"),
                     dbc.Badge("default", color="secondary", className="ms-2") if w.is_default else None]),
            html.Td(w.role),
            html.Td(w.project_count),
            html.Td(w.member_count),
            html.Td(dcc.Link([html.I(className="bi bi-gear me-1"), "Settings"],
                             href=f"/settings/collaborators?workspace={w.name}"), className="text-end"),
        ], className="workspaces-row")
        for w in summaries
    ]
    return dbc.Table([header, html.Tbody(rows)], hover=True, className="align-middle", id="workspaces-table")


def layout(**_query):
    redirect = require_signed_in("/workspaces")
    if redirect is not None:
        return redirect
    with context.db().session() as s:
        summaries = workspaces.list_for(s, actor())
    return html.Div(
        [
            html.Div(
                [
                    html.H3("Workspaces", className="mb-0"),
                    dbc.Button([html.I(className="bi bi-plus-lg me-1"), "Create a workspace"],
                               id="workspaces-create-open", color="primary"),
                ],
                className="d-flex justify-content-between align-items-center mb-3",
            ),
            html.Div(workspace_table(summaries), id="workspaces-list"),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle("Create a workspace")),
                    dbc.ModalBody([
                        dbc.Label("Workspace name", html_for="workspaces-create-name"),
                        dbc.Input(id="workspaces-create-name", placeholder="e.g. vision-team", maxLength=64),
                        dbc.FormText("Letters, digits, '-', '_' and '.'; it becomes part of URLs."),
                        html.Div(id="workspaces-create-error", className="mt-2"),
                    ]),
                    dbc.ModalFooter([
                        dbc.Button("Cancel", id="workspaces-create-cancel", color="secondary", outline=True),
                        dbc.Button("Create", id="workspaces-create-submit", color="primary"),
                    ]),
                ],
                id="workspaces-create-modal",
                is_open=False,
            ),
        ]
    )
