"""Pieces of the project's Files section: the file table and the GitHub link."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components.project_header import project_path

KIND_LABELS = {"source": "source file", "code": "code", "file": "asset", "other": "asset", "notebook": "notebook"}


def github_block(url: str | None):
    if not url:
        return html.P("No repository linked.", className="text-muted small mb-2", id="project-files-github-none")
    return html.P([html.I(className="bi bi-github me-1"),
                   html.A(url, href=url, target="_blank", rel="noopener noreferrer", id="project-files-github-link")],
                  className="mb-2")


def files_table(items):
    if not items:
        return html.P("The project's experiments have no files yet.", className="text-muted", id="project-files-empty")
    rows = [
        html.Tr([
            html.Td(html.Span(f.name, className="font-monospace")),
            html.Td(dbc.Badge(KIND_LABELS.get(f.kind, f.kind), color="light", text_color="dark", className="border")),
            html.Td(f.experiment_count, className="text-end"),
            html.Td(dbc.Button("View experiments", size="sm", color="link",
                               id={"type": "project-files-view", "index": i}), className="text-end"),
        ], className="project-files-row")
        for i, f in enumerate(items)
    ]
    return dbc.Table([html.Thead(html.Tr([html.Th("File"), html.Th("Kind"), html.Th("Experiments", className="text-end"),
                                          html.Th("")])), html.Tbody(rows)],
                     hover=True, size="sm", className="align-middle", id="project-files-table")


def experiments_list(workspace: str, project_name: str, experiments):
    if not experiments:
        return html.P("No experiments use this file.", className="text-muted")
    return dbc.ListGroup([
        dbc.ListGroupItem([
            dcc.Link(e.name or e.key, href=project_path(workspace, project_name, f"/{e.key}"),
                     className="project-files-experiment-link"),
            html.Span(e.key[:9], className="text-muted small font-monospace ms-2"),
        ])
        for e in experiments
    ], id="project-files-experiments")
