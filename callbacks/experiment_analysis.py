"""Confusion Matrices (cell value mode, click a cell for its examples, several example views,
close all) and Histograms (delete a chart, Add Chart brings it back)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, Patch, State, ctx, dcc, no_update

from dashboard import context
from dashboard.charts import confusion_matrix as cmx, histogram3d
from dashboard.errors import HalleyError
from dashboard.services import experiment_page
from dashboard.webauth import PUBLIC_CALLBACK_OUTPUTS
from layouts.components.access import error_alert
from layouts.components.experiment_analysis import example_view, histogram_card

from callbacks.experiment import key_of


def _matrix(ref, asset_id):
    actor = context.current_actor()
    with context.db().session() as s:
        page = experiment_page.open_key(s, actor, key_of(ref))
        cm = experiment_page.confusion_matrix(s, page.experiment, context.settings().assets_dir, asset_id or "")
        return page.experiment.key, cm


def show_matrix(asset_id, mode, ref):
    try:
        _key, cm = _matrix(ref, asset_id)
    except HalleyError as exc:
        return {}, error_alert(exc.message, id="experiment-cm-error")
    return cmx.figure(cm, mode or "counts"), None


def open_examples(click, asset_id, ref, views):
    """A click on a cell adds an example view (kept alongside the ones already open)."""
    if not click or not click.get("points"):
        return no_update
    point = click["points"][0]
    try:
        key, cm = _matrix(ref, asset_id)
    except HalleyError as exc:
        return [error_alert(exc.message)]
    try:
        labels = cmx.display_labels(cm)
        row, col = labels.index(str(point.get("y"))), labels.index(str(point.get("x")))
    except ValueError:
        return no_update
    view_id = max([v["props"]["id"]["index"] for v in views or [] if isinstance(v, dict)] + [0]) + 1
    patch = Patch()
    patch.prepend(example_view(key, view_id, cm.labels[row], cm.labels[col], float(cm.matrix[row, col]),
                               cmx.cell_examples(cm, row, col)))
    return patch


def close_examples(_all, closes, views):
    trigger = ctx.triggered_id
    if trigger == "experiment-cm-close-all":
        return []
    if isinstance(trigger, dict) and ctx.triggered and ctx.triggered[0].get("value"):
        return [v for v in views or [] if v.get("props", {}).get("id", {}).get("index") != trigger.get("index")]
    return no_update


def show_histograms(state, ref):
    state = state or {}
    hidden = set(state.get("hidden") or [])
    names = [n for n in state.get("names") or [] if n not in hidden]
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            page = experiment_page.open_key(s, actor, key_of(ref))
            groups = experiment_page.histograms(s, page.experiment, context.settings().assets_dir) if names else {}
    except HalleyError as exc:
        return error_alert(exc.message), [], True
    all_names = list(state.get("names") or [])
    cards = [histogram_card(name, all_names.index(name),
                            dcc.Graph(figure=histogram3d.figure(name, groups.get(name, []), show_title=False),
                                      config={"displaylogo": False}, className="experiment-hist-graph"))
             for name in names]
    menu = [dbc.DropdownMenuItem(name, id={"type": "experiment-hist-restore", "index": all_names.index(name)})
            for name in all_names if name in hidden]
    if not cards:
        cards = [dbc.Col("All histogram charts are hidden; use Add Chart to show one again.",
                         className="text-muted", id="experiment-hist-none")]
    return cards, menu, not menu


def change_histograms(_deletes, _restores, state):
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not (ctx.triggered and ctx.triggered[0].get("value")):
        return no_update
    state = dict(state or {})
    names = list(state.get("names") or [])
    index = int(trigger.get("index", -1))
    if not 0 <= index < len(names):
        return no_update
    hidden = [h for h in state.get("hidden") or [] if h in names]
    if trigger.get("type") == "experiment-hist-delete" and names[index] not in hidden:
        hidden.append(names[index])
    elif trigger.get("type") == "experiment-hist-restore":
        hidden = [h for h in hidden if h != names[index]]
    state["hidden"] = hidden
    return state


def register(app) -> None:
    for output in ("experiment-cm-graph.figure", "experiment-cm-examples.children", "experiment-hist-charts.children",
                   "experiment-hist-state.data"):
        PUBLIC_CALLBACK_OUTPUTS.add(output)
    app.callback(Output("experiment-cm-graph", "figure"), Output("experiment-cm-message", "children"),
                 Input("experiment-cm-select", "value"), Input("experiment-cm-mode", "value"),
                 State("experiment-ref", "data"))(show_matrix)
    app.callback(Output("experiment-cm-examples", "children"), Input("experiment-cm-graph", "clickData"),
                 State("experiment-cm-select", "value"), State("experiment-ref", "data"),
                 State("experiment-cm-examples", "children"), prevent_initial_call=True)(open_examples)
    app.callback(Output("experiment-cm-examples", "children", allow_duplicate=True),
                 Input("experiment-cm-close-all", "n_clicks"),
                 Input({"type": "experiment-cm-example-close", "index": ALL}, "n_clicks"),
                 State("experiment-cm-examples", "children"), prevent_initial_call=True)(close_examples)
    app.callback(Output("experiment-hist-charts", "children"), Output("experiment-hist-add", "children"),
                 Output("experiment-hist-add", "disabled"),
                 Input("experiment-hist-state", "data"), State("experiment-ref", "data"))(show_histograms)
    app.callback(Output("experiment-hist-state", "data"),
                 Input({"type": "experiment-hist-delete", "index": ALL}, "n_clicks"),
                 Input({"type": "experiment-hist-restore", "index": ALL}, "n_clicks"),
                 State("experiment-hist-state", "data"), prevent_initial_call=True)(change_histograms)
