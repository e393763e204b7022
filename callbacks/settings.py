"""Workspace settings: collaborators (and lifting their sign-in lockout) and the API key.

The workspace name comes from the page (a Store) and user ids from component ids: both are
untrusted and every call goes through the services' permission checks.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate

from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import ID, TEXT, optional
from dashboard.auth import can_manage_workspace
from dashboard.errors import Forbidden, HalleyError, NotFound
from dashboard.services import workspaces
from layouts.components.access import error_alert
from layouts.components.collaborators import collaborator_rows
from layouts.components.project_header import shell_exports


def _workspace(call: Call, name):
    return workspaces.get_readable(call.session, call.actor, name or "")


def _listing(call: Call, ws):
    actor = call.actor
    return collaborator_rows(workspaces.collaborators(call.session, actor, ws.id),
                             can_manage_workspace(call.session, actor, ws.id), actor.user_id,
                             workspaces.throttled_collaborators(call.session, actor, ws.id))


def add_collaborator(call: Call, _n, user, role, ws_name):
    ws = _workspace(call, ws_name)
    added = workspaces.add_collaborator(call.session, call.actor, ws.id, user or "", role or "member")
    return dbc.Alert(f"Added {added.username} as {added.role}.", color="success", className="py-2",
                     id="settings-collab-ok"), _listing(call, ws), ""


def change_role(call: Call, role_values, ws_name):
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered or ctx.triggered[0].get("value") is None:
        raise PreventUpdate
    ws = _workspace(call, ws_name)
    user_id = trigger["user"]
    try:
        role = ctx.triggered[0]["value"]
        current = {c.user_id: c.role for c in workspaces.collaborators(call.session, call.actor, ws.id)}
        if current.get(user_id) == role:
            raise PreventUpdate  # a re-rendered dropdown, not a change
        workspaces.set_role(call.session, call.actor, ws.id, user_id, role)
        message = f"Role changed to {role}."
    except HalleyError as exc:
        # The listing is drawn again either way, so a refused role change shows the role kept.
        call.session.rollback()
        return error_alert(exc.message, id="settings-collab-error"), _listing(call, ws)
    return dbc.Alert(message, color="success", className="py-2", id="settings-collab-ok"), _listing(call, ws)


def ask_remove(call: Call, _clicks, ws_name):
    """A trash click asks first, naming who goes."""
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    ws = _workspace(call, ws_name)
    if not can_manage_workspace(call.session, call.actor, ws.id):
        raise Forbidden("Only the workspace's owners and admins can remove collaborators")
    who = next((c for c in workspaces.collaborators(call.session, call.actor, ws.id)
                if c.user_id == trigger["user"]), None)
    if who is None:
        raise NotFound("Not a collaborator of this workspace")
    body = html.P(["Remove ", html.B(who.username, id="settings-collab-remove-name"), f" ({who.role}) from ",
                   html.B(ws.name), "? They lose access to every project of this workspace."])
    return True, body, who.user_id, None


def confirm_remove(call: Call, _n, user_id, ws_name):
    if not _n or user_id is None:
        raise PreventUpdate
    ws = _workspace(call, ws_name)
    name = next((c.username for c in workspaces.collaborators(call.session, call.actor, ws.id)
                 if c.user_id == user_id), "Collaborator")
    workspaces.remove_collaborator(call.session, call.actor, ws.id, user_id)
    return (dbc.Alert(f"Removed {name}.", color="success", className="py-2", id="settings-collab-ok"),
            _listing(call, ws), False, None)


def close_remove(_call: Call, _n):
    return False, None


def unlock_collaborator(call: Call, _clicks, ws_name):
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    ws = _workspace(call, ws_name)
    name = workspaces.unlock_collaborator(call.session, call.actor, ws.id, trigger["user"])
    return dbc.Alert(f"{name} can sign in again.", color="success", className="py-2",
                     id="settings-collab-ok"), _listing(call, ws)


def toggle_apikey_modal(_call: Call, _open, _cancel, _confirm, is_open):
    return not is_open


def generate_key(call: Call, _n, ws_name):
    ws = _workspace(call, ws_name)
    raw = workspaces.generate_api_key(call.session, call.actor, ws.id)
    notice = dbc.Alert([
        html.Div("New API key. Copy it now: it won't be shown again.", className="fw-semibold mb-1"),
        html.Code(raw, id="settings-apikey-raw", className="user-select-all fs-6"),
        html.Div("Scripts read the server and key from:", className="mt-2 small"),
        html.Pre(shell_exports(raw), id="settings-apikey-exports", className="bg-light border rounded p-2 small mb-0"),
    ], color="success", id="settings-apikey-ok")
    return notice, raw


def register(kit: CallbackKit) -> None:
    kit.pattern("settings-collab-role", user=ID)
    kit.pattern("settings-collab-remove", user=ID)
    kit.pattern("settings-collab-unlock", user=ID)
    for name in ("settings-workspace.data", "settings-collab-user.value", "settings-collab-new-role.value"):
        kit.value(name, optional(TEXT))
    kit.callback(
        Output("settings-collab-message", "children"), Output("settings-collab-list", "children"),
        Output("settings-collab-user", "value"),
        Input("settings-collab-add", "n_clicks"), State("settings-collab-user", "value"),
        State("settings-collab-new-role", "value"), State("settings-workspace", "data"),
        prevent_initial_call=True, error=alert("settings-collab-message.children", id="settings-collab-error"),
    )(add_collaborator)
    kit.value("settings-collab-remove-target.data", optional(ID))
    kit.callback(
        Output("settings-collab-message", "children", allow_duplicate=True),
        Output("settings-collab-list", "children", allow_duplicate=True),
        Input({"type": "settings-collab-role", "user": ALL}, "value"),
        State("settings-workspace", "data"), prevent_initial_call=True,
        error=alert("settings-collab-message.children", id="settings-collab-error"),
    )(change_role)
    kit.callback(
        Output("settings-collab-remove-modal", "is_open"), Output("settings-collab-remove-body", "children"),
        Output("settings-collab-remove-target", "data"),
        Output("settings-collab-message", "children", allow_duplicate=True),
        Input({"type": "settings-collab-remove", "user": ALL}, "n_clicks"),
        State("settings-workspace", "data"), prevent_initial_call=True,
        error=alert("settings-collab-message.children", id="settings-collab-error"),
        fallback={"settings-collab-remove-modal.is_open": False},
    )(ask_remove)
    kit.callback(
        Output("settings-collab-message", "children", allow_duplicate=True),
        Output("settings-collab-list", "children", allow_duplicate=True),
        Output("settings-collab-remove-modal", "is_open", allow_duplicate=True),
        Output("settings-collab-remove-target", "data", allow_duplicate=True),
        Input("settings-collab-remove-confirm", "n_clicks"), State("settings-collab-remove-target", "data"),
        State("settings-workspace", "data"), prevent_initial_call=True,
        error=alert("settings-collab-message.children", id="settings-collab-error"),
        fallback={"settings-collab-remove-modal.is_open": False, "settings-collab-remove-target.data": None},
    )(confirm_remove)
    kit.callback(
        Output("settings-collab-remove-modal", "is_open", allow_duplicate=True),
        Output("settings-collab-remove-target", "data", allow_duplicate=True),
        Input("settings-collab-remove-cancel", "n_clicks"), prevent_initial_call=True,
    )(close_remove)
    kit.callback(
        Output("settings-collab-message", "children", allow_duplicate=True),
        Output("settings-collab-list", "children", allow_duplicate=True),
        Input({"type": "settings-collab-unlock", "user": ALL}, "n_clicks"),
        State("settings-workspace", "data"), prevent_initial_call=True,
        error=alert("settings-collab-message.children", id="settings-collab-error"),
    )(unlock_collaborator)
    kit.callback(
        Output("settings-apikey-modal", "is_open"),
        Input("settings-apikey-generate", "n_clicks"), Input("settings-apikey-cancel", "n_clicks"),
        Input("settings-apikey-confirm", "n_clicks"), State("settings-apikey-modal", "is_open"),
        prevent_initial_call=True,
    )(toggle_apikey_modal)
    kit.callback(
        Output("settings-apikey-new", "children"), Output("settings-apikey-value", "value"),
        Input("settings-apikey-confirm", "n_clicks"), State("settings-workspace", "data"),
        prevent_initial_call=True, error=alert("settings-apikey-new.children", id="settings-apikey-error"),
    )(generate_key)
