"""Site administration (/admin): the users table, creating users, and per-user acts behind a
confirm dialog. User ids come from component ids and stores: untrusted, and every call goes
through ``site_admin``, which lets only site admins in."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import COUNT, FLAG, ID, TEXT, one_of, optional, record
from dashboard import context
from dashboard.services import site_admin
from layouts.components.admin_users import ACTIONS, pager_label, users_table

ACTS = tuple(ACTIONS)
QUESTIONS = {
    "deactivate": ("Deactivate {name}?", "They can't sign in any more; their browser sessions end and their API keys "
                                         "are refused at once. Their workspaces and runs stay."),
    "reactivate": ("Reactivate {name}?", "They can sign in again with their password, and their API keys work again."),
    "grant": ("Make {name} a site admin?", "Site admins manage every account of this server and read the audit log."),
    "revoke": ("Remove {name} as site admin?", "They keep their workspaces and roles."),
    "reset": ("Create a password-reset link for {name}?", "The link works once, for 24 hours; a newer link ends "
                                                          "older ones. Pass it on to them yourself."),
}
DONE = {"deactivate": "{name} is deactivated.", "reactivate": "{name} is active again.",
        "grant": "{name} is a site admin.", "revoke": "{name} is no longer a site admin.",
        "reset": "Reset link for {name} created."}


def _ok(message: str):
    return dbc.Alert(message, color="success", className="py-2", id="admin-ok", dismissable=True)


def render_users(call: Call, search, state, page, _refresh):
    rows, total = site_admin.list_users(call.session, call.actor, search or "", page or 0,
                                        state=state if state in site_admin.STATES else "all")
    page = page or 0
    last = max(0, (total - 1) // site_admin.PAGE_SIZE)
    return (users_table(rows, call.actor.user_id), pager_label(page, site_admin.PAGE_SIZE, total), page <= 0,
            page >= last)


def change_page(call: Call, _prev, _next, _search, _state, page):
    site_admin.require_site_admin(call.session, call.actor)
    trigger = ctx.triggered_id
    if trigger == "admin-prev":
        return max(0, (page or 0) - 1)
    if trigger == "admin-next":
        return (page or 0) + 1
    return 0


def create_user(call: Call, _n, username, email, password, make_admin, refresh):
    user = site_admin.create_user(call.session, call.actor, username or "", email or "", password or "",
                                  site_admin=bool(make_admin))
    return _ok(f"Created {user.username} (workspace {user.username})."), (refresh or 0) + 1, "", "", "", False


def ask(call: Call, _clicks):
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    user = site_admin.user_row(call.session, call.actor, trigger["user"])
    title, text = QUESTIONS[trigger["act"]]
    body = html.Div([html.P(html.B(title.format(name=user.username), id="admin-confirm-question")), html.P(text)])
    return True, body, {"user": user.id, "act": trigger["act"]}, None


def confirm(call: Call, _n, target, refresh):
    if not _n or not target:
        raise PreventUpdate
    act, user_id = target["act"], target["user"]
    link = None
    if act == "deactivate":
        user = site_admin.deactivate(call.session, call.actor, user_id)
    elif act == "reactivate":
        user = site_admin.reactivate(call.session, call.actor, user_id)
    elif act in ("grant", "revoke"):
        user = site_admin.set_site_admin(call.session, call.actor, user_id, act == "grant")
    else:
        token = site_admin.issue_reset_link(call.session, call.actor, user_id)
        user = site_admin.user_row(call.session, call.actor, user_id)
        link = reset_link_view(user.username, context.public_url() + site_admin.reset_path(token))
    return _ok(DONE[act].format(name=user.username)), (refresh or 0) + 1, False, None, link


def reset_link_view(username: str, url: str):
    return dbc.Alert([
        html.Div(f"Password-reset link for {username}: it is shown only now. It works once, for 24 hours.",
                 className="fw-semibold mb-2"),
        dbc.InputGroup([
            dbc.Input(id="admin-reset-url", value=url, readonly=True, className="font-monospace"),
            dcc.Clipboard(target_id="admin-reset-url", id="admin-reset-copy", className="btn btn-outline-secondary"),
        ]),
    ], color="info", id="admin-reset-shown", dismissable=True)


def close(_call: Call, _n):
    return False, None


def register(kit: CallbackKit) -> None:
    kit.pattern("admin-user-act", user=ID, act=one_of(*ACTS))
    for name in ("admin-search.value", "admin-create-username.value", "admin-create-email.value",
                 "admin-create-password.value"):
        kit.value(name, optional(TEXT))
    kit.value("admin-state.value", optional(one_of(*site_admin.STATES)))
    kit.value("admin-page.data", optional(COUNT))
    kit.value("admin-refresh.data", optional(COUNT))
    kit.value("admin-create-admin.value", optional(FLAG))
    kit.value("admin-target.data", optional(record(user=ID, act=one_of(*ACTS))))
    error = alert("admin-message.children", id="admin-error")
    kit.callback(
        Output("admin-users", "children"), Output("admin-page-label", "children"),
        Output("admin-prev", "disabled"), Output("admin-next", "disabled"),
        Input("admin-search", "value"), Input("admin-state", "value"), Input("admin-page", "data"),
        Input("admin-refresh", "data"), error=alert("admin-users.children", id="admin-error"),
    )(render_users)
    kit.callback(
        Output("admin-page", "data"),
        Input("admin-prev", "n_clicks"), Input("admin-next", "n_clicks"), Input("admin-search", "value"),
        Input("admin-state", "value"), State("admin-page", "data"), prevent_initial_call=True,
    )(change_page)
    kit.callback(
        Output("admin-message", "children"), Output("admin-refresh", "data"),
        Output("admin-create-username", "value"), Output("admin-create-email", "value"),
        Output("admin-create-password", "value"), Output("admin-create-admin", "value"),
        Input("admin-create-submit", "n_clicks"), State("admin-create-username", "value"),
        State("admin-create-email", "value"), State("admin-create-password", "value"),
        State("admin-create-admin", "value"), State("admin-refresh", "data"),
        prevent_initial_call=True, error=error,
    )(create_user)
    kit.callback(
        Output("admin-confirm-modal", "is_open"), Output("admin-confirm-body", "children"),
        Output("admin-target", "data"), Output("admin-message", "children", allow_duplicate=True),
        Input({"type": "admin-user-act", "user": ALL, "act": ALL}, "n_clicks"),
        prevent_initial_call=True, error=error, fallback={"admin-confirm-modal.is_open": False},
    )(ask)
    kit.callback(
        Output("admin-message", "children", allow_duplicate=True),
        Output("admin-refresh", "data", allow_duplicate=True),
        Output("admin-confirm-modal", "is_open", allow_duplicate=True),
        Output("admin-target", "data", allow_duplicate=True),
        Output("admin-reset-link", "children"),
        Input("admin-confirm-confirm", "n_clicks"), State("admin-target", "data"), State("admin-refresh", "data"),
        prevent_initial_call=True, error=error,
        fallback={"admin-confirm-modal.is_open": False, "admin-target.data": None, "admin-reset-link.children": None},
    )(confirm)
    kit.callback(
        Output("admin-confirm-modal", "is_open", allow_duplicate=True),
        Output("admin-target", "data", allow_duplicate=True),
        Input("admin-confirm-cancel", "n_clicks"), prevent_initial_call=True,
    )(close)
