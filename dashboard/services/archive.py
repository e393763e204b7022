"""A project's archive: archived experiments, restored or deleted for good.

Deleting removes the experiment rows (metrics, parameters, assets... follow through the
foreign keys' ON DELETE CASCADE) and then the asset files on disk.
"""
from __future__ import annotations

from sqlalchemy import delete as sa_delete, update as sa_update
from sqlmodel import Session, select

from dashboard.errors import Invalid
from dashboard.auth import Actor
from dashboard.services import assets, audit, projects
from models import Asset, Experiment, utcnow

MAX_KEYS = 1000


def list_archived(session: Session, actor: Actor, project_id) -> list[Experiment]:
    project = projects.get_by_id_readable(session, actor, project_id)
    return list(session.exec(
        select(Experiment).where(Experiment.project_id == project.id, Experiment.archived == True)  # noqa: E712
        .order_by(Experiment.start_time.desc())
    ).all())


def _archived_ids(session: Session, project_id: int, keys) -> list[int]:
    """Ids of the given archived experiments of this project (other keys are ignored)."""
    if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
        raise Invalid("Experiment keys must be a list of strings")
    if len(keys) > MAX_KEYS:
        raise Invalid(f"At most {MAX_KEYS} experiments at once")
    if not keys:
        return []
    return list(session.exec(select(Experiment.id).where(
        Experiment.project_id == project_id, Experiment.archived == True, Experiment.key.in_(keys)  # noqa: E712
    )).all())


def restore(session: Session, actor: Actor, project_id, keys) -> int:
    project = projects.get_by_id_writable(session, actor, project_id)
    ids = _archived_ids(session, project.id, keys)
    if ids:
        session.execute(sa_update(Experiment).where(Experiment.id.in_(ids))
                        .values(archived=False, updated_at=utcnow()))
    return len(ids)


def asset_paths(session: Session, experiment_ids: list[int]) -> list[str]:
    if not experiment_ids:
        return []
    return [p for p in session.exec(select(Asset.storage_path).where(Asset.experiment_id.in_(experiment_ids))).all()
            if p]


def delete_permanently(session: Session, actor: Actor, project_id, keys, settings) -> int:
    """Delete archived experiments and everything logged to them, files included.

    Commits before removing files so a failed commit never leaves rows without their files.
    """
    project = projects.get_by_id_writable(session, actor, project_id)
    ids = _archived_ids(session, project.id, keys)
    if not ids:
        return 0
    paths = asset_paths(session, ids)
    deleted = session.exec(select(Experiment.key).where(Experiment.id.in_(ids))).all()
    audit.record(session, "experiment.deleted", actor_user_id=actor.user_id,
                 target=f"{projects.workspace_name(session, project)}/{project.name}",
                 detail=f"{len(ids)} archived experiment{'s' if len(ids) != 1 else ''}: " + ", ".join(deleted))
    session.execute(sa_delete(Experiment).where(Experiment.id.in_(ids)))
    session.commit()
    assets.delete_files(settings, paths)
    return len(ids)
