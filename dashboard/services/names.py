"""Validation of user-chosen names that appear in URLs."""
from __future__ import annotations

import re

from dashboard.errors import Invalid

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# First URL segments the app owns; a workspace can't take them.
RESERVED = {
    "login", "logout", "setup", "workspaces", "settings", "shared", "api", "auth", "assets",
    "static", "clientlib", "health", "admin", "compare", "new", "_dash-update-component",
}


def check_slug(value: str, what: str) -> str:
    value = (value or "").strip()
    if not NAME_RE.match(value):
        raise Invalid(
            f"{what} must be 1-64 characters: letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return value


def check_workspace_name(value: str) -> str:
    value = check_slug(value, "Workspace name")
    if value.lower() in RESERVED or value.startswith("_"):
        raise Invalid(f"'{value}' is reserved; choose another workspace name")
    return value
