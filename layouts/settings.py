import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.auth import can_manage_workspace
from dashboard.errors import NotFound
from dashboard.auth import actor_role
from dashboard.services import accounts, invites, workspaces
from layouts.components.access import actor, not_found, require_signed_in
from layouts.components.account import account_section
from layouts.components.collaborators import ROLE_OPTIONS, collaborator_rows
from layouts.components.confirm_dialog import confirm_dialog
from layouts.components.invites import invite_card
from models import Role

dash.register_page(__name__, path_template="/settings/<section>", path="/settings/collaborators",
                   title="Settings - Halley", order=4)

SECTIONS = {"account": "Account", "collaborators": "Collaborators", "developer": "Developer Information"}


def collaborators_section(ws, collabs, can_manage, me, throttled=frozenset(), invite_list=None, is_owner=False):
    add_form = dbc.Card(dbc.CardBody([
        html.H6("Add collaborators"),
        dbc.Row([
            dbc.Col(dbc.Input(id="settings-collab-user", placeholder="Username or email"), md=6),
            dbc.Col(dcc.Dropdown(id="settings-collab-new-role", options=ROLE_OPTIONS, value="member",
                                 clearable=False, searchable=False), md=3),
            dbc.Col(dbc.Button("Add", id="settings-collab-add", color="primary", className="w-100"), md=3),
        ], className="g-2"),
    ]), className="mb-3") if can_manage else dbc.Alert(
        "Only the workspace's owners and admins can change collaborators.", color="light", id="settings-readonly")
    return html.Div([
        html.H4("Collaborators"),
        html.P(f"Everyone listed here sees every project of {ws.name}.", className="text-muted"),
        add_form,
        invite_card(invite_list or [], is_owner) if can_manage else None,
        html.Div(id="settings-collab-message"),
        html.Div(collaborator_rows(collabs, can_manage, me, throttled), id="settings-collab-list"),
        dcc.Store(id="settings-collab-remove-target"),
        confirm_dialog("settings-collab-remove", "Remove collaborator?", "Remove"),
    ])


def developer_section(ws, hint):
    return html.Div([
        html.H4("Developer Information"),
        html.P(["Your API key for ", html.B(ws.name), ": it acts in this workspace only (each workspace has its "
                "own key). The SDK reads it from HALLEY_API_KEY (or COMET_API_KEY); send it in the Authorization "
                "header."],
               className="text-muted"),
        dbc.InputGroup([
            dbc.InputGroupText("API key"),
            dbc.Input(id="settings-apikey-value", value=(hint + "…" + " (hidden)") if hint else "No key yet",
                      readonly=True, className="font-monospace"),
            dcc.Clipboard(target_id="settings-apikey-value", className="btn btn-outline-secondary",
                          id="settings-apikey-copy"),
        ], className="mb-2"),
        dbc.FormText("Keys are stored only as hashes: a key is shown once, right after it is generated. "
                     "Generating a new key stops the old one at once.", className="d-block mb-3"),
        dbc.Button([html.I(className="bi bi-arrow-repeat me-1"), "Generate API key"], id="settings-apikey-generate",
                   color="warning"),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle("Generate a new API key?")),
            dbc.ModalBody("Your current key for this workspace stops working immediately. Experiments still "
                          "logging with it will be rejected."),
            dbc.ModalFooter([
                dbc.Button("Cancel", id="settings-apikey-cancel", color="secondary", outline=True),
                dbc.Button("Confirm", id="settings-apikey-confirm", color="danger"),
            ]),
        ], id="settings-apikey-modal", is_open=False),
        html.Div(id="settings-apikey-new", className="mt-3"),
    ])


def layout(section="collaborators", workspace=None, **_query):
    redirect = require_signed_in(f"/settings/{section}")
    if redirect is not None:
        return redirect
    if section not in SECTIONS:
        return not_found()
    me = actor()
    with context.db().session() as s:
        name = workspace or workspaces.default_workspace_name(s, me)
        try:
            ws = workspaces.get_readable(s, me, name or "")
        except NotFound:
            if section != "account":
                return not_found(f"Workspace '{name}' not found.")
            ws = None
        if section == "account":
            user = accounts.get_user(s, me.user_id)
            if user is None:
                return not_found()
            body = account_section(user)
        elif section == "collaborators":
            can_manage = can_manage_workspace(s, me, ws.id)
            body = collaborators_section(ws, workspaces.collaborators(s, me, ws.id), can_manage, me.user_id,
                                         workspaces.throttled_collaborators(s, me, ws.id),
                                         invites.active(s, me, ws.id) if can_manage else [],
                                         actor_role(s, me, ws.id) == Role.owner)
        else:
            body = developer_section(ws, workspaces.api_key_hint(s, me, ws.id))
    suffix = f"?workspace={ws.name}" if ws is not None else ""
    nav = dbc.Nav(
        [dbc.NavLink(label, href=f"/settings/{key}{suffix}", active=key == section,
                     id=f"settings-nav-{key}") for key, label in SECTIONS.items() if ws is not None or key == "account"],
        vertical=True, pills=True,
    )
    title = "Your account" if section == "account" else ws.name
    return html.Div([
        dcc.Store(id="settings-workspace", data=ws.name if ws is not None else None),
        html.Div([html.Span("Settings", className="text-muted me-2"), html.H3(title, className="d-inline")],
                 className="mb-3"),
        dbc.Row([dbc.Col(nav, md=3, lg=2), dbc.Col(body, md=9, lg=10)]),
    ])
