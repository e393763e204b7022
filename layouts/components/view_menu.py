"""The project's view controls: "Change View" (open a view; on hover, make it the default or
delete it), "Save View" (save changes to the current view or create a new one) and "Discard"."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components.confirm_dialog import confirm_dialog


def view_items(views, current_id, base_url: str, can_write: bool) -> list:
    items = [html.Div(dcc.Link("Built-in view", href=f"{base_url}?view=builtin",
                               className="dropdown-item project-view-link", id="project-view-builtin"),
                      className="project-view-item")]
    for v in views:
        actions = []
        if can_write:
            actions = [
                html.Button(html.I(className="bi bi-check-circle" + ("-fill text-success" if v.is_default else "")),
                            id={"type": "project-view-default", "id": v.id}, title="Make this the project's default view",
                            className="btn btn-link btn-sm p-0 mx-1 project-view-action"
                                      + (" project-view-is-default" if v.is_default else "")),
                html.Button(html.I(className="bi bi-trash"), id={"type": "project-view-delete", "id": v.id},
                            title="Delete this view", className="btn btn-link btn-sm p-0 me-2 text-danger project-view-action"),
            ]
        elif v.is_default:
            actions = [html.I(className="bi bi-check-circle-fill text-success mx-2", title="Default view")]
        items.append(html.Div([
            dcc.Link(v.name, href=f"{base_url}?view={v.id}",
                     className="dropdown-item flex-grow-1" + (" active" if v.id == current_id else "")),
            *actions,
        ], className="d-flex align-items-center project-view-item", **{"data-view": v.name}))
    return items


def view_menu(views, current, base_url: str, can_write: bool) -> html.Div:
    """``current`` is the open SavedView or None for the built-in default."""
    label = current.name if current is not None else "Default view"
    save = [
        dbc.Button([html.I(className="bi bi-save me-1"), "Save view"], id="project-view-save-open", size="sm",
                   color="light", className="border", style=None if can_write else {"display": "none"}),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle("Save view")),
            dbc.ModalBody([
                dbc.RadioItems(
                    id="project-view-save-mode",
                    options=([{"label": f"Save changes to the view '{current.name}'", "value": "update"}]
                             if current is not None else [])
                    + [{"label": "Create new template", "value": "new"}],
                    value="update" if current is not None else "new", className="mb-2"),
                dbc.Input(id="project-view-name", placeholder="View name", maxLength=200),
                html.Div(id="project-view-error", className="mt-2"),
            ]),
            dbc.ModalFooter([
                dbc.Button("Cancel", id="project-view-cancel", color="secondary", outline=True),
                dbc.Button("Save", id="project-view-save", color="primary"),
            ]),
        ], id="project-view-modal", is_open=False),
        dcc.Store(id="project-view-delete-target"),
        confirm_dialog("project-view-delete", "Delete view?", "Delete view"),
    ]
    return html.Div([
        dbc.DropdownMenu(view_items(views, current.id if current else None, base_url, can_write),
                         label=[html.I(className="bi bi-grid-1x2 me-1"), "View: ", html.B(label)],
                         id="project-view-menu", size="sm", color="light", toggle_class_name="border"),
        *save,
        html.Span("Unsaved changes", id="project-view-dirty", className="small text-warning-emphasis",
                  style={"display": "none"}),
        dbc.Button("Discard", id="project-view-discard", size="sm", color="link", style={"display": "none"}),
    ], className="d-flex align-items-center gap-2", id="project-view-bar")
