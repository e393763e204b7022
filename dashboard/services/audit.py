"""The audit log: security-relevant acts (sign-ins, failed sign-ins, invitations, role changes,
key rotations, deactivations, deletions), who did them, when and from where.

``record`` adds a row in the caller's session, so the entry commits, or rolls back, with the
act it describes. Failed sign-ins change nothing else, so their callers commit the entry alone.
Reading is for site admins only (``events``), filtered and paged in SQL.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import has_request_context
from sqlalchemy import func
from sqlmodel import Session, select

from models import AuditEvent, User

PAGE_SIZE = 50


def _address() -> str:
    if not has_request_context():
        return ""
    from dashboard import context

    return context.client_address()[:64]


def record(session: Session, action: str, *, actor_user_id: int | None = None, actor_name: str | None = None,
           target: str = "", detail: str = "", address: str | None = None) -> AuditEvent:
    """Add one entry. ``actor_name`` defaults to the acting user's username (kept as it was then);
    ``address`` defaults to the current request's client address."""
    if actor_name is None:
        user = session.get(User, actor_user_id) if actor_user_id is not None else None
        actor_name = user.username if user is not None else ""
    event = AuditEvent(action=action[:64], actor_user_id=actor_user_id, actor_name=(actor_name or "")[:254],
                       target=(target or "")[:300], detail=(detail or "")[:2000],
                       address=(_address() if address is None else address)[:64])
    session.add(event)
    return event


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""       # an action, or a prefix ending in "." ("sign_in.")
    actor: str = ""        # substring of the actor's name
    text: str = ""         # substring of target or detail
    since: datetime | None = None
    until: datetime | None = None


def _filtered(query, f: AuditFilter):
    c = AuditEvent
    if f.action:
        query = query.where(c.action.startswith(f.action) if f.action.endswith(".") else c.action == f.action)
    if f.actor:
        query = query.where(func.lower(c.actor_name).contains(f.actor.lower(), autoescape=True))
    if f.text:
        needle = f.text.lower()
        query = query.where(func.lower(c.target).contains(needle, autoescape=True)
                            | func.lower(c.detail).contains(needle, autoescape=True))
    if f.since is not None:
        query = query.where(c.created_at >= f.since)
    if f.until is not None:
        query = query.where(c.created_at < f.until)
    return query


def events(session: Session, f: AuditFilter = AuditFilter(), page: int = 0,
           page_size: int = PAGE_SIZE) -> tuple[list[AuditEvent], int]:
    """One page of entries, newest first, and how many match in all."""
    page = max(0, int(page))
    total = session.exec(_filtered(select(func.count()).select_from(AuditEvent), f)).one()
    rows = session.exec(_filtered(select(AuditEvent), f)
                        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                        .offset(page * page_size).limit(page_size)).all()
    return list(rows), total


def actions(session: Session) -> list[str]:
    """The actions recorded so far, for the filter's choices."""
    return list(session.exec(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all())
