"""The project panels area (inside ``project-panels`` above the experiment table): the
"Add Panel" button, one card per panel with its three-dot menu, the brush banner of parallel
coordinates, and the gallery and editor dialogs.

Line panels are ``project-panel-line`` graphs (re-read when their ``project-panel-zoom`` store
changes); bar, scatter and parallel-coordinates panels are ``project-panel-agg`` graphs. Each graph
is drawn by its own request and dims while it is being drawn again. ``project-panels-drawn`` holds
the panels the grid shows, so a change touches only the cards that changed.

Each card sits in a cell of its own (``project-panels-cell``), and the grid ends with an empty
tail (``project-panels-tail``); both are layout-less (``display: contents``), so the cards lay out
as children of the grid. The page changes a card by setting its cell's children, and adds one by
filling the tail with the new card's cell and a new tail: the grid's own children never change,
so the other cards are not mounted and drawn again (Dash mounts every child of a component
whose children changed). Export and
reset-zoom run in the browser (assets/panels.js) through the ``data-panel-action`` buttons.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.panel_types import REGISTRY
from dashboard.services.panels import panel_title
from layouts.components.panel_editor import panel_editor
from layouts.components.panel_gallery import panel_gallery

GRAPH_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "toImage"]}


def graph_id(panel: dict) -> dict:
    return {"type": f"project-panel-{REGISTRY[panel['type']].graph}", "index": panel["id"]}


def drawn_id(panel: dict) -> dict:
    """The store of what a panel's graph shows (the signature of the panel and view it drew),
    typed like the graph, so each figure callback has its own."""
    return {"type": graph_id(panel)["type"] + "-drawn", "index": panel["id"]}


def zoom_id(panel: dict) -> dict:
    """The store of a line panel's x zoom: the x range of its last zoom or pan as a relayout
    event spells it, or None when the whole range is shown."""
    return {"type": "project-panel-zoom", "index": panel["id"]}


def _menu(panel: dict, can_keep: bool) -> dbc.DropdownMenu:
    pid = panel["id"]

    def client(label, action, icon):
        return html.Button([html.I(className=f"bi {icon} me-2"), label], className="dropdown-item",
                           **{"data-panel-action": action, "data-panel-id": pid})

    items = [
        html.Button([html.I(className="bi bi-pencil me-2"), "Edit Panel"], className="dropdown-item",
                    id={"type": "project-panel-edit", "index": pid}),
        html.Button([html.I(className="bi bi-trash me-2"), "Delete"], className="dropdown-item text-danger",
                    id={"type": "project-panel-delete", "index": pid}),
    ]
    if can_keep:
        items.append(html.Button([html.I(className="bi bi-bookmark-plus me-2"), "Add to my panels"],
                                 className="dropdown-item", id={"type": "project-panel-keep", "index": pid}))
    items.append(dbc.DropdownMenuItem(divider=True))
    items += [client("Export as PNG", "png", "bi-file-image"), client("Export as JPEG", "jpeg", "bi-file-image"),
              client("Export as SVG", "svg", "bi-filetype-svg"), client("Reset zoom", "reset", "bi-zoom-out")]
    return dbc.DropdownMenu(items, label=html.I(className="bi bi-three-dots-vertical"), size="sm", color="link",
                            align_end=True, caret=False, className="project-panel-menu",
                            toggle_class_name="text-secondary py-0 px-1 project-panel-menu-toggle",
                            id={"type": "project-panel-menu", "index": pid})


def panel_card(panel: dict, can_keep: bool) -> html.Div:
    """One panel: title, three-dot menu and its graph (filled by the figure callbacks)."""
    return html.Div(dbc.Card([
        html.Div([
            html.Span(panel_title(panel), className="project-panel-title text-truncate"),
            _menu(panel, can_keep),
        ], className="d-flex align-items-center justify-content-between px-2 pt-1"),
        dcc.Loading(dcc.Graph(id=graph_id(panel), config=GRAPH_CONFIG, className="project-panel-graph",
                              style={"height": "320px"}),
                    type="dot", delay_show=400, overlay_style={"visibility": "visible", "opacity": 0.55}),
        dcc.Store(id=drawn_id(panel)),
        *([dcc.Store(id=zoom_id(panel))] if REGISTRY[panel["type"]].graph == "line" else []),
    ], className="h-100 shadow-sm"), className="col-12 col-lg-6 col-xxl-4 project-panel",
        id=f"project-panel-{panel['id']}", **{"data-panel-type": panel["type"], "data-panel-id": panel["id"],
                                               "data-panel-title": panel_title(panel)})


def panel_cell(panel: dict, can_keep: bool) -> html.Div:
    """The cell that holds a panel's card (emptied when the panel is removed)."""
    return html.Div(panel_card(panel, can_keep), id={"type": "project-panels-cell", "index": panel["id"]},
                    className="project-panels-slot")


def panel_tail(number: int, children=None) -> html.Div:
    """The grid's end, where added panels go (``number``: how many tails the grid has had)."""
    return html.Div(children, id={"type": "project-panels-tail", "index": number}, className="project-panels-slot")


def panel_cards(panels: list[dict], can_keep: bool, can_add: bool = True) -> list:
    if not panels:
        text = ("No panels yet. Click Add Panel to chart the experiments in the table: metrics over steps, "
                "parameters against results." if can_add else "No panels in this view.")
        return [html.Div(text, className="text-muted small py-3", id="project-panels-empty"), panel_tail(0)]
    return [panel_cell(p, can_keep) for p in panels] + [panel_tail(0)]


def panels_area(panels: list[dict], can_keep: bool, can_add: bool = True) -> html.Div:
    """``can_add``: the visitor may change the project (read-only visitors get no "Add Panel")."""
    return html.Div([
        dcc.Store(id="project-panels-list", data=panels),
        dcc.Store(id="project-panels-drawn", data=panels),  # the panels project-panels-grid shows
        dcc.Store(id="project-panels-editing"),
        dcc.Store(id="project-panels-catalogue"),
        html.Div([
            dbc.Button([html.I(className="bi bi-plus-lg me-1"), "Add Panel"], id="project-panels-add", size="sm",
                       color="primary", outline=True, style=None if can_add else {"display": "none"}),
            html.Div(id="project-panels-brush-bar", className="ms-auto small"),
        ], className="d-flex align-items-center mb-2"),
        html.Div(panel_cards(panels, can_keep, can_add), id="project-panels-grid", className="row g-2"),
        panel_gallery(),
        panel_editor(),
    ], id="project-panels-area")


def brush_bar(count: int | None, description: str, can_save: bool) -> list:
    """The line above the panels while a parallel-coordinates brush narrows the table."""
    if count is None:
        return []
    items = [html.Span([html.I(className="bi bi-funnel me-1"),
                        f"Brush: {count} experiment{'s' if count != 1 else ''} ({description})"],
                       id="project-panels-brush-count", className="me-2")]
    if can_save:
        items.append(dbc.Button("Save as query", id="project-panels-brush-save", size="sm", color="primary",
                                className="py-0 me-1"))
    items.append(html.Button("Clear", id="project-panels-brush-clear", className="btn btn-outline-secondary btn-sm py-0",
                             **{"data-panel-action": "clear-brush"}))
    return items
