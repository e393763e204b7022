"""The project header's shortcuts: the modals open in the browser; generating a key for the
"Add experiment" snippet is the one server call, and it re-checks who is asking."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, no_update

from dashboard import context
from dashboard.auth import can_write_project
from dashboard.errors import HalleyError
from dashboard.services import projects, workspaces
from layouts.components.access import error_alert
from layouts.components.project_header import sdk_snippet

OPEN_MODAL_JS = "function(n) { return Boolean(n); }"
CONFIRM_BOX_JS = """function(ask, cancel, confirm) {
    const id = window.dash_clientside.callback_context.triggered_id;
    return {display: id === 'project-header-snippet-generate' ? 'block' : 'none'};
}"""


def generate_snippet_key(_n, ref):
    """Rotate the visitor's key for the project's workspace and put it into the snippet."""
    actor = context.current_actor()
    ref = ref if isinstance(ref, dict) else {}
    try:
        with context.db().session() as s:
            project = projects.get_readable(s, actor, str(ref.get("workspace") or ""), str(ref.get("project") or ""))
            if not can_write_project(s, actor, project):
                raise HalleyError("Only workspace members who can log experiments can generate a key here.")
            ws_name = ref["workspace"]
            raw = workspaces.generate_api_key(s, actor, project.workspace_id)
            project_name = project.name
    except HalleyError as exc:
        return no_update, error_alert(exc.message, id="project-header-snippet-error")
    ok = dbc.Alert("A new API key is in the snippet. Copy it now: it won't be shown again, and your previous "
                   "key for this workspace no longer works.", color="success", className="py-2",
                   id="project-header-snippet-ok")
    return sdk_snippet(ws_name, project_name, raw), ok


def register(app) -> None:
    for name in ("apikey", "add", "share"):
        app.clientside_callback(OPEN_MODAL_JS, Output(f"project-header-{name}-modal", "is_open"),
                                Input(f"project-header-{name}-open", "n_clicks"), prevent_initial_call=True)
    app.clientside_callback(
        CONFIRM_BOX_JS, Output("project-header-snippet-confirm-box", "style"),
        Input("project-header-snippet-generate", "n_clicks"), Input("project-header-snippet-cancel", "n_clicks"),
        Input("project-header-snippet-confirm", "n_clicks"), prevent_initial_call=True,
    )
    app.callback(
        Output("project-header-snippet", "children"), Output("project-header-snippet-message", "children"),
        Input("project-header-snippet-confirm", "n_clicks"), State("project-header-ref", "data"),
        prevent_initial_call=True,
    )(generate_snippet_key)
