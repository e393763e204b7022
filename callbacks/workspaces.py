"""The workspaces page: create a workspace."""
from __future__ import annotations

from dash import Input, Output, State

from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import TEXT, optional
from dashboard.services import workspaces


def toggle_modal(_call: Call, _open, _cancel, is_open):
    return not is_open


def create_workspace(call: Call, _n, name):
    ws = workspaces.create(call.session, call.actor, name or "")
    return None, f"/{ws.name}"


def register(kit: CallbackKit) -> None:
    kit.value("workspaces-create-name.value", optional(TEXT))
    kit.callback(
        Output("workspaces-create-modal", "is_open"),
        Input("workspaces-create-open", "n_clicks"), Input("workspaces-create-cancel", "n_clicks"),
        State("workspaces-create-modal", "is_open"), prevent_initial_call=True,
    )(toggle_modal)
    kit.callback(
        Output("workspaces-create-error", "children"), Output("shell-url", "href", allow_duplicate=True),
        Input("workspaces-create-submit", "n_clicks"), State("workspaces-create-name", "value"),
        prevent_initial_call=True,
        error=alert("workspaces-create-error.children", id="workspaces-create-message"),
    )(create_workspace)
