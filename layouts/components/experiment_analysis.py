"""The Confusion Matrices, Histograms and 3D Points tabs."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.services import experiment_page, points_3d
from layouts.components.experiment_media import media_url
from layouts.components.project_markdown import safe_url


def confusion_tab(session, page, _store):
    items = experiment_page.assets(session, page.experiment, ("confusion-matrix",))
    options = [{"label": a.file_name + ("" if a.step is None else f" (step {a.step})"), "value": a.asset_id}
               for a in items]
    if not options:  # the tab is shown only with matrices, but a request can name any tab
        return html.P("No confusion matrices were logged for this experiment.", className="text-muted",
                      id="experiment-cm-none")
    return html.Div([
        dbc.Row([
            dbc.Col(dcc.Dropdown(id="experiment-cm-select", options=options, value=options[-1]["value"],
                                 clearable=False), md=4),
            dbc.Col(dbc.RadioItems(id="experiment-cm-mode", value="counts", inline=True, options=[
                {"label": "Counts", "value": "counts"}, {"label": "% by row", "value": "row"},
                {"label": "% by column", "value": "column"}], className="mt-1"), md=5),
            dbc.Col(dbc.Button("Close all example views", id="experiment-cm-close-all", size="sm", color="link"),
                    md=3, className="text-end"),
        ], className="g-2 mb-2"),
        html.Div(id="experiment-cm-message"),
        dbc.Row([
            dbc.Col(dcc.Graph(id="experiment-cm-graph", config={"displaylogo": False}), lg=7),
            dbc.Col(html.Div(id="experiment-cm-examples", className="d-flex flex-column gap-2"), lg=5),
        ]),
    ])


def example_view(key: str, view_id: int, actual: str, predicted: str, count: float, examples: list[dict]):
    body = []
    for ex in examples:
        index = ex.get("index")
        label = html.Div(f"#{index}" if index is not None else "", className="small text-muted")
        if ex.get("assetId"):
            url = media_url(key, str(ex["assetId"]))
            body.append(html.Div([html.A(html.Img(src=url, className="experiment-cm-example-img", alt=str(ex.get("sample"))),
                                         href=url, target="_blank", rel="noopener"), label],
                                 className="experiment-cm-example"))
        elif safe_url(str(ex.get("sample") or "")) and str(ex.get("sample")).startswith(("http://", "https://")):
            body.append(html.Div([html.A(str(ex["sample"]), href=str(ex["sample"]), target="_blank",
                                         rel="noopener noreferrer"), label], className="experiment-cm-example"))
        else:
            body.append(html.Div([html.Span(str(ex.get("sample"))), label], className="experiment-cm-example"))
    if not body:
        body = [html.P("No examples were logged for this cell.", className="text-muted small mb-0")]
    return dbc.Card([
        dbc.CardHeader(html.Div([
            html.Span([f"Actual {actual} → predicted {predicted} ", html.Span(f"({count:g})", className="text-muted")],
                      className="small fw-semibold"),
            html.Button(html.I(className="bi bi-x-lg"), id={"type": "experiment-cm-example-close", "index": view_id},
                        className="btn btn-link btn-sm p-0 text-muted", title="Close"),
        ], className="d-flex justify-content-between")),
        dbc.CardBody(html.Div(body, className="d-flex flex-wrap gap-2")),
    ], className="experiment-cm-example-view", id={"type": "experiment-cm-example-view", "index": view_id})


def points_3d_tab(session, page, _store):
    """The experiment's 3D scenes (log_points_3d): pick one, rotate and zoom it."""
    options = [{"label": s.label, "value": s.id} for s in points_3d.scenes(session, page.experiment)]
    if not options:
        return html.P("No 3D points were logged for this experiment.", className="text-muted", id="experiment-3d-none")
    return html.Div([
        dbc.Row(dbc.Col(dcc.Dropdown(id="experiment-3d-select", options=options, value=options[0]["value"],
                                     clearable=False), md=5), className="g-2 mb-2"),
        html.Div(id="experiment-3d-message"),
        dcc.Loading(dcc.Graph(id="experiment-3d-graph", config={"displaylogo": False}), delay_show=400),
    ])


def histograms_tab(session, page, _store):
    names = experiment_page.histogram_names(session, page.experiment)
    return html.Div([
        html.Div([
            dbc.DropdownMenu(id="experiment-hist-add", label="Add Chart", size="sm", color="primary", disabled=True,
                             children=[]),
        ], className="mb-2"),
        dcc.Store(id="experiment-hist-state", data={"names": names, "hidden": []}),
        dcc.Loading(html.Div(id="experiment-hist-charts", className="row g-3"), delay_show=400),
    ])


def histogram_card(name: str, index: int, graph):
    return dbc.Col(dbc.Card([
        html.Div([
            html.Span(name, className="small fw-semibold text-truncate"),
            dbc.DropdownMenu([dbc.DropdownMenuItem("Delete chart", id={"type": "experiment-hist-delete", "index": index})],
                             label=html.I(className="bi bi-three-dots-vertical"), size="sm", color="link",
                             caret=False, align_end=True, id={"type": "experiment-hist-menu", "index": index}),
        ], className="d-flex justify-content-between align-items-center px-2 pt-1"),
        graph,
    ], className="experiment-hist-card"), lg=6)
