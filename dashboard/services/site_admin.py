"""Site administration: every account of the server, for site admins (/admin and `halley user`).

Every function takes who asks: a site admin (``dashboard.auth.is_site_admin``) or ``OPERATOR``,
the person at the server's command line. Anyone else gets ``NotFound``, as for any page they
can't see. Each act is recorded in the audit log in the same transaction.

Password-reset links: a site admin issues one for a user and passes it on; it works once,
for 24 hours, and a newer link for the same user ends the older ones. Only the token's SHA-256
digest is stored; the link is used with a conditional UPDATE (``used_at IS NULL``), so two
uses at once can't both succeed.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, select

from dashboard.auth import Actor, hash_password, is_site_admin
from dashboard.errors import Invalid, NotFound
from dashboard.services import accounts, audit, demo_owner
from models import Membership, PasswordReset, User, Workspace, utcnow

# The person at the server's command line: they can do what a site admin can.
OPERATOR = Actor(username="(command line)")
PAGE_SIZE = 25
RESET_VALID_FOR = timedelta(hours=24)
RESET_TOKEN_BYTES = 32
STATES = ("all", "active", "deactivated", "admins")


def require_site_admin(session: Session, actor: Actor) -> None:
    if actor is OPERATOR:
        return
    if not is_site_admin(session, actor):
        raise NotFound("Page not found")


def _actor_id(actor: Actor) -> int | None:
    return None if actor is OPERATOR else actor.user_id


def _record(session: Session, actor: Actor, action: str, target: User, detail: str = "") -> None:
    audit.record(session, action, actor_user_id=_actor_id(actor),
                 actor_name=OPERATOR.username if actor is OPERATOR else None, target=target.username, detail=detail)


def _user(session: Session, user_id) -> User:
    from dashboard.db import is_id

    user = session.get(User, user_id) if is_id(user_id) else None
    if user is None or user.email == demo_owner.DEMO_EMAIL:
        raise NotFound("No such user")
    return user


def find(session: Session, actor: Actor, username_or_email: str) -> User:
    require_site_admin(session, actor)
    user = accounts.find_user(session, username_or_email)
    if user is None or user.email == demo_owner.DEMO_EMAIL:
        raise NotFound(f"No user '{(username_or_email or '').strip()}'")
    return user


# --- listing -------------------------------------------------------------------------------

@dataclass
class UserRow:
    id: int
    username: str
    email: str
    display_name: str
    active: bool
    site_admin: bool
    last_sign_in_at: datetime | None
    created_at: datetime
    workspaces: list[tuple[str, str]] = field(default_factory=list)  # (workspace, role)


def list_users(session: Session, actor: Actor, search: str = "", page: int = 0, page_size: int = PAGE_SIZE,
               state: str = "all") -> tuple[list[UserRow], int]:
    """One page of accounts (by username) matching ``search`` in username, email or display
    name, with their workspaces and roles, and how many match in all."""
    require_site_admin(session, actor)
    query = select(User).where(User.email != demo_owner.DEMO_EMAIL)
    needle = (search or "").strip().lower()[:200]
    if needle:
        query = query.where(or_(func.lower(User.username).contains(needle, autoescape=True),
                                func.lower(User.email).contains(needle, autoescape=True),
                                func.lower(User.display_name).contains(needle, autoescape=True)))
    if state == "active":
        query = query.where(User.is_active_user.is_(True))
    elif state == "deactivated":
        query = query.where(User.is_active_user.is_(False))
    elif state == "admins":
        query = query.where(User.is_site_admin.is_(True))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = max(0, int(page))
    users = session.exec(query.order_by(func.lower(User.username)).offset(page * page_size).limit(page_size)).all()
    rows = {u.id: UserRow(u.id, u.username, u.email, u.display_name, u.is_active_user, u.is_site_admin,
                          u.last_sign_in_at, u.created_at) for u in users}
    if rows:
        memberships = session.exec(select(Membership.user_id, Workspace.name, Membership.role)
                                   .join(Workspace, Workspace.id == Membership.workspace_id)
                                   .where(Membership.user_id.in_(list(rows)))
                                   .order_by(Workspace.name)).all()
        for user_id, name, role in memberships:
            rows[user_id].workspaces.append((name, role))
    return [rows[u.id] for u in users], total


# --- accounts ------------------------------------------------------------------------------

def create_user(session: Session, actor: Actor, username: str, email: str, password: str,
                site_admin: bool = False) -> User:
    require_site_admin(session, actor)
    user = accounts.create_user(session, username, email, password)
    if site_admin:
        user.is_site_admin = True
        session.add(user)
    _record(session, actor, "user.created", user, "site admin" if user.is_site_admin else "")
    return user


def _active_admin_ids(session: Session) -> list[int]:
    """The active site admins, their rows locked until the transaction ends (PostgreSQL; SQLite
    holds its write lock), so two admins can't remove each other at the same moment."""
    return list(session.exec(select(User.id).where(User.is_site_admin.is_(True), User.is_active_user.is_(True))
                             .with_for_update()).all())


def _keep_an_admin(session: Session, user: User, what: str) -> None:
    if user.is_site_admin and user.is_active_user and _active_admin_ids(session) == [user.id]:
        raise Invalid(f"{user.username} is the last site admin and can't be {what}; make someone else a site "
                      "admin first")


def deactivate(session: Session, actor: Actor, user_id) -> User:
    """The user can't sign in any more; their browser sessions end and their API keys are
    refused at once."""
    require_site_admin(session, actor)
    user = _user(session, user_id)
    if actor is not OPERATOR and user.id == actor.user_id:
        raise Invalid("You can't deactivate your own account")
    if not user.is_active_user:
        return user
    _keep_an_admin(session, user, "deactivated")
    user.is_active_user = False
    session.add(user)
    accounts.end_sessions(session, user.id)
    session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None)))
    _record(session, actor, "user.deactivated", user)
    return user


def reactivate(session: Session, actor: Actor, user_id) -> User:
    require_site_admin(session, actor)
    user = _user(session, user_id)
    if user.is_active_user:
        return user
    user.is_active_user = True
    session.add(user)
    _record(session, actor, "user.reactivated", user)
    return user


def set_site_admin(session: Session, actor: Actor, user_id, grant: bool) -> User:
    require_site_admin(session, actor)
    user = _user(session, user_id)
    if bool(user.is_site_admin) == bool(grant):
        return user
    if not grant:
        _keep_an_admin(session, user, "removed")
    user.is_site_admin = bool(grant)
    session.add(user)
    _record(session, actor, "user.admin_granted" if grant else "user.admin_revoked", user)
    return user


# --- password-reset links ------------------------------------------------------------------

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_reset_link(session: Session, actor: Actor, user_id) -> str:
    """A new one-use token for the user (valid 24 hours); their older unused ones stop working."""
    require_site_admin(session, actor)
    user = _user(session, user_id)
    if not user.is_active_user:
        raise Invalid(f"{user.username} is deactivated; reactivate the account first")
    session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None)))
    token = secrets.token_urlsafe(RESET_TOKEN_BYTES)
    now = utcnow()
    session.add(PasswordReset(user_id=user.id, token_hash=_digest(token), created_by_user_id=_actor_id(actor),
                              created_at=now, expires_at=now + RESET_VALID_FOR))
    _record(session, actor, "user.reset_link_issued", user, "valid 24 hours")
    session.flush()
    return token


def reset_path(token: str) -> str:
    return f"/reset/{token}"


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _usable(session: Session, token: str) -> PasswordReset | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    digest = _digest(token)
    row = session.exec(select(PasswordReset).where(PasswordReset.token_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if row.used_at is not None or _aware(row.expires_at) <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active_user:
        return None
    return row


def reset_link_is_valid(session: Session, token: str) -> bool:
    return _usable(session, token) is not None


def open_reset_link(database, token: str, address: str) -> tuple[str, float]:
    """Whether the link can be used ("valid", "invalid"), or ("throttled", seconds to wait):
    opening unknown links counts against the address like using them (``login_throttle``)."""
    from dashboard.services import login_throttle

    attempt = login_throttle.begin_in_own_transaction(database, login_throttle.RESET_ADDRESS, address)
    if attempt.refused:
        return "throttled", attempt.wait
    with database.session() as s:
        valid = reset_link_is_valid(s, token)
        login_throttle.settle(s, attempt, succeeded=valid)
    return ("valid" if valid else "invalid"), 0.0


def use_reset_link(session: Session, token: str, password: str, password2: str) -> User | None:
    """Set a new password with a link; None when the link is unknown, expired, used or its
    account deactivated (one answer for all). The user's browser sessions end."""
    row = _usable(session, token)
    if row is None:
        return None
    if (password or "") != (password2 or ""):
        raise Invalid("The passwords don't match.")
    if len(password or "") < accounts.MIN_PASSWORD:
        raise Invalid(f"Password must be at least {accounts.MIN_PASSWORD} characters.")
    now = utcnow()
    used = session.execute(update(PasswordReset).where(PasswordReset.id == row.id, PasswordReset.used_at.is_(None),
                                                       PasswordReset.expires_at > now).values(used_at=now))
    if used.rowcount != 1:
        return None
    user = session.get(User, row.user_id)
    user.password_hash = hash_password(password)
    session.add(user)
    accounts.end_sessions(session, user.id)
    audit.record(session, "user.password_reset", actor_user_id=user.id, target=user.username,
                 detail="with a reset link")
    return user


def user_row(session: Session, actor: Actor, user_id) -> User:
    """One account, for site admins."""
    require_site_admin(session, actor)
    return _user(session, user_id)


def audit_page(session: Session, actor: Actor, f: audit.AuditFilter, page: int = 0):
    """One page of the audit log (newest first), how many entries match, and the actions
    recorded so far: for site admins."""
    require_site_admin(session, actor)
    events, total = audit.events(session, f, page)
    return events, total, audit.actions(session)
