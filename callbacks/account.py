"""Settings > Account: the signed-in user's display name and email, password, and signing out
everywhere. Every call acts on the caller's own account (the actor), never on an id sent by
the browser; a current password is checked against the sign-in throttle."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State

from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import TEXT, optional
from dashboard import context
from dashboard.errors import NotFound, Unauthorized
from dashboard.services import accounts, own_account
from dashboard.webauth import forget_browser_session, renew_browser_session


def _user_id(call: Call) -> int:
    actor = call.actor
    if not actor.is_authenticated or actor.api_workspace_id is not None:
        raise Unauthorized("Sign in to change your account")
    return actor.user_id


def save_profile(call: Call, _n, display_name, email, password):
    user_id = _user_id(call)
    user = accounts.get_user(call.session, user_id)
    if user is None:
        raise NotFound("Account not found")
    new_email = (email or "").strip().lower()
    checked = False
    if new_email != user.email:
        call.session.rollback()  # no transaction of ours is open while the check writes its count
        own_account.verify_current_password(context.db(), user_id, password or "", context.client_address())
        checked = True
    changed = accounts.update_profile(call.session, user_id, display_name or "", email or "", checked)
    text = f"Saved your {' and '.join(changed)}." if changed else "Nothing to change."
    return dbc.Alert(text, color="success", className="py-2 mb-0", id="settings-account-profile-ok"), ""


def change_password(call: Call, _n, current, new, repeat):
    user_id = _user_id(call)
    accounts.check_new_password(new or "", repeat or "")
    own_account.verify_current_password(context.db(), user_id, current or "", context.client_address())
    user = accounts.change_password(call.session, user_id, new or "", repeat or "")
    renew_browser_session(user)  # this browser stays signed in; every other one is signed out
    ok = dbc.Alert("Password changed. Every other browser and device was signed out.", color="success",
                   className="py-2 mb-0", id="settings-account-password-ok")
    return ok, "", "", ""


def sign_out_everywhere(call: Call, _n):
    accounts.sign_out_everywhere(call.session, _user_id(call))
    forget_browser_session()
    return "/login"


def register(kit: CallbackKit) -> None:
    for name in ("settings-account-display-name.value", "settings-account-email.value",
                 "settings-account-profile-password.value", "settings-account-current.value",
                 "settings-account-new.value", "settings-account-new2.value"):
        kit.value(name, optional(TEXT))
    kit.callback(
        Output("settings-account-profile-message", "children"),
        Output("settings-account-profile-password", "value"),
        Input("settings-account-profile-save", "n_clicks"), State("settings-account-display-name", "value"),
        State("settings-account-email", "value"), State("settings-account-profile-password", "value"),
        prevent_initial_call=True,
        error=alert("settings-account-profile-message.children", id="settings-account-profile-error"),
    )(save_profile)
    kit.callback(
        Output("settings-account-password-message", "children"),
        Output("settings-account-current", "value"), Output("settings-account-new", "value"),
        Output("settings-account-new2", "value"),
        Input("settings-account-password-save", "n_clicks"), State("settings-account-current", "value"),
        State("settings-account-new", "value"), State("settings-account-new2", "value"),
        prevent_initial_call=True,
        error=alert("settings-account-password-message.children", id="settings-account-password-error"),
    )(change_password)
    kit.callback(
        Output("settings-account-redirect", "href"),
        Input("settings-account-signout-all", "n_clicks"), prevent_initial_call=True,
    )(sign_out_everywhere)
