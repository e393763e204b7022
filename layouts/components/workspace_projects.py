"""Project cards (grid view) and rows (list view) of the workspace page."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components.project_header import icon_url, project_path


def _icon(workspace: str, card, size: str):
    src = icon_url(workspace, card)
    if src:
        return html.Img(src=src, alt="", className=f"workspace-project-icon workspace-project-icon-{size}")
    return html.Div(html.I(className="bi bi-folder2"),
                    className=f"workspace-project-icon workspace-project-icon-{size} workspace-project-icon-empty")


def _when(dt) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else ""


def _menu(card, label, class_name: str):
    def item(action, icon, text, **kw):
        return dbc.DropdownMenuItem([html.I(className=f"bi bi-{icon} me-2"), text],
                                    id={"type": "workspace-action", "action": action, "project": card.id}, **kw)
    items = []
    if card.can_write:
        items += [item("edit", "pencil", "Edit"), item("icon", "image", "Change icon")]
    items.append(item("share", "share", "Share"))
    if card.can_delete:
        items += [dbc.DropdownMenuItem(divider=True), item("delete", "trash", "Delete", class_name="text-danger")]
    return dbc.DropdownMenu(items, label=label, color="link", size="sm", caret=False,
                            toggle_class_name=f"p-0 text-secondary {class_name}",
                            id={"type": "workspace-menu", "project": card.id})


def _visibility(card):
    return dbc.Badge("public" if card.is_public else "private", color="success" if card.is_public else "secondary",
                     className="workspace-project-visibility")


def project_grid(workspace: str, cards):
    cols = []
    for c in cards:
        cols.append(dbc.Col(dbc.Card(dbc.CardBody([
            html.Div([
                _menu(c, html.I(className="bi bi-three-dots-vertical"), "workspace-card-menu"),
                _icon(workspace, c, "md"),
                html.Div([
                    dcc.Link(c.name, href=project_path(workspace, c.name), className="fw-semibold workspace-project-name"),
                    html.Div(_visibility(c)),
                ], className="ms-2 text-truncate"),
            ], className="d-flex align-items-start mb-2"),
            html.P(c.description or "No description", className="small text-muted workspace-project-description mb-2"),
            html.Div([
                html.Span([html.I(className="bi bi-flask me-1"), f"{c.experiment_count} experiments"],
                          className="workspace-project-count"),
                html.Span([html.I(className="bi bi-person me-1"), c.owner or "—"], className="workspace-project-owner"),
            ], className="d-flex justify-content-between small"),
            html.Div(f"Updated {_when(c.last_updated)}", className="small text-muted mt-1"),
        ]), className="h-100 workspace-project-card"), md=6, lg=4, xl=3, className="mb-3"))
    return dbc.Row(cols, id="workspace-grid")


def project_list(workspace: str, cards):
    rows = [
        html.Tr([
            html.Td(_icon(workspace, c, "sm"), style={"width": "2.5rem"}),
            html.Td(dcc.Link(c.name, href=project_path(workspace, c.name), className="fw-semibold workspace-project-name")),
            html.Td(html.Span(c.description, className="small text-muted workspace-project-description")),
            html.Td(_visibility(c)),
            html.Td(c.experiment_count, className="text-end workspace-project-count"),
            html.Td(_when(c.last_updated), className="small text-nowrap"),
            html.Td(c.owner or "—", className="workspace-project-owner"),
            html.Td(_menu(c, html.I(className="bi bi-gear"), "workspace-row-menu"), className="text-end"),
        ], className="workspace-project-row")
        for c in cards
    ]
    head = html.Thead(html.Tr([html.Th(""), html.Th("Name"), html.Th("Description"), html.Th("Visibility"),
                               html.Th("Experiments", className="text-end"), html.Th("Last updated"),
                               html.Th("Owner"), html.Th("")]))
    return dbc.Table([head, html.Tbody(rows)], hover=True, className="align-middle", id="workspace-list")
