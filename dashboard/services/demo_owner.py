"""The system account that owns the demo data until a person claims it.

``halley demo`` runs before anyone has signed up (``make run`` seeds a fresh install), yet
logging needs a user and an API key. So the demo logs as a system user ``demo``: its email
is on the reserved ``.invalid`` domain and its password is a random value nobody ever sees,
so nobody can sign in as it. It doesn't count as a user for first-run setup
(``accounts.user_count``), and the first person to get an account becomes an owner of the
workspaces the demo user made (``adopt_demo_workspaces``), so the demo shows up in their list.
"""
from __future__ import annotations

import secrets

from sqlalchemy import func
from sqlmodel import Session, select

from dashboard.auth import Actor, hash_password, role_in
from dashboard.errors import Conflict
from dashboard.services import project_views, projects, workspaces
from dashboard.services.names import check_workspace_name
from models import Experiment, Membership, Role, User

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@halley.invalid"
DEMO_VIEW = "Sweep overview"
# What the demo project opens on: the sweep's curves, and how the hyperparameters relate to the result.
DEMO_PANELS = (
    {"type": "line", "name": "Loss", "metrics": ["train_loss", "val_loss"], "x": "step"},
    {"type": "line", "name": "Validation accuracy by activation", "metrics": ["val_accuracy"], "x": "step",
     "group": {"by": "param", "name": "activation", "stat": "mean", "band": "minmax"}},
    {"type": "parcoords", "name": "Hyperparameters",
     "axes": ["param:learning_rate", "param:batch_size", "param:hidden_layer_sizes", "param:activation",
              "metric:val_accuracy"]},
    {"type": "scatter", "name": "Validation accuracy by learning rate",
     "xAxis": {"source": "param", "name": "learning_rate", "transform": "log"},
     "yAxis": {"source": "metric", "name": "val_accuracy", "transform": "last"}},
)


def is_demo_user(user: User) -> bool:
    return user.email == DEMO_EMAIL


def find_demo_user(session: Session) -> User | None:
    return session.exec(select(User).where(User.email == DEMO_EMAIL)).first()


def has_experiments(session: Session) -> bool:
    """Whether the database holds any experiment at all (``halley demo --if-empty``)."""
    return session.exec(select(Experiment.id).limit(1)).first() is not None


def first_person(session: Session) -> User | None:
    """The oldest account that isn't the demo user: the instance's first owner."""
    return session.exec(
        select(User).where(User.email != DEMO_EMAIL).order_by(User.id).limit(1)
    ).first()


def ensure_demo_workspace(session: Session, workspace_name: str = DEMO_USERNAME) -> tuple[User, Actor]:
    """The demo user (created on first use) and a workspace it can log into.

    The user's default workspace is ``demo``; another ``workspace_name`` is created for it
    when missing. A workspace with that name that belongs to someone else is refused by
    ``workspaces.create`` (Conflict) or, when the demo user isn't a member, by the logging
    path itself (NotFound). If a person already has an account, they are made an owner of
    the demo workspaces too, so the data is visible at once.
    """
    user = find_demo_user(session)
    if user is None:
        if workspaces.find_by_name(session, DEMO_USERNAME) is not None or session.exec(
            select(User).where(func.lower(User.username) == DEMO_USERNAME)
        ).first():
            raise Conflict(f"The name '{DEMO_USERNAME}' belongs to a real account; "
                           "log the demo into a server with --url and --api-key instead")
        user = User(username=DEMO_USERNAME, email=DEMO_EMAIL,
                    password_hash=hash_password(secrets.token_urlsafe(32)))
        session.add(user)
        session.flush()
        workspaces.create_default_for(session, user)
    actor = Actor(user_id=user.id, username=user.username)
    name = check_workspace_name(workspace_name)
    ws = workspaces.find_by_name(session, name)
    if ws is None:
        ws = workspaces.create(session, actor, name)
    person = first_person(session)
    if person is not None:
        adopt_demo_workspaces(session, person)
    return user, actor


def ensure_demo_view(session: Session, actor: Actor, workspace_name: str, project_name: str) -> None:
    """Give the demo project a default view with panels (``DEMO_PANELS``), unless it has one."""
    project = projects.get_writable(session, actor, workspace_name, project_name)
    if project_views.default_view(session, actor, project) is not None:
        return
    view = next((v for v in project_views.list_views(session, actor, project) if v.name == DEMO_VIEW), None)
    if view is None:
        view = project_views.create_view(session, actor, project, DEMO_VIEW, {"panels": list(DEMO_PANELS)})
    project_views.set_default(session, actor, project, view.id)


def demo_api_key(session: Session, actor: Actor, workspace_name: str) -> str:
    """A fresh key for the demo user in the workspace (the previous demo key stops working)."""
    ws = workspaces.get_readable(session, actor, workspace_name)
    return workspaces.generate_api_key(session, actor, ws.id)


def adopt_demo_workspaces(session: Session, user: User) -> int:
    """Make ``user`` an owner of every workspace the demo user made that no person belongs to.

    Called when an account is created; only the instance's first person adopts the demo
    data (later accounts are invited as usual). Returns how many workspaces were adopted.
    """
    demo = find_demo_user(session)
    if demo is None or is_demo_user(user):
        return 0
    person = first_person(session)
    if person is None or person.id != user.id:
        return 0
    owned = session.exec(
        select(Membership.workspace_id).where(Membership.user_id == demo.id)
    ).all()
    adopted = 0
    for workspace_id in owned:
        if role_in(session, user.id, workspace_id) is not None:
            continue
        others = session.exec(
            select(func.count()).select_from(Membership).where(
                Membership.workspace_id == workspace_id, Membership.user_id != demo.id)
        ).one()
        if others:
            continue
        session.add(Membership(workspace_id=workspace_id, user_id=user.id, role=Role.owner.value))
        adopted += 1
    session.flush()
    return adopted
