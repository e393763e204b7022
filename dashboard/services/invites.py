"""Invitation links: owners and admins of a workspace hand out a link that lets its holder join
with a role, until it expires, is revoked or has been used up.

Only the SHA-256 digest of a link's token is stored (tokens are long and random, so a plain
digest is a safe lookup key), and the digest found is compared in constant time. Using a link
is one conditional UPDATE (``uses = uses + 1`` where it is still usable), whose row count says
whether this request got a use: two requests can't both use a single-use link, on SQLite (one
writer at a time) or on PostgreSQL (the second UPDATE waits on the row and finds it used up).

Joining a workspace one already belongs to keeps the higher of the two roles: a link never
downgrades anyone, and a member whose role the link wouldn't raise doesn't use it up.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, update
from sqlmodel import Session, select

from dashboard.auth import Actor, role_in
from dashboard.errors import Forbidden, Invalid, NotFound
from dashboard.services import audit, workspaces
from models import Invite, Membership, Role, User, Workspace, utcnow

EXPIRY_DAYS = (1, 7, 30)
DEFAULT_EXPIRY_DAYS = 7
MAX_USES_LIMIT = 1000
TOKEN_BYTES = 32
# One message for every link that can't be used, whatever the reason (unknown, expired,
# revoked, used up): a visitor learns nothing about links they don't hold.
UNUSABLE = "This invitation link is not valid. It may have expired, been revoked or been used up."
RANK = {Role.viewer: 0, Role.member: 1, Role.admin: 2, Role.owner: 3}


def digest(token: str) -> str:
    return hashlib.sha256((token or "").encode("utf-8")).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    """Datetimes come back naive from SQLite; they are stored in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


@dataclass(frozen=True)
class InviteSummary:
    id: int
    role: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    uses: int
    max_uses: int | None


@dataclass(frozen=True)
class InviteView:
    """What the link's page shows."""

    invite_id: int
    workspace_id: int
    workspace: str
    role: str


def create(session: Session, actor: Actor, workspace_id: int, role: str = "member",
           days: int = DEFAULT_EXPIRY_DAYS, max_uses: int | None = 1) -> tuple[Invite, str]:
    """A new link (the invite and its token; the token is shown once and never stored)."""
    my_role = workspaces.require_manager(session, actor, workspace_id, "manage invitations")
    try:
        role = Role(role).value
    except ValueError as exc:
        raise Invalid(f"Unknown role '{role}'") from exc
    if role == Role.owner.value and my_role != Role.owner:
        raise Forbidden("Only an owner can invite another owner")
    if days not in EXPIRY_DAYS:
        raise Invalid("An invitation expires after 1, 7 or 30 days")
    if max_uses is not None and (isinstance(max_uses, bool) or not isinstance(max_uses, int)
                                 or not 1 <= max_uses <= MAX_USES_LIMIT):
        raise Invalid(f"The use limit must be a whole number from 1 to {MAX_USES_LIMIT}, or no limit")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    invite = Invite(workspace_id=workspace_id, role=role, token_digest=digest(token), created_by=actor.user_id,
                    created_at=now, expires_at=now + timedelta(days=days), max_uses=max_uses, uses=0)
    session.add(invite)
    session.flush()
    ws = session.get(Workspace, workspace_id)
    limit = "no use limit" if max_uses is None else f"{max_uses} use{'s' if max_uses != 1 else ''}"
    audit.record(session, "invite.created", actor_user_id=actor.user_id, target=ws.name if ws else "",
                 detail=f"invite {invite.id}: role {role}, expires in {days} days, {limit}")
    return invite, token


def _usable(now: datetime):
    c = Invite
    return (c.revoked_at.is_(None), c.expires_at > now, or_(c.max_uses.is_(None), c.uses < c.max_uses))


def active(session: Session, actor: Actor, workspace_id: int) -> list[InviteSummary]:
    """The links of a workspace that can still be used, newest first (owners and admins)."""
    workspaces.require_manager(session, actor, workspace_id, "manage invitations")
    rows = session.exec(
        select(Invite, User.username).join(User, User.id == Invite.created_by, isouter=True)
        .where(Invite.workspace_id == workspace_id, *_usable(utcnow()))
        .order_by(Invite.created_at.desc(), Invite.id.desc())
    ).all()
    return [InviteSummary(i.id, i.role, name or "", _aware(i.created_at), _aware(i.expires_at), i.uses, i.max_uses)
            for i, name in rows]


def revoke(session: Session, actor: Actor, workspace_id: int, invite_id: int) -> None:
    """Stop a link now; its page then shows the same message as any unusable link."""
    workspaces.require_manager(session, actor, workspace_id, "manage invitations")
    invite = session.get(Invite, invite_id) if isinstance(invite_id, int) else None
    if invite is None or invite.workspace_id != workspace_id:
        raise NotFound("No such invitation in this workspace")
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        session.add(invite)
        ws = session.get(Workspace, workspace_id)
        audit.record(session, "invite.revoked", actor_user_id=actor.user_id, target=ws.name if ws else "",
                     detail=f"invite {invite.id}: role {invite.role}")


def find(session: Session, token: str) -> InviteView | None:
    """The workspace and role a link offers, or None when it can't be used (any reason)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    wanted = digest(token)
    row = session.exec(
        select(Invite, Workspace.name).join(Workspace, Workspace.id == Invite.workspace_id)
        .where(Invite.token_digest == wanted, *_usable(utcnow()))
    ).first()
    if row is None or not hmac.compare_digest(row[0].token_digest, wanted):
        return None
    invite, name = row
    return InviteView(invite.id, invite.workspace_id, name, invite.role)


@dataclass(frozen=True)
class Joined:
    workspace: str
    role: str  # the role the user now has there
    changed: bool  # False when they were already a member with that role or a higher one


def accept(session: Session, token: str, user: User) -> Joined:
    """Join the link's workspace as ``user``: NotFound(UNUSABLE) when the link can't be used
    (including when a simultaneous request took its last use)."""
    view = find(session, token)
    if view is None or user is None or not user.is_active_user:
        raise NotFound(UNUSABLE)
    offered = Role(view.role)
    current = role_in(session, user.id, view.workspace_id)
    if current is not None and RANK[current] >= RANK[offered]:
        return Joined(view.workspace, current.value, False)
    c = Invite.__table__.c
    used = session.execute(
        update(Invite.__table__)
        .where(c.id == view.invite_id, c.revoked_at.is_(None), c.expires_at > utcnow(),
               or_(c.max_uses.is_(None), c.uses < c.max_uses))
        .values(uses=c.uses + 1)
    )
    if used.rowcount != 1:
        raise NotFound(UNUSABLE)
    if current is None:
        session.add(Membership(workspace_id=view.workspace_id, user_id=user.id, role=offered.value))
    else:
        membership = session.exec(select(Membership).where(Membership.workspace_id == view.workspace_id,
                                                           Membership.user_id == user.id)).one()
        membership.role = offered.value
        session.add(membership)
    session.flush()
    audit.record(session, "invite.accepted", actor_user_id=user.id, actor_name=user.username, target=view.workspace,
                 detail=f"invite {view.invite_id}: joined as {offered.value}"
                        + (f" (was {current.value})" if current is not None else ""))
    return Joined(view.workspace, offered.value, True)
