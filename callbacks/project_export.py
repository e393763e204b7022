"""Export all columns: every matching experiment of the project with every parameter, metric
(last, min, max) and other, as CSV, prepared by a background job.

A project of thousands of runs with hundreds of columns takes minutes to write, longer than a
request may run; the job runs in the server's job processes, or in ``halley worker`` when a
broker is set, with progress (experiments written of those matching) and a Cancel button. The
file arrives in the browser as a download when the job ends. With a broker, a job no worker has
started after ``EXPORT_WAIT_SECONDS`` says so, rather than waiting silently (no worker is
running); without one the server runs the job itself, and the page never asks for a worker.
"""
from __future__ import annotations

import re

from dash import Input, Output, State, html, no_update

from callbacks.kit import CallbackKit, JobCall
from callbacks.project_table import load_project
from callbacks.shapes import TEXT, optional
from dashboard.errors import HalleyError
from dashboard.services import experiment_table as table, view_state
from layouts.components.access import error_alert
from layouts.components.experiment_table import EXPORT_WAIT_SECONDS

SHOWN = "d-flex align-items-center gap-2"
HIDDEN = "d-none"

# What the page shows from the job's progress and the clock started with the job: with a broker,
# that no worker has started it yet (and after EXPORT_WAIT_SECONDS, that one must run); without,
# that the server is starting it (assets/experiment_table.js).
SHOW_PROGRESS_JS = """
function(progress, ticks, idle, worker) {
    return window.halleyTable.exportProgress(progress, ticks, idle, worker, %d);
}
""" % EXPORT_WAIT_SECONDS


def export_all_columns(call: JobCall, set_progress, _n, state, ctx_data, _token):
    """The job: the CSV of the view's matching experiments (its filters and sort) with every column."""
    try:
        project = load_project(call, ctx_data)
        state = table.all_columns_state(call.session, project, view_state.normalize_state(state))
        set_progress({"done": 0, "total": 0})
        written = {"rows": 0}

        def report(done, total):
            written["rows"] = done
            set_progress({"done": done, "total": total})

        content = "".join(table.iter_csv(call.session, project, state, report))
    except HalleyError as exc:
        return no_update, error_alert(exc.message)
    filename = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{ctx_data['workspace']}-{project.name}-all-columns") + ".csv"
    rows, columns = written["rows"], len(state["columns"])
    return ({"content": content, "filename": filename, "type": "text/csv", "base64": False},
            html.Span(f"Exported {rows} experiment{'s' if rows != 1 else ''} with {columns} columns to {filename}.",
                      className="text-success"))


def register(kit: CallbackKit) -> None:
    # a per-page token keeps two visitors' exports of the same view apart (Dash keys a job by its arguments)
    kit.value("project-export-all-token.data", optional(TEXT))
    kit.callback(
        Output("project-export-all-file", "data"), Output("project-export-all-status", "children"),
        Input("project-export-all", "n_clicks"), State("project-state", "data"), State("project-ctx", "data"),
        State("project-export-all-token", "data"),
        background=True, prevent_initial_call=True,
        running=[(Output("project-export-all", "disabled"), True, False),
                 (Output("project-export-all-running", "className"), SHOWN, HIDDEN),
                 (Output("project-export-all-clock", "disabled"), False, True),
                 (Output("project-export-all-clock", "n_intervals"), 0, 0)],
        progress=[Output("project-export-all-progress", "data")], progress_default=[None],
        cancel=[Input("project-export-all-cancel", "n_clicks")],
    )(export_all_columns)
    kit.clientside(SHOW_PROGRESS_JS, Output("project-export-all-bar", "value"),
                   Output("project-export-all-bar", "label"), Output("project-export-all-note", "children"),
                   Input("project-export-all-progress", "data"), Input("project-export-all-clock", "n_intervals"),
                   Input("project-export-all-clock", "disabled"), State("project-export-all-worker", "data"))
