"""Manage section: visibility and the shareable link (write access, checked on each call)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, no_update

from dashboard import context
from dashboard.errors import HalleyError
from dashboard.services import projects, sharing
from layouts.components.access import error_alert
from layouts.components.project_manage_parts import share_link_block


def set_visibility(value, project_id):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            current = projects.get_by_id_readable(s, actor, project_id)
            if current.is_public == (value == "public"):
                return no_update
            project = projects.update(s, actor, project_id, is_public=value == "public")
            state = "public" if project.is_public else "private"
    except HalleyError as exc:
        return error_alert(exc.message, id="project-manage-visibility-error")
    return dbc.Alert(f"The project is now {state}.", color="success", className="py-2",
                     id="project-manage-visibility-ok")


def create_link(n, project_id):
    if not n:
        return no_update, no_update
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            token = sharing.create_link(s, actor, project_id)
    except HalleyError as exc:
        return no_update, error_alert(exc.message, id="project-manage-share-error")
    return share_link_block(token, True), None


def delete_link(n, project_id):
    if not n:
        return no_update, no_update
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            sharing.delete_link(s, actor, project_id)
    except HalleyError as exc:
        return no_update, error_alert(exc.message, id="project-manage-share-error")
    return share_link_block(None, True), dbc.Alert("Link deleted: it no longer opens the project.", color="success",
                                                   className="py-2", id="project-manage-share-deleted")


def register(app) -> None:
    app.callback(
        Output("project-manage-visibility-message", "children"),
        Input("project-manage-visibility", "value"), State("project-manage-project", "data"),
        prevent_initial_call=True,
    )(set_visibility)
    app.callback(
        Output("project-manage-share", "children"), Output("project-manage-share-message", "children"),
        Input("project-manage-share-create", "n_clicks"), State("project-manage-project", "data"),
        prevent_initial_call=True,
    )(create_link)
    app.callback(
        Output("project-manage-share", "children", allow_duplicate=True),
        Output("project-manage-share-message", "children", allow_duplicate=True),
        Input("project-manage-share-delete", "n_clicks"), State("project-manage-project", "data"),
        prevent_initial_call=True,
    )(delete_link)
