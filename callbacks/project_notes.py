"""Project notes: preview the markdown being edited and save it (members with write access)."""
from __future__ import annotations

from datetime import datetime, timezone

from dash import Input, Output, State, html

from dashboard import context
from dashboard.errors import HalleyError
from dashboard.services import projects
from layouts.components.access import error_alert
from layouts.components.project_markdown import render_markdown


def preview(active_tab, text):
    return render_markdown(text, id="project-notes-rendered", empty="Nothing to preview.")


def save_notes(_n, text, project_id):
    actor = context.current_actor()
    try:
        with context.db().session() as s:
            projects.set_notes(s, actor, project_id, text or "")
    except HalleyError as exc:
        return error_alert(exc.message, id="project-notes-error")
    stamp = datetime.now(timezone.utc).strftime("%H:%M:%S UTC")
    return html.Span(f"Saved at {stamp}", className="text-success", id="project-notes-saved")


def register(app) -> None:
    app.callback(
        Output("project-notes-preview", "children"),
        Input("project-notes-tabs", "active_tab"), State("project-notes-editor", "value"),
    )(preview)
    app.callback(
        Output("project-notes-status", "children"),
        Input("project-notes-save", "n_clicks"), State("project-notes-editor", "value"),
        State("project-notes-project", "data"), prevent_initial_call=True,
    )(save_notes)
