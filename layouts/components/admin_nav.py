"""The heading and section links shared by the site administration pages."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard import context
from dashboard.auth import is_site_admin
from layouts.components.access import actor, not_found, require_signed_in

SECTIONS = {"/admin": "Users", "/admin/audit": "Audit log"}


def admin_gate(path: str):
    """None for a site admin; else the sign-in redirect (anonymous) or the not-found page."""
    redirect = require_signed_in(path)
    if redirect is not None:
        return redirect
    with context.db().session() as s:
        if not is_site_admin(s, actor()):
            return not_found()
    return None


def admin_frame(path: str, body):
    nav = dbc.Nav([dbc.NavLink(label, href=href, active=href == path, id=f"admin-nav-{href.strip('/').replace('/', '-')}")
                   for href, label in SECTIONS.items()], pills=True, className="mb-3")
    return html.Div([
        html.Div([html.Span("Site administration", className="text-muted me-2"),
                  html.H3(SECTIONS[path], className="d-inline")], className="mb-2"),
        nav,
        body,
    ])
