"""The archived-experiments table of a project's Archive section."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components.project_header import project_path


def archive_table(workspace: str, project_name: str, experiments, can_write: bool):
    if not experiments:
        return html.P("No archived experiments.", className="text-muted", id="project-archive-empty")
    head = [html.Th(dbc.Checkbox(id="project-archive-all", value=False), style={"width": "2rem"})] if can_write else []
    rows = []
    for e in experiments:
        check = [html.Td(dbc.Checkbox(id={"type": "project-archive-check", "key": e.key}, value=False))] \
            if can_write else []
        rows.append(html.Tr(check + [
            html.Td(dcc.Link(e.name or e.key, href=project_path(workspace, project_name, f"/{e.key}"))),
            html.Td(html.Span(e.key[:9], className="font-monospace small")),
            html.Td(e.status),
            html.Td(e.start_time.strftime("%Y-%m-%d %H:%M") if e.start_time else ""),
        ], className="project-archive-row"))
    return dbc.Table([html.Thead(html.Tr(head + [html.Th("Experiment"), html.Th("Key"), html.Th("Status"),
                                                 html.Th("Started")])), html.Tbody(rows)],
                     size="sm", hover=True, className="align-middle", id="project-archive-table")
