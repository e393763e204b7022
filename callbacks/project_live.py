"""Live experiments on the project page: while the project has running experiments, a light
poll (``project-live-poll``, a dcc.Interval) asks the server whether anything changed.

A poll runs one aggregate query (``dashboard.services.project_live.probe``) and compares it
with the last one the page saw (``project-live``). When the experiments' data changed (metrics
logged, an experiment ended or crashed, a new one, a rename...) it sets ``project-refresh``, which
re-reads the table's rows in place and redraws the panels; when only heartbeats moved, it
re-reads the rows (their durations) alone; when nothing changed it redraws nothing. The poll
starts every 5 s and backs off to every 30 s while nothing changes, goes back to 5 s on a
change, and stops once no experiment of the project is running.
"""
from __future__ import annotations

from dash import Input, Output, State, no_update

from callbacks.kit import Call, CallbackKit
from callbacks.project_table import load_project, refresh
from callbacks.shapes import COUNT, LIST, TEXT, optional, record
from dashboard.services import project_live


def poll(call: Call, _n, seen, ctx_data):
    """One poll: what changed since the last one, and when to ask again (a project the
    visitor can no longer read stops the poll, see the fallback)."""
    probe = project_live.probe(call.session, load_project(call, ctx_data))
    seen = seen or {}
    data_changed = probe.data != seen.get("data")
    beat_changed = probe.heartbeat != seen.get("heartbeat")
    was_idle = int(seen.get("idle") or 0)
    idle = 0 if data_changed else min(was_idle + 1, 100)
    interval = project_live.next_interval(idle)
    return ({**probe.as_json(), "idle": idle},
            interval if interval != project_live.next_interval(was_idle) else no_update,
            True if probe.running == 0 else no_update,
            refresh() if data_changed else no_update,
            refresh() if beat_changed and not data_changed else no_update)


ROWS_JS = """
function (r) {
    if (r && window.halleyTable) { window.halleyTable.refresh('project-grid', false, false); }
    return window.dash_clientside.no_update;
}
"""


def register(kit: CallbackKit) -> None:
    kit.value("project-live.data", optional(record(data=optional(LIST), heartbeat=optional(TEXT),
                                                   idle=optional(COUNT))))
    kit.callback(Output("project-live", "data"), Output("project-live-poll", "interval"),
                 Output("project-live-poll", "disabled"),
                 Output("project-refresh", "data", allow_duplicate=True),
                 Output("project-live-rows", "data"),
                 Input("project-live-poll", "n_intervals"), State("project-live", "data"),
                 State("project-ctx", "data"), prevent_initial_call=True, public=True,
                 fallback={"project-live-poll.disabled": True})(poll)
    kit.clientside(ROWS_JS, Output("project-live-rows", "id"), Input("project-live-rows", "data"),
                   prevent_initial_call=True)
