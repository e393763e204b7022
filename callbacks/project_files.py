"""Files section: "View experiments" for a file, and linking the GitHub repository.

The file is named by its row index; the list is recomputed through the service (which checks
read access), so the browser never supplies a file name that is trusted.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, no_update

from dashboard import context
from dashboard.errors import HalleyError
from dashboard.services import projects
from dashboard.webauth import PUBLIC_CALLBACK_OUTPUTS
from layouts.components.access import error_alert
from layouts.components.project_files_table import experiments_list, github_block


def view_experiments(clicks, project_id):
    if not ctx.triggered or not ctx.triggered[0].get("value") or not isinstance(ctx.triggered_id, dict):
        return no_update, no_update, no_update
    actor = context.current_actor()
    try:
        index = int(ctx.triggered_id["index"])
        with context.db().session() as s:
            project = projects.get_by_id_readable(s, actor, project_id)
            items = projects.files(s, actor, project.id)
            if not 0 <= index < len(items):
                return no_update, no_update, no_update
            item = items[index]
            used_by = projects.file_experiments(s, actor, project.id, item.name, item.kind)
            ws_name = projects.workspace_name(s, project)
    except (HalleyError, ValueError, TypeError, KeyError):
        return True, "Not found", error_alert("This file or project is not available.", id="project-files-error")
    return True, f"Experiments using {item.name}", experiments_list(ws_name, project.name, used_by)


def link_github(_n, url, project_id):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            project = projects.set_github_url(s, actor, project_id, url)
            linked = project.github_url
    except HalleyError as exc:
        return no_update, error_alert(exc.message, id="project-files-github-error")
    message = dbc.Alert("Repository linked." if linked else "Repository unlinked.", color="success",
                        className="py-2 mt-2", id="project-files-github-ok", duration=4000)
    return github_block(linked), message


def register(app) -> None:
    PUBLIC_CALLBACK_OUTPUTS.add("project-files-modal.is_open")
    app.callback(
        Output("project-files-modal", "is_open"), Output("project-files-modal-title", "children"),
        Output("project-files-modal-body", "children"),
        Input({"type": "project-files-view", "index": ALL}, "n_clicks"), State("project-files-project", "data"),
        prevent_initial_call=True,
    )(view_experiments)
    app.callback(
        Output("project-files-github", "children"), Output("project-files-github-message", "children"),
        Input("project-files-github-save", "n_clicks"), State("project-files-github-input", "value"),
        State("project-files-project", "data"), prevent_initial_call=True,
    )(link_github)
