"""Users, workspaces, memberships, API keys and sign-in throttling."""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timezone

from flask_login import UserMixin
from sqlalchemy import false as sa_false
from sqlmodel import Field, SQLModel, UniqueConstraint


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    email: str = Field(index=True, unique=True, max_length=254)
    password_hash: str = Field(max_length=255)
    is_active_user: bool = True
    # Site administrators manage every account (/admin); the first owner account is one.
    is_site_admin: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    display_name: str = Field(default="", max_length=128, sa_column_kwargs={"server_default": ""})
    last_sign_in_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # Part of every browser session and remember-me cookie of this user; a new value ends them
    # all. An empty value (the column's default for rows written outside the ORM) matches none.
    session_token: str = Field(default_factory=new_session_token, max_length=64,
                               sa_column_kwargs={"server_default": ""})

    def get_id(self) -> str:  # flask-login keeps this in the session and the remember-me cookie
        return f"{self.id}:{self.session_token}"

    def has_session_token(self, token: str) -> bool:
        return bool(self.session_token) and hmac.compare_digest(self.session_token.encode(), token.encode())



class UserIdentity(SQLModel, table=True):
    """An account at an OpenID Connect provider (its issuer and the subject it names the person
    by) that signs in as a Halley user."""

    __table_args__ = (UniqueConstraint("issuer", "subject"),)
    id: int | None = Field(default=None, primary_key=True)
    issuer: str = Field(max_length=300)
    subject: str = Field(max_length=255)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)

class Workspace(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    default_for_user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Membership(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    role: str = Field(default="member", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    """One key per user per workspace; only its SHA-256 digest is stored."""

    __table_args__ = (UniqueConstraint("user_id", "workspace_id"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    key_hash: str = Field(index=True, unique=True, max_length=64)
    hint: str = Field(max_length=16)  # first characters, shown masked in the UI
    created_at: datetime = Field(default_factory=utcnow)


class LoginThrottle(SQLModel, table=True):
    """Recent failed sign-ins of one subject (an account from one address, an address, an
    account, a known browser), to slow down and then stop guessing. ``user_id`` names the
    account a row throttles, so unlocking it clears them all."""

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(index=True, unique=True, max_length=300)
    scope: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})
    user_id: int | None = Field(default=None, index=True)
    failures: int = 0
    last_failure_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """One security-relevant act: who did what to what, when and from where. Rows are only
    ever added (dashboard.services.audit); site admins read them at /admin/audit."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    action: str = Field(index=True, max_length=64)  # e.g. "sign_in.failed", "user.deactivated"
    actor_user_id: int | None = Field(default=None, index=True)  # None: anonymous or the system
    actor_name: str = Field(default="", max_length=254)  # as it was then; users can be renamed
    target: str = Field(default="", max_length=300)  # what it was done to, readable
    detail: str = Field(default="", max_length=2000)
    address: str = Field(default="", max_length=64)  # the client's address, "" outside a request


class PasswordReset(SQLModel, table=True):
    """A one-use link a site admin hands a user to set a new password. Only the token's
    SHA-256 digest is stored; a newer link for the same user ends the older ones, and using
    one sets ``used_at`` with a conditional UPDATE, so it works once."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(index=True, unique=True, max_length=64)
    created_by_user_id: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class Invite(SQLModel, table=True):
    """A link that lets whoever holds it join a workspace with a role, until it expires, is
    revoked or has been used ``max_uses`` times (None: no limit). Only the SHA-256 digest of
    the link's token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    role: str = Field(default="member", max_length=16)
    token_digest: str = Field(index=True, unique=True, max_length=64)
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    max_uses: int | None = None  # None: no limit (the service defaults to single use)
    uses: int = 0
    revoked_at: datetime | None = None
