"""Site administration's users table, drawn by its callback (callbacks/admin.py) page by page."""
from __future__ import annotations

from datetime import datetime, timezone

import dash_bootstrap_components as dbc
from dash import dcc, html

ACTIONS = {  # act -> (button label, icon, colour)
    "reset": ("Reset link", "bi-key", "secondary"),
    "grant": ("Make site admin", "bi-shield-plus", "secondary"),
    "revoke": ("Remove site admin", "bi-shield-minus", "warning"),
    "deactivate": ("Deactivate", "bi-person-slash", "danger"),
    "reactivate": ("Reactivate", "bi-person-check", "success"),
}


def when(value: datetime | None) -> str:
    if value is None:
        return "never"
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _actions(row, me: int | None):
    acts = []
    if row.active:
        acts.append("reset")
        acts.append("revoke" if row.site_admin else "grant")
        if row.id != me:
            acts.append("deactivate")
    else:
        acts.append("reactivate")
    return html.Div([
        dbc.Button([html.I(className=f"bi {ACTIONS[a][1]} me-1"), ACTIONS[a][0]],
                   id={"type": "admin-user-act", "user": row.id, "act": a}, color=ACTIONS[a][2], outline=True,
                   size="sm", className=f"admin-user-{a}", title=f"{ACTIONS[a][0]}: {row.username}")
        for a in acts
    ], className="d-flex gap-1 justify-content-end flex-wrap")


def users_table(rows, me: int | None):
    if not rows:
        return html.P("No users match.", className="text-muted", id="admin-users-empty")
    body = []
    for r in rows:
        badges = [dbc.Badge("site admin", color="primary", className="ms-2 admin-badge-admin") if r.site_admin else None,
                  dbc.Badge("you", color="info", className="ms-2") if r.id == me else None]
        state = (dbc.Badge("active", color="success", className="admin-state") if r.active
                 else dbc.Badge("deactivated", color="secondary", className="admin-state"))
        spaces = [html.Div([dcc.Link(name, href=f"/{name}"), html.Span(f" ({role})", className="text-muted")])
                  for name, role in r.workspaces[:6]]
        if len(r.workspaces) > 6:
            spaces.append(html.Div(f"and {len(r.workspaces) - 6} more", className="text-muted small"))
        body.append(html.Tr([
            html.Td([html.Span(r.username, className="fw-semibold admin-username"), *badges,
                     html.Div(r.display_name, className="text-muted small") if r.display_name else None]),
            html.Td(r.email, className="small"),
            html.Td(spaces or html.Span("none", className="text-muted"), className="small"),
            html.Td(when(r.last_sign_in_at), className="small text-nowrap"),
            html.Td(state),
            html.Td(_actions(r, me)),
        ], className="admin-user-row", **{"data-user": r.username}))
    head = html.Thead(html.Tr([html.Th("User"), html.Th("Email"), html.Th("Workspaces"), html.Th("Last sign-in"),
                               html.Th("State"), html.Th("")]))
    return dbc.Table([head, html.Tbody(body)], className="align-middle", hover=True, id="admin-users-table")


def pager_label(page: int, page_size: int, total: int) -> str:
    if total == 0:
        return "0 users"
    first = page * page_size + 1
    return f"{first}-{min(total, first + page_size - 1)} of {total}"
