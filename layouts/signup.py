import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.webauth import read_message
from layouts.components.access import actor, error_alert, not_found
from layouts.components.account_fields import account_fields

dash.register_page(__name__, path="/signup", title="Create an account - Halley", order=3)


def layout(error=None, username="", email="", **_query):
    settings = context.settings()
    if not settings.open_signup:
        return not_found("Sign-up is not open on this server. Ask a workspace owner for an invitation link.")
    if actor().is_authenticated:
        return dcc.Location(id="page-redirect", href="/workspaces", refresh=True)
    domains = settings.signup_email_domains
    note = (html.P(["Open to email addresses at ", html.B(", ".join(domains)), "."], className="text-muted small",
                   id="signup-domains") if domains else None)
    return dbc.Row(
        dbc.Col(
            dbc.Card(
                dbc.CardBody([
                    html.H3("Create an account", className="mb-1"),
                    note,
                    error_alert(read_message(error), id="signup-error"),
                    html.Form(account_fields("signup", username, email) + [
                        dbc.Button("Create account", id="signup-submit", type="submit", color="primary",
                                   className="w-100"),
                    ], action="/auth/signup", method="POST"),
                    html.Div(["Already have an account? ", html.A("Sign in", href="/login", id="signup-login")],
                             className="mt-3 small text-muted"),
                ]),
                className="shadow-sm",
            ),
            md=6, lg=4,
        ),
        justify="center",
        className="mt-5",
    )
