"""The project's experiment table: rows for the infinite row model (grouped or not), bulk
actions on the checked rows, and the clickable cells (visibility, color, rename).

Workspace and project names arrive from the browser (``project-ctx``), so every call looks
the project up again with the visitor's access; writes go through services that check
write access themselves.
"""
from __future__ import annotations

from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.kit import Call, CallbackKit, alert, toast
from callbacks.shapes import (
    ANY, COUNT, FLAG, KEY, LIST, OBJECT, TEXT, list_of, matching, optional, record,
)
from dashboard.errors import Invalid
from dashboard.query import parse_column
from dashboard.services import experiment_bulk as bulk, experiment_table as table, projects, view_state
from dashboard.services.ingest import KEY_RE
from dashboard.services import panels as panel_data
from dashboard.services import table_groups

GRID = "project-grid"
GROUPED_KEY = matching(KEY_RE.pattern.strip("^$") + r"@\d{1,9}", "an experiment key in a group")
# The page's context store: which project the page shows (names from the URL, re-checked on
# every call) and what the page drew for the visitor.
PROJECT_CONTEXT = optional(record(workspace=optional(TEXT), project=optional(TEXT), canWrite=optional(FLAG),
                                  base=optional(TEXT)))


def load_project(call: Call, ctx_data):
    """The project named in the page's context store, if the visitor may read it (else NotFound)."""
    ctx_data = ctx_data or {}
    return projects.get_readable(call.session, call.actor, ctx_data.get("workspace") or "",
                                 ctx_data.get("project") or "")


def refresh(purge: bool = False, deselect: bool = False) -> dict:
    import time

    return {"t": time.time(), "purge": purge, "deselect": deselect}


def open_groups(state: dict, group_open) -> list:
    """The open groups' paths, if they were opened under the state's grouping."""
    if not group_open or group_open.get("by") != state.get("groupBy"):
        return []
    return group_open.get("paths") or []


def count_label(total: int) -> str:
    """The table's count, with thousands separated as in the panels' captions."""
    return f"{total:,} experiment{'s' if total != 1 else ''}"


def get_rows(call: Call, request, state, ctx_data, group_open, brush=None):
    if not request:
        raise PreventUpdate
    p = load_project(call, ctx_data)
    state = view_state.normalize_state(state)
    if brush and brush.get("rules"):  # a parallel-coordinates brush narrows the rows
        state = {**state, "filters": panel_data.narrow_filters(state["filters"], brush["rules"])}
    start, end = request.get("startRow") or 0, request.get("endRow") or 100
    if state.get("groupBy"):
        rows, size, total, truncated = table_groups.fetch_grouped_rows(
            call.session, p, state, start, end, request.get("sortModel"), open_groups(state, group_open))
        count = count_label(total)
        if truncated:
            count += f" (the first {table_groups.MAX_GROUPS} groups of each level are shown)"
        return {"rowData": rows, "rowCount": size}, count
    rows, total = table.fetch_rows(call.session, p, state, start, end, request.get("sortModel"))
    count = count_label(total)
    # the known total sizes the scrollbar, so jumping far down fetches only that block
    return {"rowData": rows, "rowCount": total}, count


def group_note(_call: Call, state):
    """What the grouping shows, under the toolbar."""
    state = view_state.normalize_state(state)
    if not state.get("groupBy"):
        return None
    labels = " › ".join(parse_column(c).label for c in state["groupBy"])
    shown = {"mean": "mean", "min": "minimum", "max": "maximum", "last": "value in the latest experiment"}
    note = (f"Grouped by {labels}. Click a group to open or close it; group rows show the "
            f"{shown[state['groupAgg']]} of each number column.")
    if "tags" in state["groupBy"]:
        note += " An experiment with several tags is listed under each of its tags."
    return html.Span(note, id="project-group-note")


def selection_changed(_call: Call, selected):
    n = len(selected or [])
    none = n == 0
    return f"{n} selected", none, none, none, none, none, n != 2


def _toast(message: str):
    return html.Span(message), True


def selected_keys(selected) -> list:
    return [r.get("key") for r in selected or []]


def bulk_action(call: Call, _a, _s, _h, selected, ctx_data):
    keys = selected_keys(selected)
    action = ctx.triggered_id
    p = load_project(call, ctx_data)
    if action == "project-archive":
        n = bulk.archive(call.session, call.actor, p, keys)
        message = f"Archived {n} experiment{'s' if n != 1 else ''}."
    else:
        visible = action == "project-show"
        n = bulk.set_visible(call.session, call.actor, p, keys, visible)
        message = f"{'Showing' if visible else 'Hid'} {n} experiment{'s' if n != 1 else ''} in panels."
    # every bulk action clears the selection, so the next one doesn't hit these rows again
    return *_toast(message), refresh(purge=action == "project-archive", deselect=True)


def toggle_move(call: Call, _open, _cancel, is_open, ctx_data):
    if ctx.triggered_id == "project-move-cancel" or is_open:
        return False, no_update, no_update
    targets = bulk.move_targets(call.session, call.actor, load_project(call, ctx_data))
    options = [{"label": f"{w} / {n}", "value": f"{w}/{n}"} for w, n in targets]
    return True, options, None


def move_selected(call: Call, _n, target, selected, ctx_data):
    if not target or "/" not in target:
        raise Invalid("Pick a target project.")
    ws, name = target.split("/", 1)
    n = bulk.move(call.session, call.actor, load_project(call, ctx_data), selected_keys(selected), ws, name)
    return None, False, *_toast(f"Moved {n} experiment{'s' if n != 1 else ''} to {ws}/{name}."), \
        refresh(purge=True, deselect=True)


def toggle_tag(call: Call, _open, _cancel, is_open, ctx_data):
    if ctx.triggered_id == "project-tag-cancel" or is_open:
        return False, no_update, no_update
    tags = table.project_tags(call.session, load_project(call, ctx_data))
    return True, [html.Option(value=t) for t in tags], None


def tag_selected(call: Call, _submit, _click, tag, selected, ctx_data):
    p = load_project(call, ctx_data)
    n = bulk.add_tags(call.session, call.actor, p, selected_keys(selected), [tag])
    return (None, "", False, *_toast(f"Tagged {n} experiment{'s' if n != 1 else ''} with '{tag.strip()}'."),
            refresh(deselect=True))


def cell_action(call: Call, data, ctx_data):
    """A click in the visibility, color or name cell (reported by assets/experiment_table.js)."""
    value = data.get("value") if data else None
    if not isinstance(value, dict):
        raise PreventUpdate
    key, action = str(data.get("rowId") or "").split("@")[0], value.get("action")  # "<key>@<n>": grouped rows
    if action == "visible":
        bulk.set_visible(call.session, call.actor, load_project(call, ctx_data), [key], bool(value.get("visible")))
        return no_update, no_update, no_update, no_update, no_update, no_update, no_update, refresh()
    if action == "color":
        color = value.get("color") if isinstance(value.get("color"), str) else "#1f77b4"
        return key, True, color, no_update, no_update, no_update, no_update, no_update
    if action == "rename":
        return key, no_update, no_update, True, str(value.get("name") or ""), no_update, no_update, no_update
    raise PreventUpdate


def save_color(call: Call, _n, color, key, ctx_data):
    bulk.set_color(call.session, call.actor, load_project(call, ctx_data), key, color)
    return None, False, refresh()


def save_name(call: Call, _n, _submit, name, key, ctx_data):
    bulk.rename(call.session, call.actor, load_project(call, ctx_data), key, name)
    return None, False, refresh()


def close_modal(_call: Call, _n):
    return False


DIFF_JS = """
function (n, selected, ctx) {
    var keys = (selected || []).map(function (r) { return r.key; });
    if (!n || keys.length !== 2) { return window.dash_clientside.no_update; }
    return ctx.base + "/compare?experiments=" + keys.map(encodeURIComponent).join(",");
}
"""

GROUPS_OPENED_JS = """
function (_open) {
    if (window.halleyTable) { window.halleyTable.refresh('project-grid', true, false); }
    return window.dash_clientside.no_update;
}
"""

REFRESH_JS = """
function (r) {
    if (r && window.halleyTable) { window.halleyTable.refresh('project-grid', r.purge, r.deselect); }
    return window.dash_clientside.no_update;
}
"""


def register(kit: CallbackKit) -> None:
    kit.value("project-ctx.data", PROJECT_CONTEXT)
    kit.value(f"{GRID}.getRowsRequest", optional(record(startRow=optional(COUNT), endRow=optional(COUNT),
                                                        sortModel=optional(LIST))))
    kit.value(f"{GRID}.selectedRows", optional(list_of(OBJECT)))
    kit.value(f"{GRID}.cellRendererData", optional(record(rowId=optional(KEY | GROUPED_KEY), value=ANY)))
    kit.value("project-group-open.data", optional(record(by=optional(list_of(TEXT, table_groups.MAX_LEVELS)),
                                                         paths=optional(list_of(LIST, table_groups.MAX_OPEN)))))
    kit.value("project-cell-target.data", optional(KEY))
    for name in ("project-move-target.value", "project-tag-input.value", "project-color-input.value",
                 "project-rename-input.value"):
        kit.value(name, optional(TEXT))
    kit.callback(Output(GRID, "getRowsResponse"), Output("project-count", "children"),
                 Input(GRID, "getRowsRequest"), State("project-state", "data"), State("project-ctx", "data"),
                 State("project-group-open", "data"), State("project-panels-brush", "data"),
                 prevent_initial_call=True, public=True,
                 fallback={f"{GRID}.getRowsResponse": {"rowData": [], "rowCount": 0},
                           "project-count.children": "Can't read this project's experiments."})(get_rows)
    kit.clientside(REFRESH_JS, Output("project-refresh", "id"), Input("project-refresh", "data"),
                   prevent_initial_call=True)
    kit.callback(Output("project-groups", "children"), Input("project-state", "data"), public=True,
                 error=alert("project-groups.children"))(group_note)
    # a group row's toggle (assets/table_groups.js) sets the open groups: the rows follow
    kit.clientside(GROUPS_OPENED_JS, Output("project-group-open", "id"), Input("project-group-open", "data"),
                   prevent_initial_call=True)
    kit.callback(Output("project-selected-count", "children"), Output("project-archive", "disabled"),
                 Output("project-move-open", "disabled"), Output("project-tag-open", "disabled"),
                 Output("project-show", "disabled"), Output("project-hide", "disabled"),
                 Output("project-diff", "disabled"), Input(GRID, "selectedRows"), public=True)(selection_changed)
    kit.clientside(DIFF_JS, Output("shell-url", "href", allow_duplicate=True),
                   Input("project-diff", "n_clicks"), State(GRID, "selectedRows"),
                   State("project-ctx", "data"), prevent_initial_call=True)
    kit.callback(Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Input("project-archive", "n_clicks"), Input("project-show", "n_clicks"),
                 Input("project-hide", "n_clicks"), State(GRID, "selectedRows"), State("project-ctx", "data"),
                 prevent_initial_call=True, error=toast())(bulk_action)
    kit.callback(Output("project-move-modal", "is_open"), Output("project-move-target", "options"),
                 Output("project-move-error", "children", allow_duplicate=True),
                 Input("project-move-open", "n_clicks"), Input("project-move-cancel", "n_clicks"),
                 State("project-move-modal", "is_open"), State("project-ctx", "data"), prevent_initial_call=True,
                 error=alert("project-move-error.children"), fallback={"project-move-modal.is_open": True})(toggle_move)
    kit.callback(Output("project-move-error", "children"),
                 Output("project-move-modal", "is_open", allow_duplicate=True),
                 Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Input("project-move-submit", "n_clicks"), State("project-move-target", "value"),
                 State(GRID, "selectedRows"), State("project-ctx", "data"), prevent_initial_call=True,
                 error=alert("project-move-error.children"))(move_selected)
    kit.callback(Output("project-tag-modal", "is_open"), Output("project-tag-options", "children"),
                 Output("project-tag-error", "children", allow_duplicate=True),
                 Input("project-tag-open", "n_clicks"), Input("project-tag-cancel", "n_clicks"),
                 State("project-tag-modal", "is_open"), State("project-ctx", "data"), prevent_initial_call=True,
                 error=alert("project-tag-error.children"), fallback={"project-tag-modal.is_open": True})(toggle_tag)
    kit.callback(Output("project-tag-error", "children"), Output("project-tag-input", "value"),
                 Output("project-tag-modal", "is_open", allow_duplicate=True),
                 Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Input("project-tag-input", "n_submit"), Input("project-tag-submit", "n_clicks"),
                 State("project-tag-input", "value"), State(GRID, "selectedRows"), State("project-ctx", "data"),
                 prevent_initial_call=True, error=alert("project-tag-error.children"))(tag_selected)
    kit.callback(Output("project-cell-target", "data"), Output("project-color-modal", "is_open"),
                 Output("project-color-input", "value"), Output("project-rename-modal", "is_open"),
                 Output("project-rename-input", "value"),
                 Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Input(GRID, "cellRendererData"), State("project-ctx", "data"), prevent_initial_call=True,
                 error=toast())(cell_action)
    kit.callback(Output("project-color-error", "children"),
                 Output("project-color-modal", "is_open", allow_duplicate=True),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Input("project-color-save", "n_clicks"), State("project-color-input", "value"),
                 State("project-cell-target", "data"), State("project-ctx", "data"), prevent_initial_call=True,
                 error=alert("project-color-error.children"))(save_color)
    kit.callback(Output("project-rename-error", "children"),
                 Output("project-rename-modal", "is_open", allow_duplicate=True),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Input("project-rename-save", "n_clicks"), Input("project-rename-input", "n_submit"),
                 State("project-rename-input", "value"), State("project-cell-target", "data"),
                 State("project-ctx", "data"), prevent_initial_call=True,
                 error=alert("project-rename-error.children"))(save_name)
    for name in ("color", "rename"):
        kit.callback(Output(f"project-{name}-modal", "is_open", allow_duplicate=True),
                     Input(f"project-{name}-cancel", "n_clicks"), prevent_initial_call=True)(close_modal)
