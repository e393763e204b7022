"""The panel editor dialog: the options of the panel type on the left, a live preview on the
right; Reset clears the settings, Done applies them, clicking outside aborts."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.charts.bar import AGGREGATION_LABELS

TRANSFORMS = [{"label": "Last value logged", "value": "last"}, {"label": "First value logged", "value": "first"},
              {"label": "Minimum value", "value": "min"}, {"label": "Maximum value", "value": "max"},
              {"label": "Smoothing (last smoothed value)", "value": "smoothing"},
              {"label": "Moving average (last value)", "value": "moving_average"},
              {"label": "Log scale", "value": "log"}]
X_OPTIONS = [{"label": "Step", "value": "step"}, {"label": "Epoch", "value": "epoch"},
             {"label": "Duration", "value": "duration"}, {"label": "Wall time", "value": "wall"}]
X_TRANSFORMS = [{"label": "None", "value": "none"}, {"label": "Smoothing (the weight below)", "value": "smoothing"},
                {"label": "Moving average (the window below)", "value": "moving_average"}]
LEGEND_MODES = [{"label": "Auto", "value": "auto"}, {"label": "Show", "value": "show"},
                {"label": "Hide", "value": "hide"}]


def _field(label: str, control, id: str | None = None) -> html.Div:
    kwargs = {"id": id} if id else {}
    return html.Div([dbc.Label(label, className="small mb-0"), control], className="mb-2", **kwargs)


def _line_options() -> html.Div:
    return html.Div([
        _field("Y axis: metrics", dcc.Dropdown(id="project-editor-metrics", multi=True, placeholder="Pick metrics")),
        dbc.Row([
            dbc.Col(_field("X axis", dcc.Dropdown(id="project-editor-x", options=X_OPTIONS, value="step",
                                                  clearable=False))),
            dbc.Col(_field("X transform", dcc.Dropdown(id="project-editor-x-transform", options=X_TRANSFORMS,
                                                       value="none", clearable=False))),
        ]),
        _field("Smoothing", dcc.Slider(id="project-editor-smoothing", min=0, max=0.99, step=0.01, value=0,
                                       marks={0: "0", 0.5: "0.5", 0.99: "0.99"},
                                       tooltip={"placement": "bottom", "always_visible": False})),
        dbc.Row([
            dbc.Col(_field("Moving average window", dbc.Input(id="project-editor-window", type="number", min=1,
                                                              max=1000, step=1, value=1, size="sm"))),
            dbc.Col(dbc.Checklist(id="project-editor-logy", options=[{"label": "Log scale (Y)", "value": "y"},
                                                                     {"label": "Log scale (X)", "value": "x"}],
                                  value=[], switch=True, className="mt-3 small")),
        ]),
        _field("Group experiments by", dcc.Dropdown(id="project-editor-group", placeholder="No grouping")),
        dbc.Row([
            dbc.Col(_field("Line", dcc.Dropdown(id="project-editor-group-stat", value="mean", clearable=False,
                                                options=[{"label": s.capitalize(), "value": s}
                                                         for s in ("mean", "median", "min", "max")]))),
            dbc.Col(_field("Band", dcc.Dropdown(id="project-editor-group-band", value="minmax", clearable=False,
                                                options=[{"label": "Min - max", "value": "minmax"},
                                                         {"label": "Mean ± std", "value": "std"},
                                                         {"label": "Mean ± standard error", "value": "sem"},
                                                         {"label": "None", "value": "none"}]))),
        ]),
        _field("Legend (Auto: under the chart, hidden past 10 lines)",
               dbc.RadioItems(id="project-editor-legend-show", inline=True, value="auto", options=LEGEND_MODES,
                              className="small")),
    ], id="project-editor-line")


def _bar_options() -> html.Div:
    return html.Div([
        _field("Metric", dcc.Dropdown(id="project-editor-bar-metric", placeholder="Pick a metric")),
        _field("Aggregation", dcc.Dropdown(id="project-editor-aggregation", value="sum", clearable=False,
                                           options=[{"label": v, "value": k} for k, v in AGGREGATION_LABELS.items()])),
    ], id="project-editor-bar", style={"display": "none"})


def _scatter_options() -> html.Div:
    return html.Div([
        _field("X axis", dcc.Dropdown(id="project-editor-sx", placeholder="Metric or parameter")),
        _field("X transform", dcc.Dropdown(id="project-editor-sx-transform", options=TRANSFORMS, value="last",
                                           clearable=False)),
        _field("Y axis", dcc.Dropdown(id="project-editor-sy", placeholder="Metric or parameter")),
        _field("Y transform", dcc.Dropdown(id="project-editor-sy-transform", options=TRANSFORMS, value="last",
                                           clearable=False)),
    ], id="project-editor-scatter", style={"display": "none"})


def _parcoords_options() -> html.Div:
    return html.Div([
        _field("Axes (left to right)", dcc.Dropdown(id="project-editor-axes", multi=True,
                                                     placeholder="Parameters and metrics")),
        _field("Target variable (right-most axis, colors the lines)",
               dcc.Dropdown(id="project-editor-target", placeholder="Usually the loss or accuracy")),
        _field("Axis scales", dcc.Dropdown(id="project-editor-scales", multi=True,
                                           placeholder="Automatic: log when positive values span 2+ decades")),
    ], id="project-editor-parcoords", style={"display": "none"})


def panel_editor() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(id="project-editor-title")),
        dbc.ModalBody(dbc.Row([
            dbc.Col([
                _field("Panel name", dbc.Input(id="project-editor-name", size="sm", maxLength=200,
                                               placeholder="Shown above the chart")),
                _line_options(), _bar_options(), _scatter_options(), _parcoords_options(),
                html.Div([
                    _field("Legend keys", dbc.RadioItems(id="project-editor-legend", inline=True, value="name",
                                                         options=[{"label": "Experiment names", "value": "name"},
                                                                  {"label": "Experiment keys", "value": "key"}],
                                                         className="small")),
                ], id="project-editor-legend-wrap"),
                html.Div([
                    _field("Outliers", dbc.RadioItems(id="project-editor-outliers", inline=True, value="show",
                                                      options=[{"label": "Show", "value": "show"},
                                                               {"label": "Ignore", "value": "ignore"}],
                                                      className="small")),
                ], id="project-editor-outliers-wrap"),
            ], md=5, className="project-editor-options"),
            dbc.Col(dcc.Loading(dcc.Graph(id="project-editor-preview", config={"displaylogo": False},
                                          style={"height": "420px"}), type="dot"), md=7),
        ])),
        dbc.ModalFooter([
            html.Div(id="project-editor-error", className="me-auto small text-danger"),
            dbc.Button("Reset", id="project-editor-reset", color="secondary", outline=True),
            dbc.Button("Done", id="project-editor-done", color="primary"),
        ]),
    ], id="project-panels-editor", size="xl", is_open=False, backdrop=True, scrollable=True)
