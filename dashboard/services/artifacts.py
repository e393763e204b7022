"""Artifacts: versioned, typed collections of files kept per workspace (comet_ml's
``Artifact``/``log_artifact``/``get_artifact``).

Who may do what: members of the artifact's workspace read it (a key acting for another
workspace does not); a run logs versions into its own project's workspace, so only someone
who may write to that experiment creates versions, uploads their files and closes them.
Everything else answers NotFound (no existence leak). Files are kept in the asset store
through ``dashboard.services.assets`` only.
"""
from __future__ import annotations

import json
import re
import uuid
from urllib.parse import quote
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy import event, func
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from dashboard.auth import Actor, actor_role
from dashboard.config import Settings
from dashboard.errors import Conflict, Forbidden, Invalid, NotFound
from dashboard.services import assets as asset_files
from dashboard.services import experiments
from dashboard.services.names import without_bidi
from models import Artifact, ArtifactFile, ArtifactUse, ArtifactVersion, Experiment, Project, User, Workspace, utcnow

STATES = ("OPEN", "CLOSED", "ERROR")
LATEST = "latest"
NAME_MAX = 255
TYPE_MAX = 100
LABEL_MAX = 100
LABELS_MAX = 50
_VERSION = re.compile(r"^(\d{1,9})\.(\d{1,9})\.(\d{1,9})([-+][0-9A-Za-z.+-]{1,40})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:$")


class NotFinal(Invalid):
    """The version asked for is still uploading (OPEN) or failed (ERROR)."""


# --- checks ---------------------------------------------------------------------------------

def _text(value, label: str, limit: int, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise Invalid(f"{label} is required")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{label} must be a string")
    value = without_bidi(_CONTROL.sub("", value)).strip()
    if required and not value:
        raise Invalid(f"{label} is required")
    if len(value) > limit:
        raise Invalid(f"{label} must be at most {limit} characters")
    return value


def check_name(value) -> str:
    name = _text(value, "The artifact name", NAME_MAX)
    if "/" in name or ":" in name:
        raise Invalid("An artifact name can't hold '/' or ':'")
    if name in (".", ".."):
        raise Invalid("An artifact name can't be '.' or '..'")
    return name


def logical_path(name) -> str:
    """An artifact file's path inside its artifact, kept so that no client writing it under a
    download folder can leave that folder: '/'-separated (backslashes too), relative, with no
    empty, '.' or '..' segments and no drive letter."""
    parts = [p.strip() for p in re.split(r"[\\/]+", asset_files.display_name(name))]
    parts = [p for p in parts if p not in ("", ".", "..")]
    if parts and _DRIVE.match(parts[0]):
        parts = parts[1:]
    return "/".join(parts) or "asset"


def _labels(values, label: str) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise Invalid(f"{label} must be a list of strings")
    if len(values) > LABELS_MAX:
        raise Invalid(f"At most {LABELS_MAX} {label}")
    out: list[str] = []
    for value in values:
        text = _text(value, label, LABEL_MAX, required=False)
        if text and text not in out:
            out.append(text)
    return out


def parse_version(value) -> tuple[str, tuple[int, int, int]]:
    text = _text(value, "version", 64)
    match = _VERSION.match(text)
    if match is None:
        raise Invalid("version must be a semantic version like 1.2.0")
    return text, (int(match[1]), int(match[2]), int(match[3]))


def _metadata(value) -> str | None:
    if value in (None, "", {}):
        return None
    return asset_files.check_metadata(value)


def _loads(text: str | None, default):
    try:
        return json.loads(text) if text else default
    except ValueError:
        return default


# --- reading --------------------------------------------------------------------------------

def _member(session: Session, actor: Actor, workspace_id: int) -> bool:
    return actor_role(session, actor, workspace_id) is not None


def readable_workspace(session: Session, actor: Actor, name: str) -> Workspace:
    ws = session.exec(select(Workspace).where(func.lower(Workspace.name) == (name or "").lower())).first()
    if ws is None or not _member(session, actor, ws.id):
        raise NotFound(f"Workspace '{name}' not found")
    return ws


def _workspace_of(session: Session, exp: Experiment) -> Workspace:
    project = session.get(Project, exp.project_id)
    return session.get(Workspace, project.workspace_id)


def find_artifact(session: Session, actor: Actor, workspace: str | None = None, name: str | None = None,
                  artifact_id: str | None = None, experiment_key: str | None = None) -> Artifact:
    """An artifact the actor may read, by id or by workspace and name (with no workspace, the
    one of ``experiment_key``'s project, as comet_ml's get_artifact leaves it to the server)."""
    if artifact_id:
        artifact = session.get(Artifact, str(artifact_id))
        if artifact is None or not _member(session, actor, artifact.workspace_id):
            raise NotFound(f"Artifact '{artifact_id}' not found")
        return artifact
    name = check_name(name)
    if workspace:
        ws = readable_workspace(session, actor, workspace)
    elif experiment_key:
        ws = _workspace_of(session, experiments.get_readable(session, actor, experiment_key))
        if not _member(session, actor, ws.id):
            raise NotFound(f"Artifact '{name}' not found")
    else:
        raise Invalid("workspace is required")
    artifact = session.exec(select(Artifact).where(Artifact.workspace_id == ws.id, Artifact.name == name)).first()
    if artifact is None:
        raise NotFound(f"Artifact '{ws.name}/{name}' not found")
    return artifact


def versions_of(session: Session, artifact: Artifact) -> list[ArtifactVersion]:
    """Oldest to newest by semantic version (then creation)."""
    rows = session.exec(select(ArtifactVersion).where(ArtifactVersion.artifact_id == artifact.id)).all()
    return sorted(rows, key=lambda v: (v.major, v.minor, v.patch, v.created_at, v.version))


def aliases(version: ArtifactVersion, latest: ArtifactVersion | None) -> list[str]:
    """The version's aliases, "latest" first on the newest version."""
    own = _loads(version.aliases_json, [])
    if latest is not None and latest.id == version.id:
        return [LATEST] + [a for a in own if a.lower() != LATEST]
    return own


def tags(version: ArtifactVersion) -> list[str]:
    return _loads(version.tags_json, [])


def metadata(version: ArtifactVersion) -> dict:
    return _loads(version.metadata_json, {})


def find_version(session: Session, artifact: Artifact, version: str | None = None, alias: str | None = None,
                 version_id: str | None = None, version_or_alias: str | None = None,
                 require_closed: bool = False) -> ArtifactVersion:
    """One version of an artifact: by id, version, alias, or either; none asked: the newest."""
    found = versions_of(session, artifact)
    latest = found[-1] if found else None
    match = None
    if version_id:
        match = next((v for v in found if v.id == version_id), None)
    elif version:
        match = next((v for v in found if v.version == version), None)
    elif alias or version_or_alias:
        wanted = alias or version_or_alias
        if version_or_alias:
            match = next((v for v in found if v.version == wanted), None)
        if match is None:
            match = next((v for v in reversed(found)
                          if wanted.lower() in (a.lower() for a in aliases(v, latest))), None)
    else:
        match = latest
    if match is None:
        raise NotFound(f"Artifact version not found: {artifact.name} "
                       f"{version_id or version or alias or version_or_alias or ''}".strip())
    if require_closed and match.state != "CLOSED":
        raise NotFinal(f"Artifact {artifact.name} {match.version} is not ready ({match.state})")
    return match


def files_of(session: Session, version: ArtifactVersion) -> list[ArtifactFile]:
    return list(session.exec(select(ArtifactFile).where(ArtifactFile.version_id == version.id)
                             .order_by(ArtifactFile.id)).all())


def file_of(session: Session, actor: Actor, version_id: str, asset_id: str) -> ArtifactFile:
    """A file of a version the actor may read."""
    version = session.get(ArtifactVersion, str(version_id or ""))
    if version is not None:
        artifact = session.get(Artifact, version.artifact_id)
        if _member(session, actor, artifact.workspace_id):
            row = session.exec(select(ArtifactFile).where(ArtifactFile.version_id == version.id,
                                                          ArtifactFile.asset_id == (asset_id or ""))).first()
            if row is not None:
                return row
    raise NotFound("Artifact file not found")


def record_use(session: Session, actor: Actor, version: ArtifactVersion, consumer_key: str) -> None:
    """``consumer_key``'s experiment fetched this version (once per experiment and version)."""
    exp = experiments.get_writable(session, actor, consumer_key)
    seen = session.exec(select(ArtifactUse.id).where(ArtifactUse.version_id == version.id,
                                                     ArtifactUse.experiment_id == exp.id)).first()
    if seen is None:
        session.add(ArtifactUse(version_id=version.id, experiment_id=exp.id))
        session.flush()


# --- writing --------------------------------------------------------------------------------

@dataclass
class Upserted:
    artifact: Artifact
    version: ArtifactVersion
    previous: str | None


def upsert(session: Session, actor: Actor, experiment_key: str, name, type, version=None, aliases_=None,
           tags_=None, metadata_=None) -> Upserted:
    """A new version of the named artifact in the experiment's workspace (created on first use):
    the version given, else the next major version (1.0.0, 2.0.0, ...). Custom aliases move to
    this version from older ones."""
    exp = experiments.get_writable(session, actor, experiment_key)
    ws = _workspace_of(session, exp)
    name = check_name(name)
    type = _text(type, "The artifact type", TYPE_MAX)
    alias_list = [a for a in _labels(aliases_, "aliases") if a.lower() != LATEST]
    tag_list = _labels(tags_, "version tags")
    metadata_json = _metadata(metadata_)
    artifact = session.exec(select(Artifact).where(Artifact.workspace_id == ws.id, Artifact.name == name)).first()
    if artifact is None:
        artifact = Artifact(id=str(uuid.uuid4()), workspace_id=ws.id, name=name, type=type,
                            created_by_id=actor.user_id)
        session.add(artifact)
        _flush_or_conflict(session)
    found = versions_of(session, artifact)
    previous = found[-1].version if found else None
    if version not in (None, ""):
        text, (major, minor, patch) = parse_version(version)
        if any(v.version == text for v in found):
            raise Conflict(f"Version {text} of artifact '{name}' already exists")
    else:
        major = (max(v.major for v in found) + 1) if found else 1
        minor = patch = 0
        text = f"{major}.0.0"
    for older in found:
        kept = [a for a in _loads(older.aliases_json, []) if a not in alias_list]
        if len(kept) != len(_loads(older.aliases_json, [])):
            older.aliases_json = json.dumps(kept)
            session.add(older)
    row = ArtifactVersion(id=str(uuid.uuid4()), artifact_id=artifact.id, version=text, major=major, minor=minor,
                          patch=patch, aliases_json=json.dumps(alias_list), tags_json=json.dumps(tag_list),
                          metadata_json=metadata_json, experiment_id=exp.id, created_by_id=actor.user_id)
    artifact.type = type
    artifact.updated_at = utcnow()
    session.add_all([row, artifact])
    _flush_or_conflict(session)
    return Upserted(artifact, row, previous)


def _flush_or_conflict(session: Session) -> None:
    """Two runs logging the same artifact at the same moment: the second one is told to retry."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("The artifact changed while this version was being created; log it again") from exc


def _own_version(session: Session, actor: Actor, version_id: str, experiment_key: str | None) -> ArtifactVersion:
    """A version the actor may change: logged in a workspace where they write, and, when an
    experiment is named, logged by that experiment."""
    version = session.get(ArtifactVersion, str(version_id or ""))
    if version is None:
        raise NotFound("Artifact version not found")
    artifact = session.get(Artifact, version.artifact_id)
    role = actor_role(session, actor, artifact.workspace_id)
    if role is None:
        raise NotFound("Artifact version not found")
    if not role.can_write:
        raise Forbidden("You can't change artifacts in this workspace (read-only access)")
    if experiment_key is not None:
        exp = experiments.get_writable(session, actor, experiment_key)
        if version.experiment_id != exp.id:
            raise NotFound("Artifact version not found")
    return version


def set_state(session: Session, actor: Actor, version_id: str, experiment_key: str, state) -> ArtifactVersion:
    if state not in STATES:
        raise Invalid(f"state must be one of: {', '.join(STATES)}")
    version = _own_version(session, actor, version_id, experiment_key)
    version.state = state
    version.updated_at = utcnow()
    session.add(version)
    return version


def set_labels(session: Session, actor: Actor, version_id: str, aliases_=None, tags_=None,
               metadata_=None) -> ArtifactVersion:
    """LoggedArtifact.update_aliases / update_version_tags (and metadata): replaces what is given."""
    version = _own_version(session, actor, version_id, None)
    if aliases_ is not None:
        alias_list = [a for a in _labels(aliases_, "aliases") if a.lower() != LATEST]
        artifact = session.get(Artifact, version.artifact_id)
        for other in versions_of(session, artifact):
            if other.id != version.id:
                kept = [a for a in _loads(other.aliases_json, []) if a not in alias_list]
                other.aliases_json = json.dumps(kept)
                session.add(other)
        version.aliases_json = json.dumps(alias_list)
    if tags_ is not None:
        version.tags_json = json.dumps(_labels(tags_, "version tags"))
    if metadata_ is not None:
        version.metadata_json = _metadata(metadata_)
    version.updated_at = utcnow()
    session.add(version)
    return version


def store_file(session: Session, actor: Actor, experiment_key: str, version_id: str, *, name,
               data: bytes | BinaryIO | None = None, remote_url: str | None = None, type: str | None = None,
               metadata_=None, asset_id: str | None = None, content_type: str | None = None,
               settings: Settings) -> ArtifactFile:
    """A file of an OPEN version, by the experiment that logged it: its bytes go to the asset
    store, or it is a remote link. Re-sending an asset id already stored returns that file."""
    version = _own_version(session, actor, version_id, experiment_key)
    if version.state != "OPEN":
        raise Conflict("This artifact version is closed; log a new version instead")
    if remote_url is not None:
        remote_url = asset_files.check_remote_url(remote_url)
    elif data is None:
        raise Invalid("An artifact file needs its bytes or a remote URL")
    asset_id = asset_files.check_asset_id(asset_id) or uuid.uuid4().hex
    existing = session.exec(select(ArtifactFile).where(ArtifactFile.version_id == version.id,
                                                       ArtifactFile.asset_id == asset_id)).first()
    if existing is not None:
        return existing
    display = logical_path(name)
    kind = _text(type, "type", TYPE_MAX, required=False) or "asset"
    metadata_json = _metadata(metadata_)
    if remote_url is None:
        storage_path, size = asset_files.write_file(settings, data, settings.max_asset_mb * 1024 * 1024)
        event.listen(session, "after_rollback", lambda _s: asset_files.delete_files(settings, [storage_path]),
                     once=True)
    else:
        storage_path, size = "", 0
    row = ArtifactFile(version_id=version.id, asset_id=asset_id, file_name=display, type=kind, size=size,
                       storage_path=storage_path, remote_url=remote_url, metadata_json=metadata_json,
                       content_type=asset_files.content_type_for(display, content_type))
    session.add(row)
    # concurrent uploads of one version each add their size
    session.execute(sa_update(ArtifactVersion).where(ArtifactVersion.id == version.id)
                    .values(size=ArtifactVersion.size + size, updated_at=utcnow()))
    session.flush()
    return row


# --- pages ----------------------------------------------------------------------------------

@dataclass
class ArtifactRow:
    artifact: Artifact
    latest: ArtifactVersion | None
    count: int
    size: int
    updated_at: object


def list_artifacts(session: Session, actor: Actor, workspace: str, type: str | None = None) -> list[ArtifactRow]:
    """The artifacts of a workspace the actor belongs to, most recently updated first."""
    ws = readable_workspace(session, actor, workspace)
    stmt = select(Artifact).where(Artifact.workspace_id == ws.id)
    if type:
        stmt = stmt.where(Artifact.type == type)
    rows = []
    for artifact in session.exec(stmt).all():
        found = versions_of(session, artifact)
        rows.append(ArtifactRow(artifact, found[-1] if found else None, len(found), sum(v.size or 0 for v in found),
                                artifact.updated_at))
    return sorted(rows, key=lambda r: (r.updated_at, r.artifact.name), reverse=True)


@dataclass
class ExperimentLink:
    key: str
    name: str | None
    href: str


@dataclass
class VersionView:
    version: ArtifactVersion
    aliases: list[str]
    tags: list[str]
    metadata: dict
    files: list[ArtifactFile]
    logged_by: ExperimentLink | None  # None: deleted (logger_deleted) or not readable by the actor
    used_by: list[ExperimentLink] = field(default_factory=list)
    logger_deleted: bool = False


def _link(session: Session, actor: Actor, exp: Experiment | None) -> ExperimentLink | None:
    """A link to an experiment the actor may read (None otherwise)."""
    if exp is None:
        return None
    try:
        experiments.get_readable(session, actor, exp.key)
    except NotFound:
        return None
    ws, project = experiments.location(session, exp)
    return ExperimentLink(exp.key, exp.name, experiments.url_path(ws, project, exp.key))


def version_views(session: Session, actor: Actor, artifact: Artifact) -> list[VersionView]:
    """Every version of an artifact (newest first) with its files and experiments."""
    found = versions_of(session, artifact)
    latest = found[-1] if found else None
    views = []
    for v in reversed(found):
        users = session.exec(select(Experiment).join(ArtifactUse, ArtifactUse.experiment_id == Experiment.id)
                             .where(ArtifactUse.version_id == v.id).order_by(ArtifactUse.id)).all()
        logged_by = session.get(Experiment, v.experiment_id) if v.experiment_id else None
        views.append(VersionView(v, aliases(v, latest), tags(v), metadata(v), files_of(session, v),
                                 _link(session, actor, logged_by),
                                 [link for link in (_link(session, actor, e) for e in users) if link],
                                 logger_deleted=logged_by is None))
    return views


def owner_name(session: Session, user_id: int | None) -> str | None:
    user = session.get(User, user_id) if user_id else None
    return user.username if user else None


@dataclass
class ExperimentArtifact:
    workspace: str
    name: str
    type: str
    version: str
    href: str


def experiment_artifacts(session: Session, actor: Actor, exp: Experiment) -> tuple[list, list] | None:
    """(versions the experiment logged, versions it used), or None when the actor isn't a member
    of the workspace (artifacts are the workspace's). A version of another workspace's artifact
    is listed only to members of that workspace, and links to it there."""
    if not _member(session, actor, _workspace_of(session, exp).id):
        return None
    members: dict[int, bool] = {}

    def rows(stmt):
        out = []
        for version, artifact, ws in session.exec(stmt).all():
            if ws.id not in members:
                members[ws.id] = _member(session, actor, ws.id)
            if members[ws.id]:
                out.append(ExperimentArtifact(ws.name, artifact.name, artifact.type, version.version,
                                              artifact_href(ws.name, artifact.name)))
        return out

    base = (select(ArtifactVersion, Artifact, Workspace).join(Artifact, Artifact.id == ArtifactVersion.artifact_id)
            .join(Workspace, Workspace.id == Artifact.workspace_id))
    logged = rows(base.where(ArtifactVersion.experiment_id == exp.id).order_by(Artifact.name, ArtifactVersion.created_at))
    used = rows(base.join(ArtifactUse, ArtifactUse.version_id == ArtifactVersion.id)
                .where(ArtifactUse.experiment_id == exp.id).order_by(ArtifactUse.id))
    return logged, used


def has_artifacts(session: Session, exp: Experiment) -> bool:
    logged = session.exec(select(ArtifactVersion.id).where(ArtifactVersion.experiment_id == exp.id).limit(1)).first()
    used = session.exec(select(ArtifactUse.id).where(ArtifactUse.experiment_id == exp.id).limit(1)).first()
    return logged is not None or used is not None


def artifact_href(workspace: str, name: str) -> str:
    return f"/artifacts/{quote(workspace, safe='')}/{quote(name, safe='')}"


def file_href(version: ArtifactVersion, row: ArtifactFile) -> str:
    return f"/api/v1/artifact-versions/{version.id}/files/{row.asset_id}"
