"""The Charts tab: the chart layout lives in a Store (charts, colors, smoothing, X axis,
outliers); every change re-renders the charts from one query per render."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from dashboard import context
from dashboard.charts import metric_lines
from dashboard.errors import HalleyError
from dashboard.services import experiment_page
from dashboard.webauth import PUBLIC_CALLBACK_OUTPUTS
from layouts.components.access import error_alert
from layouts.components.experiment_charts import chart_card

from callbacks.experiment import key_of


def update_state(smoothing, x_axis, outliers, _add, _deletes, _color, add_metrics, color_metric, color_value, state):
    state = dict(state or {"charts": [], "colors": {}})
    trigger = ctx.triggered_id
    if trigger == "experiment-charts-smoothing":
        state["smoothing"] = float(smoothing or 0)
    elif trigger == "experiment-charts-xaxis":
        state["x_axis"] = x_axis or "step"
    elif trigger == "experiment-charts-outliers":
        state["ignore_outliers"] = bool(outliers)
    elif trigger == "experiment-charts-add":
        if not add_metrics:
            return no_update
        state["charts"] = list(state.get("charts") or []) + [{"metrics": list(add_metrics)[:20]}]
    elif trigger == "experiment-charts-color-apply":
        if not color_metric or not experiment_page.COLOR.fullmatch(str(color_value or "")):
            return no_update
        state["colors"] = {**(state.get("colors") or {}), color_metric: color_value}
    elif isinstance(trigger, dict) and trigger.get("type") == "experiment-chart-delete":
        if not (ctx.triggered and ctx.triggered[0].get("value")):
            return no_update
        charts = list(state.get("charts") or [])
        index = int(trigger.get("index", -1))
        if 0 <= index < len(charts):
            charts.pop(index)
        state["charts"] = charts
    else:
        return no_update
    return state


def render_charts(state, ref):
    state = state or {}
    charts = state.get("charts") or []
    if not charts:
        return html.P("No charts. Use Add Chart to plot metrics.", className="text-muted", id="experiment-charts-empty")
    actor = context.current_actor()
    names = sorted({m for c in charts for m in c.get("metrics", [])})
    try:
        with context.db().session() as s:
            page = experiment_page.open_key(s, actor, key_of(ref))
            series = {x.name: x for x in experiment_page.metric_series(s, page.experiment, names,
                                                                        state.get("x_axis") or "step")}
    except HalleyError as exc:
        return error_alert(exc.message)
    color_index = {n: i for i, n in enumerate(names)}
    cards = []
    for i, chart in enumerate(charts):
        lines = [series[m] for m in chart.get("metrics", []) if m in series]
        title = ", ".join(chart.get("metrics", []))
        fig, invalid = metric_lines.figure(lines, x_axis=state.get("x_axis") or "step",
                                           smoothing=float(state.get("smoothing") or 0),
                                           ignore_outliers=bool(state.get("ignore_outliers")),
                                           colors=state.get("colors"), color_index=color_index)
        graph = dcc.Graph(figure=fig, id={"type": "experiment-chart", "index": i}, className="experiment-chart",
                          config={"displaylogo": False})
        cards.append(chart_card(i, title, graph, invalid))
    return cards


def toggle_modal(_open, _done, is_open):
    return not is_open


def save_view(_n, state, ref):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            experiment_page.save_chart_view(s, actor, key_of(ref), state or {})
    except HalleyError as exc:
        return error_alert(exc.message, id="experiment-charts-error")
    return dbc.Alert("View saved: this project's experiments open with this chart layout.", color="success",
                     className="py-1 small", id="experiment-charts-saved", duration=4000)


def register(app) -> None:
    for output in ("experiment-charts-grid.children", "experiment-charts-state.data",
                   "experiment-charts-add-modal.is_open", "experiment-charts-colors-modal.is_open"):
        PUBLIC_CALLBACK_OUTPUTS.add(output)
    app.callback(
        Output("experiment-charts-state", "data"),
        Input("experiment-charts-smoothing", "value"), Input("experiment-charts-xaxis", "value"),
        Input("experiment-charts-outliers", "value"), Input("experiment-charts-add", "n_clicks"),
        Input({"type": "experiment-chart-delete", "index": ALL}, "n_clicks"),
        Input("experiment-charts-color-apply", "n_clicks"),
        State("experiment-charts-add-metrics", "value"), State("experiment-charts-color-metric", "value"),
        State("experiment-charts-color-value", "value"), State("experiment-charts-state", "data"),
        prevent_initial_call=True,
    )(update_state)
    app.callback(Output("experiment-charts-grid", "children"), Input("experiment-charts-state", "data"),
                 State("experiment-ref", "data"))(render_charts)
    app.callback(Output("experiment-charts-add-modal", "is_open"), Input("experiment-charts-add-open", "n_clicks"),
                 Input("experiment-charts-add", "n_clicks"), State("experiment-charts-add-modal", "is_open"),
                 prevent_initial_call=True)(toggle_modal)
    app.callback(Output("experiment-charts-colors-modal", "is_open"),
                 Input("experiment-charts-colors-open", "n_clicks"), Input("experiment-charts-color-apply", "n_clicks"),
                 State("experiment-charts-colors-modal", "is_open"), prevent_initial_call=True)(toggle_modal)
    app.callback(Output("experiment-charts-message", "children"), Input("experiment-charts-save", "n_clicks"),
                 State("experiment-charts-state", "data"), State("experiment-ref", "data"),
                 prevent_initial_call=True)(save_view)
