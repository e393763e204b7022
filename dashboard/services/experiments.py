"""Experiments: lookup with access checks, status (incl. lost heartbeat), metadata and the
small reads of what was logged (tags, parameters, others, output, system details).

Read functions that take an ``Experiment`` expect one obtained through ``get_readable`` or
``get_writable``, which is where the access decision is made.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, case, func
from sqlmodel import Session, select

from dashboard.auth import Actor, can_read_project, can_write_project
from dashboard.errors import Forbidden, NotFound
from dashboard.services import projects as project_service
from models import (
    Experiment,
    ExperimentStatus,
    ExperimentTag,
    Other,
    OutputLine,
    Parameter,
    ParameterValue,
    Project,
    Workspace,
    utcnow,
)

HEARTBEAT_INTERVAL_S = 5
# A running experiment silent for this long is reported as crashed (its process died).
LOST_AFTER_S = max(3 * HEARTBEAT_INTERVAL_S, 60)


def as_utc(value: datetime | None) -> datetime | None:
    """Datetimes come back naive from SQLite; they are always stored in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat() if value is not None else None


# --- lookup -------------------------------------------------------------------------------

def find_by_key(session: Session, key: str) -> Experiment | None:
    if not key or len(key) > 50:
        return None
    return session.exec(select(Experiment).where(Experiment.key == key)).first()


def get_readable(session: Session, actor: Actor, key: str) -> Experiment:
    """The experiment if the actor may read its project; NotFound otherwise (no existence leak)."""
    exp = find_by_key(session, key)
    if exp is not None:
        project = session.get(Project, exp.project_id)
        if project is not None and can_read_project(session, actor, project):
            return exp
    raise NotFound(f"Experiment '{key}' not found")


def get_writable(session: Session, actor: Actor, key: str) -> Experiment:
    """The experiment if the actor may write to it: NotFound when it can't even read it,
    Forbidden when it can read but not write (e.g. viewer role, public project)."""
    exp = get_readable(session, actor, key)
    project = session.get(Project, exp.project_id)
    if not can_write_project(session, actor, project):
        raise Forbidden("You can't change this experiment (read-only access)")
    return exp


def location(session: Session, exp: Experiment) -> tuple[str, str]:
    """(workspace name, project name) of an experiment."""
    row = session.exec(
        select(Workspace.name, Project.name).join(Project, Project.workspace_id == Workspace.id)
        .where(Project.id == exp.project_id)
    ).one()
    return row[0], row[1]


def url_path(workspace: str, project: str, key: str) -> str:
    return f"/{workspace}/{project}/{key}"


# --- status -------------------------------------------------------------------------------

def is_lost(exp: Experiment, now: datetime | None = None) -> bool:
    """True when a running experiment has sent no heartbeat for LOST_AFTER_S seconds."""
    if exp.status != ExperimentStatus.running.value:
        return False
    now = as_utc(now) or utcnow()
    seen = as_utc(exp.last_heartbeat) or as_utc(exp.start_time)
    return seen is not None and (now - seen).total_seconds() > LOST_AFTER_S


def effective_status(exp: Experiment, now: datetime | None = None) -> str:
    return ExperimentStatus.crashed.value if is_lost(exp, now) else exp.status


def status_expression(now: datetime | None = None):
    """The effective status as a SQL expression, for filtering and sorting in queries."""
    cutoff = (as_utc(now) or utcnow()) - timedelta(seconds=LOST_AFTER_S)
    seen = func.coalesce(Experiment.last_heartbeat, Experiment.start_time)
    return case(
        (and_(Experiment.status == ExperimentStatus.running.value, seen < cutoff), ExperimentStatus.crashed.value),
        else_=Experiment.status,
    )


def duration_s(exp: Experiment, now: datetime | None = None) -> float | None:
    start = as_utc(exp.start_time)
    if start is None:
        return None
    end = as_utc(exp.end_time)
    if end is None:
        end = as_utc(exp.last_heartbeat) if is_lost(exp, now) else (as_utc(now) or utcnow())
    return max(0.0, (end - start).total_seconds())


def metadata(exp: Experiment, workspace: str, project: str, now: datetime | None = None) -> dict:
    """The experiment as the REST API and the SDK describe it."""
    try:
        command = json.loads(exp.command) if exp.command else None
    except ValueError:
        command = None
    return {
        "experiment_key": exp.key,
        "name": exp.name,
        "workspace": workspace,
        "project": project,
        "status": effective_status(exp, now),
        "archived": exp.archived,
        "start_time": iso(exp.start_time),
        "end_time": iso(exp.end_time),
        "duration_s": duration_s(exp, now),
        "last_heartbeat": iso(exp.last_heartbeat),
        "file_name": exp.file_name,
        "file_path": exp.file_path,
        "command": command,
        "host": exp.host,
        "os_user": exp.os_user,
        "os": exp.os,
        "os_type": exp.os_type,
        "ip": exp.ip,
        "pid": exp.pid,
        "python_version": exp.python_version,
        "git_commit": exp.git_commit,
        "git_branch": exp.git_branch,
        "git_remote": exp.git_remote,
        "stop_requested": exp.stop_requested,
        "stopped_by": exp.stop_requested_by,
        "url": url_path(workspace, project, exp.key),
    }


def describe(session: Session, exp: Experiment) -> dict:
    workspace, project = location(session, exp)
    return metadata(exp, workspace, project)


def request_stop(session: Session, actor: Actor, key: str) -> Experiment:
    """Ask a running experiment to stop; its SDK learns it from the next heartbeat."""
    exp = get_writable(session, actor, key)
    exp.stop_requested = True
    exp.stop_requested_by = actor.username
    exp.updated_at = utcnow()
    session.add(exp)
    session.flush()
    return exp


def _in_project(session: Session, project: Project, include_archived: bool) -> list[Experiment]:
    stmt = select(Experiment).where(Experiment.project_id == project.id)
    if not include_archived:
        stmt = stmt.where(Experiment.archived == False)  # noqa: E712
    return list(session.exec(stmt.order_by(Experiment.start_time.desc(), Experiment.id.desc())).all())


def list_for_project(session: Session, actor: Actor, workspace_name: str, project_name: str,
                     include_archived: bool = False) -> list[Experiment]:
    """Experiments of a project the actor may read, newest first."""
    project = project_service.get_readable(session, actor, workspace_name, project_name)
    return _in_project(session, project, include_archived)


def list_metadata(session: Session, actor: Actor, workspace_name: str, project_name: str,
                  include_archived: bool = False) -> list[dict]:
    """``metadata`` of every experiment of a readable project, newest first."""
    project = project_service.get_readable(session, actor, workspace_name, project_name)
    ws = session.get(Workspace, project.workspace_id)
    now = utcnow()
    return [metadata(e, ws.name, project.name, now) for e in _in_project(session, project, include_archived)]


# --- what was logged ----------------------------------------------------------------------

def tags(session: Session, exp: Experiment) -> list[str]:
    return list(session.exec(
        select(ExperimentTag.name).where(ExperimentTag.experiment_id == exp.id).order_by(ExperimentTag.id)
    ).all())


def tags_for(session: Session, experiment_ids: list[int]) -> dict[int, list[str]]:
    """Tags of many experiments in one query."""
    out: dict[int, list[str]] = {i: [] for i in experiment_ids}
    if experiment_ids:
        rows = session.exec(
            select(ExperimentTag.experiment_id, ExperimentTag.name)
            .where(ExperimentTag.experiment_id.in_(experiment_ids)).order_by(ExperimentTag.id)
        ).all()
        for exp_id, name in rows:
            out[exp_id].append(name)
    return out


def parameters(session: Session, exp: Experiment) -> list[Parameter]:
    return list(session.exec(
        select(Parameter).where(Parameter.experiment_id == exp.id).order_by(Parameter.name)
    ).all())


def parameter_history(session: Session, exp: Experiment, name: str) -> list[ParameterValue]:
    return list(session.exec(
        select(ParameterValue).where(ParameterValue.experiment_id == exp.id, ParameterValue.name == name)
        .order_by(ParameterValue.id)
    ).all())


def others(session: Session, exp: Experiment) -> list[Other]:
    return list(session.exec(select(Other).where(Other.experiment_id == exp.id).order_by(Other.key)).all())


def output(session: Session, exp: Experiment, stderr: bool | None = None) -> list[OutputLine]:
    stmt = select(OutputLine).where(OutputLine.experiment_id == exp.id)
    if stderr is not None:
        stmt = stmt.where(OutputLine.stderr == stderr)
    return list(session.exec(stmt.order_by(OutputLine.offset, OutputLine.id)).all())


def system(exp: Experiment) -> dict:
    """Environment details, log_system_info values, installed packages and git facts."""
    try:
        info = json.loads(exp.system_info_json or "{}")
    except ValueError:
        info = {}
    try:
        command = json.loads(exp.command) if exp.command else None
    except ValueError:
        command = None
    details = {
        "host": exp.host, "ip": exp.ip, "os_user": exp.os_user, "os": exp.os, "os_type": exp.os_type,
        "python_version": exp.python_version, "python_executable": exp.python_executable, "pid": exp.pid,
        "command": command, "file_name": exp.file_name, "file_path": exp.file_path,
    }
    git = {"commit": exp.git_commit, "branch": exp.git_branch, "remote": exp.git_remote,
           "root": exp.git_root, "user": exp.git_user}
    packages = [line for line in (exp.installed_packages or "").splitlines() if line]
    return {"details": details, "system_info": info, "installed_packages": packages, "git": git}

