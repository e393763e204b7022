"""The page of an invitation link: which workspace and role it offers; a signed-in user joins
with one click, a newcomer creates an account (or signs in first)."""
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard import context
from dashboard.services import accounts, invites
from dashboard.webauth import read_message
from layouts.components.access import actor, error_alert
from layouts.components.account_fields import account_fields

dash.register_page(__name__, path_template="/invite/<token>", path="/invite/link", title="Invitation - Halley",
                   order=5)


def _card(children):
    return dbc.Row(dbc.Col(dbc.Card(dbc.CardBody(children), className="shadow-sm"), md=7, lg=5),
                   justify="center", className="mt-5")


def layout(token="", error=None, username="", email="", **_query):
    me = actor()
    with context.db().session() as s:
        view = invites.find(s, token)
        user = accounts.get_user(s, me.user_id) if me.is_authenticated else None
    message = read_message(error)
    if view is None:
        return _card([html.H3("Invitation", className="mb-3"),
                      error_alert(message, id="invite-error"),
                      html.P(invites.UNUSABLE, className="text-muted", id="invite-unusable"),
                      html.A("Go to Halley", href="/")])
    here = "/invite/" + token
    heading = [html.H3("You're invited", className="mb-2"),
               html.P(["Join the workspace ", html.B(view.workspace, id="invite-workspace"), " as ",
                       html.B(view.role, id="invite-role"), "."], className="mb-3")]
    token_field = dbc.Input(type="hidden", name="token", value=token, id="invite-token")
    if user is not None:
        return _card(heading + [
            error_alert(message, id="invite-error"),
            html.Form([token_field,
                       dbc.Button(f"Join {view.workspace}", id="invite-join", type="submit", color="primary",
                                  className="w-100")],
                      action="/auth/invite/join", method="POST"),
            html.Div([f"Signed in as {user.display_name or user.username}. Not you? ",
                      html.A("Sign out", href="/logout")], className="mt-3 small text-muted"),
        ])
    return _card(heading + [
        html.Div(["Already have an account? ",
                  html.A("Sign in to join", href="/login?" + urlencode({"next": here}), id="invite-sign-in")],
                 className="mb-3"),
        html.H6("New to Halley? Create an account"),
        error_alert(message, id="invite-error"),
        html.Form([token_field] + account_fields("invite", username, email) + [
            dbc.Button("Create account and join", id="invite-create", type="submit", color="primary",
                       className="w-100"),
        ], action="/auth/invite/signup", method="POST"),
    ])
