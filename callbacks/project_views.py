"""The project view state and saved views.

``project-state`` (a dcc.Store) is the single source of truth for what the page shows.
``update_state`` applies the query builder, group-by (and its aggregate), hide-constant, panels
expanded, column picks, Discard and a state carried in the URL; ``grid_columns_changed`` the grid's column
moves, resizes and sorts.

URL: ``/<ws>/<project>?view=<id>`` names the saved view; unsaved changes are written to the
``#hash`` (compressed JSON, see ``view_state.encode_state``) with
``history.replaceState`` as soon as they happen. The hash never re-runs the pages router,
so the grid is not rebuilt on each change, and a reload or a shared URL restores the view
from it. The hash is cleared when the state equals the saved view again.
"""
from __future__ import annotations

import copy
from urllib.parse import quote

from dash import ALL, Input, Output, Patch, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.kit import Call, CallbackKit, alert, plain_text, toast
from callbacks.project_table import load_project, refresh
from callbacks.query_builder import add_rule, load_attributes, remove_at, rule_from_form, toggle_op
from callbacks.shapes import ANY, FLAG, ID, OBJECT, TEXT, list_of, matching, one_of, optional, record
from dashboard.errors import Invalid
from dashboard.services import experiment_table as table, project_views, view_state
from dashboard.services.table_groups import AGGS, MAX_LEVELS as MAX_GROUP_LEVELS
from layouts.components.experiment_table import column_def, column_defs, option_for
from layouts.components.query_builder import ALL_EXPERIMENTS, filter_chips, group_targets
from layouts.components.view_menu import view_items

HIDDEN = {"display": "none"}


def canonical(state: dict | None) -> dict:
    """The parts of a state a person sees, with default widths filled in, for comparing."""
    s = view_state.normalize_state(state)
    by_id = {c["colId"]: c for c in s["columnState"]}
    cols = []
    for col in table.shown_columns(s):
        saved = by_id.get(col, {})
        width = saved.get("width") or column_def(col, "", False).get("width", 150)
        cols.append((col, width, saved.get("sort"), saved.get("sortIndex") if saved.get("sort") else None,
                     saved.get("pinned")))
    return {"filters": s["filters"], "queryId": s["queryId"], "cols": cols, "groupBy": s["groupBy"],
            "groupAgg": s["groupAgg"] if s["groupBy"] else None,
            "hideConstant": s["hideConstant"], "panelsOpen": s["panelsOpen"], "panels": s["panels"]}


def _hidden_columns(call: Call, state: dict, ctx_data) -> set[str]:
    if not state.get("hideConstant"):
        return set()
    return set(table.constant_columns(call.session, load_project(call, ctx_data), state))


def _merge_columns(current: list[str], picked: list[str]) -> list[str]:
    picked = [c for c in picked or [] if isinstance(c, str)]
    return [c for c in current if c in picked] + [c for c in picked if c not in current]


def _changes(current: dict, new: dict, replace: bool):
    """The new state, as a Patch of the keys that changed: callbacks in flight at the same time
    (a column resize while a filter is added) then don't undo each other's change."""
    if replace:
        return new
    patch = Patch()
    for key, value in new.items():
        if current.get(key) != value:
            patch[key] = value
    return patch


def update_state(call: Call, url_hash, query_value, _add, _remove, _op, _clear, group_by, hide_constant,
                 _panels, _columns_apply, _discard, group_agg, state, saved, ctx_data, attr, operator, value, value2,
                 target, picked, group_options):
    trig = ctx.triggered_id
    fired = ctx.triggered[0]["value"] if ctx.triggered else None
    try:
        current = view_state.normalize_state(state)
    except Invalid:
        current = view_state.default_state()
    new = copy.deepcopy(current)
    columns_changed = rows_changed = controls = False
    if trig is None or trig == "project-url-hash":
        decoded = view_state.decode_state((url_hash or "").lstrip("#"))
        if decoded is None or canonical(decoded) == canonical(current):
            raise PreventUpdate
        new, columns_changed, rows_changed, controls = decoded, True, True, True
    elif trig == "project-query-select":
        if query_value == (current["queryId"] if current["queryId"] is not None else ALL_EXPERIMENTS):
            raise PreventUpdate
        if query_value == ALL_EXPERIMENTS or query_value is None:
            new["filters"], new["queryId"] = {"op": "and", "rules": []}, None
        else:
            saved_query = project_views.get_query(call.session, call.actor, load_project(call, ctx_data), query_value)
            new["filters"], new["queryId"] = project_views.query_filters(saved_query), saved_query.id
        rows_changed = True
    elif trig == "project-filter-add":
        new["filters"] = add_rule(new["filters"], rule_from_form(attr, operator, value, value2), target)
        rows_changed = True
    elif isinstance(trig, dict) and trig.get("type") == "project-filter-remove":
        if not fired:
            raise PreventUpdate
        new["filters"], rows_changed = remove_at(new["filters"], trig.get("path", "")), True
    elif isinstance(trig, dict) and trig.get("type") == "project-filter-op":
        if not fired:
            raise PreventUpdate
        new["filters"], rows_changed = toggle_op(new["filters"], trig.get("path", "")), True
    elif trig == "project-filter-clear":
        new["filters"], new["queryId"], rows_changed, controls = {"op": "and", "rules": []}, None, True, True
    elif trig == "project-groupby":
        picked_groups = [c for c in group_by or [] if c][:MAX_GROUP_LEVELS]
        if (picked_groups or None) == current["groupBy"]:
            raise PreventUpdate
        new["groupBy"], rows_changed, columns_changed = picked_groups or None, True, True
        controls = len(group_by or []) > MAX_GROUP_LEVELS  # the dropdown drops a fourth pick
    elif trig == "project-group-agg":
        if group_agg == current["groupAgg"]:
            raise PreventUpdate
        new["groupAgg"], rows_changed = group_agg, True
    elif trig == "project-hide-constant":
        if bool(hide_constant) == current["hideConstant"]:
            raise PreventUpdate
        new["hideConstant"], columns_changed = bool(hide_constant), True
    elif trig == "project-panels-toggle":
        new["panelsOpen"], controls = not current["panelsOpen"], True
    elif trig == "project-columns-apply":
        new["columns"] = _merge_columns(current["columns"], picked)
        columns_changed = rows_changed = True
    elif trig == "project-view-discard":
        new = view_state.normalize_state((saved or {}).get("state"))
        columns_changed = rows_changed = controls = True
    else:
        raise PreventUpdate
    new = view_state.normalize_state(new)
    if rows_changed and new["hideConstant"]:
        columns_changed = True
    defs = no_update
    if columns_changed:
        defs = column_defs(new, (ctx_data or {}).get("base") or "", bool((ctx_data or {}).get("canWrite")),
                           _hidden_columns(call, new, ctx_data))
    query_select = (new["queryId"] if new["queryId"] is not None else ALL_EXPERIMENTS) if controls else no_update
    return (_changes(current, new, replace=trig in (None, "project-url-hash", "project-view-discard")), defs,
            refresh(purge=True, deselect=True) if rows_changed else no_update, query_select,
            (new["groupBy"] or []) if controls else no_update, new["hideConstant"] if controls else no_update,
            new["panelsOpen"] if controls or trig == "project-panels-toggle" else no_update, "",
            group_by_options(call, ctx_data, new, group_options) if controls else no_update,
            new["groupAgg"] if controls else no_update)


def group_by_options(call: Call, ctx_data, state: dict, options):
    """The group-by options once the state's columns are picked in the dropdown: the options
    this callback read may predate the attribute catalogue (both load with the page), so
    missing ones are read again rather than left to a list of the picked columns alone."""
    picked = state.get("groupBy") or []
    if all(any(o.get("value") == c for o in options or [] if isinstance(o, dict)) for c in picked):
        return no_update
    return with_option(load_attributes(call, ctx_data, state)[2], picked)


def with_option(options, col_ids):
    """Dropdown options that include ``col_ids``: a value missing from the options (they load
    after the view is restored) would be dropped by the dropdown."""
    options = list(options or [])
    for col_id in col_ids or []:
        if not any(o.get("value") == col_id for o in options):
            options.append(option_for(col_id))
    return options


def grid_columns_changed(_call: Call, column_state, state):
    """Columns moved, resized or sorted in the grid. A callback of its own: the grid reports
    its columns on every load, and Dash drops a callback's pending result when the same
    callback fires again, which would lose a state being restored from the URL."""
    current = view_state.normalize_state(state)
    columns = view_state.clean_column_state(column_state, current["columns"])
    if columns == current["columnState"]:
        raise PreventUpdate
    patch = Patch()
    patch["columnState"] = columns
    return patch


def render_state(_call: Call, state, saved, ctx_data):
    """What follows from the state: filter chips, group targets, dirty flag, URL hash, CSV link."""
    state = view_state.normalize_state(state)
    dirty = canonical(state) != canonical((saved or {}).get("state"))
    ctx_data = ctx_data or {}
    encoded = view_state.encode_state(state)
    href = (f"/api/v1/workspaces/{quote(str(ctx_data.get('workspace', '')), safe='')}/projects/"
            f"{quote(str(ctx_data.get('project', '')), safe='')}/experiments.csv?state={encoded}")
    return (filter_chips(state["filters"]), group_targets(state["filters"]), None if dirty else HIDDEN,
            None if dirty else HIDDEN, encoded if dirty else "", href)


def toggle_columns(_call: Call, _open, _cancel, _apply, is_open, state):
    if ctx.triggered_id == "project-columns-open" and not is_open:
        return True, (state or {}).get("columns") or []
    return False, no_update


def open_save_view(_call: Call, _open, _cancel, is_open):
    return ctx.triggered_id == "project-view-save-open" and not is_open


def save_view(call: Call, n, mode, name, state, saved, ctx_data):
    if not n:  # the modal's button mounting, not a click
        raise PreventUpdate
    saved = saved or {}
    session, actor = call.session, call.actor
    p = load_project(call, ctx_data)
    if mode == "update" and saved.get("viewId") is not None:
        view = project_views.update_view(session, actor, p, saved["viewId"], state)
        new_saved = {"viewId": view.id, "name": view.name, "state": project_views.view_state(view)}
        return None, False, new_saved, no_update, html.Span(f"Saved the view '{view.name}'."), True
    view = project_views.create_view(session, actor, p, name, state)
    return None, False, no_update, f"{(ctx_data or {}).get('base') or ''}?view={view.id}", no_update, no_update


def _menu_after(call: Call, p, saved, ctx_data, message: str):
    items = view_items(project_views.list_views(call.session, call.actor, p), (saved or {}).get("viewId"),
                       (ctx_data or {}).get("base") or "", bool((ctx_data or {}).get("canWrite")))
    return items, no_update, html.Span(message), True


def view_action(call: Call, _defaults, saved, ctx_data):
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not (ctx.triggered and ctx.triggered[0]["value"]):
        raise PreventUpdate
    p = load_project(call, ctx_data)
    view = project_views.set_default(call.session, call.actor, p, trig["id"])
    return _menu_after(call, p, saved, ctx_data, f"'{view.name}' is now the project's default view.")


def ask_delete_view(call: Call, _deletes, ctx_data):
    """A view's trash asks first, naming the view."""
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not (ctx.triggered and ctx.triggered[0]["value"]):
        raise PreventUpdate
    view = project_views.get_view(call.session, call.actor, load_project(call, ctx_data), trig["id"])
    body = html.P(["Delete the view ", html.B(view.name, id="project-view-delete-name"),
                   "? Its columns, filters and panels are lost for everyone in the project."])
    return True, body, view.id, no_update, no_update


def confirm_delete_view(call: Call, n, view_id, saved, ctx_data):
    if not n or view_id is None:
        raise PreventUpdate
    session, actor = call.session, call.actor
    p = load_project(call, ctx_data)
    view = project_views.get_view(session, actor, p, view_id)
    project_views.delete_view(session, actor, p, view.id)
    message = f"Deleted the view '{view.name}'."
    if view.id == (saved or {}).get("viewId"):
        return no_update, f"{(ctx_data or {}).get('base') or ''}?view=builtin", html.Span(message), True, False, None
    return *_menu_after(call, p, saved, ctx_data, message), False, None


def close_delete_view(_call: Call, _n):
    return False, None


# The state in the URL's #hash when the page opens. When the browser moves to another #hash
# without loading the page (a view link opened in a tab already showing the project, back and
# forward), the page loads again from that link, as a new tab would. The page's own writes
# (WRITE_HASH_JS) use replaceState, which fires no hashchange.
READ_HASH_JS = """
function (_ctx) {
    if (!window.halleyViewLinkListener) {
        window.halleyViewLinkListener = function () {
            var hash = window.location.hash.slice(1);  // a view's state, not "#" or an anchor
            if (/^[A-Za-z0-9_-]{16,}$/.test(hash) && document.getElementById('project-grid')) {
                window.location.reload();
            }
        };
        window.addEventListener('hashchange', window.halleyViewLinkListener);
    }
    return window.location.hash ? window.location.hash.slice(1) : null;
}
"""

WRITE_HASH_JS = """
function (hash) {
    var target = window.location.pathname + window.location.search + (hash ? "#" + hash : "");
    if (target !== window.location.pathname + window.location.search + window.location.hash) {
        window.history.replaceState(window.history.state, "", target);
    }
    return window.dash_clientside.no_update;
}
"""


def register(kit: CallbackKit) -> None:
    path = matching(r"(\d{1,3}(\.\d{1,3})*)?", "a filter path")
    kit.pattern("project-filter-remove", path=path)
    kit.pattern("project-filter-op", path=path)
    kit.pattern("project-view-default", id=ID)
    kit.pattern("project-view-delete", id=ID)
    kit.value("project-groupby.value", optional(list_of(TEXT, 20)))
    kit.value("project-group-agg.value", optional(one_of(*AGGS)))
    for name in ("project-url-hash.data", "project-filter-target.value",
                 "project-view-save-mode.value", "project-view-name.value"):
        kit.value(name, optional(TEXT))
    kit.value("project-state.data", optional(OBJECT))
    kit.value("project-query-select.value", optional(TEXT | ID))
    kit.value("project-hide-constant.value", optional(FLAG))
    kit.value("project-columns-select.value", optional(list_of(TEXT)))
    kit.value("project-groupby.options", optional(list_of(OBJECT)))
    kit.value("project-saved.data", optional(record(viewId=optional(ID), name=optional(TEXT), state=ANY)))
    # project-view-error: the save callback also fires when its button mounts; it saves nothing
    # without a click and write access (checked by the service)
    kit.callback(
        Output("project-state", "data"), Output("project-grid", "columnDefs"),
        Output("project-refresh", "data", allow_duplicate=True), Output("project-query-select", "value"),
        Output("project-groupby", "value"), Output("project-hide-constant", "value"),
        Output("project-panels-collapse", "is_open"), Output("project-filter-error", "children"),
        Output("project-groupby", "options", allow_duplicate=True), Output("project-group-agg", "value"),
        Input("project-url-hash", "data"), Input("project-query-select", "value"),
        Input("project-filter-add", "n_clicks"), Input({"type": "project-filter-remove", "path": ALL}, "n_clicks"),
        Input({"type": "project-filter-op", "path": ALL}, "n_clicks"), Input("project-filter-clear", "n_clicks"),
        Input("project-groupby", "value"), Input("project-hide-constant", "value"),
        Input("project-panels-toggle", "n_clicks"), Input("project-columns-apply", "n_clicks"),
        Input("project-view-discard", "n_clicks"), Input("project-group-agg", "value"),
        State("project-state", "data"), State("project-saved", "data"), State("project-ctx", "data"),
        State("project-filter-attr", "value"), State("project-filter-operator", "value"),
        State("project-filter-value", "value"), State("project-filter-value2", "value"),
        State("project-filter-target", "value"), State("project-columns-select", "value"),
        State("project-groupby", "options"),
        prevent_initial_call="initial_duplicate", public=True, error=plain_text("project-filter-error.children"),
    )(update_state)
    kit.callback(Output("project-state", "data", allow_duplicate=True), Input("project-grid", "columnState"),
                 State("project-state", "data"), prevent_initial_call=True, public=True)(grid_columns_changed)
    kit.callback(Output("project-filter-chips", "children"), Output("project-filter-target", "options"),
                 Output("project-view-dirty", "style"), Output("project-view-discard", "style"),
                 Output("project-hash", "data"), Output("project-export", "href"),
                 Input("project-state", "data"), Input("project-saved", "data"), State("project-ctx", "data"),
                 public=True)(render_state)
    kit.clientside(READ_HASH_JS, Output("project-url-hash", "data"), Input("project-ctx", "data"))
    kit.clientside(WRITE_HASH_JS, Output("project-hash", "id"), Input("project-hash", "data"),
                   prevent_initial_call=True)
    kit.callback(Output("project-columns-modal", "is_open"), Output("project-columns-select", "value"),
                 Input("project-columns-open", "n_clicks"), Input("project-columns-cancel", "n_clicks"),
                 Input("project-columns-apply", "n_clicks"), State("project-columns-modal", "is_open"),
                 State("project-state", "data"), prevent_initial_call=True, public=True)(toggle_columns)
    kit.callback(Output("project-view-modal", "is_open"), Input("project-view-save-open", "n_clicks"),
                 Input("project-view-cancel", "n_clicks"), State("project-view-modal", "is_open"),
                 prevent_initial_call=True)(open_save_view)
    kit.callback(Output("project-view-error", "children"),
                 Output("project-view-modal", "is_open", allow_duplicate=True),
                 Output("project-saved", "data"), Output("shell-url", "href", allow_duplicate=True),
                 Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Input("project-view-save", "n_clicks"), State("project-view-save-mode", "value"),
                 State("project-view-name", "value"), State("project-state", "data"), State("project-saved", "data"),
                 State("project-ctx", "data"), prevent_initial_call=True, public=True,
                 error=alert("project-view-error.children"))(save_view)
    kit.callback(Output("project-view-menu", "children"), Output("shell-url", "href", allow_duplicate=True),
                 Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Input({"type": "project-view-default", "id": ALL}, "n_clicks"),
                 State("project-saved", "data"), State("project-ctx", "data"), prevent_initial_call=True,
                 error=toast())(view_action)
    # like saving, confirming a deletion also fires when its button mounts (for visitors too);
    # it deletes nothing without a click and write access (checked by the service)
    kit.value("project-view-delete-target.data", optional(ID))
    kit.callback(Output("project-view-delete-modal", "is_open"), Output("project-view-delete-body", "children"),
                 Output("project-view-delete-target", "data"),
                 Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Input({"type": "project-view-delete", "id": ALL}, "n_clicks"), State("project-ctx", "data"),
                 prevent_initial_call=True, error=toast(),
                 fallback={"project-view-delete-modal.is_open": False})(ask_delete_view)
    kit.callback(Output("project-view-menu", "children", allow_duplicate=True),
                 Output("shell-url", "href", allow_duplicate=True),
                 Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Output("project-view-delete-modal", "is_open", allow_duplicate=True),
                 Output("project-view-delete-target", "data", allow_duplicate=True),
                 Input("project-view-delete-confirm", "n_clicks"), State("project-view-delete-target", "data"),
                 State("project-saved", "data"), State("project-ctx", "data"), prevent_initial_call=True,
                 public=True, error=toast(), fallback={"project-view-delete-modal.is_open": False,
                                          "project-view-delete-target.data": None})(confirm_delete_view)
    kit.callback(Output("project-view-delete-modal", "is_open", allow_duplicate=True),
                 Output("project-view-delete-target", "data", allow_duplicate=True),
                 Input("project-view-delete-cancel", "n_clicks"), prevent_initial_call=True)(close_delete_view)
