"""Helpers page layouts use to decide what a visitor sees."""
from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import request

from dashboard import context
from dashboard.auth import Actor


def actor() -> Actor:
    return context.current_actor()


def sign_in_redirect(path: str) -> dcc.Location:
    return dcc.Location(id="page-redirect", href="/login?" + urlencode({"next": path}), refresh=True)


def require_signed_in(path: str):
    """None when a user is signed in, else a redirect to the sign-in page."""
    return None if actor().is_authenticated else sign_in_redirect(path)


def not_found(message: str = "This page does not exist, or you don't have access to it."):
    return dbc.Container(
        [
            html.H2("Not found", className="mt-5"),
            html.P(message, className="text-muted", id="not-found-message"),
            dcc.Link("Go to your workspaces", href="/workspaces"),
        ],
        className="py-4",
        id="not-found",
    )


def error_alert(message: str | None, id: str | None = None):
    if not message:
        return html.Div(id=id) if id else None
    kwargs = {"id": id} if id else {}
    return dbc.Alert(message, color="danger", className="py-2", **kwargs)


def current_path() -> str:
    try:
        return request.path
    except RuntimeError:
        return "/"
