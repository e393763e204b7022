"""The project header's shortcuts: the modals open in the browser; generating a key for the
"Add experiment" snippet is a server call, and it re-checks who is asking.

The parts of the header that a change made in the page can make stale (the visibility badge,
the Share dialog) are read again whenever a callback that changes the project sets
``project-header-changed`` (see ``header_changed``), and the Share dialog each time it opens."""
from __future__ import annotations

import time

import dash_bootstrap_components as dbc
from dash import Input, Output, State

from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import NUMBER, TEXT, optional, record
from dashboard.auth import can_write_project
from dashboard.errors import Forbidden
from dashboard.services import projects, workspaces
from layouts.components.project_header import sdk_snippet, share_rows, shell_exports, visibility_badge

OPEN_MODAL_JS = "function(n) { return Boolean(n); }"
# The page's URL as the browser has it: unsaved view changes ride in its #hash.
PAGE_URL_JS = "function(_n, _body) { return window.location.href; }"
CONFIRM_BOX_JS = """function(ask, cancel, confirm) {
    const id = window.dash_clientside.callback_context.triggered_id;
    return {display: id === 'project-header-snippet-generate' ? 'block' : 'none'};
}"""


def generate_snippet_key(call: Call, _n, ref):
    """Rotate the visitor's key for the project's workspace and put it into the snippet and exports."""
    ref = ref or {}
    project = projects.get_readable(call.session, call.actor, ref.get("workspace") or "", ref.get("project") or "")
    if not can_write_project(call.session, call.actor, project):
        raise Forbidden("Only workspace members who can log experiments can generate a key here.")
    raw = workspaces.generate_api_key(call.session, call.actor, project.workspace_id)
    ok = dbc.Alert("A new API key is in the snippet. Copy it now: it won't be shown again, and your previous "
                   "key for this workspace no longer works.", color="success", className="py-2",
                   id="project-header-snippet-ok")
    return sdk_snippet(ref["workspace"], project.name, raw), shell_exports(raw), ok


def header_changed() -> float:
    """The value a callback that changed the project writes to ``project-header-changed``."""
    return time.time()


def refresh_header(call: Call, _changed, _share_open, ref):
    """The visibility badge and the Share dialog as the project is now."""
    ref = ref or {}
    project = projects.get_readable(call.session, call.actor, ref.get("workspace") or "", ref.get("project") or "")
    badge = visibility_badge(project.is_public)
    rows = share_rows(ref.get("workspace") or "", project, can_write_project(call.session, call.actor, project))
    return badge["children"], badge["color"], rows


REF_SHAPE = optional(record(workspace=optional(TEXT), project=optional(TEXT)))


def register(kit: CallbackKit) -> None:
    for name in ("apikey", "add", "share"):
        kit.clientside(OPEN_MODAL_JS, Output(f"project-header-{name}-modal", "is_open"),
                       Input(f"project-header-{name}-open", "n_clicks"), prevent_initial_call=True)
    # the empty table's "Add experiment" (layouts/project.py) opens the same dialog
    kit.clientside(OPEN_MODAL_JS, Output("project-header-add-modal", "is_open", allow_duplicate=True),
                   Input("project-empty-add", "n_clicks"), prevent_initial_call=True)
    kit.clientside(
        CONFIRM_BOX_JS, Output("project-header-snippet-confirm-box", "style"),
        Input("project-header-snippet-generate", "n_clicks"), Input("project-header-snippet-cancel", "n_clicks"),
        Input("project-header-snippet-confirm", "n_clicks"), prevent_initial_call=True,
    )
    kit.callback(
        Output("project-header-snippet", "children"), Output("project-header-exports", "children"),
        Output("project-header-snippet-message", "children"),
        Input("project-header-snippet-confirm", "n_clicks"), State("project-header-ref", "data"),
        prevent_initial_call=True,
        shapes={"project-header-ref.data": REF_SHAPE},
        error=alert("project-header-snippet-message.children", id="project-header-snippet-error"),
    )(generate_snippet_key)
    kit.clientside(PAGE_URL_JS, Output("project-header-share-view", "value"),
                   Input("project-header-share-open", "n_clicks"), Input("project-header-share-body", "children"),
                   prevent_initial_call=True)
    kit.callback(
        Output("project-header-visibility", "children"), Output("project-header-visibility", "color"),
        Output("project-header-share-body", "children"),
        Input("project-header-changed", "data"), Input("project-header-share-open", "n_clicks"),
        State("project-header-ref", "data"), prevent_initial_call=True, public=True,
        shapes={"project-header-ref.data": REF_SHAPE, "project-header-changed.data": optional(NUMBER)},
    )(refresh_header)
