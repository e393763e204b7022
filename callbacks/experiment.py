"""Callbacks of the single-experiment page: tab rendering, the header (rename, tags, Stop,
status) and the table tabs (search, parameter history, output paging, notes).

The experiment key comes from a browser Store: every call re-opens the experiment through
the services with the current actor (read for views, write for changes).
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, Patch, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.kit import Call, CallbackKit, alert, red_text
from callbacks.shapes import COUNT, KEY, TAG, TEXT, list_of, optional, record
from dashboard.services import assets as asset_files, experiment_page, experiments, project_live
from layouts.components.experiment_header import format_duration, status_badge, stop_outcome, tag_badges
from layouts.components.experiment_tables import history_table
from layouts.components.experiment_tables import system_charts as experiment_system_charts
from layouts.components.experiment_tabs import RENDERERS
from layouts.components.project_markdown import render_markdown

HEADER_ERROR = alert("experiment-header-message.children", id="experiment-header-error")


def key_of(ref) -> str:
    return (ref or {}).get("key") or ""


def render_tab(call: Call, active_tab, ref):
    renderer = RENDERERS.get(active_tab or "charts")
    if renderer is None:
        return html.P("Unknown tab.", className="text-muted")
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    return renderer(call.session, page, asset_files.store(call.settings))


def refresh_status(call: Call, _n, ref, seen):
    """One poll of a running experiment's page: its status and duration, and, when it logged
    something since the last poll (``updated_at`` moved) or ended, a new ``experiment-live``
    value, which redraws the charts in view, the output and the system metrics. The poll backs
    off from every 5 s to every 30 s while nothing changes (as the project page's does) and stops
    once the experiment is not running; a Stop banner then gives way to the final state."""
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    exp = page.experiment
    running = page.status == "running"
    seen = seen if isinstance(seen, dict) else {}
    changed = [str(exp.updated_at), page.status]
    was_idle = int(seen.get("idle") or 0)
    idle = 0 if changed != seen.get("changed") else min(was_idle + 1, 100)
    interval = project_live.next_interval(idle)
    # A "Stop requested" banner turns into how the run ended once it has.
    ended = stop_outcome(page.status) if not running and exp.stop_requested else None
    return (status_badge(page.status, exp.stop_requested), not running,
            format_duration(experiments.duration_s(exp)), experiment_page.started_label(exp.end_time),
            {"changed": changed, "idle": idle} if changed != seen.get("changed") else no_update,
            {"changed": changed, "idle": idle} if idle != was_idle or changed != seen.get("changed") else no_update,
            interval if interval != project_live.next_interval(was_idle) else no_update,
            ended if ended is not None else no_update)


def toggle_rename(_call: Call, _open, _cancel, _saved):
    editing = ctx.triggered_id == "experiment-rename-open"
    return ({"display": "none"} if editing else {}), ({} if editing else {"display": "none"})


def rename(call: Call, _n, _submit, value, ref):
    exp = experiment_page.rename(call.session, call.actor, key_of(ref), value or "")
    return exp.name or exp.key, None, 1


def add_tag(call: Call, _submit, new_tag, ref):
    tags = experiment_page.add_tag(call.session, call.actor, key_of(ref), new_tag or "")
    return tag_badges(tags, True), None, ""


def remove_tag(call: Call, _removes, ref):
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not (ctx.triggered and ctx.triggered[0].get("value")):
        raise PreventUpdate
    tags = experiment_page.remove_tag(call.session, call.actor, key_of(ref), trigger["tag"])
    return tag_badges(tags, True), None


def toggle_stop_modal(_call: Call, _open, _cancel, _confirm, is_open):
    return not is_open


def stop(call: Call, _n, ref):
    exp = experiments.request_stop(call.session, call.actor, key_of(ref))
    status = experiments.effective_status(exp)
    notice = dbc.Alert("Stop requested: the script stops at its next heartbeat.", color="warning",
                       className="py-1 my-2 small", id="experiment-stop-requested")
    return notice, status_badge(status, True), True, False


def toggle_reproduce(_call: Call, _n, is_open):
    return not is_open


def quick_filter(_call: Call, text):
    patch = Patch()
    patch["quickFilterText"] = text or ""
    return patch


def parameter_history(call: Call, cell, ref):
    if not cell or not cell.get("rowId"):
        raise PreventUpdate
    exp = experiments.get_readable(call.session, call.actor, key_of(ref))
    name = cell["rowId"][:300]
    return history_table(name, experiments.parameter_history(call.session, exp, name))


def output_page(call: Call, search, _prev, _next, _live, page, ref):
    trigger = ctx.triggered_id
    page = page or 0
    if trigger == "experiment-output-search":
        page = 0
    elif trigger == "experiment-output-prev":
        page = max(0, page - 1)
    elif trigger == "experiment-output-next":
        page += 1
    exp = experiments.get_readable(call.session, call.actor, key_of(ref))
    rows, total = experiment_page.output_page(call.session, exp, search or "", page)
    size = experiment_page.OUTPUT_PAGE_SIZE
    page = min(page, max(0, (total - 1) // size))
    # [text, 1 when stderr]: written as text, one span per line, by OUTPUT_LINES_JS
    lines = [[r.text + ("" if r.text.endswith("\n") else "\n"), int(bool(r.stderr))] for r in rows]
    first = page * size + 1 if total else 0
    label = f"Lines {first:,}-{page * size + len(rows):,} of {total:,}" + (" matching" if search else "")
    data = {"lines": lines} if lines else {"message": "No output" + (" matches the search." if search else ".")}
    return data, label, page, None


# The output page's lines into #experiment-output-lines, each a <span> holding its text (stderr
# lines in red), or the message; one DOM update instead of a Dash component per line.
OUTPUT_LINES_JS = """function(data) {
    const pre = document.getElementById('experiment-output-lines');
    if (!pre || !data) { return window.dash_clientside.no_update; }
    const lines = document.createDocumentFragment();
    if (Array.isArray(data.lines)) {
        data.lines.forEach(function (line) {
            const span = document.createElement('span');
            if (line[1]) { span.className = 'text-danger'; }
            span.textContent = String(line[0]);
            lines.appendChild(span);
        });
    } else {
        lines.appendChild(document.createTextNode(String(data.message || '')));
    }
    pre.replaceChildren(lines);
    return window.dash_clientside.no_update;
}"""


def system_charts(call: Call, _live, ref):
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    return experiment_system_charts(call.session, page.experiment)


def save_notes(call: Call, _n, text, ref):
    exp = experiment_page.set_notes(call.session, call.actor, key_of(ref), text or "")
    return html.Span("Saved", className="text-success", id="experiment-notes-saved"), render_markdown(
        exp.notes, empty="No notes yet.")


def register(kit: CallbackKit) -> None:
    kit.pattern("experiment-tag-remove", tag=TAG)
    kit.value("experiment-ref.data", optional(record(key=optional(KEY))))
    for name in ("experiment-rename-input.value", "experiment-tag-input.value", "experiment-notes-editor.value",
                 "experiment-output-search.value", "experiment-metrics-search.value",
                 "experiment-params-search.value", "experiment-text-search.value"):
        kit.value(name, optional(TEXT))
    kit.value("experiment-output-page.data", optional(COUNT))
    live = optional(record(changed=optional(list_of(optional(TEXT), most=2)), idle=optional(COUNT)))
    kit.value("experiment-live.data", live)
    kit.value("experiment-live-idle.data", live)
    kit.value("experiment-params-grid.cellClicked", optional(record(rowId=optional(TEXT))))
    kit.clientside(
        """function(tab) {
            if (!tab) { return window.dash_clientside.no_update; }
            const url = new URL(window.location.href);
            url.searchParams.set('tab', tab);
            window.history.replaceState(window.history.state, '', url.toString());
            return window.dash_clientside.no_update;
        }""",
        Output("experiment-tabs", "className"), Input("experiment-tabs", "active_tab"))
    kit.callback(Output("experiment-tab-content", "children"), Input("experiment-tabs", "active_tab"),
                 State("experiment-ref", "data"), public=True,
                 error=alert("experiment-tab-content.children", id="experiment-tab-error"))(render_tab)
    kit.callback(Output("experiment-status-wrap", "children"), Output("experiment-status-poll", "disabled"),
                 Output("experiment-duration", "children"), Output("experiment-end", "children"),
                 Output("experiment-live", "data"), Output("experiment-live-idle", "data"),
                 Output("experiment-status-poll", "interval"),
                 Output("experiment-header-message", "children", allow_duplicate=True),
                 Input("experiment-status-poll", "n_intervals"), State("experiment-ref", "data"),
                 State("experiment-live-idle", "data"), prevent_initial_call=True, public=True,
                 fallback={"experiment-status-poll.disabled": True})(refresh_status)
    kit.callback(Output("experiment-name-view", "style"), Output("experiment-rename-edit", "style"),
                 Input("experiment-rename-open", "n_clicks"), Input("experiment-rename-cancel", "n_clicks"),
                 Input("experiment-rename-done", "data"), prevent_initial_call=True)(toggle_rename)
    kit.callback(Output("experiment-name", "children"), Output("experiment-header-message", "children"),
                 Output("experiment-rename-done", "data"),
                 Input("experiment-rename-save", "n_clicks"), Input("experiment-rename-input", "n_submit"),
                 State("experiment-rename-input", "value"), State("experiment-ref", "data"),
                 prevent_initial_call=True, error=HEADER_ERROR)(rename)
    kit.callback(Output("experiment-tags", "children"),
                 Output("experiment-header-message", "children", allow_duplicate=True),
                 Output("experiment-tag-input", "value"), Input("experiment-tag-input", "n_submit"),
                 State("experiment-tag-input", "value"), State("experiment-ref", "data"),
                 prevent_initial_call=True, error=HEADER_ERROR)(add_tag)
    kit.callback(Output("experiment-tags", "children", allow_duplicate=True),
                 Output("experiment-header-message", "children", allow_duplicate=True),
                 Input({"type": "experiment-tag-remove", "tag": ALL}, "n_clicks"), State("experiment-ref", "data"),
                 prevent_initial_call=True, error=HEADER_ERROR)(remove_tag)
    kit.callback(Output("experiment-stop-modal", "is_open"),
                 Input("experiment-stop-open", "n_clicks"), Input("experiment-stop-cancel", "n_clicks"),
                 Input("experiment-stop-confirm", "n_clicks"), State("experiment-stop-modal", "is_open"),
                 prevent_initial_call=True)(toggle_stop_modal)
    kit.callback(Output("experiment-header-message", "children", allow_duplicate=True),
                 Output("experiment-status-wrap", "children", allow_duplicate=True),
                 Output("experiment-stop-open", "disabled"),
                 Output("experiment-status-poll", "disabled", allow_duplicate=True),
                 Input("experiment-stop-confirm", "n_clicks"), State("experiment-ref", "data"),
                 prevent_initial_call=True, error=HEADER_ERROR)(stop)
    kit.callback(Output("experiment-reproduce-modal", "is_open"), Input("experiment-reproduce-open", "n_clicks"),
                 State("experiment-reproduce-modal", "is_open"), prevent_initial_call=True,
                 public=True)(toggle_reproduce)
    for grid, box in (("experiment-metrics-grid", "experiment-metrics-search"),
                      ("experiment-params-grid", "experiment-params-search"),
                      ("experiment-text-grid", "experiment-text-search")):
        kit.callback(Output(grid, "dashGridOptions"), Input(box, "value"), prevent_initial_call=True,
                     public=True)(quick_filter)
    kit.callback(Output("experiment-params-history", "children"), Input("experiment-params-grid", "cellClicked"),
                 State("experiment-ref", "data"), prevent_initial_call=True, public=True,
                 error=alert("experiment-params-history.children"))(parameter_history)
    kit.callback(Output("experiment-output-data", "data"), Output("experiment-output-range", "children"),
                 Output("experiment-output-page", "data"), Output("experiment-output-error", "children"),
                 Input("experiment-output-search", "value"), Input("experiment-output-prev", "n_clicks"),
                 Input("experiment-output-next", "n_clicks"), Input("experiment-live", "data"),
                 State("experiment-output-page", "data"),
                 State("experiment-ref", "data"), public=True, error=alert("experiment-output-error.children"),
                 fallback={"experiment-output-range.children": "", "experiment-output-page.data": 0,
                           "experiment-output-data.data": {"message": ""}})(output_page)
    kit.clientside(OUTPUT_LINES_JS, Output("experiment-output-lines", "title"), Input("experiment-output-data", "data"))
    kit.callback(Output("experiment-system-charts", "children"), Input("experiment-live", "data"),
                 State("experiment-ref", "data"), prevent_initial_call=True, public=True,
                 error=alert("experiment-system-charts.children"))(system_charts)
    kit.callback(Output("experiment-notes-message", "children"), Output("experiment-notes-rendered", "children"),
                 Input("experiment-notes-save", "n_clicks"), State("experiment-notes-editor", "value"),
                 State("experiment-ref", "data"), prevent_initial_call=True,
                 error=red_text("experiment-notes-message.children"))(save_notes)
