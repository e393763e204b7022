"""Callbacks of the single-experiment page: tab rendering, the header (rename, tags, Stop,
status) and the table tabs (search, parameter history, asset preview, output paging, notes).

The experiment key comes from a browser Store: every call re-opens the experiment through
the services with the current actor (read for views, write for changes).
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, Patch, State, ctx, html, no_update

from dashboard import context
from dashboard.errors import HalleyError
from dashboard.services import experiment_page, experiments
from dashboard.webauth import PUBLIC_CALLBACK_OUTPUTS
from layouts.components.access import error_alert
from layouts.components.experiment_header import format_duration, status_badge, tag_badges
from layouts.components.experiment_tables import history_table
from layouts.components.experiment_tabs import RENDERERS
from layouts.components.project_markdown import render_markdown


def key_of(ref) -> str:
    return str((ref or {}).get("key") or "")[:50]


def render_tab(active_tab, ref):
    renderer = RENDERERS.get(active_tab or "charts")
    if renderer is None:
        return html.P("Unknown tab.", className="text-muted")
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            page = experiment_page.open_key(s, actor, key_of(ref))
            return renderer(s, page, context.settings().assets_dir)
    except HalleyError as exc:
        return error_alert(exc.message, id="experiment-tab-error")


def refresh_status(_n, ref):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            page = experiment_page.open_key(s, actor, key_of(ref))
    except HalleyError:
        return no_update, True, no_update, no_update
    exp = page.experiment
    return (status_badge(page.status, exp.stop_requested), page.status != "running",
            format_duration(experiments.duration_s(exp)), experiment_page.started_label(exp.end_time))


def toggle_rename(_open, _cancel, _saved):
    editing = ctx.triggered_id == "experiment-rename-open"
    return ({"display": "none"} if editing else {}), ({} if editing else {"display": "none"})


def rename(_n, _submit, value, ref):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            exp = experiment_page.rename(s, actor, key_of(ref), value or "")
            name = exp.name or exp.key
    except HalleyError as exc:
        return no_update, error_alert(exc.message, id="experiment-header-error"), no_update
    return name, None, 1


def add_tag(_submit, new_tag, ref):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            tags = experiment_page.add_tag(s, actor, key_of(ref), new_tag or "")
    except HalleyError as exc:
        return no_update, error_alert(exc.message, id="experiment-header-error"), no_update
    return tag_badges(tags, True), None, ""


def remove_tag(_removes, ref):
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not (ctx.triggered and ctx.triggered[0].get("value")):
        return no_update, no_update
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            tags = experiment_page.remove_tag(s, actor, key_of(ref), str(trigger.get("tag", "")))
    except HalleyError as exc:
        return no_update, error_alert(exc.message, id="experiment-header-error")
    return tag_badges(tags, True), None


def toggle_stop_modal(_open, _cancel, _confirm, is_open):
    return not is_open


def stop(_n, ref):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            exp = experiments.request_stop(s, actor, key_of(ref))
            status = experiments.effective_status(exp)
    except HalleyError as exc:
        return error_alert(exc.message, id="experiment-header-error"), no_update, no_update, no_update
    notice = dbc.Alert("Stop requested: the script stops at its next heartbeat.", color="warning",
                       className="py-1 my-2 small", id="experiment-stop-requested")
    return notice, status_badge(status, True), True, False


def toggle_reproduce(_n, is_open):
    return not is_open


def quick_filter(text):
    patch = Patch()
    patch["quickFilterText"] = text or ""
    return patch


def parameter_history(cell, ref):
    if not cell or not cell.get("rowId"):
        return no_update
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            exp = experiments.get_readable(s, actor, key_of(ref))
            name = str(cell["rowId"])[:300]
            return history_table(name, experiments.parameter_history(s, exp, name))
    except HalleyError as exc:
        return error_alert(exc.message)


def preview_asset(_clicks, ref):
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not (ctx.triggered and ctx.triggered[0].get("value")):
        return no_update, no_update, no_update
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            exp = experiments.get_readable(s, actor, key_of(ref))
            asset = experiment_page.get_asset(s, exp, str(trigger.get("asset", "")))
            if not experiment_page.previewable(asset.file_name):
                return True, asset.file_name, "No preview for this file type."
            text, cut = experiment_page.read_text(context.settings().assets_dir, asset)
    except HalleyError as exc:
        return True, "Preview", exc.message
    return True, asset.file_name, text + ("\n… (preview truncated)" if cut else "")


def output_page(search, _prev, _next, page, ref):
    trigger = ctx.triggered_id
    page = int(page or 0)
    if trigger == "experiment-output-search":
        page = 0
    elif trigger == "experiment-output-prev":
        page = max(0, page - 1)
    elif trigger == "experiment-output-next":
        page += 1
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            exp = experiments.get_readable(s, actor, key_of(ref))
            rows, total = experiment_page.output_page(s, exp, search or "", page)
    except HalleyError as exc:
        return error_alert(exc.message), "", 0
    size = experiment_page.OUTPUT_PAGE_SIZE
    page = min(page, max(0, (total - 1) // size))
    lines = [html.Span(r.text + ("" if r.text.endswith("\n") else "\n"), className="text-danger" if r.stderr else None)
             for r in rows]
    first = page * size + 1 if total else 0
    label = f"Lines {first:,}-{page * size + len(rows):,} of {total:,}" + (" matching" if search else "")
    return lines or "No output" + (" matches the search." if search else "."), label, page


def save_notes(_n, text, ref):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            exp = experiment_page.set_notes(s, actor, key_of(ref), text or "")
    except HalleyError as exc:
        return html.Span(exc.message, className="text-danger"), no_update
    return html.Span("Saved", className="text-success", id="experiment-notes-saved"), render_markdown(
        exp.notes, empty="No notes yet.")


def register(app) -> None:
    for output in ("experiment-tab-content.children", "experiment-status-wrap.children",
                   "experiment-metrics-grid.dashGridOptions", "experiment-params-grid.dashGridOptions",
                   "experiment-text-grid.dashGridOptions", "experiment-params-history.children",
                   "experiment-asset-preview-modal.is_open", "experiment-output-lines.children",
                   "experiment-reproduce-modal.is_open"):
        PUBLIC_CALLBACK_OUTPUTS.add(output)
    app.clientside_callback(
        """function(tab) {
            if (!tab) { return window.dash_clientside.no_update; }
            const url = new URL(window.location.href);
            url.searchParams.set('tab', tab);
            window.history.replaceState(window.history.state, '', url.toString());
            return window.dash_clientside.no_update;
        }""",
        Output("experiment-tabs", "className"), Input("experiment-tabs", "active_tab"))
    app.callback(Output("experiment-tab-content", "children"), Input("experiment-tabs", "active_tab"),
                 State("experiment-ref", "data"))(render_tab)
    app.callback(Output("experiment-status-wrap", "children"), Output("experiment-status-poll", "disabled"),
                 Output("experiment-duration", "children"), Output("experiment-end", "children"),
                 Input("experiment-status-poll", "n_intervals"), State("experiment-ref", "data"),
                 prevent_initial_call=True)(refresh_status)
    app.callback(Output("experiment-name-view", "style"), Output("experiment-rename-edit", "style"),
                 Input("experiment-rename-open", "n_clicks"), Input("experiment-rename-cancel", "n_clicks"),
                 Input("experiment-rename-done", "data"), prevent_initial_call=True)(toggle_rename)
    app.callback(Output("experiment-name", "children"), Output("experiment-header-message", "children"),
                 Output("experiment-rename-done", "data"),
                 Input("experiment-rename-save", "n_clicks"), Input("experiment-rename-input", "n_submit"),
                 State("experiment-rename-input", "value"), State("experiment-ref", "data"),
                 prevent_initial_call=True)(rename)
    app.callback(Output("experiment-tags", "children"),
                 Output("experiment-header-message", "children", allow_duplicate=True),
                 Output("experiment-tag-input", "value"), Input("experiment-tag-input", "n_submit"),
                 State("experiment-tag-input", "value"), State("experiment-ref", "data"),
                 prevent_initial_call=True)(add_tag)
    app.callback(Output("experiment-tags", "children", allow_duplicate=True),
                 Output("experiment-header-message", "children", allow_duplicate=True),
                 Input({"type": "experiment-tag-remove", "tag": ALL}, "n_clicks"), State("experiment-ref", "data"),
                 prevent_initial_call=True)(remove_tag)
    app.callback(Output("experiment-stop-modal", "is_open"),
                 Input("experiment-stop-open", "n_clicks"), Input("experiment-stop-cancel", "n_clicks"),
                 Input("experiment-stop-confirm", "n_clicks"), State("experiment-stop-modal", "is_open"),
                 prevent_initial_call=True)(toggle_stop_modal)
    app.callback(Output("experiment-header-message", "children", allow_duplicate=True),
                 Output("experiment-status-wrap", "children", allow_duplicate=True),
                 Output("experiment-stop-open", "disabled"), Output("experiment-status-poll", "disabled",
                                                                    allow_duplicate=True),
                 Input("experiment-stop-confirm", "n_clicks"), State("experiment-ref", "data"),
                 prevent_initial_call=True)(stop)
    app.callback(Output("experiment-reproduce-modal", "is_open"), Input("experiment-reproduce-open", "n_clicks"),
                 State("experiment-reproduce-modal", "is_open"), prevent_initial_call=True)(toggle_reproduce)
    for grid, box in (("experiment-metrics-grid", "experiment-metrics-search"),
                      ("experiment-params-grid", "experiment-params-search"),
                      ("experiment-text-grid", "experiment-text-search")):
        app.callback(Output(grid, "dashGridOptions"), Input(box, "value"), prevent_initial_call=True)(quick_filter)
    app.callback(Output("experiment-params-history", "children"), Input("experiment-params-grid", "cellClicked"),
                 State("experiment-ref", "data"), prevent_initial_call=True)(parameter_history)
    app.callback(Output("experiment-asset-preview-modal", "is_open"), Output("experiment-asset-preview-title", "children"),
                 Output("experiment-asset-preview-body", "children"),
                 Input({"type": "experiment-asset-preview", "asset": ALL}, "n_clicks"), State("experiment-ref", "data"),
                 prevent_initial_call=True)(preview_asset)
    app.callback(Output("experiment-output-lines", "children"), Output("experiment-output-range", "children"),
                 Output("experiment-output-page", "data"),
                 Input("experiment-output-search", "value"), Input("experiment-output-prev", "n_clicks"),
                 Input("experiment-output-next", "n_clicks"), State("experiment-output-page", "data"),
                 State("experiment-ref", "data"))(output_page)
    app.callback(Output("experiment-notes-message", "children"), Output("experiment-notes-rendered", "children"),
                 Input("experiment-notes-save", "n_clicks"), State("experiment-notes-editor", "value"),
                 State("experiment-ref", "data"), prevent_initial_call=True)(save_notes)
