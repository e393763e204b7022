"""/admin: every account of the server, for site admins."""
import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components.admin_nav import admin_frame, admin_gate
from layouts.components.confirm_dialog import confirm_dialog

dash.register_page(__name__, path="/admin", title="Administration - Halley", order=5)


def create_form():
    return dbc.Card(dbc.CardBody([
        html.H6("Create a user"),
        dbc.Row([
            dbc.Col(dbc.Input(id="admin-create-username", placeholder="Username", maxLength=64,
                              autoComplete="off"), md=3),
            dbc.Col(dbc.Input(id="admin-create-email", placeholder="Email", type="email", maxLength=254,
                              autoComplete="off"), md=3),
            dbc.Col(dbc.Input(id="admin-create-password", placeholder="Initial password (8+ characters)",
                              type="password", autoComplete="new-password"), md=3),
            dbc.Col(dbc.Checkbox(id="admin-create-admin", label="Site admin", value=False), md=1,
                    className="d-flex align-items-center"),
            dbc.Col(dbc.Button("Create", id="admin-create-submit", color="primary", className="w-100"), md=2),
        ], className="g-2"),
        dbc.FormText("The user gets a workspace named after them. Send them the password, or a reset link "
                     "from the table below so they choose their own."),
    ]), className="mb-3")


def layout(**_query):
    gate = admin_gate("/admin")
    if gate is not None:
        return gate
    return admin_frame("/admin", html.Div([
        create_form(),
        html.Div(id="admin-message"),
        html.Div(id="admin-reset-link"),
        dbc.Row([
            dbc.Col(dbc.Input(id="admin-search", placeholder="Search username, email or name", type="search",
                              debounce=True), md=5),
            dbc.Col(dcc.Dropdown(id="admin-state", clearable=False, searchable=False, value="all", options=[
                {"label": "All users", "value": "all"}, {"label": "Active", "value": "active"},
                {"label": "Deactivated", "value": "deactivated"}, {"label": "Site admins", "value": "admins"}]),
                md=2),
            dbc.Col(html.Div([
                dbc.Button(html.I(className="bi bi-chevron-left"), id="admin-prev", color="light", size="sm",
                           title="Previous page"),
                html.Span(id="admin-page-label", className="mx-2 small text-muted"),
                dbc.Button(html.I(className="bi bi-chevron-right"), id="admin-next", color="light", size="sm",
                           title="Next page"),
            ], className="d-flex align-items-center justify-content-end"), md=5),
        ], className="g-2 mb-2 align-items-center"),
        dcc.Store(id="admin-page", data=0),
        dcc.Store(id="admin-refresh", data=0),
        dcc.Store(id="admin-target"),
        html.Div(id="admin-users"),
        confirm_dialog("admin-confirm", "Are you sure?", "Confirm"),
    ]))
