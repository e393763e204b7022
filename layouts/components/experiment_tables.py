"""Tabs of the experiment page that show tables and text: Metrics, Hyperparameters, Graph
Definition, System Metrics, Installed Packages, Notes, HTML, Text, Assets, Code and Output.

Each ``*_tab(session, page, store)`` (store: the asset store) returns the tab's body; user
content is passed to components as text (Dash escapes it), markdown goes through the safe renderer, logged HTML only
into a sandboxed iframe.
"""
from __future__ import annotations

import json
import math
from urllib.parse import quote

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.charts import system_metrics
from dashboard.charts.numbers import fmt_bytes
from dashboard.services import asset_pages, experiment_models, experiment_page, experiments, panels
from layouts.components.experiment_header import format_duration
from layouts.components.project_markdown import render_markdown

GRID_STYLE = {"height": "560px"}
CODE_LANGUAGES = {".py": "python", ".js": "javascript", ".json": "json", ".yaml": "yaml", ".yml": "yaml",
                  ".sh": "bash", ".r": "r", ".md": "markdown", ".ipynb": "json", ".cpp": "cpp", ".java": "java"}
MAX_CODE_CHARS = 300_000


def fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.6g}"
    return str(value)


def empty(message: str, id: str | None = None):
    return html.P(message, className="text-muted mt-3", **({"id": id} if id else {}))


def search_box(id: str, placeholder: str = "Search"):
    return dbc.Input(id=id, placeholder=placeholder, type="search", debounce=False, size="sm",
                     className="mb-2", style={"maxWidth": "24rem"})


def metrics_tab(session, page, _store):
    rows = [{"name": m.name, "last": m.last_value, "min": m.min_value, "max": m.max_value, "count": m.count,
             "last_step": m.last_step, "invalid": m.invalid_count}
            for m in experiment_page.metric_summaries(session, page.experiment.id)]
    if not rows:
        return empty("No metrics were logged.", "experiment-metrics-empty")
    num = {"type": "numericColumn", "valueFormatter": {"function": "params.value == null ? '' : d3.format('.6~g')(params.value)"}}
    return html.Div([
        search_box("experiment-metrics-search", "Search metrics"),
        dag.AgGrid(id="experiment-metrics-grid", rowData=rows, columnDefs=[
            {"field": "name", "headerName": "Name", "flex": 2},
            {"field": "last", "headerName": "Value (last)", **num, "flex": 1},
            {"field": "min", "headerName": "Min Value", **num, "flex": 1},
            {"field": "max", "headerName": "Max Value", **num, "flex": 1},
            {"field": "last_step", "headerName": "Last step", "flex": 1},
            {"field": "count", "headerName": "Points", "flex": 1},
            {"field": "invalid", "headerName": "Invalid", "flex": 1},
        ], defaultColDef={"sortable": True, "resizable": True}, getRowId="params.data.name",
            dashGridOptions={"animateRows": False}, style=GRID_STYLE, className="ag-theme-alpine"),
    ])


def hyperparameters_tab(session, page, _store):
    rows = [{"name": p.name, "value": p.value_text if p.value_text is not None else p.value_json,
             "step": p.step, "source": p.source} for p in experiments.parameters(session, page.experiment)]
    if not rows:
        return empty("No hyperparameters were logged.")
    return html.Div([
        search_box("experiment-params-search", "Search hyperparameters"),
        dbc.Row([
            dbc.Col(dag.AgGrid(id="experiment-params-grid", rowData=rows, columnDefs=[
                {"field": "name", "headerName": "Name", "flex": 2},
                {"field": "value", "headerName": "Value", "flex": 2},
                {"field": "step", "headerName": "Step", "flex": 1},
                {"field": "source", "headerName": "Source", "flex": 1},
            ], defaultColDef={"sortable": True, "resizable": True}, getRowId="params.data.name",
                dashGridOptions={"animateRows": False}, style=GRID_STYLE, className="ag-theme-alpine"), md=8),
            dbc.Col(html.Div(html.P("Click a parameter to see every value it was logged with.",
                                    className="text-muted small"), id="experiment-params-history"), md=4),
        ]),
    ])


def history_table(name: str, values):
    return html.Div([
        html.H6(["History of ", html.Code(name)]),
        dbc.Table([html.Thead(html.Tr([html.Th("Value"), html.Th("Step"), html.Th("Logged at")])),
                   html.Tbody([html.Tr([html.Td(v.value_text), html.Td(fmt(v.step)),
                                        html.Td(experiment_page.started_label(v.logged_at))]) for v in values])],
                  size="sm", striped=True, id="experiment-params-history-table"),
    ])


def graph_tab(session, page, store):
    text = page.experiment.graph
    if not text:
        graphs = experiment_page.assets(session, page.experiment, ("model-graph",))
        if graphs:
            text, _cut = experiment_page.read_text(store, graphs[-1])
    return html.Pre(text or "No model graph was logged.", id="experiment-graph", className="bg-light p-3 small")


def system_tab(session, page, _store):
    exp = page.experiment
    info = experiments.system(exp)
    facts = [("OS user", exp.os_user), ("OS", exp.os), ("OS type", exp.os_type), ("Python version", exp.python_version),
             ("Python executable", exp.python_executable), ("IP address", exp.ip), ("Hostname", exp.host),
             ("PID", exp.pid), ("Duration", format_duration(experiments.duration_s(exp)))]
    facts += [(str(k), json.dumps(v) if not isinstance(v, str) else v) for k, v in info["system_info"].items()]
    table = dbc.Table(html.Tbody([html.Tr([html.Th(k, className="w-25"), html.Td(fmt(v) or "-")]) for k, v in facts]),
                      size="sm", id="experiment-system-details")
    return dbc.Row([dbc.Col(table, lg=5), dbc.Col(system_charts(session, exp), lg=7, id="experiment-system-charts")])


def system_charts(session, exp):
    """The system metric charts (redrawn by the live poll while the experiment runs)."""
    series = experiment_page.system_series(session, exp, panels.open_cache(context.settings().cache_dir))
    charts = [dcc.Graph(figure=fig, id=f"experiment-system-{key}", config={"displaylogo": False})
              for key, fig in system_metrics.figures(series)]
    return charts or empty("No system metrics were logged.")


def packages_tab(_session, page, _store):
    text = (page.experiment.installed_packages or "").strip()
    return html.Div([
        html.Div([html.Span(f"{len(text.splitlines())} packages", className="text-muted me-2"),
                  dcc.Clipboard(target_id="experiment-packages", id="experiment-packages-copy",
                                className="btn btn-sm btn-outline-secondary", title="Copy")], className="mb-2"),
        html.Pre(text, id="experiment-packages", className="bg-light p-3 small"),
    ])


def models_tab(session, page, _store):
    """The models logged with log_model: each with its files and a zip of them all."""
    found = experiment_models.models(session, page.experiment)
    if not found:
        return html.P("No models were logged for this experiment.", className="text-muted", id="experiment-models-none")
    key = quote(page.experiment.key, safe="")
    cards = []
    for model in found:
        rows = [html.Tr([html.Td(a.file_name, className="font-monospace small"),
                         html.Td(a.remote_url or fmt_bytes(a.size or 0), className="text-end small")])
                for a in model.files]
        cards.append(dbc.Card([
            dbc.CardHeader(html.Div([
                html.Span(model.name, className="fw-semibold me-2"),
                html.Span(f"{len(model.files):,} file{'s' if len(model.files) != 1 else ''}, {fmt_bytes(model.size)}",
                          className="text-muted small me-auto"),
                html.A([html.I(className="bi bi-download me-1"), "Download zip"],
                       href=f"/api/v1/experiments/{key}/model-zip?name={quote(model.name, safe='')}",
                       className="btn btn-sm btn-outline-primary"),
            ], className="d-flex align-items-center")),
            dbc.Table(html.Tbody(rows), size="sm", className="mb-0"),
        ], className="mb-3 experiment-model-card"))
    return html.Div(cards, id="experiment-models")


def notes_tab(_session, page, _store):
    notes = page.experiment.notes or ""
    rendered = html.Div(render_markdown(notes, empty="No notes yet."), id="experiment-notes-rendered")
    if not page.can_write:
        return rendered
    return html.Div([
        dbc.Row([
            dbc.Col([dbc.Textarea(id="experiment-notes-editor", value=notes, rows=14, maxLength=100_000,
                                  placeholder="Markdown notes about this experiment"),
                     dbc.Button("Save notes", id="experiment-notes-save", color="primary", size="sm",
                                className="mt-2"),
                     html.Span(id="experiment-notes-message", className="ms-2 small")], md=6),
            dbc.Col([html.H6("Preview", className="text-muted"), rendered], md=6),
        ]),
    ])


def html_tab(_session, page, _store):
    """Logged HTML in an iframe without allow-same-origin: it can't reach the app or its cookies."""
    return html.Iframe(srcDoc=page.experiment.html or "", sandbox="allow-popups", id="experiment-html-frame",
                       style={"width": "100%", "height": "70vh", "border": "1px solid #dee2e6"})


def text_tab(session, page, store):
    items = experiment_page.assets(session, page.experiment, ("text",))[:2000]
    rows, meta_keys = [], []
    for a in items:
        text, cut = experiment_page.read_text(store, a, 20_000)
        meta = experiment_page.metadata_of(a)
        row = {"text": text + (" …" if cut else ""), "step": a.step, "context": a.context, "id": a.asset_id}
        for k, v in meta.items():
            col = f"meta.{k}"[:100]
            if col not in meta_keys:
                meta_keys.append(col)
            row[col] = fmt(v) if not isinstance(v, (dict, list)) else json.dumps(v)
        rows.append(row)
    cols = [{"field": "text", "headerName": "Text", "flex": 3, "wrapText": True, "autoHeight": True},
            {"field": "step", "headerName": "Step", "width": 90}, {"field": "context", "headerName": "Context", "width": 110}]
    cols += [{"field": k, "headerName": k[5:], "flex": 1} for k in meta_keys[:30]]
    return html.Div([
        search_box("experiment-text-search", "Search texts"),
        dag.AgGrid(id="experiment-text-grid", rowData=rows, columnDefs=cols, getRowId="params.data.id",
                   dashGridOptions={"suppressFieldDotNotation": True},
                   defaultColDef={"sortable": True, "resizable": True, "filter": True}, style=GRID_STYLE,
                   className="ag-theme-alpine"),
    ])


def size_label(size: int | None) -> str:
    """Bytes in binary units: 40 B, 1.5 KiB, 12 MiB."""
    return fmt_bytes(size or 0)


ASSET_TYPE_LABELS = {asset_pages.CM_EXAMPLES: "confusion-matrix example"}


def assets_tab(session, page, _store):
    """A paged grid (AG Grid's infinite row model): rows come from callbacks/experiment_assets.py
    a block at a time, so 10,000 assets cost what 100 do; text previews load on click."""
    counts = asset_pages.type_counts(session, page.experiment)
    total = sum(counts.values())
    types = [{"label": "All types", "value": "all"}] + [
        {"label": f"{ASSET_TYPE_LABELS.get(t, t)} ({n:,})", "value": t} for t, n in sorted(counts.items())]
    columns = [
        {"field": "name", "colId": "name", "headerName": "Name", "flex": 2, "minWidth": 220, "tooltipField": "name"},
        {"field": "type", "colId": "type", "headerName": "Type", "width": 230},
        {"field": "size_label", "colId": "size", "headerName": "Size", "width": 110, "type": "rightAligned"},
        {"field": "step", "colId": "step", "headerName": "Step", "width": 100, "type": "rightAligned"},
        {"field": "created", "colId": "created", "headerName": "Logged (UTC)", "width": 190},
        {"field": "download", "colId": "download", "headerName": "", "width": 120, "sortable": False,
         "cellRenderer": "markdown"},
        # A remote asset's URL (log_remote_asset), as text: it is the user's, never a link we follow.
        {"field": "remote_url", "colId": "remote_url", "headerName": "Remote URL", "flex": 1, "minWidth": 160,
         "sortable": False, "tooltipField": "remote_url"},
        {"field": "preview", "colId": "preview", "headerName": "", "width": 100, "sortable": False,
         "cellClass": "experiment-asset-preview-cell"},
    ]
    return html.Div([
        html.Div([
            dbc.Input(id="experiment-assets-search", placeholder="Search names", type="search", debounce=True,
                      size="sm", style={"maxWidth": "20rem"}),
            dbc.Select(id="experiment-assets-mode", value="substring", size="sm", style={"maxWidth": "8rem"},
                       options=[{"label": "Substring", "value": "substring"}, {"label": "Exact", "value": "exact"},
                                {"label": "Regex", "value": "regex"}]),
            dbc.Select(id="experiment-assets-type", value="all", options=types, size="sm",
                       style={"maxWidth": "18rem"}),
            html.Span(f"{total:,} assets", id="experiment-assets-count", className="small text-muted ms-2"),
        ], className="d-flex align-items-center gap-2 mb-2", id="experiment-assets-filters"),
        html.Div(id="experiment-assets-message"),
        dag.AgGrid(id="experiment-assets-grid", rowModelType="infinite", columnDefs=columns,
                   getRowId="params.data.asset_id",
                   defaultColDef={"sortable": True, "resizable": True, "suppressHeaderMenuButton": True},
                   dashGridOptions={"cacheBlockSize": 100, "maxBlocksInCache": 20, "rowBuffer": 10,
                                    "infiniteInitialRowCount": 1, "suppressFieldDotNotation": True,
                                    "animateRows": False, "suppressCellFocus": True, "tooltipShowDelay": 400},
                   style={"height": "calc(100vh - 330px)", "minHeight": "420px"}, className="ag-theme-alpine"),
        dbc.Modal([dbc.ModalHeader(dbc.ModalTitle(id="experiment-asset-preview-title")),
                   dbc.ModalBody(html.Pre(id="experiment-asset-preview-body", className="small mb-0",
                                          style={"maxHeight": "70vh", "overflow": "auto"}))],
                  id="experiment-asset-preview-modal", size="xl", is_open=False),
    ])


def fenced(code: str, language: str) -> str:
    """A markdown code fence longer than any backtick run that starts a line of the code."""
    runs = [len(line.lstrip()) - len(line.lstrip().lstrip("`")) for line in code.splitlines()]
    fence = "`" * max([3] + [r + 1 for r in runs])
    return f"{fence}{language}\n{code}\n{fence}"


def code_block(code: str, language: str, id=None):
    return dcc.Markdown(fenced(code[:MAX_CODE_CHARS], language), highlight_config={"theme": "light"},
                        className="experiment-code", **({"id": id} if id else {}))


def notebook_cells(doc: dict) -> list[str]:
    cells = doc.get("cells") if isinstance(doc, dict) else None
    out = []
    for cell in cells or []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            src = cell.get("source")
            out.append("".join(src) if isinstance(src, list) else str(src or ""))
    return out


def code_tab(session, page, store):
    items = experiment_page.assets(session, page.experiment, ("code", "notebook"))
    base = f"/api/v1/experiments/{page.experiment.key}/assets/"
    blocks = []
    for i, a in enumerate(items[:50]):
        suffix = "." + a.file_name.rsplit(".", 1)[-1].lower() if "." in a.file_name else ""
        head = html.Div([html.Span(a.file_name, className="fw-semibold me-2"),
                         html.A("Download", href=base + a.asset_id, className="small")], className="mb-1")
        if a.type == "notebook" or suffix == ".ipynb":
            try:
                cells = notebook_cells(experiment_page.read_json(store, a, 20_000_000))
            except Exception:  # noqa: BLE001  (a broken notebook shows as text below)
                cells = None
            if cells is not None:
                head = html.Div([html.Span(a.file_name, className="fw-semibold me-2"),
                                 html.A("Download as notebook (.ipynb)", href=base + a.asset_id,
                                        className="small", id="experiment-code-notebook-download")], className="mb-1")
                body = [html.Div([html.Div(f"In [{n + 1}]:", className="text-muted small"), code_block(c, "python")])
                        for n, c in enumerate(cells)]
                blocks.append(html.Div([head] + body, className="mb-4 experiment-code-file"))
                continue
        text, cut = experiment_page.read_text(store, a, MAX_CODE_CHARS)
        blocks.append(html.Div([head, code_block(text, CODE_LANGUAGES.get(suffix, "python"), id=f"experiment-code-{i}"),
                                html.P("(truncated)", className="text-muted small") if cut else None],
                               className="mb-4 experiment-code-file"))
    return html.Div(blocks or empty("No code was logged."), id="experiment-code")


def output_tab(_session, _page, _store):
    return html.Div([
        dbc.Row([
            dbc.Col(dbc.Input(id="experiment-output-search", type="search", placeholder="Search output",
                              debounce=True, size="sm"), md=4),
            dbc.Col(html.Div([
                dbc.Button("‹ Previous", id="experiment-output-prev", size="sm", color="secondary", outline=True),
                html.Span(id="experiment-output-range", className="mx-2 small"),
                dbc.Button("Next ›", id="experiment-output-next", size="sm", color="secondary", outline=True),
            ], className="d-flex align-items-center"), md=8),
        ], className="mb-2 g-2"),
        dcc.Store(id="experiment-output-page", data=0),
        html.Div(id="experiment-output-error"),
        # the page's lines come as data and are written into the <pre> as text, one <span> per
        # line, by a clientside callback (callbacks/experiment.py): far quicker than a Dash
        # component per line
        dcc.Loading(html.Div([dcc.Store(id="experiment-output-data"),
                              html.Pre(id="experiment-output-lines", className="experiment-output small")]),
                    delay_show=300),
    ])
