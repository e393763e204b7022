"""Validation of user-chosen names: the ones that appear in URLs, and the characters no name may hold."""
from __future__ import annotations

import re
import secrets

import coolname
from sqlalchemy import select
from sqlmodel import Session

from dashboard.errors import Invalid
from models import Experiment

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Bidirectional controls (embeddings, overrides, isolates, marks): inside a name they reorder
# what a viewer sees ("\u202egnp.exe" reads as "exe.png"), so names may not hold them.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# First URL segments the app owns; a workspace can't take them.
RESERVED = {
    "login", "logout", "setup", "signup", "invite", "workspaces", "settings", "shared", "api", "auth", "assets",
    "static", "clientlib", "health", "admin", "reset", "compare", "new", "get-started", "_dash-update-component",
    "artifacts",
}


def check_slug(value: str, what: str) -> str:
    value = (value or "").strip()
    if not NAME_RE.match(value):
        raise Invalid(
            f"{what} must be 1-64 characters: letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return value


def check_no_bidi(value: str, what: str = "Name") -> str:
    """``value`` unchanged, or Invalid when it holds a bidirectional control character."""
    found = BIDI_CONTROLS.search(value)
    if found:
        raise Invalid(f"{what} must not contain bidirectional control characters "
                      f"(found U+{ord(found.group()):04X}): they change how the name reads")
    return value


def without_bidi(value: str) -> str:
    """``value`` with its bidirectional control characters removed (for text shown as a name)."""
    return BIDI_CONTROLS.sub("", value)


def check_workspace_name(value: str) -> str:
    value = check_slug(value, "Workspace name")
    if value.lower() in RESERVED or value.startswith("_"):
        raise Invalid(f"'{value}' is reserved; choose another workspace name")
    return value


def generated_experiment_name(session: Session, project_id: int) -> str:
    """A readable name for a run logged without one, as Comet gives: ``adjective_animal_1234``,
    unique in its project (``coolname``'s curated word lists)."""
    name = ""
    for _ in range(20):
        name = "_".join(coolname.generate(2)) + f"_{secrets.randbelow(9000) + 1000}"
        taken = session.execute(select(Experiment.id).where(
            Experiment.project_id == project_id, Experiment.name == name).limit(1)).first()
        if not taken:
            break
    return name
