"""Workspace settings: collaborators (and lifting their sign-in lockout) and the API key.

The workspace name comes from the page (a Store) and user ids from component ids: both are
untrusted and every call goes through the services' permission checks.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update

from dashboard import context
from dashboard.auth import can_manage_workspace
from dashboard.errors import HalleyError, NotFound
from dashboard.services import workspaces
from layouts.components.access import error_alert
from layouts.settings import collaborator_rows


def _workspace(session, actor, name):
    return workspaces.get_readable(session, actor, name or "")


def _listing(session, actor, ws):
    return collaborator_rows(workspaces.collaborators(session, actor, ws.id),
                             can_manage_workspace(session, actor, ws.id), actor.user_id,
                             workspaces.throttled_collaborators(session, actor, ws.id))


def add_collaborator(_n, user, role, ws_name):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            ws = _workspace(s, actor, ws_name)
            added = workspaces.add_collaborator(s, actor, ws.id, user or "", role or "member")
        with context.db().session() as s:
            listing = _listing(s, actor, ws)
    except HalleyError as exc:
        return error_alert(exc.message, id="settings-collab-error"), no_update, no_update
    return dbc.Alert(f"Added {added.username} as {added.role}.", color="success", className="py-2",
                     id="settings-collab-ok"), listing, ""


def change_collaborators(role_values, remove_clicks, ws_name):
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered or ctx.triggered[0].get("value") is None:
        return no_update, no_update
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            ws = _workspace(s, actor, ws_name)
            user_id = int(trigger["user"])
            if trigger["type"] == "settings-collab-remove":
                workspaces.remove_collaborator(s, actor, ws.id, user_id)
                message = "Collaborator removed."
            else:
                role = ctx.triggered[0]["value"]
                current = {c.user_id: c.role for c in workspaces.collaborators(s, actor, ws.id)}
                if current.get(user_id) == role:
                    return no_update, no_update  # a re-rendered dropdown, not a change
                workspaces.set_role(s, actor, ws.id, user_id, role)
                message = f"Role changed to {role}."
        with context.db().session() as s:
            listing = _listing(s, actor, ws)
    except (HalleyError, ValueError, TypeError) as exc:
        message = exc.message if isinstance(exc, HalleyError) else "Invalid request"
        try:
            with context.db().session() as s:
                listing = _listing(s, actor, _workspace(s, actor, ws_name))
        except NotFound:
            listing = no_update
        return error_alert(message, id="settings-collab-error"), listing
    return dbc.Alert(message, color="success", className="py-2", id="settings-collab-ok"), listing


def unlock_collaborator(_clicks, ws_name):
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update, no_update
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            ws = _workspace(s, actor, ws_name)
            name = workspaces.unlock_collaborator(s, actor, ws.id, int(trigger["user"]))
        with context.db().session() as s:
            listing = _listing(s, actor, ws)
    except (HalleyError, ValueError, TypeError) as exc:
        message = exc.message if isinstance(exc, HalleyError) else "Invalid request"
        return error_alert(message, id="settings-collab-error"), no_update
    return dbc.Alert(f"{name} can sign in again.", color="success", className="py-2",
                     id="settings-collab-ok"), listing


def toggle_apikey_modal(_open, _cancel, _confirm, is_open):
    return not is_open


def generate_key(_n, ws_name):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            ws = _workspace(s, actor, ws_name)
            raw = workspaces.generate_api_key(s, actor, ws.id)
    except HalleyError as exc:
        return error_alert(exc.message, id="settings-apikey-error"), no_update
    notice = dbc.Alert([
        html.Div("New API key. Copy it now: it won't be shown again.", className="fw-semibold mb-1"),
        html.Code(raw, id="settings-apikey-raw", className="user-select-all fs-6"),
    ], color="success", id="settings-apikey-ok")
    return notice, raw


def register(app) -> None:
    app.callback(
        Output("settings-collab-message", "children"), Output("settings-collab-list", "children"),
        Output("settings-collab-user", "value"),
        Input("settings-collab-add", "n_clicks"), State("settings-collab-user", "value"),
        State("settings-collab-new-role", "value"), State("settings-workspace", "data"),
        prevent_initial_call=True,
    )(add_collaborator)
    app.callback(
        Output("settings-collab-message", "children", allow_duplicate=True),
        Output("settings-collab-list", "children", allow_duplicate=True),
        Input({"type": "settings-collab-role", "user": ALL}, "value"),
        Input({"type": "settings-collab-remove", "user": ALL}, "n_clicks"),
        State("settings-workspace", "data"), prevent_initial_call=True,
    )(change_collaborators)
    app.callback(
        Output("settings-collab-message", "children", allow_duplicate=True),
        Output("settings-collab-list", "children", allow_duplicate=True),
        Input({"type": "settings-collab-unlock", "user": ALL}, "n_clicks"),
        State("settings-workspace", "data"), prevent_initial_call=True,
    )(unlock_collaborator)
    app.callback(
        Output("settings-apikey-modal", "is_open"),
        Input("settings-apikey-generate", "n_clicks"), Input("settings-apikey-cancel", "n_clicks"),
        Input("settings-apikey-confirm", "n_clicks"), State("settings-apikey-modal", "is_open"),
        prevent_initial_call=True,
    )(toggle_apikey_modal)
    app.callback(
        Output("settings-apikey-new", "children"), Output("settings-apikey-value", "value"),
        Input("settings-apikey-confirm", "n_clicks"), State("settings-workspace", "data"),
        prevent_initial_call=True,
    )(generate_key)
