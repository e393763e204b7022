"""Users: the first owner account, sign-in (throttled by ``login_throttle``), browser sessions, lookups."""
from __future__ import annotations

import re

from sqlalchemy import func
from sqlmodel import Session, select

from dashboard.auth import hash_password, verify_password
from dashboard.errors import Conflict, Invalid, NotFound
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


# --- sign-up ------------------------------------------------------------------------------

# A taken email address gets this, not "already exists". Without sending mail Halley can't
# hide it completely (a free username and a valid password leave only the address to blame),
# so the forms that create accounts are throttled per address like sign-in.
EMAIL_UNAVAILABLE = ("An account can't be created with this email address. If you already have an account, "
                     "sign in instead.")


def email_domain_allowed(email: str, domains: tuple[str, ...]) -> bool:
    """Whether open sign-up takes this address: any when no domains are listed, else an exact
    domain match."""
    return not domains or (email or "").strip().lower().rpartition("@")[2] in domains


def sign_up(session: Session, username: str, email: str, password: str, *, via: str,
            domains: tuple[str, ...] = ()) -> User:
    """Create an account for a newcomer (open sign-up or an invitation), with the audit entry."""
    from dashboard.services import audit

    email = (email or "").strip().lower()
    if not email_domain_allowed(email, domains):
        raise Invalid("Sign-up is open to email addresses at " + ", ".join(domains) + " only")
    if EMAIL_RE.match(email) and session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict(EMAIL_UNAVAILABLE)
    user = create_user(session, username, email, password)
    audit.record(session, "user.signed_up", actor_user_id=user.id, actor_name=user.username, target=user.username,
                 detail=via)
    return user


# --- one's own account ----------------------------------------------------------------------

CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def check_password(user: User, password: str) -> bool:
    return verify_password(user.password_hash, password or "")


def update_profile(session: Session, user_id: int, display_name: str, email: str,
                   password_checked: bool) -> list[str]:
    """Set the display name and email of a signed-in user; a new email needs
    ``password_checked`` (the caller checked the current password). Returns what changed."""
    from dashboard.services import audit
    from dashboard.services.names import check_no_bidi

    user = session.get(User, user_id)
    if user is None or not user.is_active_user:
        raise NotFound("Account not found")
    display_name = " ".join((display_name or "").split())
    if len(display_name) > 128:
        raise Invalid("The display name may have at most 128 characters")
    if CONTROL_CHARS.search(display_name):
        raise Invalid("The display name may not hold control characters")
    check_no_bidi(display_name, "The display name")
    email = (email or "").strip().lower()
    changed = []
    if email != user.email:
        if not EMAIL_RE.match(email) or len(email) > 254:
            raise Invalid("Enter a valid email address")
        if email == demo_owner.DEMO_EMAIL:
            raise Invalid("This email address is reserved")
        if not password_checked:
            raise Invalid("Enter your current password to change your email address")
        if session.exec(select(User.id).where(User.email == email, User.id != user.id)).first() is not None:
            raise Conflict("This email address can't be used")
        audit.record(session, "account.email_changed", actor_user_id=user.id, target=user.username,
                     detail=f"{user.email} -> {email}")
        user.email = email
        changed.append("email")
    if display_name != user.display_name:
        user.display_name = display_name
        changed.append("display name")
    session.add(user)
    session.flush()
    return changed


def check_new_password(new: str, repeat: str) -> None:
    if (new or "") != (repeat or ""):
        raise Invalid("The new passwords don't match")
    if len(new or "") < MIN_PASSWORD:
        raise Invalid(f"Password must be at least {MIN_PASSWORD} characters")
    if len(new) > 1024:
        raise Invalid("Password may have at most 1024 characters")


def change_password(session: Session, user_id: int, new: str, repeat: str) -> User:
    """Set a new password (the caller checked the current one) and end every session of the
    user: the caller signs the current browser in again with the returned user."""
    from dashboard.services import audit

    user = session.get(User, user_id)
    if user is None or not user.is_active_user:
        raise NotFound("Account not found")
    check_new_password(new, repeat)
    user.password_hash = hash_password(new)
    session.add(user)
    end_sessions(session, user_id)
    audit.record(session, "account.password_changed", actor_user_id=user.id, target=user.username)
    session.flush()
    return user


def sign_out_everywhere(session: Session, user_id: int) -> None:
    from dashboard.services import audit

    end_sessions(session, user_id)
    audit.record(session, "account.signed_out_everywhere", actor_user_id=user_id,
                 target=(session.get(User, user_id).username if session.get(User, user_id) else ""))
