"""The Charts tab: the chart layout lives in a Store (charts, colors, smoothing, X axis,
outliers); each chart is drawn by its own callback once scrolled into view."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.experiment import key_of
from callbacks.kit import Call, CallbackKit, alert, figure
from callbacks.shapes import INDEX, NUMBER, TEXT, list_of, optional
from dashboard.services import experiment_page, panels
from layouts.components.experiment_charts import chart_cards, chart_token


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
    charts in place (``draw_chart``). The tab's layout makes the first cards."""
    state = chart_state(state)
    token = chart_token(state["charts"])
    if token == drawn:
        raise PreventUpdate
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    return chart_cards(call.session, page, state, panels.open_cache(call.settings.cache_dir), drawn=0), token


def draw_chart(call: Call, seen, state, _live, ref):
    """One chart, when its card has come into view (and again on each change after that)."""
    if not seen:
        raise PreventUpdate
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    fig = experiment_page.chart_figure(call.session, page.experiment, chart_state(state),
                                       ctx.outputs_list["id"]["index"], panels.open_cache(call.settings.cache_dir))
    if fig is None:
        raise PreventUpdate
    return fig


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
    kit.pattern("experiment-chart-seen", index=INDEX)
    kit.callback(Output({"type": "experiment-chart", "index": MATCH}, "figure"),
                 Input({"type": "experiment-chart-seen", "index": MATCH}, "data"),
                 Input("experiment-charts-state", "data"), Input("experiment-live", "data"),
                 State("experiment-ref", "data"),
                 prevent_initial_call=True, public=True, shapes={"experiment-chart-seen.data": optional(TEXT)},
                 error=figure("experiment-chart.figure"))(draw_chart)
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
