"""The Charts tab: a chart per metric by default, Add Chart, smoothing, X axis, outliers,
metric colors, and the layout saved as the project's experiment view."""
from __future__ import annotations

import hashlib
import json

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.charts.line import X_AXES
from dashboard.services import experiment_page, panels

FIRST_DRAWN = 6  # charts drawn with the tab (three rows: what a window shows first)


def default_state(metric_names: list[str]) -> dict:
    names = [n for n in metric_names if not n.startswith("sys.")]
    return {"charts": [{"metrics": [n]} for n in names], "colors": {}, "smoothing": 0.0, "x_axis": "step",
            "ignore_outliers": False}


def initial_state(session, page) -> dict:
    names = [m.name for m in experiment_page.metric_summaries(session, page.experiment.id)]
    saved = experiment_page.chart_view(session, page.project.id)
    if saved:
        state = experiment_page.clean_chart_state(saved)
        known = set(names)
        state["charts"] = [c for c in state["charts"] if any(m in known for m in c["metrics"])]
        if state["charts"]:
            return state
        return {**default_state(names), **{k: state[k] for k in ("colors", "smoothing", "x_axis", "ignore_outliers")}}
    return default_state(names)


def charts_tab(session, page, _store):
    state = initial_state(session, page)
    names = [m.name for m in experiment_page.metric_summaries(session, page.experiment.id)]
    options = [{"label": n, "value": n} for n in names]
    controls = dbc.Row([
        dbc.Col([dbc.Label("Smoothing", className="small mb-0"),
                 dcc.Slider(id="experiment-charts-smoothing", min=0, max=0.99, step=0.01, value=state["smoothing"],
                            marks={0: "0", 0.5: "0.5", 0.99: "0.99"}, tooltip={"placement": "bottom"})], md=3),
        dbc.Col([dbc.Label("X axis", className="small mb-0"),
                 dcc.Dropdown(id="experiment-charts-xaxis", value=state["x_axis"], clearable=False, searchable=False,
                              options=[{"label": v, "value": k} for k, v in X_AXES.items()])], md=2),
        dbc.Col(dbc.Switch(id="experiment-charts-outliers", label="Ignore outliers", value=state["ignore_outliers"],
                           className="mt-4"), md=2),
        dbc.Col(html.Div([
            dbc.Button([html.I(className="bi bi-plus-lg me-1"), "Add Chart"], id="experiment-charts-add-open",
                       size="sm", color="primary"),
            dbc.Button([html.I(className="bi bi-palette me-1"), "Change Colors"], id="experiment-charts-colors-open",
                       size="sm", color="secondary", outline=True),
            dbc.Button([html.I(className="bi bi-save me-1"), "Save view"], id="experiment-charts-save", size="sm",
                       color="success", outline=True) if page.can_write else None,
        ], className="d-flex gap-2 mt-3 justify-content-end"), md=5),
    ], className="mb-2 g-2 align-items-start")
    add_modal = dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Add Chart")),
        dbc.ModalBody([dbc.Label("Metrics (one line each)"),
                       dcc.Dropdown(id="experiment-charts-add-metrics", options=options, multi=True)]),
        dbc.ModalFooter(dbc.Button("Add", id="experiment-charts-add", color="primary")),
    ], id="experiment-charts-add-modal", is_open=False)
    color_modal = dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Change Colors")),
        dbc.ModalBody([
            dbc.Label("Metric"), dcc.Dropdown(id="experiment-charts-color-metric", options=options, clearable=False),
            dbc.Label("Color", className="mt-2"),
            dbc.Input(id="experiment-charts-color-value", type="color", value="#1f77b4", style={"width": "5rem"}),
        ]),
        dbc.ModalFooter(dbc.Button("Apply", id="experiment-charts-color-apply", color="primary")),
    ], id="experiment-charts-colors-modal", is_open=False)
    token = chart_token(state["charts"])
    return html.Div([
        dcc.Store(id="experiment-charts-state", data=state),
        dcc.Store(id="experiment-charts-token", data=token),
        # the charts to draw, set by assets/experiment_page.js as they come into view
        dcc.Store(id="experiment-charts-seen", data={"token": token, "new": []}),
        controls, add_modal, color_modal,
        html.Div(id="experiment-charts-message"),
        dcc.Loading(html.Div(chart_cards(session, page, state, panels.open_cache(context.settings().cache_dir)),
                             id="experiment-charts-grid", className="row g-3"), delay_show=400,
                    target_components={"experiment-charts-grid": "children"}),
    ])


def chart_token(charts: list[dict]) -> str:
    """Names one list of charts: a grid made for another list asks for its charts again."""
    return hashlib.sha1(json.dumps(charts, sort_keys=True).encode()).hexdigest()[:12]


def chart_cards(session, page, state: dict, cache, drawn: int = FIRST_DRAWN):
    """The cards of a (cleaned) chart layout; the first ``drawn`` come drawn (the ones a window
    shows first), the others draw when scrolled to."""
    if not state["charts"]:
        return html.P("No charts. Use Add Chart to plot metrics.", className="text-muted", id="experiment-charts-empty")
    token = chart_token(state["charts"])
    return [chart_card(i, ", ".join(chart["metrics"]), f"{token}-{i}",
                       experiment_page.chart_figure(session, page.experiment, state, i, cache) if i < drawn else None)
            for i, chart in enumerate(state["charts"])]


def chart_card(index: int, title: str, token: str, figure=None):
    """A chart's card. With ``figure`` its slot holds the drawn graph; without, a placeholder
    of the graph's size (no graph to draw yet), and ``assets/experiment_page.js`` adds the
    card's index to the ``experiment-charts-seen`` store once the card scrolls into view (the
    cards that come into view together are asked for in one request), which puts the graph in
    the slot. ``token`` changes with the list of charts, so a new grid asks again."""
    seen = {"data-requested": token} if figure is not None else {}
    return dbc.Col(dbc.Card([
        html.Div([
            html.Span(title, className="small fw-semibold text-truncate"),
            html.Button(html.I(className="bi bi-x-lg"), id={"type": "experiment-chart-delete", "index": index},
                        className="btn btn-link btn-sm p-0 text-muted", title="Delete chart"),
        ], className="d-flex justify-content-between align-items-center px-2 pt-1"),
        html.Div(chart_graph(index, figure) if figure is not None else PENDING,
                 id={"type": "experiment-chart-slot", "index": index},
                 className="experiment-chart-slot", style={"minHeight": "300px"},
                 **{"data-index": str(index), "data-token": token}, **seen),
    ], className="experiment-chart-card"), lg=6)


def chart_graph(index: int, figure):
    return dcc.Graph(id={"type": "experiment-chart", "index": index}, className="experiment-chart", figure=figure,
                     config={"displaylogo": False}, style={"height": "300px"})


# The slot of a chart not drawn yet: empty, of the graph's height (assets/experiment_page.js
# knows it by its class).
PENDING = html.Div(className="experiment-chart experiment-chart-pending", style={"height": "300px"})
