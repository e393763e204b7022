"""The single write core for logged runs: start, batches, assets, heartbeats, end.

The REST API, the Comet-compatible adapter and the offline-archive importer all call these
functions, so nothing here depends on Flask. A batch is validated as a whole (``parse_batch``)
before anything is written and applied in the caller's one transaction; its ``batch_id`` is
stored in that same transaction so a retried batch adds nothing twice.
"""
from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, BinaryIO, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError, model_validator
from sqlalchemy import and_, bindparam, case, event, func, insert, select as sa_select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select
from typing_extensions import NotRequired, TypedDict

from dashboard.auth import Actor
from dashboard.config import Settings
from dashboard.errors import Conflict, Forbidden, Invalid, NotFound
from dashboard.services import assets as asset_files
from dashboard.services import metrics, projects, workspaces
from dashboard.services.names import check_no_bidi, generated_experiment_name
from models import (
    Asset,
    Experiment,
    ExperimentStatus,
    ExperimentTag,
    Membership,
    Other,
    OutputLine,
    Parameter,
    ParameterValue,
    Project,
    ReceivedBatch,
    Role,
    Workspace,
    utcnow,
)

KEY_RE = re.compile(r"^[A-Za-z0-9]{32,50}$")
END_STATUSES = {ExperimentStatus.finished.value, ExperimentStatus.crashed.value, ExperimentStatus.stopped.value}



def _no_nul(text: str) -> str:
    """NUL can't be stored in PostgreSQL text; both databases keep U+FFFD in its place, so a
    name reads back as it was stored and matches itself in the next batch."""
    return text.replace("\x00", "\ufffd")


def _clean_name(text: str) -> str:
    """A name as stored: NUL replaced (see ``_no_nul``), bidirectional controls refused."""
    if not text.isprintable():  # both kinds are unprintable: most names skip the checks
        text = check_no_bidi(_no_nul(text), "a name")
    return text


Name = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_clean_name)]
Context = Annotated[str, Field(max_length=64), AfterValidator(_clean_name)]
ExperimentName = Annotated[str, Field(max_length=300), AfterValidator(_clean_name)]
# Steps and epochs pass through float64 on the way in: beyond 2**53 they would change.
Int64 = Annotated[int, Field(ge=-(2**53), le=2**53)]
# Seconds since 1970, up to the end of the year 9999 (what a datetime can hold): an infinite or
# far-future time would be stored and then break every reader that converts it.
MAX_TIMESTAMP_S = 253_402_300_799
Timestamp = Annotated[float, Field(ge=0, le=MAX_TIMESTAMP_S, allow_inf_nan=False)]
MAX_TAGS = 100  # per experiment
MetricValue = Union[StrictFloat, StrictInt, Literal["NaN", "Infinity", "-Infinity"]]


class MetricIn(TypedDict):
    """A metric point; a TypedDict (validated to a plain dict) keeps big batches cheap."""

    name: Name
    value: MetricValue
    step: NotRequired[Int64 | None]
    epoch: NotRequired[Int64 | None]
    timestamp: NotRequired[Timestamp | None]
    context: NotRequired[Context | None]


class MetricColumnsIn(TypedDict):
    """Points of one metric given column by column (the compact form the SDK sends): every
    list has one entry per value; a field left out or null is null for every point."""

    name: Name
    value: list[MetricValue]
    step: NotRequired[list[Int64 | None] | None]
    epoch: NotRequired[list[Int64 | None] | None]
    timestamp: NotRequired[list[Timestamp | None] | None]
    context: NotRequired[list[Context | None] | None]


class ParameterIn(BaseModel):
    name: Name
    value: Any = None
    step: Int64 | None = None
    source: Literal["manual", "cli", "auto", "auto-logged"] = "manual"


class KeyValueIn(BaseModel):
    key: Name
    value: Any = None


class GitIn(BaseModel):
    commit: str | None = None
    branch: str | None = None
    remote: str | None = None
    root: str | None = None
    user: str | None = None


class DetailsIn(BaseModel):
    """Where and how the run executes; any subset may be sent."""

    host: str | None = None
    ip: str | None = None
    os_user: str | None = None
    os: str | None = None
    os_type: str | None = None
    python_version: str | None = None
    python_executable: str | None = None
    pid: Int64 | None = None
    command: list[str] | None = None
    file_name: str | None = None
    file_path: str | None = None
    installed_packages: list[str] | None = None
    git: GitIn | None = None


class OutputIn(BaseModel):
    text: str
    stderr: bool = False
    offset: Int64 | None = None
    timestamp: Timestamp | None = None


class HtmlIn(BaseModel):
    html: str
    override: bool = False


class BatchEndIn(BaseModel):
    """How the run ended; given in a batch, the run is ended in the batch's transaction."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["finished", "crashed", "stopped"] = "finished"


class BatchStartIn(BaseModel):
    """Where a run's first batch creates its experiment when the key is new."""

    model_config = ConfigDict(extra="ignore")

    workspace: Annotated[str, Field(max_length=64)] | None = None
    project: Annotated[str, Field(max_length=100)] | None = None
    name: ExperimentName | None = None


class BatchIn(BaseModel):
    """One SDK batch: everything optional except its idempotency id."""

    model_config = ConfigDict(extra="ignore")

    batch_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    metrics: list[MetricIn] = []
    metric_columns: list[MetricColumnsIn] = []
    parameters: list[ParameterIn] = []
    others: list[KeyValueIn] = []
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_clean_name)]],
                    Field(max_length=MAX_TAGS)] = []
    name: ExperimentName | None = None
    system_info: list[KeyValueIn] = []
    details: DetailsIn | None = None
    output: list[OutputIn] = []
    html: list[HtmlIn] = []
    graph: str | None = None
    start: BatchStartIn | None = Field(
        None, description="Create the experiment first when its key is new, as POST /experiments does, in the "
                          "batch's transaction (a short run then needs one request). An existing key is not "
                          "resumed: the batch is applied to it as usual. When it was created, the reply's "
                          "\"experiment\" gives what POST /experiments answers.")
    end: BatchEndIn | None = Field(
        None, description="End the run once this batch is stored, in the same transaction (as POST .../end "
                          "does; a run asked to stop ends as \"stopped\"). A batch_id already stored is not "
                          "applied again, its end included. The reply's \"end\" gives the run's status and "
                          "end_time.")

    @model_validator(mode="after")
    def _columns_line_up(self) -> "BatchIn":
        for i, entry in enumerate(self.metric_columns):
            n = len(entry["value"])
            for field in ("step", "epoch", "timestamp", "context"):
                column = entry.get(field)
                if column is not None and len(column) != n:
                    raise ValueError(f"metric_columns.{i}.{field} has {len(column)} entries for {n} values")
        return self

    @model_validator(mode="after")
    def _series_names_fit(self) -> "BatchIn":
        """A metric logged with a context is stored as ``{context}_{name}``, which must fit too."""
        limit = metrics.MAX_SERIES_NAME
        named = [(f"metrics.{i}", m["name"], m["context"]) for i, m in enumerate(self.metrics) if m.get("context")]
        named += [(f"metric_columns.{i}", e["name"], c) for i, e in enumerate(self.metric_columns)
                  if e.get("context") for c in set(e["context"]) if c]
        for where, name, context in named:
            if len(metrics.series_name(name, context)) > limit:
                raise ValueError(f"{where}: the name with its context (context_name) is longer than {limit} characters")
        return self


def time_from_seconds(seconds: Any, what: str = "timestamp") -> datetime | None:
    """A time given in seconds since 1970 as a UTC datetime (None stays None); Invalid for
    anything that isn't a time between 1970 and the end of 9999."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not (
            0 <= seconds <= MAX_TIMESTAMP_S):  # NaN fails the comparison too
        raise Invalid(f"{what} must be a time between 1970 and the end of the year 9999")
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def validation_message(exc: ValidationError, what: str = "batch") -> str:
    parts = []
    for err in exc.errors(include_url=False)[:3]:
        loc = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    more = exc.error_count() - len(parts)
    return f"Invalid {what}: " + "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def parse_batch(data: dict | bytes | str) -> BatchIn:
    """Validate a batch (a dict, or raw JSON which is parsed and validated in one pass)."""
    try:
        if isinstance(data, (bytes, str)):
            return BatchIn.model_validate_json(data)
        if not isinstance(data, dict):
            raise Invalid("A batch must be a JSON object")
        return BatchIn.model_validate(data)
    except ValidationError as exc:
        raise Invalid(validation_message(exc)) from exc


# --- values -------------------------------------------------------------------------------

def value_fields(value: Any) -> tuple[str | None, float | None, str]:
    """(display text, numeric value or None, JSON text) of a parameter or other value.

    Numbers and booleans are numeric; so are numeric-looking strings (command-line values)
    and the strings the SDK uses for NaN/Inf ("NaN" gives no numeric value).
    """
    if _is_bad_float(value):
        text = metrics.encode_value(value)
        return text, (None if value != value else value), json.dumps(text)
    as_json = json.dumps(value, default=str)
    if value is None:
        return None, None, as_json
    if isinstance(value, bool):
        return ("true" if value else "false"), float(value), as_json
    if isinstance(value, int):
        return str(value), (float(value) if abs(value) < 2**1023 else None), as_json
    if isinstance(value, float):
        return repr(value), value, as_json
    if isinstance(value, str):
        return value, _numeric_text(value), as_json
    return as_json, None, as_json


def _is_bad_float(value: Any) -> bool:
    return isinstance(value, float) and (value != value or value in (math.inf, -math.inf))


def _numeric_text(text: str) -> float | None:
    if text in metrics.SPECIAL_VALUES:
        f = metrics.SPECIAL_VALUES[text]
        return None if f != f else f
    if len(text) > 64 or not text.strip():
        return None
    try:
        f = float(text)
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def _clip(column: str, value: str | None) -> str | None:
    """Cut a text to its Experiment column's length (PostgreSQL enforces VARCHAR lengths)."""
    if value is None:
        return None
    length = Experiment.__table__.c[column].type.length
    return value[:length] if length else value


# --- access -------------------------------------------------------------------------------

_EXP = Experiment.__table__.c
_LONG_TEXT = ("installed_packages", "system_info_json", "graph", "html", "notes", "command")
# The experiment, where it lives and the caller's role there, in one indexed query (the same
# decision as experiments.get_writable: read through a membership, a public project or a share
# link; write through a member role that can write).
_ACCESS = (
    select(Experiment, Workspace.name, Project.name, Project.is_public, Membership.role, Project.workspace_id)
    .join(Project, Project.id == Experiment.project_id)
    .join(Workspace, Workspace.id == Project.workspace_id)
    .outerjoin(Membership, and_(Membership.workspace_id == Project.workspace_id,
                                Membership.user_id == bindparam("user_id")))
    .where(Experiment.key == bindparam("key"))
    # Every batch starts here: leave the run's long texts (package list, model graph, HTML,
    # notes) in the database until a batch actually appends to or replaces one.
    .options(*(defer(getattr(Experiment, c)) for c in _LONG_TEXT))
)
# A batch, heartbeat or end writes the experiment row first: the database's write lock (SQLite)
# or the row lock (PostgreSQL), so writes to one experiment apply one after another. The stop
# request comes back with it, read under that lock.
_TOUCH = (
    update(Experiment.__table__).where(_EXP.id == bindparam("experiment_id"))
    .values(updated_at=bindparam("now"), last_heartbeat=bindparam("now"))
    .returning(_EXP.stop_requested, _EXP.stop_requested_by)
)
_BEAT = (  # a heartbeat changes nothing but the time the run was last heard of
    update(Experiment.__table__).where(_EXP.id == bindparam("experiment_id"))
    .values(last_heartbeat=bindparam("now"))
    .returning(_EXP.stop_requested, _EXP.stop_requested_by)
)
# Ending: a run that was asked to stop ends as "stopped", whatever it reports.
_END = (
    update(Experiment.__table__).where(_EXP.id == bindparam("experiment_id"))
    .values(status=case((_EXP.stop_requested == true(), ExperimentStatus.stopped.value), else_=bindparam("status")),
            end_time=bindparam("now"), last_heartbeat=bindparam("now"), updated_at=bindparam("now"))
    .returning(_EXP.status)
)
_RECEIVED = ReceivedBatch.__table__.c
_SEEN = sa_select(_RECEIVED.experiment_id).where(_RECEIVED.batch_id == bindparam("batch_id"))
# The workspace a run logs into, the caller's role there and the project if it exists.
_TARGET = (
    select(Workspace.id, Workspace.name, Membership.role, Project)
    .outerjoin(Membership, and_(Membership.workspace_id == Workspace.id, Membership.user_id == bindparam("user_id")))
    .outerjoin(Project, and_(Project.workspace_id == Workspace.id, func.lower(Project.name) == func.lower(bindparam("project"))))
    .where(func.lower(Workspace.name) == bindparam("workspace"))
)


@dataclass
class Located:
    """An experiment the caller may write, with its workspace and project names."""

    experiment: Experiment
    workspace: str
    project: str
    created: bool = False


def _lookup(session: Session, actor: Actor, key: str):
    """(experiment, workspace name, project name, readable, writable), or None for no such key."""
    if not key or not isinstance(key, str) or len(key) > 50:
        return None
    row = session.execute(_ACCESS, {"key": key, "user_id": actor.user_id}).first()
    if row is None:
        return None
    exp, workspace, project, public, role, workspace_id = row
    if not actor.acts_in(workspace_id):
        role = None
    readable = role is not None or bool(public) or exp.project_id in actor.share_project_ids
    return exp, workspace, project, readable, role is not None and Role(role).can_write


def writable(session: Session, actor: Actor, key: str) -> Located:
    """The experiment if the actor may write to it: NotFound when it can't even read it,
    Forbidden when it can read but not write (e.g. viewer role, public project)."""
    found = _lookup(session, actor, key)
    if found is None or not found[3]:
        raise NotFound(f"Experiment '{key}' not found")
    if not found[4]:
        raise Forbidden("You can't change this experiment (read-only access)")
    return Located(found[0], found[1], found[2])


def _touch(session: Session, exp: Experiment, now: datetime, heartbeat_only: bool = False) -> None:
    """Take the experiment's write lock (see ``_TOUCH``) and record that the run is alive."""
    stop, by = session.execute(_BEAT if heartbeat_only else _TOUCH, {"experiment_id": exp.id, "now": now}).one()
    changed = (("last_heartbeat", now),) if heartbeat_only else (("updated_at", now), ("last_heartbeat", now))
    for field, value in (*changed, ("stop_requested", bool(stop)), ("stop_requested_by", by)):
        set_committed_value(exp, field, value)


def _end(session: Session, exp: Experiment, status: str, now: datetime) -> None:
    if status not in END_STATUSES:
        raise Invalid(f"status must be one of: {', '.join(sorted(END_STATUSES))}")
    final = session.execute(_END, {"experiment_id": exp.id, "status": status, "now": now}).scalar_one()
    for field, value in (("status", final), ("end_time", now), ("last_heartbeat", now), ("updated_at", now)):
        set_committed_value(exp, field, value)


def _logging_target(session: Session, actor: Actor, workspace: str | None, project: str | None) -> tuple[Project, str]:
    """The project an SDK run logs into (created on first use in a workspace the actor can
    write) and its workspace's name."""
    ws_name = workspace or workspaces.default_workspace_name(session, actor)
    try:
        name, bad_name = projects.check_project_name(project or "general"), None
    except Invalid as exc:
        name, bad_name = "", exc
    row = session.execute(_TARGET, {"workspace": (ws_name or "").lower(), "user_id": actor.user_id,
                                    "project": name}).first()
    if row is None or row[2] is None or not actor.acts_in(row[0]):
        hint = " (an API key works only in the workspace it was issued for)" if actor.api_workspace_id else ""
        raise NotFound(f"Workspace '{ws_name}' not found{hint}")
    ws_id, ws_name, role, target = row
    if not Role(role).can_write:
        raise Forbidden(f"You can't log experiments in workspace '{ws_name}' (read-only role)")
    if bad_name is not None:
        raise bad_name
    if target is None:
        target = Project(workspace_id=ws_id, name=name, created_by_id=actor.user_id)
        session.add(target)
        session.flush()
    return target, ws_name


# --- start / end / heartbeat --------------------------------------------------------------

def _check_key(key) -> None:
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise Invalid("experiment_key must be 32-50 letters or digits")


# The one answer for starting a run with a key the caller can't write, whether or not they can
# see its experiment: nothing tells someone else's private experiment from a public or read-only
# one. (Keys are unique across the server, so a taken key can't be given a new experiment.)
KEY_UNAVAILABLE = "This experiment key is not available to you: start the run with another key"


def _startable(session: Session, actor: Actor, key: str):
    """``_lookup`` of a key a run starts with: None when no experiment has it; Conflict (always
    the same) when the caller may not write the experiment that has it."""
    found = _lookup(session, actor, key)
    if found is not None and not found[4]:
        raise Conflict(KEY_UNAVAILABLE)
    return found


def start(session: Session, actor: Actor, workspace: str | None, project: str | None,
          key: str | None = None, name: str | None = None) -> Located:
    """Create an experiment (project made on first use) or resume an existing key the actor
    may write; ``created`` tells which."""
    if key is not None:
        _check_key(key)
        found = _startable(session, actor, key)
        if found is not None:
            exp, ws_name, project_name, _, _ = found
            exp.status = ExperimentStatus.running.value
            exp.end_time = None
            exp.stop_requested = False
            exp.stop_requested_by = None
            exp.last_heartbeat = exp.updated_at = utcnow()
            if name:
                exp.name = _clip("name", name.strip()) or exp.name
            session.add(exp)
            session.flush()
            return Located(exp, ws_name, project_name)
    return _create(session, actor, workspace, project, key, name)


def _create(session: Session, actor: Actor, workspace: str | None, project: str | None,
            key: str | None, name: str | None) -> Located:
    target, ws_name = _logging_target(session, actor, workspace, project)
    now = utcnow()
    name = _clip("name", (name or "").strip()) or generated_experiment_name(session, target.id)
    exp = Experiment(key=key or uuid.uuid4().hex, project_id=target.id, name=name,
                     start_time=now, last_heartbeat=now, updated_at=now, created_by_id=actor.user_id,
                     color_index=projects.take_color_indexes(session, target.id))
    session.add(exp)
    target.updated_at = now
    session.add(target)
    session.flush()
    return Located(exp, ws_name, target.name, created=True)


def start_experiment(session: Session, actor: Actor, workspace: str | None, project: str | None,
                     key: str | None = None, name: str | None = None) -> tuple[Experiment, bool]:
    """``start`` as (experiment, created)."""
    started = start(session, actor, workspace, project, key, name)
    return started.experiment, started.created


def heartbeat(session: Session, actor: Actor, key: str) -> tuple[bool, str | None]:
    """Record that the run is alive; tells it whether a stop was requested."""
    exp = writable(session, actor, key).experiment
    _touch(session, exp, utcnow(), heartbeat_only=True)
    return exp.stop_requested, exp.stop_requested_by


def end_experiment(session: Session, actor: Actor, key: str, status: str) -> Experiment:
    """Mark the run ended; one that was asked to stop ends as "stopped"."""
    if status not in END_STATUSES:
        raise Invalid(f"status must be one of: {', '.join(sorted(END_STATUSES))}")
    exp = writable(session, actor, key).experiment
    _end(session, exp, status, utcnow())
    return exp


# --- batches ------------------------------------------------------------------------------

def apply_batch(session: Session, actor: Actor, key: str, batch: dict | BatchIn) -> dict:
    """Apply one validated batch in the caller's transaction. Returns counts per field, or
    ``{"duplicate": True}`` when this batch_id was already stored."""
    return apply(session, actor, key, batch)[0]


def apply(session: Session, actor: Actor, key: str, batch: dict | BatchIn) -> tuple[dict, Experiment, Located | None]:
    """``apply_batch``, also returning the experiment, and where it was created when the batch
    created it (``start``, for a new key; else None). A batch carrying ``end`` ends the run in
    the same transaction (``status`` and ``end_time`` of the experiment then tell how); a
    duplicate batch_id changes nothing, its end included."""
    b = batch if isinstance(batch, BatchIn) else parse_batch(batch)
    started = None
    if b.start is not None:
        _check_key(key)
        if _startable(session, actor, key) is None:
            started = _create(session, actor, b.start.workspace, b.start.project, key, b.start.name)
    exp = started.experiment if started else writable(session, actor, key).experiment
    now = utcnow()
    locked = False

    def lock() -> None:
        nonlocal locked
        if not locked:
            _touch(session, exp, now)
            if b.html or b.system_info:  # appended/merged: read what a batch committed meanwhile
                session.refresh(exp)
            locked = True

    if (b.metrics or b.metric_columns) and exp.updated_at == exp.start_time:
        # The run's first batch (nothing has touched the experiment since it was created): its
        # metrics are new, so take the lock now rather than look them up before and after it.
        lock()
    points = metrics.prepare_points(session, exp.id, b.metrics, now.timestamp(),
                                    before_create=None if locked else lock, columns=b.metric_columns,
                                    probably_new=locked)
    lock()
    seen = session.execute(_SEEN, {"batch_id": b.batch_id}).scalar()
    if seen is not None:
        if seen != exp.id:
            raise Conflict("batch_id was already used by another experiment")
        return {"duplicate": True}, exp, started
    try:
        session.execute(insert(ReceivedBatch.__table__),
                        {"experiment_id": exp.id, "batch_id": b.batch_id, "received_at": now})
    except IntegrityError as exc:  # the id was used by a batch of another experiment
        raise Conflict("batch_id was already used by another experiment") from exc

    counts = {"metrics": metrics.store_points(session, points)}
    counts["parameters"] = _apply_parameters(session, exp, b.parameters, now)
    counts["others"] = _apply_others(session, exp, b.others)
    counts["tags"] = add_tags(session, exp, b.tags)
    if b.name is not None:
        exp.name = _clip("name", b.name.strip()) or exp.name  # an empty name keeps the one it has
    counts["system_info"] = _apply_system_info(exp, b.system_info)
    counts["details"] = _apply_details(exp, b.details) if b.details is not None else 0
    counts["output"] = _apply_output(session, exp, b.output)
    for part in b.html:
        exp.html = part.html if part.override else (exp.html or "") + part.html
    counts["html"] = len(b.html)
    if b.graph is not None:
        exp.graph = b.graph
    counts["graph"] = int(b.graph is not None)
    if b.end is not None:
        _end(session, exp, b.end.status, now)
    session.flush()
    return counts, exp, started


def _apply_parameters(session: Session, exp: Experiment, items: list[ParameterIn], now) -> int:
    if not items:
        return 0
    current = {p.name: p for p in session.exec(
        select(Parameter).where(Parameter.experiment_id == exp.id, Parameter.name.in_({i.name for i in items}))
    ).all()}
    history = []
    for item in items:
        text, num, as_json = value_fields(item.value)
        row = current.get(item.name)
        if row is None:
            row = current[item.name] = Parameter(experiment_id=exp.id, name=item.name)
        row.value_text, row.value_num, row.value_json = text, num, as_json
        row.step = item.step
        row.source = "auto" if item.source == "auto-logged" else item.source
        row.updated_at = now
        session.add(row)
        history.append({"experiment_id": exp.id, "name": item.name, "value_text": text, "step": item.step,
                        "logged_at": now})
    session.flush()
    session.execute(insert(ParameterValue.__table__), history)
    return len(items)


def _apply_others(session: Session, exp: Experiment, items: list[KeyValueIn]) -> int:
    if not items:
        return 0
    current = {o.key: o for o in session.exec(
        select(Other).where(Other.experiment_id == exp.id, Other.key.in_({i.key for i in items}))
    ).all()}
    for item in items:
        text, num, _ = value_fields(item.value)
        row = current.get(item.key)
        if row is None:
            row = current[item.key] = Other(experiment_id=exp.id, key=item.key)
        row.value, row.value_num = text, num
        session.add(row)
        if item.key == "Name":  # Comet's convention: the "Name" other is the experiment name
            exp.name = _clip("name", check_no_bidi((text or "").strip(), "An experiment name")) or exp.name
    session.flush()
    return len(items)


def add_tags(session: Session, exp: Experiment, names: list[str]) -> int:
    """Add tags the experiment doesn't have yet; returns how many were added."""
    wanted = [t.strip()[:200] for t in names if t and t.strip()]
    if not wanted:
        return 0
    for tag in wanted:
        check_no_bidi(tag, "A tag")
    have = set(session.exec(select(ExperimentTag.name).where(ExperimentTag.experiment_id == exp.id)).all())
    new = [t for t in dict.fromkeys(wanted) if t not in have]
    if len(have) + len(new) > MAX_TAGS:
        raise Invalid(f"An experiment has at most {MAX_TAGS} tags ({len(have)} now, {len(new)} more given)")
    for tag in new:
        session.add(ExperimentTag(experiment_id=exp.id, name=tag))
    session.flush()
    return len(new)


def _apply_system_info(exp: Experiment, items: list[KeyValueIn]) -> int:
    if not items:
        return 0
    try:
        info = json.loads(exp.system_info_json or "{}")
    except ValueError:
        info = {}
    for item in items:
        info[item.key] = item.value
    exp.system_info_json = json.dumps(info, default=str)
    return len(items)


def _apply_details(exp: Experiment, details: DetailsIn) -> int:
    given = details.model_dump(exclude_unset=True)
    for field in ("host", "ip", "os_user", "os", "os_type", "python_version", "python_executable",
                  "file_name", "file_path"):
        if field in given:
            setattr(exp, field, _clip(field, given[field]))
    if "pid" in given:
        exp.pid = given["pid"]
    if "command" in given:
        exp.command = json.dumps(given["command"]) if given["command"] is not None else None
    if "installed_packages" in given:
        exp.installed_packages = "\n".join(given["installed_packages"] or []) or None
    for field, value in (given.get("git") or {}).items():
        setattr(exp, f"git_{field}", _clip(f"git_{field}", value))
    return 1


def _apply_output(session: Session, exp: Experiment, lines: list[OutputIn]) -> int:
    if not lines:
        return 0
    next_offset = None
    rows = []
    for line in lines:
        offset = line.offset
        if offset is None:
            if next_offset is None:
                top = session.exec(select(func.max(OutputLine.offset)).where(OutputLine.experiment_id == exp.id)).one()
                next_offset = (top + 1) if top is not None else 0
            offset, next_offset = next_offset, next_offset + 1
        rows.append({"experiment_id": exp.id, "offset": offset, "stderr": line.stderr, "text": line.text,
                     "timestamp": line.timestamp})
    session.execute(insert(OutputLine.__table__), rows)
    return len(rows)


# --- assets -------------------------------------------------------------------------------

def store_asset(session: Session, actor: Actor, key: str, *, data: bytes | BinaryIO | None, type: str,
                name: str | None, step: int | None = None, epoch: int | None = None, context: str | None = None,
                metadata: dict | str | None = None, asset_id: str | None = None,
                content_type: str | None = None, remote_url: str | None = None,
                settings: Settings | None = None) -> Asset:
    """Store an asset's bytes under a generated name and record it; or, with ``remote_url``
    (log_remote_asset), record a link to data kept elsewhere, with no bytes. Re-sending an
    asset_id already stored for this experiment returns that asset unchanged."""
    settings = settings or Settings.from_env()
    type = asset_files.check_type(type)
    if remote_url is not None:
        remote_url = asset_files.check_remote_url(remote_url)
    elif data is None:
        raise Invalid("An asset needs its bytes or a remote URL")
    asset_id = asset_files.check_asset_id(asset_id)
    metadata_json = asset_files.check_metadata(metadata)
    display = asset_files.display_name(name)
    if context is not None and len(context) > 64:
        raise Invalid("context must be at most 64 characters")
    for label, value in (("step", step), ("epoch", epoch)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise Invalid(f"{label} must be a whole number")
        if value is not None and abs(value) > 2**53:
            raise Invalid(f"{label} must be between -2**53 and 2**53")
    exp = writable(session, actor, key).experiment
    if asset_id is not None:
        existing = session.exec(select(Asset).where(Asset.asset_id == asset_id)).first()
        if existing is not None:
            if existing.experiment_id != exp.id:
                raise Conflict("asset_id is already used by another experiment")
            return existing
    if remote_url is None:
        storage_path, size = asset_files.write_file(settings, data, settings.max_asset_mb * 1024 * 1024)
    else:
        storage_path, size = "", 0
    asset = Asset(asset_id=asset_id or uuid.uuid4().hex, experiment_id=exp.id, type=type, file_name=display,
                  step=step, epoch=epoch, context=context or None, metadata_json=metadata_json, size=size,
                  storage_path=storage_path, content_type=asset_files.content_type_for(display, content_type),
                  cm_example=asset_files.is_cm_example(type, display), remote_url=remote_url)
    session.add(asset)
    if storage_path:
        # If the row is refused, now or when the transaction commits, its file goes with it.
        event.listen(session, "after_rollback", lambda _s: asset_files.delete_files(settings, [storage_path]),
                     once=True)
    session.flush()
    exp.updated_at = utcnow()
    session.add(exp)
    return asset

