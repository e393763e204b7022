"""The Charts tab: the chart layout lives in a Store (charts, colors, smoothing, X axis,
outliers); charts are drawn once scrolled into view, those that come into view together in
one request."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.experiment import key_of
from callbacks.kit import Call, CallbackKit, alert, figure, red_text
from callbacks.shapes import INDEX, NUMBER, TEXT, list_of, optional, record
from dashboard.services import experiment_page, panels
from layouts.components.experiment_charts import chart_cards, chart_graph, chart_token


def chart_state(state) -> dict:
    """The chart layout a page's store holds, cleaned (a store of another shape is empty)."""
    return experiment_page.clean_chart_state(state if isinstance(state, dict) else {})


def update_state(_call: Call, smoothing, x_axis, outliers, _add, _deletes, _color, add_metrics, color_metric,
                 color_value, state):
    state = chart_state(state)
    trigger = ctx.triggered_id
    if trigger == "experiment-charts-smoothing":
        state["smoothing"] = float(smoothing or 0)
    elif trigger == "experiment-charts-xaxis":
        state["x_axis"] = x_axis or "step"
    elif trigger == "experiment-charts-outliers":
        state["ignore_outliers"] = bool(outliers)
    elif trigger == "experiment-charts-add":
        if not add_metrics:
            raise PreventUpdate
        state["charts"] = state["charts"] + [{"metrics": add_metrics[:20]}]
    elif trigger == "experiment-charts-color-apply":
        if not color_metric or not experiment_page.COLOR.fullmatch(color_value or ""):
            raise PreventUpdate
        state["colors"] = {**state["colors"], color_metric: color_value}
    elif isinstance(trigger, dict) and trigger["type"] == "experiment-chart-delete":
        if not (ctx.triggered and ctx.triggered[0].get("value")):
            raise PreventUpdate
        charts = state["charts"]
        if trigger["index"] < len(charts):
            charts.pop(trigger["index"])
    else:
        raise PreventUpdate
    return state


def render_charts(call: Call, state, ref, drawn):
    """The chart cards, made again only when the list of charts changes (``drawn`` is the
    token of the list shown); a change of smoothing, X axis, outliers or colors redraws the
    charts in place (``redraw_charts``). The tab's layout makes the first cards."""
    state = chart_state(state)
    token = chart_token(state["charts"])
    if token == drawn:
        raise PreventUpdate
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    return chart_cards(call.session, page, state, panels.open_cache(call.settings.cache_dir), drawn=0), token


MAX_CHARTS = 1000  # chart indices one request may name


def _figures(call: Call, state: dict, ref, wanted) -> dict:
    """The figures of the charts ``wanted`` (indices) among the outputs of this call."""
    wanted = set(wanted or []) & {o["id"]["index"] for o in ctx.outputs_list}
    if not wanted:
        raise PreventUpdate
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    cache = panels.open_cache(call.settings.cache_dir)
    figures = {}
    for index in sorted(wanted):
        fig = experiment_page.chart_figure(call.session, page.experiment, state, index, cache)
        if fig is not None:
            figures[index] = fig
    if not figures:
        raise PreventUpdate
    return figures


def draw_seen(call: Call, seen, state, ref):
    """The graphs of the charts scrolled into view and not drawn yet (``seen["new"]``), in one
    request, into their slots. ``seen`` names the list of charts it was made for: a grid being
    replaced asks again."""
    state = chart_state(state)
    if not seen or seen.get("token") != chart_token(state["charts"]):
        raise PreventUpdate
    figures = _figures(call, state, ref, seen.get("new"))
    return [chart_graph(o["id"]["index"], figures[o["id"]["index"]]) if o["id"]["index"] in figures else no_update
            for o in ctx.outputs_list]


def redraw_charts(call: Call, state, _live, drawn, ref):
    """Every chart drawn so far again (the graphs on the page), on a change of smoothing, X axis,
    outliers or colors, and on live updates. A change of the list of charts makes a new grid
    instead (``render_charts``), whose charts are drawn as they come into view."""
    state = chart_state(state)
    if ctx.triggered_id is None or chart_token(state["charts"]) != drawn:  # None: graphs just put in place
        raise PreventUpdate
    figures = _figures(call, state, ref, [o["id"]["index"] for o in ctx.outputs_list])
    return [figures.get(o["id"]["index"], no_update) for o in ctx.outputs_list]


def toggle_modal(_call: Call, _open, _done, is_open):
    return not is_open


def toggle_add_modal(_call: Call, _open, _done, is_open):
    """Add Chart opens with nothing selected, so a new chart holds only the metrics picked for it."""
    opening = not is_open
    return opening, ([] if opening else no_update)


def save_view(call: Call, _n, state, ref):
    experiment_page.save_chart_view(call.session, call.actor, key_of(ref), state or {})
    return dbc.Alert("View saved: this project's experiments open with this chart layout.", color="success",
                     className="py-1 small", id="experiment-charts-saved", duration=4000)


def register(kit: CallbackKit) -> None:
    kit.pattern("experiment-chart-delete", index=INDEX)
    kit.value("experiment-charts-smoothing.value", optional(NUMBER))
    kit.value("experiment-charts-add-metrics.value", optional(list_of(TEXT, most=100)))
    for name in ("experiment-charts-xaxis.value", "experiment-charts-color-metric.value",
                 "experiment-charts-color-value.value"):
        kit.value(name, optional(TEXT))
    kit.callback(
        Output("experiment-charts-state", "data"),
        Input("experiment-charts-smoothing", "value"), Input("experiment-charts-xaxis", "value"),
        Input("experiment-charts-outliers", "value"), Input("experiment-charts-add", "n_clicks"),
        Input({"type": "experiment-chart-delete", "index": ALL}, "n_clicks"),
        Input("experiment-charts-color-apply", "n_clicks"),
        State("experiment-charts-add-metrics", "value"), State("experiment-charts-color-metric", "value"),
        State("experiment-charts-color-value", "value"), State("experiment-charts-state", "data"),
        prevent_initial_call=True, public=True,
    )(update_state)
    kit.value("experiment-charts-token.data", optional(TEXT))
    kit.callback(Output("experiment-charts-grid", "children"), Output("experiment-charts-token", "data"),
                 Input("experiment-charts-state", "data"), State("experiment-ref", "data"),
                 State("experiment-charts-token", "data"), public=True,
                 error=alert("experiment-charts-grid.children"))(render_charts)
    kit.pattern("experiment-chart", index=INDEX)
    kit.pattern("experiment-chart-slot", index=INDEX)
    kit.value("experiment-charts-seen.data", optional(record(
        token=optional(TEXT), new=optional(list_of(INDEX, most=MAX_CHARTS)))))
    # two callbacks, so that charts scrolled to while the others are redrawn don't cancel the
    # redraw (Dash drops the answer of a call overtaken by a newer call of the same callback)
    kit.callback(Output({"type": "experiment-chart-slot", "index": ALL}, "children"),
                 Input("experiment-charts-seen", "data"), State("experiment-charts-state", "data"),
                 State("experiment-ref", "data"), prevent_initial_call=True, public=True,
                 error=red_text("experiment-chart-slot.children"))(draw_seen)
    kit.callback(Output({"type": "experiment-chart", "index": ALL}, "figure"),
                 Input("experiment-charts-state", "data"), Input("experiment-live", "data"),
                 State("experiment-charts-token", "data"), State("experiment-ref", "data"),
                 prevent_initial_call=True, public=True,
                 error=figure("experiment-chart.figure"))(redraw_charts)
    kit.callback(Output("experiment-charts-add-modal", "is_open"), Output("experiment-charts-add-metrics", "value"),
                 Input("experiment-charts-add-open", "n_clicks"), Input("experiment-charts-add", "n_clicks"),
                 State("experiment-charts-add-modal", "is_open"), prevent_initial_call=True,
                 public=True)(toggle_add_modal)
    kit.callback(Output("experiment-charts-colors-modal", "is_open"),
                 Input("experiment-charts-colors-open", "n_clicks"), Input("experiment-charts-color-apply", "n_clicks"),
                 State("experiment-charts-colors-modal", "is_open"), prevent_initial_call=True,
                 public=True)(toggle_modal)
    kit.callback(Output("experiment-charts-message", "children"), Input("experiment-charts-save", "n_clicks"),
                 State("experiment-charts-state", "data"), State("experiment-ref", "data"),
                 prevent_initial_call=True,
                 error=alert("experiment-charts-message.children", id="experiment-charts-error"))(save_view)
