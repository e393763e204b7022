"""The audit log's table (/admin/audit), drawn by its callback page by page."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from layouts.components.admin_users import when


def audit_table(events):
    if not events:
        return html.P("No entries match.", className="text-muted", id="admin-audit-empty")
    head = html.Thead(html.Tr([html.Th("When"), html.Th("Who"), html.Th("Action"), html.Th("Target"),
                               html.Th("Detail"), html.Th("From")]))
    rows = [html.Tr([
        html.Td(when(e.created_at), className="small text-nowrap"),
        html.Td(e.actor_name or html.Span("anonymous", className="text-muted")),
        html.Td(html.Code(e.action), className="admin-audit-action"),
        html.Td(e.target, className="admin-audit-target"),
        html.Td(e.detail, className="small text-muted text-break"),
        html.Td(e.address, className="small font-monospace"),
    ], className="admin-audit-row") for e in events]
    return dbc.Table([head, html.Tbody(rows)], className="align-middle", hover=True, size="sm", id="admin-audit-table")
