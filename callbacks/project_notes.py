"""Project notes: preview the markdown being edited and save it (members with write access)."""
from __future__ import annotations

from datetime import datetime, timezone

from dash import Input, Output, State, html

from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import ID, TEXT, optional
from dashboard.services import projects
from layouts.components.project_markdown import render_markdown


def preview(_call: Call, active_tab, text):
    return render_markdown(text, id="project-notes-rendered", empty="Nothing to preview.")


def save_notes(call: Call, _n, text, project_id):
    projects.set_notes(call.session, call.actor, project_id, text or "")
    stamp = datetime.now(timezone.utc).strftime("%H:%M:%S UTC")
    return html.Span(f"Saved at {stamp}", className="text-success", id="project-notes-saved")


def register(kit: CallbackKit) -> None:
    kit.value("project-notes-editor.value", optional(TEXT))
    kit.value("project-notes-project.data", optional(ID))
    kit.callback(
        Output("project-notes-preview", "children"),
        Input("project-notes-tabs", "active_tab"), State("project-notes-editor", "value"),
    )(preview)
    kit.callback(
        Output("project-notes-status", "children"),
        Input("project-notes-save", "n_clicks"), State("project-notes-editor", "value"),
        State("project-notes-project", "data"), prevent_initial_call=True,
        error=alert("project-notes-status.children", id="project-notes-error"),
    )(save_notes)
