from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import html
from flask import has_app_context

from dashboard import context
from layouts.components.access import error_alert

dash.register_page(__name__, path="/login", title="Sign in - Halley", order=1)

# Messages are chosen by code so a crafted link can't put arbitrary text on the sign-in page.
ERRORS = {"credentials": "Wrong username or password.",
          "throttled": "Too many failed sign-ins. Try again in {wait}, or ask an administrator to unlock the "
                       "account.",
          # One message for every single sign-on refusal: it never tells whether an email has an account.
          "sso": "Single sign-on didn't sign you in. If you should have access to Halley, ask an administrator.",
          "sso_unavailable": "Single sign-on is unavailable right now. Try again in a few minutes."}


def error_message(error, wait=None) -> str | None:
    message = ERRORS.get(error or "")
    if message is None or "{wait}" not in message:
        return message
    try:
        seconds = max(1, min(int(wait), 24 * 3600))
    except (TypeError, ValueError):
        return message.format(wait="a few minutes")
    if seconds < 90:
        return message.format(wait=f"{seconds} second{'s' if seconds != 1 else ''}")
    return message.format(wait=f"{round(seconds / 60)} minutes")


def single_sign_on(next_url: str):
    """The "Sign in with ..." button when single sign-on is set up (HALLEY_OIDC_ISSUER)."""
    oidc = context.settings().oidc if has_app_context() else None
    if oidc is None:
        return None
    return html.Div(
        [
            html.Div(html.Span("or", className="px-2 bg-white text-muted small"),
                     className="text-center border-bottom lh-1 my-3", style={"height": "0.6rem"}),
            # A link, not a form: the page's form-action policy allows posting only to Halley,
            # and this request is sent on to the provider.
            html.A(f"Sign in with {oidc.name}", id="login-sso", className="btn btn-outline-secondary w-100",
                   href="/auth/oidc/login?" + urlencode({"next": next_url or "/"})),
        ],
        id="login-sso-section",
    )


def layout(error=None, next="/", username="", wait=None, **_query):
    return dbc.Row(
        dbc.Col(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H3("Sign in to Halley", className="mb-3"),
                        error_alert(error_message(error, wait), id="login-error"),
                        html.Form(
                            [
                                dbc.Label("Username or email", html_for="login-username"),
                                dbc.Input(id="login-username", name="username", value=username, autoFocus=True,
                                          autoComplete="username", required=True, className="mb-2"),
                                dbc.Label("Password", html_for="login-password"),
                                dbc.Input(id="login-password", name="password", type="password",
                                          autoComplete="current-password", required=True, className="mb-2"),
                                dbc.Checkbox(id="login-remember", name="remember", value=True,
                                             label="Remember me", className="mb-3"),
                                dbc.Input(type="hidden", name="next", value=next or "/", id="login-next"),
                                dbc.Button("Sign in", id="login-submit", type="submit", color="primary",
                                           className="w-100"),
                            ],
                            action="/auth/login",
                            method="POST",
                        ),
                        single_sign_on(next),
                        html.Div(["New here? ", html.A("Create an account", href="/signup", id="login-signup")],
                                 className="mt-3 small text-muted") if context.settings().open_signup else None,
                    ]
                ),
                className="shadow-sm",
            ),
            md=6, lg=4,
        ),
        justify="center",
        className="mt-5",
    )
