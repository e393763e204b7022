"""Changes the experiment table makes to experiments: archive, move, tag, show/hide, color,
rename. Each takes the project the table shows and experiment keys from the browser; keys
outside that project are ignored, and every change needs write access to the project."""
from __future__ import annotations

import re

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from dashboard.auth import Actor, actor_role, can_write_project
from dashboard.errors import Forbidden, Invalid, NotFound
from dashboard.services import projects as project_service, workspaces
from dashboard.services.names import check_no_bidi, generated_experiment_name
from models import Experiment, ExperimentTag, Membership, Project, Workspace, utcnow

MAX_KEYS = 5000
MAX_TAG = 200
MAX_NAME = 300
COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")


def require_write(session: Session, actor: Actor, project: Project) -> None:
    if not can_write_project(session, actor, project):
        raise Forbidden("You can't change experiments in this project (read-only access)")


def _ids(session: Session, project: Project, keys) -> list[int]:
    if not isinstance(keys, (list, tuple)) or not keys:
        raise Invalid("Select at least one experiment")
    keys = [k for k in keys if isinstance(k, str)][:MAX_KEYS]
    return list(session.execute(
        select(Experiment.id).where(Experiment.project_id == project.id, Experiment.key.in_(keys))
    ).scalars())


def archive(session: Session, actor: Actor, project: Project, keys) -> int:
    require_write(session, actor, project)
    ids = _ids(session, project, keys)
    if ids:
        archived = session.execute(select(Experiment.key).where(Experiment.id.in_(ids))).scalars().all()
        session.execute(update(Experiment).where(Experiment.id.in_(ids)).values(archived=True, updated_at=utcnow()))
        from dashboard.services import audit

        audit.record(session, "experiment.archived", actor_user_id=actor.user_id,
                     target=f"{project_service.workspace_name(session, project)}/{project.name}",
                     detail=f"{len(ids)} experiment{'s' if len(ids) != 1 else ''}: " + ", ".join(archived))
    return len(ids)


def set_visible(session: Session, actor: Actor, project: Project, keys, visible: bool) -> int:
    require_write(session, actor, project)
    ids = _ids(session, project, keys)
    if ids:
        session.execute(update(Experiment).where(Experiment.id.in_(ids)).values(visible=bool(visible)))
    return len(ids)


def add_tags(session: Session, actor: Actor, project: Project, keys, tags) -> int:
    """Add each tag to each experiment that lacks it; returns the number of experiments."""
    require_write(session, actor, project)
    clean = []
    for tag in tags or []:
        tag = tag.strip() if isinstance(tag, str) else ""
        if not tag or len(tag) > MAX_TAG:
            raise Invalid(f"Tags are 1-{MAX_TAG} characters")
        if tag not in clean:
            clean.append(tag)
    if not clean:
        raise Invalid("Pick or type a tag")
    ids = _ids(session, project, keys)
    existing = set(session.execute(
        select(ExperimentTag.experiment_id, ExperimentTag.name)
        .where(ExperimentTag.experiment_id.in_(ids), ExperimentTag.name.in_(clean))
    ).tuples())
    session.add_all([ExperimentTag(experiment_id=i, name=t) for i in ids for t in clean if (i, t) not in existing])
    return len(ids)


def set_color(session: Session, actor: Actor, project: Project, key: str, color: str) -> None:
    require_write(session, actor, project)
    if not isinstance(color, str) or not COLOR_RE.fullmatch(color):
        raise Invalid("A color is written #rrggbb")
    ids = _ids(session, project, [key])
    if not ids:
        raise NotFound("Experiment not found")
    session.execute(update(Experiment).where(Experiment.id == ids[0]).values(color=color.lower()))


def rename(session: Session, actor: Actor, project: Project, key: str, name: str | None) -> str:
    """Set the display name; an empty name gets a generated one. Returns the shown name."""
    require_write(session, actor, project)
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise Invalid(f"Names are at most {MAX_NAME} characters")
    check_no_bidi(name, "An experiment name")
    ids = _ids(session, project, [key])
    if not ids:
        raise NotFound("Experiment not found")
    name = name or generated_experiment_name(session, project.id)
    session.execute(update(Experiment).where(Experiment.id == ids[0]).values(name=name, updated_at=utcnow()))
    return name


def move(session: Session, actor: Actor, project: Project, keys, workspace_name: str, project_name: str) -> int:
    """Move experiments to another project the actor can write (in any of their workspaces)."""
    require_write(session, actor, project)
    ws = workspaces.find_by_name(session, workspace_name or "")
    target = project_service.find(session, ws.id, project_name or "") if ws is not None else None
    if target is None or actor_role(session, actor, target.workspace_id) is None:
        raise NotFound("Target project not found")
    if not can_write_project(session, actor, target):
        raise Forbidden("You can't add experiments to that project")
    if target.id == project.id:
        raise Invalid("The experiments are already in this project")
    ids = _ids(session, project, keys)
    if ids:
        session.execute(update(Experiment).where(Experiment.id.in_(ids))
                        .values(project_id=target.id, updated_at=utcnow()))
        # Moved experiments come after the target's own, in their order: new colors there.
        first = project_service.take_color_indexes(session, target.id, len(ids))
        table = Experiment.__table__
        session.connection().execute(table.update().where(table.c.id == bindparam("moved_id"))
                                     .values(color_index=bindparam("index")),
                                     [{"moved_id": i, "index": first + n} for n, i in enumerate(sorted(ids))])
    return len(ids)


def move_targets(session: Session, actor: Actor, project: Project) -> list[tuple[str, str]]:
    """(workspace, project) pairs the actor can move experiments into, this project excluded."""
    if actor.user_id is None:
        return []
    conditions = [Membership.user_id == actor.user_id, Membership.role.in_(["owner", "admin", "member"]),
                  Project.id != project.id]
    if actor.api_workspace_id is not None:
        conditions.append(Workspace.id == actor.api_workspace_id)
    rows = session.execute(
        select(Workspace.name, Project.name)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .join(Project, Project.workspace_id == Workspace.id)
        .where(*conditions)
        .order_by(func.lower(Workspace.name), func.lower(Project.name))
    ).tuples()
    return list(rows)
