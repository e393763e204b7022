"""The shareable-link block of a project's Manage section."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import request


def share_url(token: str) -> str:
    try:
        base = request.host_url.rstrip("/")
    except RuntimeError:
        base = ""
    return f"{base}/shared/{token}"


def share_link_block(token: str | None, can_write: bool):
    if not token:
        if not can_write:
            return html.P("No shareable link.", className="text-muted mb-0", id="project-manage-share-none")
        return dbc.Button([html.I(className="bi bi-link-45deg me-1"), "Create shareable link"],
                          id="project-manage-share-create", color="primary")
    if not can_write:
        return html.P("This project has a shareable link.", className="text-muted mb-0")
    return dbc.InputGroup([
        dbc.Input(id="project-manage-share-url", value=share_url(token), readonly=True),
        dcc.Clipboard(target_id="project-manage-share-url", className="btn btn-outline-secondary",
                      id="project-manage-share-copy", title="Copy"),
        dbc.Button(html.I(className="bi bi-trash"), id="project-manage-share-delete", color="outline-danger",
                   title="Delete this link"),
    ])
