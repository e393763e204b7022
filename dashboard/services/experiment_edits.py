"""Edits of one experiment by key, as ``comet_ml.APIExperiment`` / ``comet_ml.API`` make them:
create a (not running) experiment, remove tags, parameters and assets, change its start and
end times, archive, restore and delete it.

Every edit needs write access to the experiment (``experiments.get_writable``: an experiment
the caller can't read is "not found"); archive, restore and delete go through the project
archive's own services, so a deletion removes the asset files too and is audited.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import delete as sa_delete
from sqlmodel import Session, select

from dashboard.auth import Actor
from dashboard.errors import Invalid
from dashboard.services import archive, assets, audit, experiment_bulk, experiment_page, experiments, ingest, projects
from models import Asset, ExperimentStatus, Parameter, ParameterValue, utcnow

MAX_NAMES = 1000
# Times a client may set: from 1970 to the end of 9999, in milliseconds.
MAX_MS = 253402300799999


def create(session: Session, actor: Actor, workspace: str, project: str, name: str | None):
    """A new experiment that is not running (``APIExperiment(workspace=, project_name=)``):
    the project is made on first use, as for a logging run."""
    if not isinstance(workspace, str) or not workspace:
        raise Invalid("workspaceName is required")
    if not isinstance(project, str) or not project:
        raise Invalid("projectName is required")
    if name is not None and not isinstance(name, str):
        raise Invalid("experimentName must be a string")
    exp, _ = ingest.start_experiment(session, actor, workspace, project, name=name or None)
    ingest.end_experiment(session, actor, exp.key, ExperimentStatus.finished.value)
    return exp


def _names(values, what: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise Invalid(f"{what} must be a list of strings")
    if len(values) > MAX_NAMES:
        raise Invalid(f"At most {MAX_NAMES} {what} at once")
    return [v for v in values if v]


def delete_tags(session: Session, actor: Actor, key: str, tags) -> list[str]:
    """Remove the given tags (absent ones are ignored); returns the tags left."""
    left = experiments.tags(session, experiments.get_writable(session, actor, key))
    for tag in _names(tags, "tags"):
        left = experiment_page.remove_tag(session, actor, key, tag)
    return left


def delete_parameters(session: Session, actor: Actor, key: str, names) -> int:
    """Remove parameters and their history. A name also removes the parameters nested under it
    (``model`` removes ``model|layers``, as ``log_parameters`` flattens dictionaries)."""
    exp = experiments.get_writable(session, actor, key)
    names = _names(names, "parameters")
    if not names:
        return 0
    have = session.exec(select(Parameter.name).where(Parameter.experiment_id == exp.id)).all()
    doomed = [n for n in have if any(n == name or n.startswith(name + "|") for name in names)]
    if doomed:
        session.execute(sa_delete(Parameter).where(Parameter.experiment_id == exp.id, Parameter.name.in_(doomed)))
    history = set(names) | set(doomed)
    session.execute(sa_delete(ParameterValue).where(ParameterValue.experiment_id == exp.id,
                                                    ParameterValue.name.in_(sorted(history))))
    exp.updated_at = utcnow()
    session.add(exp)
    return len(doomed)


def delete_asset(session: Session, actor: Actor, key: str, asset_id: str, settings) -> None:
    """Remove one asset and its file (the row first: a failed commit never loses the file)."""
    exp = experiments.get_writable(session, actor, key)
    if not isinstance(asset_id, str) or not asset_id:
        raise Invalid("assetId is required")
    asset = assets.find(session, exp, asset_id)
    path = asset.storage_path
    session.execute(sa_delete(Asset).where(Asset.id == asset.id))
    exp.updated_at = utcnow()
    session.add(exp)
    session.commit()
    if path and not session.exec(select(Asset.id).where(Asset.storage_path == path)).first():
        assets.delete_files(settings, [path])


def _time(ms, what: str) -> datetime | None:
    if ms is None:
        return None
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not 0 <= ms <= MAX_MS:
        raise Invalid(f"{what} must be a time in milliseconds since 1970")
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def set_times(session: Session, actor: Actor, key: str, start_ms, end_ms):
    """Set the start and/or end time (milliseconds). A missing end becomes one second after
    the start and a missing start one second before the end, as Comet does."""
    exp = experiments.get_writable(session, actor, key)
    start, end = _time(start_ms, "startTimeMillis"), _time(end_ms, "endTimeMillis")
    if start is None and end is None:
        raise Invalid("Give startTimeMillis, endTimeMillis or both")
    start = start or experiments.as_utc(exp.start_time)
    end = end or experiments.as_utc(exp.end_time)
    if end is None:
        end = start + timedelta(seconds=1)
    if start_ms is None and end <= start:
        start = end - timedelta(seconds=1)
    if end < start:
        raise Invalid("The end time is before the start time")
    exp.start_time, exp.end_time, exp.updated_at = start, end, utcnow()
    session.add(exp)
    return exp


def _project_of(session: Session, actor: Actor, key: str):
    exp = experiments.get_writable(session, actor, key)
    return exp, projects.get_by_id_writable(session, actor, exp.project_id)


def archive_one(session: Session, actor: Actor, key: str) -> None:
    _, project = _project_of(session, actor, key)
    experiment_bulk.archive(session, actor, project, [key])


def restore_one(session: Session, actor: Actor, key: str) -> None:
    _, project = _project_of(session, actor, key)
    archive.restore(session, actor, project.id, [key])


def delete_one(session: Session, actor: Actor, key: str, settings) -> None:
    """Delete an experiment for good (archived or not), its asset files included."""
    exp, project = _project_of(session, actor, key)
    workspace, project_name = experiments.location(session, exp)
    experiment_bulk.archive(session, actor, project, [key])
    audit.record(session, "experiment.delete", actor_user_id=actor.user_id,
                 target=f"{workspace}/{project_name}/{key}", detail=exp.name or "")
    archive.delete_permanently(session, actor, project.id, [key], settings)

