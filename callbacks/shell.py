"""The navbar: workspace switcher and account menu, rendered for the current visitor."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from urllib.parse import quote, unquote

from dash import Input, Output, html

from callbacks.kit import Call, CallbackKit
from dashboard.auth import is_site_admin
from dashboard.services import accounts, workspaces

FIXED_FIRST_SEGMENTS = {"", "artifacts", "login", "setup", "signup", "invite", "workspaces", "settings", "shared", "404",
                        "get-started", "admin", "reset"}


def current_workspace_name(pathname: str | None, search: str | None, names: list[str], default: str | None):
    segments = (pathname or "/").strip("/").split("/")
    first = segments[0] if segments else ""
    if first not in FIXED_FIRST_SEGMENTS and first in names:
        return first
    if first == "artifacts" and len(segments) > 1 and unquote(segments[1]) in names:
        return unquote(segments[1])
    if first == "settings" and search:
        from urllib.parse import parse_qs

        ws = parse_qs(search.lstrip("?")).get("workspace", [None])[0]
        if ws in names:
            return ws
    return default


def render_nav(call: Call, pathname, search):
    actor = call.actor
    if not actor.is_authenticated:
        if (pathname or "").rstrip("/") in ("/login", "/setup", "/signup"):
            return None
        return dbc.Button("Sign in", href="/login", color="light", size="sm", external_link=True,
                          id="shell-sign-in")
    summaries = workspaces.list_for(call.session, actor)
    default = workspaces.default_workspace_name(call.session, actor)
    names = [w.name for w in summaries]
    current = current_workspace_name(pathname, search, names, default) or "Workspaces"
    items = [dbc.DropdownMenuItem("Switch Workspace", header=True)]
    items += [
        dbc.DropdownMenuItem(name, href=f"/{name}", active=name == current, className="shell-ws-item")
        for name in names[:15]
    ]
    user = accounts.get_user(call.session, actor.user_id)
    shown_name = (user.display_name if user is not None else "") or actor.username
    items += [
        dbc.DropdownMenuItem("View all workspaces", href="/workspaces", id="shell-all-workspaces"),
    ]
    if current in names:
        items.append(dbc.DropdownMenuItem([html.I(className="bi bi-box-seam me-2"), f"Artifacts of {current}"],
                                          href=f"/artifacts/{quote(current, safe='')}", id="shell-artifacts"))
    items += [
        dbc.DropdownMenuItem(divider=True),
        dbc.DropdownMenuItem([html.I(className="bi bi-person me-2"), "Account"], href="/settings/account",
                             id="shell-account"),
        dbc.DropdownMenuItem([html.I(className="bi bi-gear me-2"), "Settings"],
                             href=f"/settings/collaborators?workspace={current}", id="shell-settings"),
    ]
    if is_site_admin(call.session, actor):
        items.append(dbc.DropdownMenuItem([html.I(className="bi bi-shield-lock me-2"), "Administration"],
                                          href="/admin", id="shell-admin"))
    items += [
        dbc.DropdownMenuItem([html.I(className="bi bi-box-arrow-right me-2"), f"Sign out ({shown_name})"],
                             href="/logout", external_link=True, id="shell-sign-out"),
    ]
    return dbc.DropdownMenu(items, label=current, id="shell-workspace-menu", align_end=True, color="light",
                            size="sm", toggle_class_name="fw-semibold")


def register(kit: CallbackKit) -> None:
    kit.callback(Output("shell-nav-right", "children"), Input("shell-url", "pathname"),
                 Input("shell-url", "search"), public=True)(render_nav)
