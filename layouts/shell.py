"""The app shell: top navigation bar with the workspace switcher, and the page container.

The navbar's contents depend on who is signed in and which workspace the URL is in, so a
callback (callbacks/shell.py) renders them on every navigation.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html


def app_shell():
    return html.Div(
        [
            dcc.Location(id="shell-url", refresh="callback-nav"),
            dbc.Navbar(
                dbc.Container(
                    [
                        dbc.NavbarBrand(
                            [html.I(className="bi bi-stars me-2"), "Halley"], href="/", className="fw-semibold"
                        ),
                        html.Div(id="shell-nav-right", className="d-flex align-items-center gap-2"),
                    ],
                    fluid=True,
                ),
                color="dark",
                dark=True,
                className="mb-3 py-1",
            ),
            dbc.Container(dash.page_container, fluid=True, className="px-4 pb-5"),
        ]
    )
