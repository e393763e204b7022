"""The workspace page: list/search/sort projects, and create, edit, delete, share and re-icon them.

Project ids arrive in component ids from the browser: every call re-checks access through the
projects service. The listing and the share dialog are public callbacks (anonymous visitors
see a workspace's public projects) and check access themselves.
"""
from __future__ import annotations

import base64
from urllib.parse import quote

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import COUNT, ID, TEXT, one_of, optional
from dashboard.auth import can_write_project
from dashboard.errors import Forbidden, Invalid
from dashboard.services import projects, workspaces
from layouts.components.project_header import project_path
from layouts.components.project_manage_parts import share_url
from layouts.components.workspace_projects import project_grid, project_list

ACTION = {"type": "workspace-action", "action": ALL, "project": ALL}
SET_MODE_JS = """function(grid, list) {
    const id = window.dash_clientside.callback_context.triggered_id;
    return id === 'workspace-view-list' ? 'list' : 'grid';
}"""

# The search, owner, visibility and sort go into the query string (history.replaceState: the
# page isn't rebuilt), so a reload or a shared link shows the same listing (read by the layout).
WRITE_QUERY_JS = """function(q, owner, visibility, sort, sortClicks) {
    const params = new URLSearchParams();
    if (q) { params.set('q', q); }
    if (owner !== null && owner !== undefined) { params.set('owner', String(owner)); }
    if (visibility) { params.set('visibility', visibility); }
    if (sort && sort !== 'updated') { params.set('sort', sort); }
    if ((sortClicks || 0) % 2 === 1) { params.set('dir', 'asc'); }
    const search = params.toString() ? '?' + params.toString() : '';
    if (search !== window.location.search) {
        window.history.replaceState(window.history.state, '', window.location.pathname + search + window.location.hash);
    }
    return window.dash_clientside.no_update;
}"""


def list_projects(call: Call, ws_name, query, owner, visibility, sort, sort_clicks, mode, page, _refresh):
    descending = (sort_clicks or 0) % 2 == 0
    if ctx.triggered_id in ("workspace-search", "workspace-owner", "workspace-visibility", "workspace-sort"):
        page = 1
    page = max(1, page or 1)
    ws, role = workspaces.get_visible(call.session, call.actor, ws_name or "")
    options = dict(query=query or "", owner_id=owner, visibility=visibility, sort=sort or "updated",
                   descending=descending)
    cards, total = projects.search(call.session, call.actor, ws.id, page=page - 1, **options)
    pages = max(1, -(-total // projects.PAGE_SIZE))
    if page > pages:  # e.g. the last project of the last page was deleted
        page = pages
        cards, total = projects.search(call.session, call.actor, ws.id, page=page - 1, **options)
    if not cards:
        body = html.P("No projects match." if total == 0 and (query or owner or visibility) else
                      _no_projects(ws.name, role is not None and role.can_write),
                      className="text-muted", id="workspace-empty")
    else:
        body = project_list(ws.name, cards) if mode == "list" else project_grid(ws.name, cards)
    arrow = html.I(className="bi bi-sort-down" if descending else "bi bi-sort-up")
    return (body, f"{total} project{'s' if total != 1 else ''}", pages, page,
            "border active" if mode == "list" else "border", "border" if mode == "list" else "border active", arrow)


def _no_projects(ws_name: str, can_create: bool):
    """The empty workspace's next step."""
    if not can_create:
        return "No projects here yet. Members of this workspace create them or log experiments into them."
    return ["No projects yet. Click Create project, or log a first experiment with the SDK (a project is created "
            "with its first run): ",
            dcc.Link("Get started", href=f"/get-started?workspace={quote(ws_name, safe='')}",
                     id="workspace-empty-get-started"), "."]


def _bump(n):
    return (n or 0) + 1


def open_action(call: Call, clicks):
    """Open the dialog for the chosen action on one project (edit, icon, share, delete)."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    session, actor, action = call.session, call.actor, trigger["action"]
    project = projects.get_by_id_readable(session, actor, trigger["project"])
    ws = projects.workspace_name(session, project)
    writable = can_write_project(session, actor, project)
    if action in ("edit", "icon", "delete") and not writable:
        raise Forbidden("You have read-only access to this project")
    out = [no_update] * 11
    out[9], out[10] = project.id, None
    if action == "edit":
        out[0:4] = [True, project.name, project.description, "public" if project.is_public else "private"]
    elif action == "delete":
        if not projects.can_delete(session, actor, project):
            raise Forbidden("Only the project's creator or the workspace's owners and admins can delete it")
        _p, n_exp, n_assets = projects.deletion_summary(session, actor, project.id)
        out[4] = True
        out[5] = html.Div([
            html.P(["Delete ", html.B(project.name, id="workspace-delete-name"), "?"]),
            html.P(f"This permanently deletes {n_exp} experiment{'s' if n_exp != 1 else ''} and their data "
                   f"(metrics, parameters, logs and {n_assets} asset file{'s' if n_assets != 1 else ''}). "
                   "This can't be undone.", className="text-danger mb-0", id="workspace-delete-lost"),
        ])
    elif action == "share":
        out[6], out[7] = True, _share_body(ws, project, writable)
    else:
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


def save_edit(call: Call, _n, name, description, visibility, project_id, refresh):
    projects.update(call.session, call.actor, project_id, **_fields(name, description, visibility))
    return False, None, _bump(refresh)


def confirm_delete(call: Call, _n, project_id, refresh):
    name = projects.get_by_id_readable(call.session, call.actor, project_id).name
    n = projects.delete(call.session, call.actor, project_id, call.settings)
    ok = dbc.Alert(f"Deleted project {name} and {n} experiment{'s' if n != 1 else ''}.", color="success",
                   className="py-2", id="workspace-ok", duration=6000)
    return False, ok, _bump(refresh)


def upload_icon(call: Call, contents, project_id, refresh):
    if not contents:
        raise PreventUpdate
    header, _sep, payload = contents.partition(",")
    if not header.startswith("data:") or ";base64" not in header:
        raise Invalid("The upload could not be read")
    try:
        data = base64.b64decode(payload, validate=True)
    except ValueError as exc:
        raise Invalid("The upload could not be read") from exc
    projects.set_icon(call.session, call.actor, project_id, data, call.settings)
    return False, None, _bump(refresh), None


def open_create(_call: Call, _n):
    return True, "", "", "private", None


def close_dialog(_call: Call, _n):
    return False


def create_project(call: Call, _n, name, description, visibility, ws_name, refresh):
    ws = workspaces.get_readable(call.session, call.actor, ws_name or "")
    f = _fields(name, description, visibility)
    project = projects.create(call.session, call.actor, ws.id, f["name"], f["description"], f["is_public"])
    ok = dbc.Alert(["Created project ", dcc.Link(project.name, href=project_path(ws.name, project.name)), "."],
                   color="success", className="py-2", id="workspace-ok", duration=6000)
    return False, None, ok, _bump(refresh)


def register(kit: CallbackKit) -> None:
    kit.pattern("workspace-action", action=one_of("edit", "icon", "share", "delete"), project=ID)
    for name in ("workspace-name.data", "workspace-search.value", "workspace-visibility.value",
                 "workspace-sort.value", "workspace-view-mode.data", "workspace-edit-name.value",
                 "workspace-edit-description.value", "workspace-edit-visibility.value", "workspace-create-name.value",
                 "workspace-create-description.value", "workspace-create-visibility.value"):
        kit.value(name, optional(TEXT))
    kit.value("workspace-owner.value", optional(ID))
    kit.value("workspace-target.data", optional(ID))
    kit.value("workspace-refresh.data", optional(COUNT))
    kit.clientside(SET_MODE_JS, Output("workspace-view-mode", "data"),
                   Input("workspace-view-grid", "n_clicks"), Input("workspace-view-list", "n_clicks"),
                   prevent_initial_call=True)
    kit.clientside(WRITE_QUERY_JS, Output("workspace-name", "id"),
                   Input("workspace-search", "value"), Input("workspace-owner", "value"),
                   Input("workspace-visibility", "value"), Input("workspace-sort", "value"),
                   Input("workspace-sort-dir", "n_clicks"), prevent_initial_call=True)
    kit.callback(
        Output("workspace-projects", "children"), Output("workspace-total", "children"),
        Output("workspace-pagination", "max_value"), Output("workspace-pagination", "active_page"),
        Output("workspace-view-list", "className"), Output("workspace-view-grid", "className"),
        Output("workspace-sort-dir", "children"),
        Input("workspace-name", "data"), Input("workspace-search", "value"), Input("workspace-owner", "value"),
        Input("workspace-visibility", "value"), Input("workspace-sort", "value"),
        Input("workspace-sort-dir", "n_clicks"), Input("workspace-view-mode", "data"),
        Input("workspace-pagination", "active_page"), Input("workspace-refresh", "data"),
        public=True, error=alert("workspace-projects.children", id="workspace-error"),
        fallback={"workspace-total.children": "", "workspace-pagination.max_value": 1,
                  "workspace-pagination.active_page": 1},
    )(list_projects)
    kit.callback(
        Output("workspace-edit-modal", "is_open"), Output("workspace-edit-name", "value"),
        Output("workspace-edit-description", "value"), Output("workspace-edit-visibility", "value"),
        Output("workspace-delete-modal", "is_open"), Output("workspace-delete-body", "children"),
        Output("workspace-share-modal", "is_open"), Output("workspace-share-body", "children"),
        Output("workspace-icon-modal", "is_open"), Output("workspace-target", "data"),
        Output("workspace-message", "children"),
        Input(ACTION, "n_clicks"), prevent_initial_call=True,
        public=True, error=alert("workspace-message.children", id="workspace-error"),
    )(open_action)
    kit.callback(
        Output("workspace-edit-modal", "is_open", allow_duplicate=True),
        Output("workspace-edit-error", "children"), Output("workspace-refresh", "data"),
        Input("workspace-edit-save", "n_clicks"), State("workspace-edit-name", "value"),
        State("workspace-edit-description", "value"), State("workspace-edit-visibility", "value"),
        State("workspace-target", "data"), State("workspace-refresh", "data"), prevent_initial_call=True,
        error=alert("workspace-edit-error.children", id="workspace-edit-message"),
    )(save_edit)
    kit.callback(
        Output("workspace-delete-modal", "is_open", allow_duplicate=True),
        Output("workspace-message", "children", allow_duplicate=True),
        Output("workspace-refresh", "data", allow_duplicate=True),
        Input("workspace-delete-confirm", "n_clicks"), State("workspace-target", "data"),
        State("workspace-refresh", "data"), prevent_initial_call=True,
        error=alert("workspace-message.children", id="workspace-error"),
        fallback={"workspace-delete-modal.is_open": False},
    )(confirm_delete)
    kit.callback(
        Output("workspace-icon-modal", "is_open", allow_duplicate=True),
        Output("workspace-icon-error", "children"),
        Output("workspace-refresh", "data", allow_duplicate=True),
        Output("workspace-icon-upload", "contents"),
        Input("workspace-icon-upload", "contents"), State("workspace-target", "data"),
        State("workspace-refresh", "data"), prevent_initial_call=True,
        error=alert("workspace-icon-error.children", id="workspace-icon-message"),
        fallback={"workspace-icon-upload.contents": None},
    )(upload_icon)
    for name in ("edit", "delete"):
        kit.callback(Output(f"workspace-{name}-modal", "is_open", allow_duplicate=True),
                     Input(f"workspace-{name}-cancel", "n_clicks"), prevent_initial_call=True)(close_dialog)
    kit.callback(
        Output("workspace-create-modal", "is_open"), Output("workspace-create-name", "value"),
        Output("workspace-create-description", "value"), Output("workspace-create-visibility", "value"),
        Output("workspace-create-error", "children"),
        Input("workspace-create-open", "n_clicks"), prevent_initial_call=True,
    )(open_create)
    kit.callback(Output("workspace-create-modal", "is_open", allow_duplicate=True),
                 Input("workspace-create-cancel", "n_clicks"), prevent_initial_call=True)(close_dialog)
    kit.callback(
        Output("workspace-create-modal", "is_open", allow_duplicate=True),
        Output("workspace-create-error", "children", allow_duplicate=True),
        Output("workspace-message", "children", allow_duplicate=True),
        Output("workspace-refresh", "data", allow_duplicate=True),
        Input("workspace-create-submit", "n_clicks"), State("workspace-create-name", "value"),
        State("workspace-create-description", "value"), State("workspace-create-visibility", "value"),
        State("workspace-name", "data"), State("workspace-refresh", "data"), prevent_initial_call=True,
        error=alert("workspace-create-error.children", id="workspace-create-message"),
    )(create_project)
