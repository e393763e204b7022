"""Workspace settings > Collaborators: invitation links (create, list, revoke).

The workspace name comes from the page (a Store) and invite ids from component ids: both are
untrusted; the invites service lets only the workspace's owners and admins act."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import COUNT, FLAG, ID, NUMBER, TEXT, optional
from dashboard import context
from dashboard.errors import Invalid
from dashboard.services import invites, workspaces
from layouts.components.invites import invite_rows, new_link


def _use_limit(uses, unlimited) -> int | None:
    if unlimited:
        return None
    if isinstance(uses, str):
        try:
            uses = float(uses.strip())
        except ValueError:
            uses = None
    if isinstance(uses, float) and uses.is_integer():
        uses = int(uses)
    if not isinstance(uses, int) or isinstance(uses, bool):
        raise Invalid(f"The use limit must be a whole number from 1 to {invites.MAX_USES_LIMIT}, or no limit")
    return uses


def create_invite(call: Call, _n, role, days, uses, unlimited, ws_name):
    ws = workspaces.get_readable(call.session, call.actor, ws_name or "")
    _invite, token = invites.create(call.session, call.actor, ws.id, role or "member",
                                    days if isinstance(days, int) else invites.DEFAULT_EXPIRY_DAYS,
                                    _use_limit(uses, unlimited))
    url = f"{context.public_url()}/invite/{token}"
    return new_link(url), invite_rows(invites.active(call.session, call.actor, ws.id))


def revoke_invite(call: Call, _clicks, ws_name):
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    ws = workspaces.get_readable(call.session, call.actor, ws_name or "")
    invites.revoke(call.session, call.actor, ws.id, trigger["invite"])
    done = dbc.Alert("Invitation revoked: its link no longer works.", color="success", className="py-2 mb-0",
                     id="settings-invite-revoked")
    return done, invite_rows(invites.active(call.session, call.actor, ws.id))


def register(kit: CallbackKit) -> None:
    kit.pattern("settings-invite-revoke", invite=ID)
    kit.value("settings-invite-role.value", optional(TEXT))
    kit.value("settings-invite-days.value", optional(COUNT))
    kit.value("settings-invite-uses.value", optional(NUMBER | TEXT))
    kit.value("settings-invite-unlimited.value", optional(FLAG))
    kit.callback(
        Output("settings-invite-new", "children"), Output("settings-invite-list", "children"),
        Input("settings-invite-create", "n_clicks"), State("settings-invite-role", "value"),
        State("settings-invite-days", "value"), State("settings-invite-uses", "value"),
        State("settings-invite-unlimited", "value"), State("settings-workspace", "data"),
        prevent_initial_call=True, error=alert("settings-invite-new.children", id="settings-invite-error"),
    )(create_invite)
    kit.callback(
        Output("settings-invite-new", "children", allow_duplicate=True),
        Output("settings-invite-list", "children", allow_duplicate=True),
        Input({"type": "settings-invite-revoke", "invite": ALL}, "n_clicks"),
        State("settings-workspace", "data"), prevent_initial_call=True,
        error=alert("settings-invite-new.children", id="settings-invite-error"),
    )(revoke_invite)
