"""Workspaces, their collaborators (memberships with roles) and API keys."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from dashboard.auth import Actor, actor_role, can_manage_workspace, hash_api_key, new_api_key, role_in
from dashboard.errors import Conflict, Forbidden, Invalid, NotFound
from dashboard.services import audit
from dashboard.services.names import check_workspace_name
from models import ApiKey, Membership, Project, Role, User, Workspace, utcnow


@dataclass
class WorkspaceSummary:
    id: int
    name: str
    role: str
    project_count: int
    member_count: int
    is_default: bool


def find_by_name(session: Session, name: str) -> Workspace | None:
    return session.exec(select(Workspace).where(func.lower(Workspace.name) == (name or "").lower())).first()


def create_default_for(session: Session, user: User) -> Workspace:
    ws = Workspace(name=user.username, default_for_user_id=user.id)
    session.add(ws)
    session.flush()
    session.add(Membership(workspace_id=ws.id, user_id=user.id, role=Role.owner.value))
    session.flush()
    return ws


def create(session: Session, actor: Actor, name: str) -> Workspace:
    if not actor.is_authenticated:
        raise Forbidden("Sign in to create a workspace")
    name = check_workspace_name(name)
    if find_by_name(session, name) is not None or session.exec(
        select(User).where(func.lower(User.username) == name.lower())
    ).first():
        raise Conflict(f"A workspace named '{name}' already exists")
    ws = Workspace(name=name)
    session.add(ws)
    session.flush()
    session.add(Membership(workspace_id=ws.id, user_id=actor.user_id, role=Role.owner.value))
    session.flush()
    return ws


def get_readable(session: Session, actor: Actor, name: str) -> Workspace:
    """The workspace by name if the actor is a member; NotFound otherwise (no existence leak)."""
    ws = find_by_name(session, name)
    if ws is None or actor_role(session, actor, ws.id) is None:
        raise NotFound(f"Workspace '{name}' not found")
    return ws


def get_visible(session: Session, actor: Actor, name: str) -> tuple[Workspace, Role | None]:
    """A workspace page is visible to members, and to anyone when it has public projects."""
    ws = find_by_name(session, name)
    if ws is None:
        raise NotFound(f"Workspace '{name}' not found")
    role = actor_role(session, actor, ws.id)
    if role is None:
        has_public = session.exec(
            select(Project.id).where(Project.workspace_id == ws.id, Project.is_public == True)  # noqa: E712
        ).first()
        if not has_public:
            raise NotFound(f"Workspace '{name}' not found")
    return ws, role


def list_for(session: Session, actor: Actor) -> list[WorkspaceSummary]:
    if actor.user_id is None:
        return []
    stmt = (select(Workspace, Membership.role).join(Membership, Membership.workspace_id == Workspace.id)
            .where(Membership.user_id == actor.user_id))
    if actor.api_workspace_id is not None:  # an API key lists only the workspace it is for
        stmt = stmt.where(Workspace.id == actor.api_workspace_id)
    rows = session.exec(stmt.order_by(Workspace.name)).all()
    ids = [ws.id for ws, _ in rows]
    projects = dict(
        session.exec(
            select(Project.workspace_id, func.count()).where(Project.workspace_id.in_(ids)).group_by(Project.workspace_id)
        ).all()
    ) if ids else {}
    members = dict(
        session.exec(
            select(Membership.workspace_id, func.count()).where(Membership.workspace_id.in_(ids)).group_by(Membership.workspace_id)
        ).all()
    ) if ids else {}
    return [
        WorkspaceSummary(ws.id, ws.name, role, projects.get(ws.id, 0), members.get(ws.id, 0),
                         ws.default_for_user_id == actor.user_id)
        for ws, role in rows
    ]


def default_workspace_name(session: Session, actor: Actor) -> str | None:
    """Where a run logs when it names no workspace: an API key's own workspace, else the
    user's default one (or the first they belong to)."""
    if actor.user_id is None:
        return None
    if actor.api_workspace_id is not None:
        ws = session.get(Workspace, actor.api_workspace_id)
        return ws.name if ws is not None else None
    ws = session.exec(select(Workspace).where(Workspace.default_for_user_id == actor.user_id)).first()
    if ws is not None:
        return ws.name
    summaries = list_for(session, actor)
    return summaries[0].name if summaries else None


# --- collaborators ------------------------------------------------------------------------

@dataclass
class Collaborator:
    user_id: int
    username: str
    email: str
    role: str


def collaborators(session: Session, actor: Actor, workspace_id: int) -> list[Collaborator]:
    if actor_role(session, actor, workspace_id) is None:
        raise NotFound("Workspace not found")
    rows = session.exec(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(User.username)
    ).all()
    return [Collaborator(u.id, u.username, u.email, role) for u, role in rows]


def require_manager(session: Session, actor: Actor, workspace_id: int, what: str = "change collaborators") -> Role:
    """The actor's role in a workspace they manage (owner or admin): NotFound for a workspace
    they can't see, Forbidden for one they only belong to."""
    role = actor_role(session, actor, workspace_id)
    if role is None:
        raise NotFound("Workspace not found")
    if not can_manage_workspace(session, actor, workspace_id):
        raise Forbidden(f"Only the workspace's owners and admins can {what}")
    return role


def _owner_count(session: Session, workspace_id: int) -> int:
    return session.exec(
        select(func.count()).select_from(Membership).where(
            Membership.workspace_id == workspace_id, Membership.role == Role.owner.value
        )
    ).one()


def add_collaborator(session: Session, actor: Actor, workspace_id: int, username_or_email: str,
                     role: str = "member") -> Collaborator:
    my_role = require_manager(session, actor, workspace_id)
    role = _check_role(role)
    if role == Role.owner.value and my_role != Role.owner:
        raise Forbidden("Only an owner can add another owner")
    from dashboard.services.accounts import find_user

    user = find_user(session, username_or_email)
    if user is None:
        raise NotFound(f"No user '{(username_or_email or '').strip()}'")
    if role_in(session, user.id, workspace_id) is not None:
        raise Conflict(f"{user.username} is already a collaborator")
    session.add(Membership(workspace_id=workspace_id, user_id=user.id, role=role))
    _audit(session, actor, "collaborator.added", workspace_id, user.username, f"as {role}")
    session.flush()
    return Collaborator(user.id, user.username, user.email, role)


def set_role(session: Session, actor: Actor, workspace_id: int, user_id: int, role: str) -> None:
    my_role = require_manager(session, actor, workspace_id)
    role = _check_role(role)
    m = session.exec(
        select(Membership).where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
    ).first()
    if m is None:
        raise NotFound("Not a collaborator of this workspace")
    if (m.role == Role.owner.value or role == Role.owner.value) and my_role != Role.owner:
        raise Forbidden("Only an owner can grant or change the owner role")
    if m.role == Role.owner.value and role != Role.owner.value and _owner_count(session, workspace_id) <= 1:
        raise Invalid("A workspace needs at least one owner")
    if m.role != role:
        _audit(session, actor, "collaborator.role_changed", workspace_id, _username(session, user_id),
               f"{m.role} -> {role}")
    m.role = role
    session.add(m)


def remove_collaborator(session: Session, actor: Actor, workspace_id: int, user_id: int) -> None:
    my_role = require_manager(session, actor, workspace_id)
    m = session.exec(
        select(Membership).where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
    ).first()
    if m is None:
        raise NotFound("Not a collaborator of this workspace")
    if m.role == Role.owner.value:
        if my_role != Role.owner:
            raise Forbidden("Only an owner can remove an owner")
        if _owner_count(session, workspace_id) <= 1:
            raise Invalid("A workspace needs at least one owner")
    _audit(session, actor, "collaborator.removed", workspace_id, _username(session, user_id), f"was {m.role}")
    session.delete(m)
    key = session.exec(select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.workspace_id == workspace_id)).first()
    if key is not None:
        session.delete(key)


def unlock_collaborator(session: Session, actor: Actor, workspace_id: int, user_id: int) -> str:
    """Lift a collaborator's sign-in lockout (owners and admins of the workspace); returns
    their username."""
    from dashboard.services import login_throttle

    require_manager(session, actor, workspace_id)
    user = session.get(User, user_id) if role_in(session, user_id, workspace_id) is not None else None
    if user is None:
        raise NotFound("Not a collaborator of this workspace")
    login_throttle.unlock(session, user)
    return user.username


def throttled_collaborators(session: Session, actor: Actor, workspace_id: int) -> set[int]:
    """Collaborators with too many recent failed sign-ins, as the workspace's owners and admins
    see them (others see none)."""
    from dashboard.services import login_throttle

    if not can_manage_workspace(session, actor, workspace_id):
        return set()
    members = session.exec(select(Membership.user_id).where(Membership.workspace_id == workspace_id)).all()
    return login_throttle.throttled_user_ids(session, list(members))


def _workspace_name(session: Session, workspace_id: int) -> str:
    ws = session.get(Workspace, workspace_id)
    return ws.name if ws is not None else f"workspace {workspace_id}"


def _username(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return user.username if user is not None else f"user {user_id}"


def _audit(session: Session, actor: Actor, action: str, workspace_id: int, who: str, detail: str) -> None:
    audit.record(session, action, actor_user_id=actor.user_id, target=f"{who} in {_workspace_name(session, workspace_id)}",
                 detail=detail)


def _check_role(role: str) -> str:
    try:
        return Role(role).value
    except ValueError as exc:
        raise Invalid(f"Unknown role '{role}'") from exc


# --- API keys -----------------------------------------------------------------------------

def api_key_hint(session: Session, actor: Actor, workspace_id: int) -> str | None:
    """The masked start of the actor's key for this workspace, or None if they have none."""
    row = session.exec(
        select(ApiKey).where(ApiKey.user_id == actor.user_id, ApiKey.workspace_id == workspace_id)
    ).first()
    return row.hint if row else None


def generate_api_key(session: Session, actor: Actor, workspace_id: int) -> str:
    """Create or replace the actor's key for the workspace; the old one stops working now.

    The raw key is returned once: only its digest is stored.
    """
    if actor.user_id is None or actor_role(session, actor, workspace_id) is None:
        raise NotFound("Workspace not found")
    raw = new_api_key()
    row = session.exec(
        select(ApiKey).where(ApiKey.user_id == actor.user_id, ApiKey.workspace_id == workspace_id)
    ).first()
    audit.record(session, "api_key.rotated" if row is not None else "api_key.generated",
                 actor_user_id=actor.user_id, target=_workspace_name(session, workspace_id),
                 detail="the previous key stopped working" if row is not None else "")
    if row is None:
        row = ApiKey(user_id=actor.user_id, workspace_id=workspace_id, key_hash="", hint="")
    row.key_hash = hash_api_key(raw)
    row.hint = raw[:6]
    row.created_at = utcnow()
    session.add(row)
    session.flush()
    return raw
