"""Users: the first owner account, sign-in (throttled by ``login_throttle``), browser sessions, lookups."""
from __future__ import annotations

import re

from sqlalchemy import func
from sqlmodel import Session, select

from dashboard.auth import hash_password, verify_password
from dashboard.errors import Conflict, Invalid
from dashboard.services import audit, demo_owner, workspaces
from dashboard.services.names import check_workspace_name
from models import User, utcnow
from models.accounts import new_session_token

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


def user_count(session: Session) -> int:
    """People with an account; the demo's system user doesn't count (first-run setup still runs)."""
    return session.exec(select(func.count()).select_from(User).where(User.email != demo_owner.DEMO_EMAIL)).one()


def create_user(session: Session, username: str, email: str, password: str) -> User:
    """Create a user and their default workspace (named after them, they own it). The first
    user is a site admin."""
    username = check_workspace_name(username)
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise Invalid("Enter a valid email address")
    if email == demo_owner.DEMO_EMAIL:
        raise Invalid("This email address is reserved")
    if len(password or "") < MIN_PASSWORD:
        raise Invalid(f"Password must be at least {MIN_PASSWORD} characters")
    if session.exec(select(User).where(func.lower(User.username) == username.lower())).first():
        raise Conflict(f"Username '{username}' is taken")
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict("A user with this email already exists")
    if workspaces.find_by_name(session, username) is not None:
        raise Conflict(f"Username '{username}' is taken by a workspace")
    first = user_count(session) == 0
    # The first account (first-run setup's owner) administers the site.
    user = User(username=username, email=email, password_hash=hash_password(password), is_site_admin=first)
    session.add(user)
    session.flush()
    workspaces.create_default_for(session, user)
    demo_owner.adopt_demo_workspaces(session, user)  # the first person owns the demo data
    return user


def find_user(session: Session, username_or_email: str) -> User | None:
    ident = (username_or_email or "").strip()
    if not ident:
        return None
    if "@" in ident:
        return session.exec(select(User).where(User.email == ident.lower())).first()
    return session.exec(select(User).where(func.lower(User.username) == ident.lower())).first()


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def user_for_session(session: Session, session_id: str) -> User | None:
    """The active user a browser session or remember-me cookie names (``"<id>:<token>"``, from
    ``User.get_id``), or None once that user's sessions were ended."""
    uid, sep, token = (session_id or "").partition(":")
    if not sep or not token or not uid.isascii() or not uid.isdigit() or len(uid) > 18:
        return None
    user = session.get(User, int(uid))
    if user is None or not user.is_active_user or not user.has_session_token(token):
        return None
    return user


def end_sessions(session: Session, user_id: int) -> None:
    """End every browser session and remember-me cookie of a user, in all server processes:
    their cookies name the old session token, which no longer matches."""
    user = session.get(User, user_id)
    if user is not None:
        user.session_token = new_session_token()
        session.add(user)


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password("timing-equaliser"))
    return _DUMMY_HASH[0]


def authenticate(session: Session, username_or_email: str, password: str) -> User | None:
    user = find_user(session, username_or_email)
    if user is None or not user.is_active_user:
        verify_password(_dummy_hash(), password or "")  # same cost as a real check
        return None
    if not verify_password(user.password_hash, password or ""):
        return None
    return user


def signed_in(session: Session, user: User) -> None:
    """A successful sign-in (or first-run setup): remembered on the account and in the audit log."""
    user.last_sign_in_at = utcnow()
    session.add(user)
    audit.record(session, "sign_in.succeeded", actor_user_id=user.id, target=user.username)


def set_up(session: Session, user: User) -> None:
    """First-run setup made the owner account, who is signed in."""
    audit.record(session, "setup.completed", actor_user_id=user.id, target=user.username,
                 detail="first owner account (site admin)")
    signed_in(session, user)


def sign_in_failed(session: Session, username_or_email: str) -> None:
    """A failed sign-in, in the audit log with the name that was typed (never the password)."""
    ident = (username_or_email or "").strip()[:100]
    user = find_user(session, ident)
    reason = "account deactivated" if user is not None and not user.is_active_user else "wrong username or password"
    audit.record(session, "sign_in.failed", actor_name="", target=ident, detail=reason)


def signed_out(session: Session, user_id: int) -> None:
    """Sign-out: every browser session of the user ends (copies of this browser's cookies too)."""
    end_sessions(session, user_id)
    audit.record(session, "sign_out", actor_user_id=user_id)
