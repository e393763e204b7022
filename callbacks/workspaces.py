"""The workspaces page: create a workspace."""
from __future__ import annotations

from dash import Input, Output, State, no_update

from dashboard import context
from dashboard.errors import HalleyError
from dashboard.services import workspaces
from layouts.components.access import error_alert


def toggle_modal(_open, _cancel, is_open):
    return not is_open


def create_workspace(_n, name):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            ws = workspaces.create(s, actor, name or "")
    except HalleyError as exc:
        return error_alert(exc.message, id="workspaces-create-message"), no_update
    return None, f"/{ws.name}"


def register(app) -> None:
    app.callback(
        Output("workspaces-create-modal", "is_open"),
        Input("workspaces-create-open", "n_clicks"), Input("workspaces-create-cancel", "n_clicks"),
        State("workspaces-create-modal", "is_open"), prevent_initial_call=True,
    )(toggle_modal)
    app.callback(
        Output("workspaces-create-error", "children"), Output("shell-url", "href", allow_duplicate=True),
        Input("workspaces-create-submit", "n_clicks"), State("workspaces-create-name", "value"),
        prevent_initial_call=True,
    )(create_workspace)
