"""Confusion Matrices (cell value mode, click a cell for its examples, several example views,
close all), Histograms (delete a chart, Add Chart brings it back) and 3D Points (pick a scene)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, Patch, State, ctx, dcc
from dash.exceptions import PreventUpdate

from callbacks.experiment import key_of
from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import INDEX, OBJECT, TEXT, list_of, optional, record
from dashboard.charts import confusion_matrix as cmx, histogram3d, points_3d as points_3d_chart
from dashboard.services import assets as asset_files, experiment_page, points_3d
from layouts.components.access import error_alert
from layouts.components.experiment_analysis import example_view, histogram_card


def _matrix(call: Call, ref, asset_id):
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    store = asset_files.store(call.settings)
    cm = experiment_page.confusion_matrix(call.session, page.experiment, store, asset_id or "")
    return page.experiment.key, cm


def show_matrix(call: Call, asset_id, mode, ref):
    _key, cm = _matrix(call, ref, asset_id)
    return cmx.figure(cm, mode or "counts"), None


def _view_index(view):
    """The index of an open example view (a component as the browser sends it back), else None."""
    props = view.get("props") if isinstance(view, dict) else None
    view_id = props.get("id") if isinstance(props, dict) else None
    index = view_id.get("index") if isinstance(view_id, dict) else None
    return index if INDEX.accepts(index) else None


def open_examples(call: Call, click, asset_id, ref, views):
    """A click on a cell adds an example view (kept alongside the ones already open)."""
    if not click or not click.get("points"):
        raise PreventUpdate
    point = click["points"][0]
    key, cm = _matrix(call, ref, asset_id)
    try:
        labels = cmx.display_labels(cm)
        row, col = labels.index(str(point.get("y"))), labels.index(str(point.get("x")))
    except ValueError:
        raise PreventUpdate from None
    open_ids = [_view_index(v) for v in views] if isinstance(views, list) else []
    view_id = max([i for i in open_ids if i is not None] + [0]) + 1
    patch = Patch()
    patch.prepend(example_view(key, view_id, cm.labels[row], cm.labels[col], float(cm.matrix[row, col]),
                               cmx.cell_examples(cm, row, col)))
    return patch


def close_examples(_call: Call, _all, closes, views):
    trigger = ctx.triggered_id
    if trigger == "experiment-cm-close-all":
        return []
    if isinstance(trigger, dict) and ctx.triggered and ctx.triggered[0].get("value") and isinstance(views, list):
        return [v for v in views if _view_index(v) != trigger["index"]]
    raise PreventUpdate


def show_histograms(call: Call, state, ref):
    state = state or {}
    hidden = set(state.get("hidden") or [])
    names = [n for n in state.get("names") or [] if n not in hidden]
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    store = asset_files.store(call.settings)
    groups = experiment_page.histograms(call.session, page.experiment, store) if names else {}
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


def change_histograms(_call: Call, _deletes, _restores, state):
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not (ctx.triggered and ctx.triggered[0].get("value")):
        raise PreventUpdate
    state = dict(state or {})
    names = list(state.get("names") or [])
    index = trigger["index"]
    if not index < len(names):
        raise PreventUpdate
    hidden = [h for h in state.get("hidden") or [] if h in names]
    if trigger["type"] == "experiment-hist-delete" and names[index] not in hidden:
        hidden.append(names[index])
    elif trigger["type"] == "experiment-hist-restore":
        hidden = [h for h in hidden if h != names[index]]
    state["hidden"] = hidden
    return state


def show_scene(call: Call, scene_id, ref):
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    scene = points_3d.find_scene(call.session, page.experiment, scene_id or "")
    data = points_3d.scene_data(asset_files.store(call.settings), scene)
    return points_3d_chart.figure(data.points, data.boxes, points_cut=data.points_cut), None


def register(kit: CallbackKit) -> None:
    for kind in ("experiment-cm-example-close", "experiment-hist-delete", "experiment-hist-restore"):
        kit.pattern(kind, index=INDEX)
    kit.value("experiment-cm-select.value", optional(TEXT))
    kit.value("experiment-cm-mode.value", optional(TEXT))
    kit.value("experiment-3d-select.value", optional(TEXT))
    kit.value("experiment-cm-graph.clickData", optional(record(points=optional(list_of(OBJECT)))))
    kit.value("experiment-hist-state.data", optional(record(names=optional(list_of(TEXT)),
                                                            hidden=optional(list_of(TEXT)))))
    kit.callback(Output("experiment-cm-graph", "figure"), Output("experiment-cm-message", "children"),
                 Input("experiment-cm-select", "value"), Input("experiment-cm-mode", "value"),
                 State("experiment-ref", "data"), public=True,
                 error=alert("experiment-cm-message.children", id="experiment-cm-error"),
                 fallback={"experiment-cm-graph.figure": {}})(show_matrix)
    kit.callback(Output("experiment-3d-graph", "figure"), Output("experiment-3d-message", "children"),
                 Input("experiment-3d-select", "value"), State("experiment-ref", "data"), public=True,
                 error=alert("experiment-3d-message.children", id="experiment-3d-error"),
                 fallback={"experiment-3d-graph.figure": {}})(show_scene)
    kit.callback(Output("experiment-cm-examples", "children"), Input("experiment-cm-graph", "clickData"),
                 State("experiment-cm-select", "value"), State("experiment-ref", "data"),
                 State("experiment-cm-examples", "children"), prevent_initial_call=True, public=True,
                 error=lambda message: {"experiment-cm-examples.children": [error_alert(message)]})(open_examples)
    kit.callback(Output("experiment-cm-examples", "children", allow_duplicate=True),
                 Input("experiment-cm-close-all", "n_clicks"),
                 Input({"type": "experiment-cm-example-close", "index": ALL}, "n_clicks"),
                 State("experiment-cm-examples", "children"), prevent_initial_call=True, public=True)(close_examples)
    kit.callback(Output("experiment-hist-charts", "children"), Output("experiment-hist-add", "children"),
                 Output("experiment-hist-add", "disabled"),
                 Input("experiment-hist-state", "data"), State("experiment-ref", "data"), public=True,
                 error=alert("experiment-hist-charts.children"),
                 fallback={"experiment-hist-add.children": [], "experiment-hist-add.disabled": True})(show_histograms)
    kit.callback(Output("experiment-hist-state", "data"),
                 Input({"type": "experiment-hist-delete", "index": ALL}, "n_clicks"),
                 Input({"type": "experiment-hist-restore", "index": ALL}, "n_clicks"),
                 State("experiment-hist-state", "data"), prevent_initial_call=True, public=True)(change_histograms)
