"""Archive section: select archived experiments, restore them or delete them permanently.

Selected keys come from the browser; the archive service only acts on archived experiments of
the given project and checks write access on each call.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import FLAG, ID, KEY, optional
from dashboard.services import archive, projects
from layouts.components.project_archive_table import archive_table

CHECK = {"type": "project-archive-check", "key": ALL}


def _selected(values, ids) -> list[str]:
    return [i["key"] for i, v in zip(ids or [], values or []) if v and isinstance(i, dict)]


def select_all(_call: Call, value, _ids):
    return [bool(value)] * len(ctx.outputs_list)


def show_selection(_call: Call, values, ids):
    n = len(_selected(values, ids))
    label = f"{n} selected" if n else ""
    return n == 0, n == 0, label


def ask_delete(_call: Call, _n, _cancel, _confirm, values, ids):
    if ctx.triggered_id != "project-archive-delete":
        return False, no_update
    keys = _selected(values, ids)
    body = html.Div([
        html.P(f"Delete {len(keys)} archived experiment{'s' if len(keys) != 1 else ''} permanently?"),
        html.P("Their metrics, parameters, logs and asset files are removed from the server. This can't be undone.",
               className="text-danger mb-0"),
    ])
    return bool(keys), body


def _listing(call: Call, project_id):
    project = projects.get_by_id_readable(call.session, call.actor, project_id)
    items = archive.list_archived(call.session, call.actor, project.id)
    return archive_table(projects.workspace_name(call.session, project), project.name, items, True)


def act(call: Call, _restore, _confirm, values, ids, project_id):
    trigger = ctx.triggered_id
    if trigger not in ("project-archive-restore", "project-archive-confirm") or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    keys = _selected(values, ids)
    if trigger == "project-archive-restore":
        n = archive.restore(call.session, call.actor, project_id, keys)
        message = f"Restored {n} experiment{'s' if n != 1 else ''}."
    else:
        n = archive.delete_permanently(call.session, call.actor, project_id, keys, call.settings)
        message = f"Deleted {n} experiment{'s' if n != 1 else ''} permanently."
    return dbc.Alert(message, color="success", className="py-2", id="project-archive-ok"), _listing(call, project_id)


def register(kit: CallbackKit) -> None:
    kit.pattern("project-archive-check", key=KEY)
    kit.value("project-archive-check.value", optional(FLAG))
    kit.value("project-archive-project.data", optional(ID))
    kit.callback(
        Output(CHECK, "value"), Input("project-archive-all", "value"), State(CHECK, "id"),
        prevent_initial_call=True,
    )(select_all)
    kit.callback(
        Output("project-archive-restore", "disabled"), Output("project-archive-delete", "disabled"),
        Output("project-archive-selected", "children"),
        Input(CHECK, "value"), State(CHECK, "id"),
    )(show_selection)
    kit.callback(
        Output("project-archive-modal", "is_open"), Output("project-archive-confirm-body", "children"),
        Input("project-archive-delete", "n_clicks"), Input("project-archive-cancel", "n_clicks"),
        Input("project-archive-confirm", "n_clicks"), State(CHECK, "value"), State(CHECK, "id"),
        prevent_initial_call=True,
    )(ask_delete)
    kit.callback(
        Output("project-archive-message", "children"), Output("project-archive-list", "children"),
        Input("project-archive-restore", "n_clicks"), Input("project-archive-confirm", "n_clicks"),
        State(CHECK, "value"), State(CHECK, "id"), State("project-archive-project", "data"),
        prevent_initial_call=True, error=alert("project-archive-message.children", id="project-archive-error"),
    )(act)
