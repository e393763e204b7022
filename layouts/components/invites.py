"""The "Invite with a link" card of workspace settings and its list of active invitations,
drawn by the page and again by its callbacks."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.services.invites import DEFAULT_EXPIRY_DAYS, EXPIRY_DAYS, MAX_USES_LIMIT

EXPIRY_OPTIONS = [{"label": f"{d} day{'s' if d != 1 else ''}", "value": d} for d in EXPIRY_DAYS]


def role_options(is_owner: bool) -> list[dict]:
    roles = ("owner", "admin", "member", "viewer") if is_owner else ("admin", "member", "viewer")
    return [{"label": r.title(), "value": r} for r in roles]


def invite_rows(invites) -> html.Div:
    if not invites:
        return html.P("No active invitation links.", className="text-muted small mb-0", id="settings-invite-none")
    rows = [html.Tr([
        html.Td(i.role),
        html.Td(i.created_by or "(deleted user)"),
        html.Td(i.expires_at.strftime("%Y-%m-%d %H:%M UTC"), title="Expires"),
        html.Td(f"{i.uses} / {'no limit' if i.max_uses is None else i.max_uses}"),
        html.Td(dbc.Button("Revoke", id={"type": "settings-invite-revoke", "invite": i.id}, color="link",
                           size="sm", className="text-danger p-0"), className="text-end"),
    ], className="settings-invite-row") for i in invites]
    return dbc.Table([html.Thead(html.Tr([html.Th("Role"), html.Th("Created by"), html.Th("Expires"),
                                          html.Th("Uses"), html.Th("")])),
                      html.Tbody(rows)], size="sm", className="align-middle mb-0", id="settings-invite-table")


def invite_card(invites, is_owner: bool):
    return dbc.Card(dbc.CardBody([
        html.H6("Invite with a link"),
        html.P("Anyone with the link can join this workspace with the role you pick: newcomers create an "
               "account, others sign in. The link is shown once.", className="text-muted small"),
        dbc.Row([
            dbc.Col([dbc.Label("Role", html_for="settings-invite-role", className="small mb-1"),
                     dcc.Dropdown(id="settings-invite-role", options=role_options(is_owner), value="member",
                                  clearable=False, searchable=False)], md=3),
            dbc.Col([dbc.Label("Expires after", html_for="settings-invite-days", className="small mb-1"),
                     dcc.Dropdown(id="settings-invite-days", options=EXPIRY_OPTIONS, value=DEFAULT_EXPIRY_DAYS,
                                  clearable=False, searchable=False)], md=3),
            dbc.Col([dbc.Label("Uses", html_for="settings-invite-uses", className="small mb-1"),
                     dbc.InputGroup([
                         dbc.Input(id="settings-invite-uses", type="number", min=1, max=MAX_USES_LIMIT, step=1,
                                   value=1),
                         dbc.InputGroupText(dbc.Checkbox(id="settings-invite-unlimited", label="No limit",
                                                         value=False, className="mb-0")),
                     ])], md=4),
            dbc.Col(dbc.Button("Create link", id="settings-invite-create", color="primary", className="w-100"),
                    md=2, className="d-flex align-items-end"),
        ], className="g-2"),
        html.Div(id="settings-invite-new", className="mt-3"),
        html.H6("Active invitations", className="mt-3"),
        html.Div(invite_rows(invites), id="settings-invite-list"),
    ]), className="mb-3", id="settings-invite-card")


def new_link(url: str):
    return dbc.Alert([
        html.Div("Invitation link. Copy it now: it won't be shown again.", className="fw-semibold mb-2"),
        dbc.InputGroup([
            dbc.Input(id="settings-invite-link", value=url, readonly=True, className="font-monospace"),
            dcc.Clipboard(target_id="settings-invite-link", className="btn btn-outline-secondary",
                          id="settings-invite-copy"),
        ]),
    ], color="success", className="mb-0", id="settings-invite-ok")
