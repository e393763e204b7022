import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.services import accounts
from layouts.components.access import error_alert

dash.register_page(__name__, path="/setup", title="Welcome - Halley", order=2)


def layout(error=None, username="", email="", **_query):
    with context.db().session() as s:
        if accounts.user_count(s) > 0:
            return dcc.Location(id="page-redirect", href="/login", refresh=True)
    return dbc.Row(
        dbc.Col(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H3("Welcome to Halley", className="mb-1"),
                        html.P("Create the owner account of this server.", className="text-muted"),
                        error_alert(error, id="setup-error"),
                        html.Form(
                            [
                                dbc.Label("Username", html_for="setup-username"),
                                dbc.Input(id="setup-username", name="username", value=username, required=True,
                                          autoComplete="username", className="mb-2"),
                                dbc.FormText("Your default workspace gets this name.", className="d-block mb-2"),
                                dbc.Label("Email", html_for="setup-email"),
                                dbc.Input(id="setup-email", name="email", type="email", value=email, required=True,
                                          autoComplete="email", className="mb-2"),
                                dbc.Label("Password", html_for="setup-password"),
                                dbc.Input(id="setup-password", name="password", type="password", required=True,
                                          minLength=8, autoComplete="new-password", className="mb-2"),
                                dbc.Label("Repeat password", html_for="setup-password2"),
                                dbc.Input(id="setup-password2", name="password2", type="password", required=True,
                                          minLength=8, autoComplete="new-password", className="mb-3"),
                                dbc.Button("Create owner account", id="setup-submit", type="submit",
                                           color="primary", className="w-100"),
                            ],
                            action="/auth/setup",
                            method="POST",
                        ),
                    ]
                ),
                className="shadow-sm",
            ),
            md=6, lg=4,
        ),
        justify="center",
        className="mt-5",
    )
