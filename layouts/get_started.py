"""Get started: how to log a first run into this server (where a new owner lands when there
is no demo project, and where empty workspaces point)."""
from urllib.parse import quote

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.services import onboarding
from layouts.components.access import actor, require_signed_in
from layouts.components.project_header import code_block, project_path, sdk_snippet, shell_exports

dash.register_page(__name__, path="/get-started", title="Get started - Halley", order=4)


def layout(workspace: str | None = None, **_query):
    redirect = require_signed_in(onboarding.GET_STARTED)
    if redirect is not None:
        return redirect
    with context.db().session() as s:
        ws = onboarding.start_workspace(s, actor(), workspace if isinstance(workspace, str) else None)
    if ws is None:
        return dbc.Container(html.P("You can't log experiments in any workspace yet: ask a workspace owner to add "
                                    "you as a member.", className="text-muted mt-4", id="get-started-none"))
    quoted = quote(ws, safe="")
    step = "fw-semibold mt-4 mb-2"
    return dbc.Container([
        html.H3("Get started", className="mt-4 mb-1", id="get-started-title"),
        html.P(["Log your first experiment into ", html.B(ws, id="get-started-workspace"),
                " with Halley's Python SDK. It shows up in the project's table as soon as it starts."],
               className="text-muted"),
        html.Div("1. Get an API key", className=step),
        html.P(["Generate one under ",
                dcc.Link("Settings › Developer", href=f"/settings/developer?workspace={quoted}",
                         id="get-started-key-link"),
                ". It is shown once: copy it then."], className="mb-0"),
        html.Div("2. Tell scripts where this server is and which key to use", className=step),
        code_block(shell_exports(), "get-started-exports"),
        html.Div("3. Run this", className=step),
        code_block(sdk_snippet(ws, onboarding.FIRST_PROJECT), "get-started-snippet"),
        html.P(["The project ", html.Code(onboarding.FIRST_PROJECT), " is created with the first run; then ",
                dcc.Link("open it", href=project_path(ws, onboarding.FIRST_PROJECT), id="get-started-project-link"),
                ". Or ", dcc.Link("create a project", href=f"/{quoted}", id="get-started-workspace-link"),
                " first and use its Add experiment button."], className="mt-3 text-muted"),
    ], style={"maxWidth": "860px"}, id="get-started")
