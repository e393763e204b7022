"""/admin/audit: the audit log, for site admins."""
import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components.admin_nav import admin_frame, admin_gate

dash.register_page(__name__, path="/admin/audit", title="Audit log - Halley", order=6)


def layout(**_query):
    gate = admin_gate("/admin/audit")
    if gate is not None:
        return gate
    return admin_frame("/admin/audit", html.Div([
        dbc.Row([
            dbc.Col(dcc.Dropdown(id="admin-audit-action", placeholder="Any action", searchable=True), md=3),
            dbc.Col(dbc.Input(id="admin-audit-actor", placeholder="Who (username)", type="search", debounce=True),
                    md=2),
            dbc.Col(dbc.Input(id="admin-audit-text", placeholder="Target or detail contains", type="search",
                              debounce=True), md=3),
            dbc.Col(dcc.DatePickerRange(id="admin-audit-dates", clearable=True, display_format="YYYY-MM-DD",
                                        start_date_placeholder_text="From", end_date_placeholder_text="To"), md=4),
        ], className="g-2 mb-2 align-items-center"),
        html.Div([
            dbc.Button(html.I(className="bi bi-chevron-left"), id="admin-audit-prev", color="light", size="sm",
                       title="Newer"),
            html.Span(id="admin-audit-page-label", className="mx-2 small text-muted"),
            dbc.Button(html.I(className="bi bi-chevron-right"), id="admin-audit-next", color="light", size="sm",
                       title="Older"),
        ], className="d-flex align-items-center justify-content-end mb-2"),
        dcc.Store(id="admin-audit-page", data=0),
        html.Div(id="admin-audit-list"),
    ]))
