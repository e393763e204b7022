"""The Charts tab: the chart layout lives in a Store (charts, colors, smoothing, X axis,
outliers); every change re-renders the charts from one query per render."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.experiment import key_of
from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import INDEX, NUMBER, TEXT, list_of, optional
from dashboard.charts import metric_lines
from dashboard.services import experiment_page
from layouts.components.experiment_charts import chart_card


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


def render_charts(call: Call, state, ref):
    state = chart_state(state)
    charts = state["charts"]
    if not charts:
        return html.P("No charts. Use Add Chart to plot metrics.", className="text-muted", id="experiment-charts-empty")
    names = sorted({m for c in charts for m in c["metrics"]})
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    series = {x.name: x for x in experiment_page.metric_series(call.session, page.experiment, names, state["x_axis"])}
    color_index = {n: i for i, n in enumerate(names)}
    cards = []
    for i, chart in enumerate(charts):
        lines = [series[m] for m in chart["metrics"] if m in series]
        title = ", ".join(chart["metrics"])
        fig, invalid = metric_lines.figure(lines, x_axis=state["x_axis"], smoothing=state["smoothing"],
                                           ignore_outliers=state["ignore_outliers"], colors=state["colors"],
                                           color_index=color_index)
        graph = dcc.Graph(figure=fig, id={"type": "experiment-chart", "index": i}, className="experiment-chart",
                          config={"displaylogo": False})
        cards.append(chart_card(i, title, graph, invalid))
    return cards


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
    kit.callback(Output("experiment-charts-grid", "children"), Input("experiment-charts-state", "data"),
                 State("experiment-ref", "data"), public=True,
                 error=alert("experiment-charts-grid.children"))(render_charts)
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
