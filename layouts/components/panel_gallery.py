"""The Panel Gallery dialog: Built-in panels, Featured panels (ready-made configurations for
this project's metrics and parameters) and the user's own collection."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard.panel_types import REGISTRY


def gallery_card(pick_id: dict, title: str, icon: str, text: str, extra=None) -> html.Div:
    return html.Div(dbc.Card(dbc.CardBody([
        html.Div([html.I(className=f"bi {icon} fs-3 text-primary me-2"), html.Strong(title)],
                 className="d-flex align-items-center mb-1"),
        html.P(text, className="small text-muted mb-2"),
        html.Div([dbc.Button("Add", id=pick_id, size="sm", color="primary"), extra],
                 className="d-flex gap-2 align-items-center"),
    ]), className="h-100 project-gallery-card"), className="col-12 col-md-6")


def built_in_cards() -> list:
    return [gallery_card({"type": "project-gallery-pick", "index": f"builtin:{p.type}"}, p.label, p.icon,
                         p.description) for p in REGISTRY.values()]


def template_cards(items: list[tuple[str, str, str, str]], deletable: bool = False) -> list:
    """Cards for (pick index, title, icon, description)."""
    if not items:
        return [html.P("Nothing here yet. Use \"Add to my panels\" in a panel's menu to keep it."
                       if deletable else "Log some metrics or parameters to get suggestions.",
                       className="text-muted small")]
    cards = []
    for index, title, icon, text in items:
        extra = None
        if deletable:
            extra = dbc.Button(html.I(className="bi bi-trash"), id={"type": "project-gallery-forget", "index": index},
                               size="sm", color="link", className="text-danger p-0", title="Remove from my panels")
        cards.append(gallery_card({"type": "project-gallery-pick", "index": index}, title, icon, text, extra))
    return cards


def panel_gallery() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Panel Gallery")),
        dbc.ModalBody(dbc.Tabs([
            dbc.Tab(html.Div(built_in_cards(), className="row g-2 pt-2"), label="Built-in", tab_id="builtin",
                    id="project-gallery-tab-builtin"),
            dbc.Tab(html.Div(id="project-gallery-featured", className="row g-2 pt-2"), label="Featured",
                    tab_id="featured", id="project-gallery-tab-featured"),
            dbc.Tab(html.Div(id="project-gallery-mine", className="row g-2 pt-2"), label="My panels",
                    tab_id="mine", id="project-gallery-tab-mine"),
        ], id="project-gallery-tabs", active_tab="builtin")),
    ], id="project-panels-gallery", size="lg", is_open=False, scrollable=True)
