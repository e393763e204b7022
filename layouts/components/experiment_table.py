"""The experiment table of the project page: the AG Grid (infinite row model, rows come from
callbacks/project_table.py), its toolbar of bulk actions and table tools, and their dialogs."""
from __future__ import annotations

import secrets

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.errors import Invalid
from dashboard.query import parse_column

GRID_ID = "project-grid"
GROUP_COL = "_group"
GROUP_AGGS = [{"label": "mean", "value": "mean"}, {"label": "min", "value": "min"}, {"label": "max", "value": "max"},
              {"label": "last", "value": "last"}]
RENDERERS = {"sys:status": "HalleyStatus", "sys:visible": "HalleyVisible", "sys:color": "HalleyColor",
             "tags": "HalleyTags", "sys:name": "HalleyName"}
NARROW = {"sys:status": 78, "sys:visible": 78, "sys:color": 72, "sys:end_time": 170, "sys:start_time": 170}
HEADERS = {"sys:status": "Status", "sys:visible": "Visible", "sys:color": "Color", "sys:name": "Experiment",
           "sys:duration": "Duration"}


def column_def(col_id: str, base_url: str, can_write: bool) -> dict:
    col = parse_column(col_id)
    d = {"colId": col_id, "field": col_id, "headerName": HEADERS.get(col_id, col.label),
         "headerTooltip": col.label}
    if col_id in RENDERERS:
        d["cellRenderer"] = RENDERERS[col_id]
    if col_id in NARROW:
        d["width"] = NARROW[col_id]
    if col_id in ("sys:visible", "sys:color"):
        d["cellRendererParams"] = {"canWrite": can_write}
    if col_id == "sys:name":
        d.update(cellRendererParams={"base": base_url, "canWrite": can_write}, width=240)
    if col_id == "tags":
        d["sortable"] = False
    if col_id == "sys:duration":  # shown as "4m 05s", sorted and filtered in seconds
        d["valueFormatter"] = {"function": "halleyDuration(params.value)"}
        d["headerTooltip"] = "Duration (sorts and filters in seconds)"
    elif col.kind in ("param", "other", "metric"):
        d["valueFormatter"] = {"function": "halleyNumber(params.value)"}
    if col.kind == "metric":
        d["type"] = "rightAligned"
    return d


def column_defs(state: dict, base_url: str, can_write: bool, hidden: set[str] | frozenset = frozenset()) -> list[dict]:
    """Column definitions in the view's order, with its widths and sort; ``hidden`` columns
    (constant ones, when hiding those) are left out of sight. A grouped view starts with the
    group column (assets/table_groups.js draws it)."""
    by_id = {c["colId"]: c for c in state.get("columnState", [])}
    columns = list(state.get("columns") or [])
    ordered = [c for c in by_id if c in columns] + [c for c in columns if c not in by_id]
    defs = []
    for col_id in ordered:
        try:
            d = column_def(col_id, base_url, can_write)
        except Invalid:
            continue
        saved = by_id.get(col_id, {})
        if "width" in saved:
            d["width"] = saved["width"]
        d["sort"] = saved.get("sort")
        d["sortIndex"] = saved.get("sortIndex") if saved.get("sort") else None
        if saved.get("pinned"):
            d["pinned"] = saved["pinned"]
        d["hide"] = col_id in hidden
        defs.append(d)
    if state.get("groupBy"):
        defs.insert(0, group_column_def(state))
    return defs


def group_column_def(state: dict) -> dict:
    """The group column: on a group row its value and count and the open/close toggle."""
    return {"colId": GROUP_COL, "field": GROUP_COL, "headerName": "Group", "cellRenderer": "HalleyGroup",
            "cellRendererParams": {"by": state["groupBy"]}, "pinned": "left", "width": 240,
            "sortable": False, "suppressMovable": True, "lockPosition": "left"}


def grid(state: dict, base_url: str, can_write: bool, hidden: set[str] | frozenset = frozenset()) -> dag.AgGrid:
    selection = {"mode": "multiRow", "checkboxes": True, "headerCheckbox": False, "enableClickSelection": False,
                 "isRowSelectable": {"function": "!(params.data && params.data._group)"},
                 "hideDisabledCheckboxes": True}
    options = {"cacheBlockSize": 100, "maxBlocksInCache": 20, "rowBuffer": 10, "infiniteInitialRowCount": 1,
               "suppressFieldDotNotation": True, "animateRows": False, "tooltipShowDelay": 400,
               "suppressCellFocus": True}
    options["rowSelection"] = selection
    return dag.AgGrid(
        id=GRID_ID,
        rowModelType="infinite",
        columnDefs=column_defs(state, base_url, can_write, hidden),
        defaultColDef={"sortable": True, "resizable": True, "minWidth": 60, "width": 150,
                       "suppressHeaderMenuButton": True},
        getRowId="params.data._rowId || params.data.key",  # see table_groups.fetch_grouped_rows
        rowClassRules={"halley-group-row": "params.data && !!params.data._group",
                       "halley-grouped-row": "params.data && params.data._depth > 0"},
        dashGridOptions=options,
        style={"height": "calc(100vh - 330px)", "minHeight": "420px"},
        className="ag-theme-quartz",
    )


def _action(label: str, icon: str, id: str, **kw) -> dbc.Button:
    return dbc.Button([html.I(className=f"bi {icon} me-1"), label], id=id, size="sm", color="light",
                      className="border", disabled=True, **kw)


def option_for(col_id: str) -> dict:
    col = parse_column(col_id)
    group = {"sys": "System", "tags": "System", "param": "Parameters", "metric": "Metrics", "other": "Others"}[col.kind]
    return {"label": f"{group}: {col.label}", "value": col_id}


def toolbar(state: dict, can_write: bool, signed_in: bool) -> html.Div:
    # read-only visitors get the write actions hidden (the services refuse them anyway)
    writes = html.Div([
        _action("Archive", "bi-archive", "project-archive"),
        _action("Move", "bi-folder-symlink", "project-move-open"),
        _action("Tag", "bi-tag", "project-tag-open"),
        dbc.ButtonGroup([_action("Show", "bi-eye", "project-show"), _action("Hide", "bi-eye-slash", "project-hide")],
                        size="sm"),
    ], className="d-flex align-items-center gap-1" if can_write else "d-none")
    actions = [html.Span("0 selected", id="project-selected-count", className="small text-muted me-2"), writes,
               _action("Diff", "bi-file-diff", "project-diff")]
    tools = [
        dcc.Dropdown(id="project-groupby", placeholder="Group by…", clearable=True, className="project-groupby",
                     multi=True, style={"minWidth": "13rem"}, value=state.get("groupBy") or [],
                     options=[option_for(c) for c in state.get("groupBy") or []]),
        html.Div(dcc.Dropdown(id="project-group-agg", options=GROUP_AGGS, value=state.get("groupAgg") or "mean",
                              clearable=False, searchable=False, className="project-group-agg"),
                 title="What group rows show of each number column", style={"width": "6.5rem"}),
        dbc.Button([html.I(className="bi bi-layout-three-columns me-1"), "Customize columns"],
                   id="project-columns-open", size="sm", color="light", className="border"),
        dbc.Switch(id="project-hide-constant", label="Hide constant columns", value=bool(state.get("hideConstant")),
                   className="mb-0 small ms-1"),
        # the export route needs a session or an API key
        html.A([html.I(className="bi bi-download me-1"), "Export CSV"], id="project-export", href="#",
               className="btn btn-sm btn-light border", download="experiments.csv",
               style=None if signed_in else {"display": "none"}),
        dbc.Button([html.I(className="bi bi-file-earmark-spreadsheet me-1"), "Export all columns"],
                   id="project-export-all", size="sm", color="light", className="border",
                   title="Every matching experiment with every parameter, metric and other, as CSV "
                         "(prepared in the background)", style=None if signed_in else {"display": "none"}),
    ]
    return html.Div([
        html.Div(actions, className="d-flex align-items-center gap-1 flex-wrap"),
        html.Div(tools, className="d-flex align-items-center gap-2 flex-wrap ms-auto"),
        export_job() if signed_in else None,
    ], className="d-flex align-items-center gap-2 mb-2 flex-wrap", id="project-table-toolbar")


# A job nobody has started after this many seconds: no worker takes jobs (callbacks/project_export.py).
EXPORT_WAIT_SECONDS = 20


def export_job() -> html.Div:
    """Where the background export of all columns shows its progress, its outcome and its file."""
    return html.Div([
        dcc.Store(id="project-export-all-progress", data=None),
        dcc.Store(id="project-export-all-token", data=secrets.token_hex(8)),
        # whether jobs run in separate `halley worker` processes (a broker is set), for the job's note
        dcc.Store(id="project-export-all-worker", data=bool(context.settings().celery_broker)),
        dcc.Interval(id="project-export-all-clock", interval=1000, disabled=True, n_intervals=0),
        dcc.Download(id="project-export-all-file"),
        html.Div([
            dbc.Progress(id="project-export-all-bar", value=0, label="", striped=True, animated=True,
                         className="flex-grow-1", style={"height": "1.1rem"}),
            dbc.Button("Cancel", id="project-export-all-cancel", size="sm", color="secondary", outline=True),
        ], id="project-export-all-running", className="d-none"),
        html.Div(id="project-export-all-note", className="small", role="status"),
        html.Div(id="project-export-all-status", className="small", role="status"),
    ], id="project-export-all-box", className="w-100")


def _modal(id: str, title: str, body, footer) -> dbc.Modal:
    return dbc.Modal([dbc.ModalHeader(dbc.ModalTitle(title)), dbc.ModalBody(body), dbc.ModalFooter(footer)],
                     id=id, is_open=False)


def dialogs() -> html.Div:
    return html.Div([
        _modal("project-columns-modal", "Customize columns", [
            html.P("Pick the columns to show; drag headers in the table to reorder or resize them.",
                   className="small text-muted"),
            dcc.Dropdown(id="project-columns-select", multi=True, placeholder="Add columns…",
                         optionHeight=32, maxHeight=360),
        ], [dbc.Button("Cancel", id="project-columns-cancel", color="secondary", outline=True),
            dbc.Button("Apply", id="project-columns-apply", color="primary")]),
        _modal("project-move-modal", "Move experiments", [
            html.P("Move the selected experiments to another project you can write to.", className="small"),
            dcc.Dropdown(id="project-move-target", placeholder="Target project…"),
            html.Div(id="project-move-error", className="mt-2"),
        ], [dbc.Button("Cancel", id="project-move-cancel", color="secondary", outline=True),
            dbc.Button("Move", id="project-move-submit", color="primary")]),
        _modal("project-tag-modal", "Tag experiments", [
            html.P("Pick an existing tag or type a new one, then press Enter.", className="small"),
            dbc.Input(id="project-tag-input", list="project-tag-options", placeholder="Tag", maxLength=200,
                      autoComplete="off"),
            html.Datalist(id="project-tag-options"),
            html.Div(id="project-tag-error", className="mt-2"),
        ], [dbc.Button("Close", id="project-tag-cancel", color="secondary", outline=True),
            dbc.Button("Add tag", id="project-tag-submit", color="primary")]),
        _modal("project-color-modal", "Experiment color", [
            dbc.Input(id="project-color-input", type="color", value="#1f77b4", style={"height": "3rem"}),
            html.Div(id="project-color-error", className="mt-2"),
        ], [dbc.Button("Cancel", id="project-color-cancel", color="secondary", outline=True),
            dbc.Button("Save", id="project-color-save", color="primary")]),
        _modal("project-rename-modal", "Rename experiment", [
            dbc.Input(id="project-rename-input", maxLength=300, placeholder="Name (empty: use the key)"),
            html.Div(id="project-rename-error", className="mt-2"),
        ], [dbc.Button("Cancel", id="project-rename-cancel", color="secondary", outline=True),
            dbc.Button("Save", id="project-rename-save", color="primary")]),
        dcc.Store(id="project-cell-target"),
    ])
