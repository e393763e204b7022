"""The panel editor dialog: the options of the panel type on the left, a live preview on the
right; Reset clears the settings, Done applies them, clicking outside aborts."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.panel_types import REGISTRY, EditorField, PanelType

COMPONENTS = {"dropdown": dcc.Dropdown, "slider": dcc.Slider, "input": dbc.Input, "checklist": dbc.Checklist,
              "radio": dbc.RadioItems}


def _field(label: str, control, id: str | None = None) -> html.Div:
    kwargs = {"id": id} if id else {}
    return html.Div([dbc.Label(label, className="small mb-0"), control], className="mb-2", **kwargs)


def _control(f: EditorField):
    props = {**f.props, **({"multi": True} if f.multi and f.kind == "dropdown" else {})}
    control = COMPONENTS[f.kind](id=f"project-editor-{f.control}", **props)
    return _field(f.label, control) if f.label is not None else control


def _type_options(ptype: PanelType, shown: bool) -> html.Div:
    """A panel type's section of the editor, from its ``editor_fields`` (a row of two fields
    puts them side by side); only the section of the edited panel's type shows."""
    rows = [_control(row[0]) if len(row) == 1 else dbc.Row([dbc.Col(_control(f)) for f in row])
            for row in ptype.editor_fields]
    return html.Div(rows, id=f"project-editor-{ptype.type}", **({} if shown else {"style": {"display": "none"}}))


def panel_editor() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(id="project-editor-title")),
        dbc.ModalBody(dbc.Row([
            dbc.Col([
                _field("Panel name", dbc.Input(id="project-editor-name", size="sm", maxLength=200,
                                               placeholder="Shown above the chart")),
                *[_type_options(p, i == 0) for i, p in enumerate(REGISTRY.values())],
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
