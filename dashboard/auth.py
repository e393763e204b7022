"""Passwords, API keys and the access decisions every path goes through.

``Actor`` is who is asking: a signed-in user, an API-key holder (a user acting in one
workspace), a share-link visitor (read-only, one project) or an anonymous visitor.
Services take an Actor and call ``can_read_project`` / ``can_write_project`` /
``can_manage_workspace`` with IDs that came from outside, so nothing is trusted implicitly.

An API key is issued to a user for one workspace and acts only there: ``actor_role`` gives an
API-key holder no role in the user's other workspaces (their public projects stay readable, as
for anyone). ``role_in`` is a user's membership, for decisions about users rather than actors.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select as sa_select
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from models import ApiKey, Membership, Project, Role, User

API_KEY_BYTES = 24


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt with a per-password salt


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def new_api_key() -> str:
    """A random key that starts with a letter or digit, so no command line takes it for an option."""
    while True:
        key = secrets.token_urlsafe(API_KEY_BYTES)
        if key[0].isalnum():
            return key


def hash_api_key(raw: str) -> str:
    """API keys are random and long, so a plain SHA-256 digest is a safe lookup hash."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Actor:
    user_id: int | None = None
    username: str | None = None
    api_workspace_id: int | None = None  # set when authenticated by an API key
    share_project_ids: tuple[int, ...] = ()  # projects opened through a share link

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def acts_in(self, workspace_id: int | None) -> bool:
        """Whether the actor's membership counts in this workspace: everywhere for a signed-in
        user, only in its own workspace for an API key."""
        return self.api_workspace_id is None or self.api_workspace_id == workspace_id

    @classmethod
    def anonymous(cls) -> "Actor":
        return cls()


_KEY = ApiKey.__table__.c
_USER = User.__table__.c
# One indexed lookup per request (key and owner joined), built once: no cache may stand in for
# it, so a rotated or deleted key, or a deactivated user, is refused by every worker at once.
_KEY_OWNER = (
    sa_select(_KEY.key_hash, _KEY.workspace_id, _USER.id, _USER.username, _USER.is_active_user)
    .join_from(ApiKey.__table__, User.__table__, _USER.id == _KEY.user_id)
    .where(_KEY.key_hash == bindparam("digest"))
)


def actor_from_api_key(session, raw_key: str | None) -> Actor | None:
    """The key's owner, or None for a missing, unknown or rotated key. ``session`` is an ORM
    session or a plain connection."""
    if not raw_key:
        return None
    raw_key = raw_key.strip()
    if raw_key.lower().startswith("bearer "):
        raw_key = raw_key[7:].strip()
    digest = hash_api_key(raw_key)
    row = session.execute(_KEY_OWNER, {"digest": digest}).first()
    if row is None or not hmac.compare_digest(row[0], digest):
        return None
    _, workspace_id, user_id, username, active = row
    if not active:
        return None
    return Actor(user_id=user_id, username=username, api_workspace_id=workspace_id)


def role_in(session: Session, user_id: int | None, workspace_id: int) -> Role | None:
    if user_id is None:
        return None
    m = session.exec(
        select(Membership).where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
    ).first()
    return Role(m.role) if m else None


def actor_role(session: Session, actor: Actor, workspace_id: int) -> Role | None:
    """The role the actor acts with in a workspace: the user's membership, unless the actor is
    an API key issued for another workspace (then none)."""
    if not actor.acts_in(workspace_id):
        return None
    return role_in(session, actor.user_id, workspace_id)


def can_read_workspace(session: Session, actor: Actor, workspace_id: int) -> bool:
    return actor_role(session, actor, workspace_id) is not None


def can_manage_workspace(session: Session, actor: Actor, workspace_id: int) -> bool:
    role = actor_role(session, actor, workspace_id)
    return role is not None and role.can_manage


def can_read_project(session: Session, actor: Actor, project: Project) -> bool:
    if project.id in actor.share_project_ids:
        return True
    if project.is_public:
        return True
    return actor_role(session, actor, project.workspace_id) is not None


def can_write_project(session: Session, actor: Actor, project: Project) -> bool:
    role = actor_role(session, actor, project.workspace_id)
    return role is not None and role.can_write


def can_write_workspace(session: Session, actor: Actor, workspace_id: int) -> bool:
    role = actor_role(session, actor, workspace_id)
    return role is not None and role.can_write


def is_site_admin(session: Session, actor: Actor) -> bool:
    """Whether the actor administers the site (/admin): a signed-in, active site admin. An API
    key never acts as one: site administration happens in the browser or on the command line."""
    if actor.user_id is None or actor.api_workspace_id is not None:
        return False
    user = session.get(User, actor.user_id)
    return user is not None and user.is_active_user and user.is_site_admin
