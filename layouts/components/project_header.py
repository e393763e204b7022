"""The header every project section shares: breadcrumbs, section tabs and the shortcuts
("API key", "Add experiment", "Share").

``project_header(workspace_name, project, active, can_write, actor)`` returns the component;
its modals open and close in the browser (clientside callbacks) and the only server call,
generating a key for the snippet, lives in callbacks/project_header.py.
"""
from __future__ import annotations

import shlex
from urllib.parse import quote, unquote

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.auth import Actor, actor_role
from dashboard.services import workspaces

SECTIONS = (
    ("experiments", "Experiments", ""),
    ("notes", "Notes", "/notes"),
    ("files", "Files", "/files"),
    ("manage", "Manage", "/manage"),
    ("archive", "Archive", "/archive"),
)


def project_path(workspace_name: str, project_name: str, suffix: str = "") -> str:
    """The URL path of a project (or of one of its sections/experiments), names percent-encoded."""
    return f"/{quote(workspace_name, safe='')}/{quote(project_name, safe='')}{suffix}"


def route_names(*values: str) -> tuple[str, ...] | None:
    """Path variables as Dash passes them (still percent-encoded), decoded; None when one of
    them spans several path segments (the template's wildcard matched too much)."""
    if any(not v or "/" in v for v in values):
        return None
    decoded = tuple(unquote(v) for v in values)
    return None if any(not v or "/" in v for v in decoded) else decoded


def icon_url(workspace_name: str, project) -> str | None:
    if not project.icon_path:
        return None
    version = project.icon_path.rsplit("/", 1)[-1].split(".")[0][:12]
    return f"/api/v1/workspaces/{quote(workspace_name, safe='')}/projects/{quote(project.name, safe='')}/icon?v={version}"


def sdk_snippet(workspace_name: str, project_name: str, api_key: str | None = None,
                server_url: str | None = None) -> str:
    """Python that logs a run into the project on this server, ready to paste and run."""
    key_expr = repr(api_key) if api_key else 'os.environ["HALLEY_API_KEY"]'
    head = "" if api_key else "import os\n\n"
    return (
        f"{head}from dashboard.sdk import Experiment\n\n"
        f"experiment = Experiment(\n"
        f"    api_key={key_expr},\n"
        f"    url={(server_url or _host_url())!r},\n"
        f"    workspace={workspace_name!r},\n"
        f"    project_name={project_name!r},\n"
        f")\n"
        f"experiment.log_parameter(\"learning_rate\", 0.01)\n"
        f"experiment.log_metric(\"loss\", 0.25, step=1)\n"
        f"experiment.end()\n"
    )


def shell_exports(api_key: str | None = None, server_url: str | None = None) -> str:
    """The same settings as environment variables, for scripts that don't pass them."""
    return (f"export HALLEY_URL={shlex.quote(server_url or _host_url())}\n"
            f"export HALLEY_API_KEY={shlex.quote(api_key) if api_key else 'YOUR_API_KEY'}\n")


def _host_url() -> str:
    """The address this page was opened at (see ``context.public_url``), "" outside a request."""
    try:
        return context.public_url()
    except RuntimeError:
        return ""


def code_block(text: str, id: str):
    return html.Div([
        dcc.Clipboard(target_id=id, id=f"{id}-copy", className="btn btn-sm btn-outline-secondary project-header-copy",
                      title="Copy"),
        html.Pre(text, id=id, className="bg-light border rounded p-3 small mb-2"),
    ], className="position-relative")


def _api_key_modal(workspace_name: str, hint: str | None, is_member: bool):
    if not is_member:
        body = html.P("API keys belong to workspace members. Sign in as a member of this workspace to get one.",
                      className="text-muted mb-0")
    else:
        body = html.Div([
            html.P(["Your API key for ", html.B(workspace_name), " (it acts in this workspace only):"]),
            dbc.InputGroup([
                dbc.InputGroupText("API key"),
                dbc.Input(id="project-header-apikey-hint", readonly=True, className="font-monospace",
                          value=f"{hint}… (hidden)" if hint else "No key yet"),
            ], className="mb-2"),
            dbc.FormText("Keys are stored only as hashes, so the full key is shown once, right after it is "
                         "generated. Generating a new key stops the old one at once.", className="d-block mb-3"),
            html.P("Scripts find this server and your key in these environment variables:", className="mb-1"),
            code_block(shell_exports(), "project-header-apikey-exports"),
            dbc.Button([html.I(className="bi bi-key me-1"), "Generate API key"], id="project-header-apikey-generate",
                       href=f"/settings/developer?workspace={quote(workspace_name, safe='')}",
                       color="warning", size="sm"),
        ])
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("API key")),
        dbc.ModalBody(body),
    ], id="project-header-apikey-modal", is_open=False)


def _add_experiment_modal(workspace_name: str, project_name: str, is_member: bool, can_write: bool):
    generate = html.Div([
        dbc.Button([html.I(className="bi bi-key me-1"), "Generate a key for this snippet"],
                   id="project-header-snippet-generate", color="secondary", outline=True, size="sm"),
        html.Div([
            dbc.Alert([
                "A new key replaces your current key for this workspace: runs still using the old key stop "
                "logging. ",
                dbc.Button("Generate", id="project-header-snippet-confirm", color="danger", size="sm",
                           className="ms-2"),
                dbc.Button("Cancel", id="project-header-snippet-cancel", color="link", size="sm"),
            ], color="warning", className="py-2 mb-0 mt-2"),
        ], id="project-header-snippet-confirm-box", style={"display": "none"}),
        html.Div(id="project-header-snippet-message", className="mt-2"),
    ]) if is_member and can_write else html.P(
        "Logging needs a member (not viewer) API key for this workspace.", className="text-muted small")
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Add an experiment")),
        dbc.ModalBody([
            html.P(["Log a run into ", html.B(f"{workspace_name} / {project_name}"),
                    " with Halley's Python SDK. Set HALLEY_API_KEY to your key, or generate one below."]),
            code_block(sdk_snippet(workspace_name, project_name), "project-header-snippet"),
            html.P("Or set the server and key in the environment, for any script:", className="mb-1 small"),
            code_block(shell_exports(), "project-header-exports"),
            generate,
        ]),
    ], id="project-header-add-modal", is_open=False, size="lg")


def share_rows(workspace_name: str, project, can_write: bool) -> list:
    """The Share dialog's body for the project as it is now (the header re-reads it after a
    change made in the page, and each time the dialog opens)."""
    url = _host_url() + project_path(workspace_name, project.name)
    rows = [
        dbc.Label("Link to this page", html_for="project-header-share-view"),
        dbc.InputGroup([
            dbc.Input(id="project-header-share-view", readonly=True),  # the browser's URL, filled in the browser
            dcc.Clipboard(target_id="project-header-share-view", className="btn btn-outline-secondary",
                          id="project-header-share-view-copy"),
        ], className="mb-2"),
        dbc.FormText("It opens the page as you see it now: on Experiments, with the view, filters, columns and "
                     "panels shown, unsaved changes included.", className="d-block mb-3"),
        dbc.Label("Project URL", html_for="project-header-share-url"),
        dbc.InputGroup([
            dbc.Input(id="project-header-share-url", value=url, readonly=True),
            dcc.Clipboard(target_id="project-header-share-url", className="btn btn-outline-secondary",
                          id="project-header-share-url-copy"),
        ], className="mb-2"),
        dbc.FormText("Anyone can open it when the project is public; otherwise only workspace members.",
                     className="d-block mb-3"),
    ]
    if can_write:
        if project.share_token:
            link = _host_url() + f"/shared/{project.share_token}"
            rows += [
                dbc.Label("Shareable link (read-only, works even when the project is private)",
                          html_for="project-header-share-link"),
                dbc.InputGroup([
                    dbc.Input(id="project-header-share-link", value=link, readonly=True),
                    dcc.Clipboard(target_id="project-header-share-link", className="btn btn-outline-secondary",
                                  id="project-header-share-link-copy"),
                ]),
            ]
        else:
            rows.append(html.P(["No shareable link yet: create one under ",
                                dcc.Link("Manage", href=project_path(workspace_name, project.name, "/manage")),
                                "."], className="small text-muted mb-0", id="project-header-share-none"))
    return rows


def _share_modal(workspace_name: str, project, can_write: bool):
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Share this project")),
        dbc.ModalBody(share_rows(workspace_name, project, can_write), id="project-header-share-body"),
    ], id="project-header-share-modal", is_open=False)


def visibility_badge(is_public: bool) -> dict:
    """The visibility badge's text and color."""
    return {"children": "public" if is_public else "private", "color": "success" if is_public else "secondary"}


def project_header(workspace_name: str, project, active: str, can_write: bool, actor: Actor):
    """Breadcrumbs, section tabs and shortcuts for ``project``; ``active`` is a section key
    (experiments, notes, files, manage, archive)."""
    is_member, hint = False, None
    if actor.user_id is not None:
        with context.db().session() as s:
            is_member = actor_role(s, actor, project.workspace_id) is not None
            hint = workspaces.api_key_hint(s, actor, project.workspace_id) if is_member else None
    icon = icon_url(workspace_name, project)
    crumbs = html.Div([
        html.Img(src=icon, className="project-header-icon me-2", alt="") if icon else
        html.I(className="bi bi-folder2 me-2 text-muted"),
        dcc.Link(workspace_name, href=f"/{quote(workspace_name, safe='')}", id="project-header-crumb-workspace"),
        html.Span("/", className="mx-2 text-muted"),
        html.Span(project.name, id="project-header-crumb-project", className="fw-semibold"),
        dbc.Badge(**visibility_badge(project.is_public), className="ms-2", id="project-header-visibility"),
        dbc.Badge("read-only", color="light", text_color="dark", className="ms-2 border",
                  id="project-header-readonly") if not can_write else None,
    ], className="d-flex align-items-center fs-5")
    shortcuts = html.Div([
        dbc.Button([html.I(className="bi bi-key me-1"), "API key"], id="project-header-apikey-open",
                   color="light", size="sm", className="border"),
        dbc.Button([html.I(className="bi bi-plus-lg me-1"), "Add experiment"], id="project-header-add-open",
                   color="light", size="sm", className="border",
                   style=None if can_write else {"display": "none"}),  # read-only visitors can't log
        dbc.Button([html.I(className="bi bi-share me-1"), "Share"], id="project-header-share-open",
                   color="primary", size="sm"),
    ], className="d-flex gap-2")
    tabs = dbc.Nav([
        dbc.NavItem(dbc.NavLink(label, href=project_path(workspace_name, project.name, suffix), active=key == active,
                                id=f"project-header-tab-{key}"))
        for key, label, suffix in SECTIONS
    ], className="nav-underline mb-3 project-header-tabs")
    return html.Div([
        dcc.Store(id="project-header-ref", data={"workspace": workspace_name, "project": project.name}),
        dcc.Store(id="project-header-changed"),  # set by a change to the project made in the page
        html.Div([crumbs, shortcuts], className="d-flex justify-content-between align-items-center mb-2"),
        tabs,
        _api_key_modal(workspace_name, hint, is_member),
        _add_experiment_modal(workspace_name, project.name, is_member, can_write),
        _share_modal(workspace_name, project, can_write),
    ], id="project-header")
