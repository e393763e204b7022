"""Files section: "View experiments" for a file, and linking the GitHub repository.

The file is named by its row index; the list is recomputed through the service (which checks
read access), so the browser never supplies a file name that is trusted.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import ID, INDEX, TEXT, optional
from dashboard.services import projects
from layouts.components.project_files_table import experiments_list, github_block


def view_experiments(call: Call, clicks, project_id):
    if not ctx.triggered or not ctx.triggered[0].get("value") or not isinstance(ctx.triggered_id, dict):
        raise PreventUpdate
    index = ctx.triggered_id["index"]
    project = projects.get_by_id_readable(call.session, call.actor, project_id)
    items = projects.files(call.session, call.actor, project.id)
    if not index < len(items):
        raise PreventUpdate
    item = items[index]
    used_by = projects.file_experiments(call.session, call.actor, project.id, item.name, item.kind)
    ws_name = projects.workspace_name(call.session, project)
    return True, f"Experiments using {item.name}", experiments_list(ws_name, project.name, used_by)


def link_github(call: Call, _n, url, project_id):
    linked = projects.set_github_url(call.session, call.actor, project_id, url).github_url
    message = dbc.Alert("Repository linked." if linked else "Repository unlinked.", color="success",
                        className="py-2 mt-2", id="project-files-github-ok", duration=4000)
    return github_block(linked), message


def register(kit: CallbackKit) -> None:
    kit.pattern("project-files-view", index=INDEX)
    kit.value("project-files-project.data", optional(ID))
    kit.callback(
        Output("project-files-modal", "is_open"), Output("project-files-modal-title", "children"),
        Output("project-files-modal-body", "children"),
        Input({"type": "project-files-view", "index": ALL}, "n_clicks"), State("project-files-project", "data"),
        prevent_initial_call=True, public=True,
        error=alert("project-files-modal-body.children", id="project-files-error"),
        fallback={"project-files-modal.is_open": True, "project-files-modal-title.children": "Not found"},
    )(view_experiments)
    kit.callback(
        Output("project-files-github", "children"), Output("project-files-github-message", "children"),
        Input("project-files-github-save", "n_clicks"), State("project-files-github-input", "value"),
        State("project-files-project", "data"), prevent_initial_call=True,
        shapes={"project-files-github-input.value": optional(TEXT)},
        error=alert("project-files-github-message.children", id="project-files-github-error"),
    )(link_github)
