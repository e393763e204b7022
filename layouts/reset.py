"""Setting a new password with a link a site admin passed on. The form posts to /auth/reset
(dashboard.webauth); an unknown, expired or used link gets one neutral message."""
import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.services import accounts, site_admin
from layouts.components.access import error_alert

dash.register_page(__name__, path_template="/reset/<token>", path="/reset/done", title="Set a new password - Halley",
                   order=3)

INVALID = "This password-reset link is invalid, used or expired. Ask an administrator for a new one."
# Messages are chosen by code so a crafted link can't put arbitrary text on the page.
ERRORS = {"mismatch": "The passwords don't match.",
          "short": f"Password must be at least {accounts.MIN_PASSWORD} characters."}


def wait_message(wait) -> str:
    try:
        minutes = max(1, round(min(int(wait), 24 * 3600) / 60))
    except (TypeError, ValueError):
        minutes = 15
    return f"Too many attempts from your address. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def _card(*children):
    return dbc.Row(dbc.Col(dbc.Card(dbc.CardBody([html.H3("Set a new password", className="mb-3"), *children]),
                                    className="shadow-sm"), md=6, lg=4), justify="center", className="mt-5")


def layout(token="", error=None, wait=None, **_query):
    if token == "done":
        return _card(dbc.Alert("Your new password is set. Your other sessions were signed out.", color="success",
                               id="reset-done"),
                     dcc.Link("Sign in", href="/login", id="reset-sign-in"))
    if error == "throttled":
        return _card(error_alert(wait_message(wait), id="reset-error"))
    state, seconds = ("invalid", 0.0) if error == "invalid" else site_admin.open_reset_link(
        context.db(), token, context.client_address())
    if state == "throttled":
        return _card(error_alert(wait_message(seconds), id="reset-error"))
    if state != "valid":
        return _card(error_alert(INVALID, id="reset-error"), dcc.Link("Go to sign in", href="/login"))
    return _card(
        error_alert(ERRORS.get(error or ""), id="reset-error"),
        html.Form([
            dbc.Input(type="hidden", name="token", value=token, id="reset-token"),
            dbc.Label("New password", html_for="reset-password"),
            dbc.Input(id="reset-password", name="password", type="password", required=True, minLength=8,
                      autoComplete="new-password", className="mb-2"),
            dbc.Label("Repeat the new password", html_for="reset-password2"),
            dbc.Input(id="reset-password2", name="password2", type="password", required=True, minLength=8,
                      autoComplete="new-password", className="mb-3"),
            dbc.Button("Set password", id="reset-submit", type="submit", color="primary", className="w-100"),
        ], action="/auth/reset", method="POST"),
    )
