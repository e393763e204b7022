"""The workspace page: list/search/sort projects, and create, edit, delete, share and re-icon them.

Project ids arrive in component ids from the browser: every call re-checks access through the
projects service. The listing and the share dialog are public callbacks (anonymous visitors
see a workspace's public projects) and check access themselves.
"""
from __future__ import annotations

import base64

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from dashboard import context
from dashboard.auth import can_write_project
from dashboard.errors import HalleyError, Invalid
from dashboard.services import projects, workspaces
from dashboard.webauth import PUBLIC_CALLBACK_OUTPUTS
from layouts.components.access import error_alert
from layouts.components.project_header import project_path
from layouts.components.project_manage_parts import share_url
from layouts.components.workspace_projects import project_grid, project_list

ACTION = {"type": "workspace-action", "action": ALL, "project": ALL}
SET_MODE_JS = """function(grid, list) {
    const id = window.dash_clientside.callback_context.triggered_id;
    return id === 'workspace-view-list' ? 'list' : 'grid';
}"""


def list_projects(ws_name, query, owner, visibility, sort, sort_clicks, mode, page, _refresh):
    actor = context.current_actor()
    descending = (sort_clicks or 0) % 2 == 0
    if ctx.triggered_id in ("workspace-search", "workspace-owner", "workspace-visibility", "workspace-sort"):
        page = 1
    try:
        page = max(1, int(page or 1))
        with context.db().session() as s:
            ws, _role = workspaces.get_visible(s, actor, ws_name or "")
            options = dict(query=query or "", owner_id=owner, visibility=visibility, sort=sort or "updated",
                           descending=descending)
            cards, total = projects.search(s, actor, ws.id, page=page - 1, **options)
            pages = max(1, -(-total // projects.PAGE_SIZE))
            if page > pages:  # e.g. the last project of the last page was deleted
                page = pages
                cards, total = projects.search(s, actor, ws.id, page=page - 1, **options)
    except (HalleyError, ValueError, TypeError) as exc:
        message = exc.message if isinstance(exc, HalleyError) else "Invalid request"
        return error_alert(message, id="workspace-error"), "", 1, 1, no_update, no_update, no_update
    if not cards:
        body = html.P("No projects match." if total == 0 and (query or owner or visibility) else
                      "No projects yet. Create one, or log an experiment with the SDK.",
                      className="text-muted", id="workspace-empty")
    else:
        body = project_list(ws.name, cards) if mode == "list" else project_grid(ws.name, cards)
    arrow = html.I(className="bi bi-sort-down" if descending else "bi bi-sort-up")
    return (body, f"{total} project{'s' if total != 1 else ''}", pages, page,
            "border active" if mode == "list" else "border", "border" if mode == "list" else "border active", arrow)


def _bump(n):
    return (n or 0) + 1


def open_action(clicks):
    """Open the dialog for the chosen action on one project (edit, icon, share, delete)."""
    out = [no_update] * 11
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        return tuple(out)
    actor = context.current_actor()
    action = trigger.get("action")
    try:
        with context.db().session() as s:
            project = projects.get_by_id_readable(s, actor, trigger.get("project"))
            ws = projects.workspace_name(s, project)
            writable = can_write_project(s, actor, project)
            if action in ("edit", "icon", "delete") and not writable:
                raise HalleyError("You have read-only access to this project")
            if action == "delete":
                if not projects.can_delete(s, actor, project):
                    raise HalleyError("Only the project's creator or the workspace's owners and admins can delete it")
                _p, n_exp, n_assets = projects.deletion_summary(s, actor, project.id)
    except HalleyError as exc:
        out[10] = error_alert(exc.message, id="workspace-error")
        return tuple(out)
    out[9], out[10] = project.id, None
    if action == "edit":
        out[0:4] = [True, project.name, project.description, "public" if project.is_public else "private"]
    elif action == "delete":
        out[4] = True
        out[5] = html.Div([
            html.P(["Delete ", html.B(project.name, id="workspace-delete-name"), "?"]),
            html.P(f"This permanently deletes {n_exp} experiment{'s' if n_exp != 1 else ''} and their data "
                   f"(metrics, parameters, logs and {n_assets} asset file{'s' if n_assets != 1 else ''}). "
                   "This can't be undone.", className="text-danger mb-0", id="workspace-delete-lost"),
        ])
    elif action == "share":
        out[6], out[7] = True, _share_body(ws, project, writable)
    elif action == "icon":
        out[8] = True
    return tuple(out)


def _share_body(ws: str, project, can_write: bool):
    from flask import request

    url = request.host_url.rstrip("/") + project_path(ws, project.name)
    rows = [dbc.Label("Project URL", html_for="workspace-share-url"),
            dbc.InputGroup([dbc.Input(id="workspace-share-url", value=url, readonly=True),
                            dcc.Clipboard(target_id="workspace-share-url", className="btn btn-outline-secondary",
                                          id="workspace-share-url-copy")], className="mb-3")]
    if can_write and project.share_token:
        rows += [dbc.Label("Shareable link (read-only, works for private projects too)",
                           html_for="workspace-share-link"),
                 dbc.InputGroup([dbc.Input(id="workspace-share-link", value=share_url(project.share_token),
                                           readonly=True),
                                 dcc.Clipboard(target_id="workspace-share-link", className="btn btn-outline-secondary",
                                               id="workspace-share-link-copy")])]
    elif can_write:
        rows.append(html.P(["Create a shareable link under ",
                            dcc.Link("Manage", href=project_path(ws, project.name, "/manage")), "."],
                           className="small text-muted mb-0"))
    return html.Div(rows)


def _fields(name, description, visibility):
    return dict(name=name or "", description=description or "", is_public=visibility == "public")


def save_edit(_n, name, description, visibility, project_id, refresh):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            projects.update(s, actor, project_id, **_fields(name, description, visibility))
    except HalleyError as exc:
        return no_update, error_alert(exc.message, id="workspace-edit-message"), no_update
    return False, None, _bump(refresh)


def confirm_delete(_n, project_id, refresh):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            name = projects.get_by_id_readable(s, actor, project_id).name
            n = projects.delete(s, actor, project_id, context.settings())
    except HalleyError as exc:
        return False, error_alert(exc.message, id="workspace-error"), no_update
    ok = dbc.Alert(f"Deleted project {name} and {n} experiment{'s' if n != 1 else ''}.", color="success",
                   className="py-2", id="workspace-ok", duration=6000)
    return False, ok, _bump(refresh)


def upload_icon(contents, project_id, refresh):
    if not contents:
        return no_update, no_update, no_update, no_update
    actor = context.current_actor()
    try:
        header, _sep, payload = contents.partition(",")
        if not header.startswith("data:") or ";base64" not in header:
            raise Invalid("The upload could not be read")
        try:
            data = base64.b64decode(payload, validate=True)
        except ValueError as exc:
            raise Invalid("The upload could not be read") from exc
        with context.db().session() as s:
            projects.set_icon(s, actor, project_id, data, context.settings())
    except HalleyError as exc:
        return no_update, error_alert(exc.message, id="workspace-icon-message"), no_update, None
    return False, None, _bump(refresh), None


def open_create(_n):
    return True, "", "", "private", None


def close_dialog(_n):
    return False


def create_project(_n, name, description, visibility, ws_name, refresh):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            ws = workspaces.get_readable(s, actor, ws_name or "")
            f = _fields(name, description, visibility)
            project = projects.create(s, actor, ws.id, f["name"], f["description"], f["is_public"])
    except HalleyError as exc:
        return no_update, error_alert(exc.message, id="workspace-create-message"), no_update, no_update
    ok = dbc.Alert(["Created project ", dcc.Link(project.name, href=project_path(ws.name, project.name)), "."],
                   color="success", className="py-2", id="workspace-ok", duration=6000)
    return False, None, ok, _bump(refresh)


def register(app) -> None:
    PUBLIC_CALLBACK_OUTPUTS.add("workspace-projects.children")
    PUBLIC_CALLBACK_OUTPUTS.add("workspace-share-modal.is_open")
    app.clientside_callback(SET_MODE_JS, Output("workspace-view-mode", "data"),
                            Input("workspace-view-grid", "n_clicks"), Input("workspace-view-list", "n_clicks"),
                            prevent_initial_call=True)
    app.callback(
        Output("workspace-projects", "children"), Output("workspace-total", "children"),
        Output("workspace-pagination", "max_value"), Output("workspace-pagination", "active_page"),
        Output("workspace-view-list", "className"), Output("workspace-view-grid", "className"),
        Output("workspace-sort-dir", "children"),
        Input("workspace-name", "data"), Input("workspace-search", "value"), Input("workspace-owner", "value"),
        Input("workspace-visibility", "value"), Input("workspace-sort", "value"),
        Input("workspace-sort-dir", "n_clicks"), Input("workspace-view-mode", "data"),
        Input("workspace-pagination", "active_page"), Input("workspace-refresh", "data"),
    )(list_projects)
    app.callback(
        Output("workspace-edit-modal", "is_open"), Output("workspace-edit-name", "value"),
        Output("workspace-edit-description", "value"), Output("workspace-edit-visibility", "value"),
        Output("workspace-delete-modal", "is_open"), Output("workspace-delete-body", "children"),
        Output("workspace-share-modal", "is_open"), Output("workspace-share-body", "children"),
        Output("workspace-icon-modal", "is_open"), Output("workspace-target", "data"),
        Output("workspace-message", "children"),
        Input(ACTION, "n_clicks"), prevent_initial_call=True,
    )(open_action)
    app.callback(
        Output("workspace-edit-modal", "is_open", allow_duplicate=True),
        Output("workspace-edit-error", "children"), Output("workspace-refresh", "data"),
        Input("workspace-edit-save", "n_clicks"), State("workspace-edit-name", "value"),
        State("workspace-edit-description", "value"), State("workspace-edit-visibility", "value"),
        State("workspace-target", "data"), State("workspace-refresh", "data"), prevent_initial_call=True,
    )(save_edit)
    app.callback(
        Output("workspace-delete-modal", "is_open", allow_duplicate=True),
        Output("workspace-message", "children", allow_duplicate=True),
        Output("workspace-refresh", "data", allow_duplicate=True),
        Input("workspace-delete-confirm", "n_clicks"), State("workspace-target", "data"),
        State("workspace-refresh", "data"), prevent_initial_call=True,
    )(confirm_delete)
    app.callback(
        Output("workspace-icon-modal", "is_open", allow_duplicate=True),
        Output("workspace-icon-error", "children"),
        Output("workspace-refresh", "data", allow_duplicate=True),
        Output("workspace-icon-upload", "contents"),
        Input("workspace-icon-upload", "contents"), State("workspace-target", "data"),
        State("workspace-refresh", "data"), prevent_initial_call=True,
    )(upload_icon)
    for name in ("edit", "delete"):
        app.callback(Output(f"workspace-{name}-modal", "is_open", allow_duplicate=True),
                     Input(f"workspace-{name}-cancel", "n_clicks"), prevent_initial_call=True)(close_dialog)
    app.callback(
        Output("workspace-create-modal", "is_open"), Output("workspace-create-name", "value"),
        Output("workspace-create-description", "value"), Output("workspace-create-visibility", "value"),
        Output("workspace-create-error", "children"),
        Input("workspace-create-open", "n_clicks"), prevent_initial_call=True,
    )(open_create)
    app.callback(Output("workspace-create-modal", "is_open", allow_duplicate=True),
                 Input("workspace-create-cancel", "n_clicks"), prevent_initial_call=True)(close_dialog)
    app.callback(
        Output("workspace-create-modal", "is_open", allow_duplicate=True),
        Output("workspace-create-error", "children", allow_duplicate=True),
        Output("workspace-message", "children", allow_duplicate=True),
        Output("workspace-refresh", "data", allow_duplicate=True),
        Input("workspace-create-submit", "n_clicks"), State("workspace-create-name", "value"),
        State("workspace-create-description", "value"), State("workspace-create-visibility", "value"),
        State("workspace-name", "data"), State("workspace-refresh", "data"), prevent_initial_call=True,
    )(create_project)
