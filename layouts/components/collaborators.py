"""The collaborators table of workspace settings, drawn by the page and again by its callbacks."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

ROLE_OPTIONS = [{"label": r.title(), "value": r} for r in ("owner", "admin", "member", "viewer")]


def collaborator_rows(collabs, can_manage: bool, me: int | None, throttled: set[int] = frozenset()):
    rows = []
    for c in collabs:
        unlock = None
        if can_manage and c.user_id in throttled:
            unlock = html.Span([
                dbc.Badge([html.I(className="bi bi-lock me-1"), "sign-in throttled"], color="warning",
                          text_color="dark", className="ms-2 settings-collab-throttled",
                          title="Too many recent failed sign-ins: browsers that never signed in to this account "
                                "wait or are locked out for a while"),
                dbc.Button("Unlock", id={"type": "settings-collab-unlock", "user": c.user_id}, color="link",
                           size="sm", className="p-0 ms-2 align-baseline",
                           title=f"Lift {c.username}'s sign-in lockout"),
            ])
        if can_manage:
            role_cell = dcc.Dropdown(
                id={"type": "settings-collab-role", "user": c.user_id}, options=ROLE_OPTIONS, value=c.role,
                clearable=False, searchable=False, style={"minWidth": "9rem"},
            )
            remove = dbc.Button(html.I(className="bi bi-trash"), id={"type": "settings-collab-remove", "user": c.user_id},
                                color="link", className="text-danger p-0", title=f"Remove {c.username}")
        else:
            role_cell, remove = c.role, None
        rows.append(html.Tr([
            html.Td([c.username, dbc.Badge("you", color="info", className="ms-2") if c.user_id == me else None,
                     unlock]),
            html.Td(c.email), html.Td(role_cell), html.Td(remove, className="text-end"),
        ], className="settings-collab-row"))
    return dbc.Table([html.Thead(html.Tr([html.Th("User"), html.Th("Email"), html.Th("Role"), html.Th("")])),
                      html.Tbody(rows)], className="align-middle", id="settings-collab-table")
