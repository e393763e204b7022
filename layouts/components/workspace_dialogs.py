"""The workspace page's dialogs: create, edit, delete, share and change icon."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.services.projects import MAX_ICON_BYTES

VISIBILITY = [{"label": "Private", "value": "private"}, {"label": "Public", "value": "public"}]


def _modal(id: str, title, body, footer=None, **kwargs):
    parts = [dbc.ModalHeader(dbc.ModalTitle(title, id=f"{id}-title")), dbc.ModalBody(body)]
    if footer:
        parts.append(dbc.ModalFooter(footer))
    return dbc.Modal(parts, id=f"{id}-modal", is_open=False, **kwargs)


def _project_fields(prefix: str):
    return [
        dbc.Label("Name", html_for=f"{prefix}-name"),
        dbc.Input(id=f"{prefix}-name", maxLength=100, className="mb-2"),
        dbc.Label("Description", html_for=f"{prefix}-description"),
        dbc.Textarea(id=f"{prefix}-description", maxLength=2000, rows=3, className="mb-2"),
        dbc.Label("Visibility"),
        dbc.RadioItems(id=f"{prefix}-visibility", options=VISIBILITY, value="private", inline=True),
        html.Div(id=f"{prefix}-error", className="mt-2"),
    ]


def workspace_dialogs(can_create: bool):
    dialogs = [
        _modal("workspace-edit", "Edit project", _project_fields("workspace-edit"), [
            dbc.Button("Cancel", id="workspace-edit-cancel", color="secondary", outline=True),
            dbc.Button("Save", id="workspace-edit-save", color="primary"),
        ]),
        _modal("workspace-delete", "Delete project?", html.Div(id="workspace-delete-body"), [
            dbc.Button("Cancel", id="workspace-delete-cancel", color="secondary", outline=True),
            dbc.Button("Delete project", id="workspace-delete-confirm", color="danger"),
        ]),
        _modal("workspace-share", "Share project", html.Div(id="workspace-share-body")),
        _modal("workspace-icon", "Change icon", [
            html.P("Upload a PNG or JPEG image of at most 1 MB; it is shown scaled to a square icon.",
                   className="text-muted small"),
            dcc.Upload(id="workspace-icon-upload", accept="image/png,image/jpeg", max_size=4 * MAX_ICON_BYTES,
                       children=html.Div([html.I(className="bi bi-cloud-arrow-up me-2"),
                                          "Drag an image here or click to choose one"]),
                       className="workspace-icon-drop border border-2 rounded p-4 text-center text-muted"),
            html.Div(id="workspace-icon-error", className="mt-2"),
        ]),
    ]
    if can_create:
        dialogs.append(_modal("workspace-create", "Create project", _project_fields("workspace-create"), [
            dbc.Button("Cancel", id="workspace-create-cancel", color="secondary", outline=True),
            dbc.Button("Create", id="workspace-create-submit", color="primary"),
        ]))
    return html.Div(dialogs)
