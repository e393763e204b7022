"""The Account section of settings: profile, password and sessions of the signed-in user."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html


def account_section(user):
    profile = dbc.Card(dbc.CardBody([
        html.H5("Profile"),
        html.P(["Username ", html.B(user.username, id="settings-account-username"),
                " (it names your own workspace)."], className="text-muted small"),
        dbc.Label("Display name", html_for="settings-account-display-name"),
        dbc.Input(id="settings-account-display-name", value=user.display_name, maxLength=128,
                  placeholder=user.username, className="mb-2"),
        dbc.Label("Email", html_for="settings-account-email"),
        dbc.Input(id="settings-account-email", type="email", value=user.email, maxLength=254,
                  autoComplete="email", className="mb-2"),
        dbc.Label("Current password (to change your email)", html_for="settings-account-profile-password"),
        dbc.Input(id="settings-account-profile-password", type="password", autoComplete="current-password",
                  className="mb-3"),
        dbc.Button("Save profile", id="settings-account-profile-save", color="primary"),
        html.Div(id="settings-account-profile-message", className="mt-2"),
    ]), className="mb-3")
    password = dbc.Card(dbc.CardBody([
        html.H5("Change password"),
        dbc.Label("Current password", html_for="settings-account-current"),
        dbc.Input(id="settings-account-current", type="password", autoComplete="current-password",
                  className="mb-2"),
        dbc.Label("New password", html_for="settings-account-new"),
        dbc.Input(id="settings-account-new", type="password", autoComplete="new-password", minLength=8,
                  className="mb-2"),
        dbc.Label("Repeat new password", html_for="settings-account-new2"),
        dbc.Input(id="settings-account-new2", type="password", autoComplete="new-password", minLength=8,
                  className="mb-2"),
        dbc.FormText("A new password signs you out on every other browser and device.", className="d-block mb-3"),
        dbc.Button("Change password", id="settings-account-password-save", color="primary"),
        html.Div(id="settings-account-password-message", className="mt-2"),
    ]), className="mb-3")
    sessions = dbc.Card(dbc.CardBody([
        html.H5("Sessions"),
        html.P("Signs out every browser and device signed in to your account, this one included. "
               "API keys keep working.", className="text-muted small"),
        dbc.Button("Sign out everywhere", id="settings-account-signout-all", color="danger", outline=True),
        html.Div(id="settings-account-signout-message", className="mt-2"),
        dcc.Location(id="settings-account-redirect", refresh=True),
    ]), className="mb-3")
    return html.Div([html.H4("Account"), dbc.Row([dbc.Col([profile, sessions], lg=6), dbc.Col(password, lg=6)])],
                    id="settings-account")
