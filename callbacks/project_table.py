"""The project's experiment table: rows for the infinite row model, group-by counts, bulk
actions on the checked rows, and the clickable cells (visibility, color, rename).

Workspace and project names arrive from the browser (``project-ctx``), so every call looks
the project up again with the visitor's access; writes go through services that check
write access themselves.
"""
from __future__ import annotations

from dash import ALL, Input, Output, State, ctx, html, no_update

from dashboard import context
from dashboard.errors import HalleyError
from dashboard.services import experiment_bulk as bulk, experiment_table as table, projects
from dashboard.services import panels as panel_data
from dashboard.webauth import PUBLIC_CALLBACK_OUTPUTS
from layouts.components.access import error_alert

GRID = "project-grid"


def load_project(session, ctx_data):
    """The project named in the page's context store, if the visitor may read it (else NotFound)."""
    ctx_data = ctx_data or {}
    return projects.get_readable(session, context.current_actor(), str(ctx_data.get("workspace") or ""),
                                 str(ctx_data.get("project") or ""))


def refresh(purge: bool = False, deselect: bool = False) -> dict:
    import time

    return {"t": time.time(), "purge": purge, "deselect": deselect}


def group_of(state: dict, group_value: dict | None):
    if not group_value or not state.get("groupBy") or group_value.get("col") != state.get("groupBy"):
        return None
    return state["groupBy"], group_value.get("value")


def get_rows(request, state, ctx_data, group_value, brush=None):
    if not request:
        return no_update, no_update
    try:
        with context.db().session() as s:
            p = load_project(s, ctx_data)
            state = table.normalize_state(state)
            if isinstance(brush, dict) and brush.get("rules"):  # a parallel-coordinates brush narrows the rows
                state = {**state, "filters": panel_data.narrow_filters(state["filters"], brush["rules"])}
            rows, total = table.fetch_rows(s, p, state, request.get("startRow", 0), request.get("endRow", 100),
                                           request.get("sortModel"), group_of(state, group_value))
    except HalleyError:
        return {"rowData": [], "rowCount": 0}, "Can't read this project's experiments."
    count = f"{total} experiment{'s' if total != 1 else ''}"
    # the known total sizes the scrollbar, so jumping far down fetches only that block
    return {"rowData": rows, "rowCount": total}, count


def render_groups(state, _refresh, group_value, ctx_data):
    state = state or {}
    if not state.get("groupBy"):
        return []
    try:
        with context.db().session() as s:
            p = load_project(s, ctx_data)
            groups = table.group_counts(s, p, table.normalize_state(state))
    except HalleyError as exc:
        return error_alert(exc.message)
    current = group_of(state, group_value)
    chips = [html.Span("Groups:", className="small text-muted me-1 align-self-center")]
    for i, (value, n) in enumerate(groups):
        active = current is not None and current[1] == value
        chips.append(html.Button(
            [html.Span("(empty)" if value is None else str(value)), html.Span(str(n), className="badge text-bg-secondary ms-1")],
            id={"type": "project-group", "index": i}, className="btn btn-sm project-group-chip "
            + ("btn-primary" if active else "btn-outline-secondary"), **{"data-value": "" if value is None else str(value)}))
    return chips


def pick_group(clicks, state, group_value, ctx_data):
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not any(clicks or []):
        return no_update, no_update
    try:
        with context.db().session() as s:
            p = load_project(s, ctx_data)
            groups = table.group_counts(s, p, table.normalize_state(state))
    except HalleyError:
        return no_update, no_update
    index = trig.get("index")
    if not isinstance(index, int) or index >= len(groups):
        return no_update, no_update
    value = groups[index][0]
    current = group_of(state or {}, group_value)
    if current is not None and current[1] == value:
        return None, refresh(purge=True, deselect=True)
    return {"col": state["groupBy"], "value": value}, refresh(purge=True, deselect=True)


def selection_changed(selected):
    n = len(selected or [])
    none = n == 0
    return f"{n} selected", none, none, none, none, none, n != 2


def _toast(message: str, error: bool = False):
    return html.Span(message, className="text-danger" if error else ""), True


def bulk_action(_a, _s, _h, selected, ctx_data):
    keys = [r.get("key") for r in selected or [] if isinstance(r, dict)]
    action = ctx.triggered_id
    try:
        with context.db().session() as s:
            p = load_project(s, ctx_data)
            actor = context.current_actor()
            if action == "project-archive":
                n = bulk.archive(s, actor, p, keys)
                message = f"Archived {n} experiment{'s' if n != 1 else ''}."
            else:
                visible = action == "project-show"
                n = bulk.set_visible(s, actor, p, keys, visible)
                message = f"{'Showing' if visible else 'Hid'} {n} experiment{'s' if n != 1 else ''} in panels."
    except HalleyError as exc:
        return *_toast(exc.message, True), no_update
    return *_toast(message), refresh(purge=action == "project-archive", deselect=action == "project-archive")


def toggle_move(_open, _cancel, is_open, ctx_data):
    if ctx.triggered_id == "project-move-cancel" or is_open:
        return False, no_update
    with context.db().session() as s:
        p = load_project(s, ctx_data)
        targets = bulk.move_targets(s, context.current_actor(), p)
    options = [{"label": f"{w} / {n}", "value": f"{w}/{n}"} for w, n in targets]
    return True, options


def move_selected(_n, target, selected, ctx_data):
    keys = [r.get("key") for r in selected or [] if isinstance(r, dict)]
    if not target or "/" not in target:
        return error_alert("Pick a target project."), no_update, no_update, no_update, no_update
    ws, name = target.split("/", 1)
    try:
        with context.db().session() as s:
            p = load_project(s, ctx_data)
            n = bulk.move(s, context.current_actor(), p, keys, ws, name)
    except HalleyError as exc:
        return error_alert(exc.message), no_update, no_update, no_update, no_update
    return None, False, *_toast(f"Moved {n} experiment{'s' if n != 1 else ''} to {ws}/{name}."), \
        refresh(purge=True, deselect=True)


def toggle_tag(_open, _cancel, is_open, ctx_data):
    if ctx.triggered_id == "project-tag-cancel" or is_open:
        return False, no_update
    with context.db().session() as s:
        p = load_project(s, ctx_data)
        tags = table.project_tags(s, p)
    return True, [html.Option(value=t) for t in tags]


def tag_selected(_submit, _click, tag, selected, ctx_data):
    keys = [r.get("key") for r in selected or [] if isinstance(r, dict)]
    try:
        with context.db().session() as s:
            p = load_project(s, ctx_data)
            n = bulk.add_tags(s, context.current_actor(), p, keys, [tag or ""])
    except HalleyError as exc:
        return error_alert(exc.message), no_update, no_update, no_update, no_update
    return None, "", *_toast(f"Tagged {n} experiment{'s' if n != 1 else ''} with '{tag.strip()}'."), refresh()


def cell_action(data, ctx_data):
    """A click in the visibility, color or name cell (reported by assets/experiment_table.js)."""
    if not isinstance(data, dict) or not isinstance(data.get("value"), dict):
        return (no_update,) * 8
    key, value = data.get("rowId"), data["value"]
    action = value.get("action")
    if action == "visible":
        try:
            with context.db().session() as s:
                p = load_project(s, ctx_data)
                bulk.set_visible(s, context.current_actor(), p, [key], bool(value.get("visible")))
        except HalleyError as exc:
            return no_update, no_update, no_update, no_update, no_update, *_toast(exc.message, True), no_update
        return no_update, no_update, no_update, no_update, no_update, no_update, no_update, refresh()
    if action == "color":
        color = value.get("color") if isinstance(value.get("color"), str) else "#1f77b4"
        return key, True, color, no_update, no_update, no_update, no_update, no_update
    if action == "rename":
        return key, no_update, no_update, True, str(value.get("name") or ""), no_update, no_update, no_update
    return (no_update,) * 8


def save_color(_n, color, key, ctx_data):
    try:
        with context.db().session() as s:
            p = load_project(s, ctx_data)
            bulk.set_color(s, context.current_actor(), p, key, color)
    except HalleyError as exc:
        return error_alert(exc.message), no_update, no_update
    return None, False, refresh()


def save_name(_n, _submit, name, key, ctx_data):
    try:
        with context.db().session() as s:
            p = load_project(s, ctx_data)
            bulk.rename(s, context.current_actor(), p, key, name)
    except HalleyError as exc:
        return error_alert(exc.message), no_update, no_update
    return None, False, refresh()


def close_modal(_n):
    return False


DIFF_JS = """
function (n, selected, ctx) {
    var keys = (selected || []).map(function (r) { return r.key; });
    if (!n || keys.length !== 2) { return window.dash_clientside.no_update; }
    return ctx.base + "/compare?experiments=" + keys.map(encodeURIComponent).join(",");
}
"""

REFRESH_JS = """
function (r) {
    if (r && window.halleyTable) { window.halleyTable.refresh('project-grid', r.purge, r.deselect); }
    return window.dash_clientside.no_update;
}
"""


def register(app) -> None:
    PUBLIC_CALLBACK_OUTPUTS.update({"project-grid.getRowsResponse", "project-groups.children",
                                    "project-group-value.data", "project-selected-count.children"})
    app.callback(Output(GRID, "getRowsResponse"), Output("project-count", "children"),
                 Input(GRID, "getRowsRequest"), State("project-state", "data"), State("project-ctx", "data"),
                 State("project-group-value", "data"), State("project-panels-brush", "data"),
                 prevent_initial_call=True)(get_rows)
    app.clientside_callback(REFRESH_JS, Output("project-refresh", "id"), Input("project-refresh", "data"),
                            prevent_initial_call=True)
    app.callback(Output("project-groups", "children"), Input("project-state", "data"),
                 Input("project-refresh", "data"), State("project-group-value", "data"), State("project-ctx", "data"))(
        render_groups)
    app.callback(Output("project-group-value", "data"), Output("project-refresh", "data", allow_duplicate=True),
                 Input({"type": "project-group", "index": ALL}, "n_clicks"), State("project-state", "data"),
                 State("project-group-value", "data"), State("project-ctx", "data"),
                 prevent_initial_call=True)(pick_group)
    app.callback(Output("project-selected-count", "children"), Output("project-archive", "disabled"),
                 Output("project-move-open", "disabled"), Output("project-tag-open", "disabled"),
                 Output("project-show", "disabled"), Output("project-hide", "disabled"),
                 Output("project-diff", "disabled"), Input(GRID, "selectedRows"))(selection_changed)
    app.clientside_callback(DIFF_JS, Output("shell-url", "href", allow_duplicate=True),
                            Input("project-diff", "n_clicks"), State(GRID, "selectedRows"),
                            State("project-ctx", "data"), prevent_initial_call=True)
    app.callback(Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Input("project-archive", "n_clicks"), Input("project-show", "n_clicks"),
                 Input("project-hide", "n_clicks"), State(GRID, "selectedRows"), State("project-ctx", "data"),
                 prevent_initial_call=True)(bulk_action)
    app.callback(Output("project-move-modal", "is_open"), Output("project-move-target", "options"),
                 Input("project-move-open", "n_clicks"), Input("project-move-cancel", "n_clicks"),
                 State("project-move-modal", "is_open"), State("project-ctx", "data"),
                 prevent_initial_call=True)(toggle_move)
    app.callback(Output("project-move-error", "children"),
                 Output("project-move-modal", "is_open", allow_duplicate=True),
                 Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Input("project-move-submit", "n_clicks"), State("project-move-target", "value"),
                 State(GRID, "selectedRows"), State("project-ctx", "data"), prevent_initial_call=True)(move_selected)
    app.callback(Output("project-tag-modal", "is_open"), Output("project-tag-options", "children"),
                 Input("project-tag-open", "n_clicks"), Input("project-tag-cancel", "n_clicks"),
                 State("project-tag-modal", "is_open"), State("project-ctx", "data"),
                 prevent_initial_call=True)(toggle_tag)
    app.callback(Output("project-tag-error", "children"), Output("project-tag-input", "value"),
                 Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Input("project-tag-input", "n_submit"), Input("project-tag-submit", "n_clicks"),
                 State("project-tag-input", "value"), State(GRID, "selectedRows"), State("project-ctx", "data"),
                 prevent_initial_call=True)(tag_selected)
    app.callback(Output("project-cell-target", "data"), Output("project-color-modal", "is_open"),
                 Output("project-color-input", "value"), Output("project-rename-modal", "is_open"),
                 Output("project-rename-input", "value"),
                 Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Input(GRID, "cellRendererData"), State("project-ctx", "data"), prevent_initial_call=True)(cell_action)
    app.callback(Output("project-color-error", "children"),
                 Output("project-color-modal", "is_open", allow_duplicate=True),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Input("project-color-save", "n_clicks"), State("project-color-input", "value"),
                 State("project-cell-target", "data"), State("project-ctx", "data"), prevent_initial_call=True)(save_color)
    app.callback(Output("project-rename-error", "children"),
                 Output("project-rename-modal", "is_open", allow_duplicate=True),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Input("project-rename-save", "n_clicks"), Input("project-rename-input", "n_submit"),
                 State("project-rename-input", "value"), State("project-cell-target", "data"),
                 State("project-ctx", "data"), prevent_initial_call=True)(save_name)
    for name in ("color", "rename"):
        app.callback(Output(f"project-{name}-modal", "is_open", allow_duplicate=True),
                     Input(f"project-{name}-cancel", "n_clicks"), prevent_initial_call=True)(close_modal)
