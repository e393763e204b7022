"""Shareable links: one random token per project that opens it read-only for anyone.

A browser that opened a link keeps the token (not the project id) in its session, and every
request resolves the tokens again, so deleting the link ends access at once.
"""
from __future__ import annotations

import secrets

from sqlmodel import Session, select

from dashboard.auth import Actor
from dashboard.services import projects
from models import Project, utcnow

MAX_TOKENS_PER_SESSION = 20


def create_link(session: Session, actor: Actor, project_id) -> str:
    """The project's share token, created when it has none."""
    project = projects.get_by_id_writable(session, actor, project_id)
    if not project.share_token:
        project.share_token = secrets.token_urlsafe(24)
        project.updated_at = utcnow()
        session.add(project)
        session.flush()
    return project.share_token


def delete_link(session: Session, actor: Actor, project_id) -> None:
    project = projects.get_by_id_writable(session, actor, project_id)
    project.share_token = None
    session.add(project)
    session.flush()


def project_for_token(session: Session, token: str | None) -> Project | None:
    if not token or not isinstance(token, str) or len(token) > 64:
        return None
    return session.exec(select(Project).where(Project.share_token == token)).first()


def project_ids_for_tokens(session: Session, tokens) -> tuple[int, ...]:
    """The projects the still-valid tokens open (deleted links open nothing)."""
    tokens = [t for t in (tokens or [])[:MAX_TOKENS_PER_SESSION] if isinstance(t, str) and 0 < len(t) <= 64]
    if not tokens:
        return ()
    return tuple(session.exec(select(Project.id).where(Project.share_token.in_(tokens))).all())


def remember_token(tokens, token: str) -> list[str]:
    """The session's token list with ``token`` added (most recent last, bounded)."""
    kept = [t for t in (tokens or []) if isinstance(t, str) and t != token]
    return (kept + [token])[-MAX_TOKENS_PER_SESSION:]
