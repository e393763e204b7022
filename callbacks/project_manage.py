"""Manage section: visibility and the shareable link (write access, checked on each call).
Each change also tells the page's header (``project-header-changed``), which shows both."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from callbacks.kit import Call, CallbackKit, alert
from callbacks.project_header import header_changed
from callbacks.shapes import ID, optional
from dashboard.services import projects, sharing
from layouts.components.project_manage_parts import share_link_block

SHARE_ERROR = alert("project-manage-share-message.children", id="project-manage-share-error")


def set_visibility(call: Call, value, project_id):
    current = projects.get_by_id_readable(call.session, call.actor, project_id)
    if current.is_public == (value == "public"):
        raise PreventUpdate
    project = projects.update(call.session, call.actor, project_id, is_public=value == "public")
    state = "public" if project.is_public else "private"
    return dbc.Alert(f"The project is now {state}.", color="success", className="py-2",
                     id="project-manage-visibility-ok"), header_changed()


def create_link(call: Call, n, project_id):
    if not n:
        raise PreventUpdate
    token = sharing.create_link(call.session, call.actor, project_id)
    return share_link_block(token, True), None, header_changed()


def delete_link(call: Call, n, project_id):
    if not n:
        raise PreventUpdate
    sharing.delete_link(call.session, call.actor, project_id)
    return share_link_block(None, True), dbc.Alert("Link deleted: it no longer opens the project.", color="success",
                                                   className="py-2", id="project-manage-share-deleted"), \
        header_changed()


def register(kit: CallbackKit) -> None:
    kit.value("project-manage-project.data", optional(ID))
    kit.callback(
        Output("project-manage-visibility-message", "children"),
        Output("project-header-changed", "data", allow_duplicate=True),
        Input("project-manage-visibility", "value"), State("project-manage-project", "data"),
        prevent_initial_call=True,
        error=alert("project-manage-visibility-message.children", id="project-manage-visibility-error"),
    )(set_visibility)
    kit.callback(
        Output("project-manage-share", "children"), Output("project-manage-share-message", "children"),
        Output("project-header-changed", "data", allow_duplicate=True),
        Input("project-manage-share-create", "n_clicks"), State("project-manage-project", "data"),
        prevent_initial_call=True, error=SHARE_ERROR,
    )(create_link)
    kit.callback(
        Output("project-manage-share", "children", allow_duplicate=True),
        Output("project-manage-share-message", "children", allow_duplicate=True),
        Output("project-header-changed", "data", allow_duplicate=True),
        Input("project-manage-share-delete", "n_clicks"), State("project-manage-project", "data"),
        prevent_initial_call=True, error=SHARE_ERROR,
    )(delete_link)
