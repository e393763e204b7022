"""The query builder above the experiment table: the saved-query dropdown, "+ Add filter",
"Clear all", "Save query", and the current filters drawn as chips inside AND/OR groups.

Filters live in the view state (``state["filters"]``); the chips and buttons carry the path
of their rule or group ("" is the top group, "2" its third item, "2.0" the first rule of that
group) so callbacks/query_builder.py can edit the model.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.query import NEEDS_NO_VALUE, NEEDS_TWO_VALUES, OPERATOR_LABELS, OPS_BY_TYPE, describe_rule

ALL_EXPERIMENTS = "all"


def query_options(queries) -> list[dict]:
    return [{"label": "All experiments", "value": ALL_EXPERIMENTS}] + [
        {"label": q.name, "value": q.id} for q in queries
    ]


def operator_options(attr_type: str | None) -> list[dict]:
    return [{"label": OPERATOR_LABELS[op], "value": op} for op in OPS_BY_TYPE.get(attr_type or "", ())]


def value_inputs_needed(operator: str | None) -> int:
    if not operator or operator in NEEDS_NO_VALUE:
        return 0
    return 2 if operator in NEEDS_TWO_VALUES else 1


def _op_toggle(path: str, op: str) -> dbc.Button:
    return dbc.Button(op.upper(), id={"type": "project-filter-op", "path": path}, size="sm", color="secondary",
                      outline=True, className="py-0 px-2 project-filter-op",
                      title="Switch between AND and OR")


def _chip(path: str, rule: dict) -> html.Span:
    return html.Span([
        html.Span(describe_rule(rule), className="project-filter-text"),
        html.Button(html.I(className="bi bi-x"), id={"type": "project-filter-remove", "path": path},
                    className="btn btn-link btn-sm p-0 ms-1 text-muted", title="Remove filter"),
    ], className="badge rounded-pill text-bg-light border fw-normal fs-6 project-filter-chip me-1 mb-1")


def filter_chips(filters: dict) -> list:
    """The filter model as chips; nested groups are boxes with their own AND/OR switch."""
    rules = (filters or {}).get("rules") or []
    if not rules:
        return [html.Span("All experiments: no filters.", className="text-muted small", id="project-no-filters")]
    out = [_op_toggle("", (filters or {}).get("op", "and"))] if len(rules) > 1 else []
    for i, item in enumerate(rules):
        if "rules" in item:
            inner = []
            for j, sub in enumerate(item.get("rules") or []):
                inner.append(_chip(f"{i}.{j}", sub) if "rules" not in sub else
                             html.Span("(nested group)", className="small text-muted me-1"))
            out.append(html.Span([
                html.Span(f"Group {i + 1}", className="small text-muted me-1"),
                _op_toggle(str(i), item.get("op", "and")), *inner,
                html.Button(html.I(className="bi bi-trash"), id={"type": "project-filter-remove", "path": str(i)},
                            className="btn btn-link btn-sm p-0 text-muted", title="Remove group"),
            ], className="border rounded px-2 py-1 me-1 mb-1 d-inline-flex align-items-center flex-wrap "
                         "gap-1 project-filter-group"))
        else:
            out.append(_chip(str(i), item))
    return out


def group_targets(filters: dict) -> list[dict]:
    """Where "+ Add filter" can put the new rule."""
    options = [{"label": "All filters", "value": "top"}, {"label": "A new group", "value": "new"}]
    for i, item in enumerate((filters or {}).get("rules") or []):
        if "rules" in item:
            options.append({"label": f"Group {i + 1}", "value": str(i)})
    return options


def query_bar(queries, selected, can_write: bool) -> html.Div:
    save = [dbc.Button([html.I(className="bi bi-bookmark me-1"), "Save query"], id="project-query-save-open",
                       size="sm", color="light", className="border",
                       style=None if can_write else {"display": "none"})]
    return html.Div([
        html.Div([
            dcc.Dropdown(id="project-query-select", options=query_options(queries), value=selected or ALL_EXPERIMENTS,
                         clearable=False, style={"minWidth": "14rem"}),
            dbc.Button([html.I(className="bi bi-plus-lg me-1"), "Add filter"], id="project-filter-add-open",
                       size="sm", color="primary", outline=True),
            dbc.Button("Clear all", id="project-filter-clear", size="sm", color="link"),
            *save,
        ], className="d-flex align-items-center gap-2 mb-2"),
        dbc.Collapse(dbc.Card(dbc.CardBody([
            dbc.Row([
                dbc.Col(dcc.Dropdown(id="project-filter-attr", placeholder="Attribute…", optionHeight=32), md=4),
                dbc.Col(dcc.Dropdown(id="project-filter-operator", placeholder="Operator", clearable=False), md=2),
                dbc.Col([
                    dbc.Input(id="project-filter-value", placeholder="Value", size="sm", debounce=False,
                              list="project-filter-suggestions", autoComplete="off"),
                    html.Datalist(id="project-filter-suggestions"),
                ], md=2, id="project-filter-value-col"),
                dbc.Col(dbc.Input(id="project-filter-value2", placeholder="and", size="sm"), md=1,
                        id="project-filter-value2-col", style={"display": "none"}),
                dbc.Col(dcc.Dropdown(id="project-filter-target", clearable=False, value="top",
                                     options=group_targets({})), md=2),
                dbc.Col(dbc.Button("Add", id="project-filter-add", size="sm", color="primary"), md=1),
            ], className="g-2 align-items-center"),
            html.Div(id="project-filter-error", className="small text-danger mt-1"),
        ], className="py-2")), id="project-filter-form", is_open=False),
        html.Div(id="project-filter-chips", className="d-flex flex-wrap align-items-center mb-2"),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle("Save query")),
            dbc.ModalBody([
                dbc.RadioItems(id="project-query-save-mode", value="new", className="mb-2"),
                dbc.Input(id="project-query-name", placeholder="Query name", maxLength=200),
                html.Div(dbc.Alert([
                    html.Span(id="project-query-delete-question"),
                    html.Div([
                        dbc.Button("Delete", id="project-query-delete-confirm", color="danger", size="sm"),
                        dbc.Button("Keep it", id="project-query-delete-keep", color="link", size="sm"),
                    ], className="mt-2"),
                ], color="warning", className="py-2 mb-0 mt-2"), id="project-query-delete-box",
                    style={"display": "none"}),
                html.Div(id="project-query-error", className="mt-2"),
            ]),
            dbc.ModalFooter([
                dbc.Button("Delete query", id="project-query-delete", color="danger", outline=True,
                           className="me-auto", style={"display": "none"}),
                dbc.Button("Cancel", id="project-query-cancel", color="secondary", outline=True),
                dbc.Button("Save", id="project-query-save", color="primary"),
            ]),
        ], id="project-query-modal", is_open=False),
    ], id="project-query-bar")
