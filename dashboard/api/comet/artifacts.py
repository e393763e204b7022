"""comet_ml's artifacts: ``Experiment.log_artifact`` (upsert a version, upload its files with
``artifactVersionId``, remote files in batches, then close it), ``Experiment.get_artifact`` /
``API.get_artifact`` (a version's details, its files, their downloads through get-asset) and
``API.get_artifact_list`` / ``get_artifact_details`` / ``get_artifact_files``."""
from __future__ import annotations

from flask import request

from dashboard import context, safe_json
from dashboard.api.comet import body, comet_route, error, experiment_key, ok, records, rest
from dashboard.auth import Actor
from dashboard.errors import Invalid, NotFound
from dashboard.services import artifacts, experiments
from models import Artifact, ArtifactFile, ArtifactVersion, Experiment, Workspace

# comet_ml's sdk_error_code values (comet_ml/artifacts/artifact_getter.py)
ARTIFACT_NOT_FOUND = 624523
ARTIFACT_NOT_FINAL = 90403


def _ms(value) -> int | None:
    value = experiments.as_utc(value)
    return int(value.timestamp() * 1000) if value is not None else None


def _arg(name: str) -> str | None:
    value = request.args.get(name)
    return value or None


def _artifact_json(session, artifact: Artifact, workspace: str) -> dict:
    return {"artifactId": artifact.id, "artifactName": artifact.name, "artifactType": artifact.type,
            "workspaceName": workspace, "description": artifact.description, "tags": [], "isPublic": False,
            "emoji": None}


def _version_json(session, version: ArtifactVersion, latest: ArtifactVersion | None) -> dict:
    exp = session.get(Experiment, version.experiment_id) if version.experiment_id else None
    return {"artifactVersionId": version.id, "version": version.version,
            "owner": artifacts.owner_name(session, version.created_by_id), "metadata": version.metadata_json,
            "createdFrom": exp.key if exp else None, "experimentKey": exp.key if exp else None,
            "sizeInBytes": version.size or 0, "state": version.state, "added": _ms(version.created_at),
            "alias": artifacts.aliases(version, latest), "tags": artifacts.tags(version)}


def _workspace_name(session, artifact: Artifact) -> str:
    return session.get(Workspace, artifact.workspace_id).name


def _file_json(artifact: Artifact, version: ArtifactVersion, row: ArtifactFile) -> dict:
    return {"artifactId": artifact.id, "artifactVersionId": version.id, "assetId": row.asset_id,
            "fileName": row.file_name, "fileSize": row.size, "link": row.remote_url, "remote": bool(row.remote_url),
            "dir": None, "type": row.type, "metadata": row.metadata_json}


def _not_found(exc: NotFound):
    return error(404, exc.message, ARTIFACT_NOT_FOUND)


# --- writes ---------------------------------------------------------------------------------

@comet_route(rest("write/artifacts/upsert"))
def artifact_upsert(actor: Actor):
    data = body()
    with context.db().session() as s:
        done = artifacts.upsert(s, actor, experiment_key(data), data.get("artifactName"), data.get("artifactType"),
                                version=data.get("version"), aliases_=data.get("alias"),
                                tags_=data.get("versionTags"), metadata_=data.get("versionMetadata"))
        answer = {"artifactId": done.artifact.id, "artifactVersionId": done.version.id,
                  "currentVersion": done.version.version, "previousVersion": done.previous}
    return ok(answer)


@comet_route(rest("write/artifacts/state"))
def artifact_state(actor: Actor):
    data = body()
    with context.db().session() as s:
        artifacts.set_state(s, actor, data.get("artifactVersionId"), experiment_key(data), data.get("state"))
    return ok()


@comet_route(rest("write/artifacts/version/labels"))
def artifact_labels(actor: Actor):
    """LoggedArtifact.update_aliases / update_version_tags."""
    data = body()
    with context.db().session() as s:
        artifacts.set_labels(s, actor, data.get("artifactVersionId"), aliases_=data.get("alias"),
                             tags_=data.get("versionTags"), metadata_=data.get("versionMetadata"))
    return ok()


@comet_route(rest("write/artifact/assets/remote/batch"))
def artifact_remote_batch(actor: Actor):
    """Remote files of artifact versions (Artifact.add_remote), sent together."""
    data = body()
    key = experiment_key(data)
    with context.db().session() as s:
        for item in records(data, "remoteArtifactAssetRequests"):
            store_remote(s, actor, key, item)
    return ok()


def store_remote(session, actor: Actor, key: str, item: dict) -> ArtifactFile:
    return artifacts.store_file(session, actor, key, item.get("artifactVersionId"), name=item.get("fileName"),
                                remote_url=item.get("link") or item.get("remoteUrl"), type=item.get("type"),
                                metadata_=item.get("metadata"), asset_id=item.get("assetId"),
                                settings=context.settings())


def store_upload(actor: Actor, version_id: str, upload, remote_url: str | None):
    """One file of an artifact version, as asset/upload receives it (``artifactVersionId`` in
    the query string): the multipart ``file``, or a ``link`` for a remote file."""
    params = request.args
    try:
        meta = safe_json.loads_object(request.form.get("metadata") or "{}", "metadata")
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    name = params.get("fileName") or (upload.filename if upload is not None else None)
    with context.db().session() as s:
        row = artifacts.store_file(s, actor, experiment_key(), version_id, name=name,
                                   data=upload.stream if upload is not None else None,
                                   remote_url=remote_url if upload is None else None, type=params.get("type"),
                                   metadata_=meta or None, asset_id=params.get("assetId"),
                                   settings=context.settings())
        answer = {"assetId": row.asset_id, "fileName": row.file_name, "size": row.size}
    return ok(answer)


# --- reads ----------------------------------------------------------------------------------

@comet_route(rest("artifacts/get-all"), methods=("GET",))
def artifact_list(actor: Actor):
    with context.db().session() as s:
        rows = artifacts.list_artifacts(s, actor, request.args.get("workspace") or "", _arg("type"))
        workspace = _workspace_name(s, rows[0].artifact) if rows else request.args.get("workspace")
        return ok({"artifacts": [{
            **_artifact_json(s, r.artifact, workspace), "project": None, "type": r.artifact.type,
            "name": r.artifact.name, "latestVersion": r.latest.version if r.latest else None,
            "versionsCount": r.count, "sizeInBytes": r.size, "lastUpdated": _ms(r.updated_at),
        } for r in rows]})


def _find(session, actor: Actor) -> Artifact:
    return artifacts.find_artifact(session, actor, workspace=_arg("workspace"), name=_arg("artifactName"),
                                   artifact_id=_arg("artifactId") or _arg("artifact_id"),
                                   experiment_key=_arg("experimentKey"))


@comet_route(rest("artifacts/get"), methods=("GET",))
def artifact_details(actor: Actor):
    with context.db().session() as s:
        try:
            artifact = _find(s, actor)
        except NotFound as exc:
            return _not_found(exc)
        found = artifacts.versions_of(s, artifact)
        latest = found[-1] if found else None
        return ok({**_artifact_json(s, artifact, _workspace_name(s, artifact)), "project": None,
                   "type": artifact.type, "name": artifact.name,
                   "latestVersion": latest.version if latest else None,
                   "sizeInBytes": sum(v.size or 0 for v in found),
                   "versions": [_version_json(s, v, latest) for v in found]})


@comet_route(rest("artifacts/version"), methods=("GET",))
def artifact_version(actor: Actor):
    """One version's details. A consumer experiment (Experiment.get_artifact) is recorded as
    using it; a version still uploading (or failed) answers "not final" then."""
    consumer = _arg("consumerExperimentKey")
    with context.db().session() as s:
        try:
            artifact = _find(s, actor)
            version = artifacts.find_version(s, artifact, version=_arg("version"), alias=_arg("alias"),
                                             version_id=_arg("versionId"),
                                             version_or_alias=_arg("versionOrAlias"),
                                             require_closed=_arg("versionId") is None)
        except NotFound as exc:
            return _not_found(exc)
        except artifacts.NotFinal as exc:
            return error(400, exc.message, ARTIFACT_NOT_FINAL)
        if consumer:
            artifacts.record_use(s, actor, version, consumer)
        found = artifacts.versions_of(s, artifact)
        answer = {**_version_json(s, version, found[-1]), "artifactVersion": version.version,
                  "artifact": _artifact_json(s, artifact, _workspace_name(s, artifact))}
    return ok(answer)


@comet_route(rest("artifacts/version/files"), methods=("GET",))
def artifact_files(actor: Actor):
    with context.db().session() as s:
        try:
            artifact = _find(s, actor)
            version = artifacts.find_version(s, artifact, version=_arg("version"), alias=_arg("alias"),
                                             version_id=_arg("versionId"))
        except NotFound as exc:
            return _not_found(exc)
        return ok({"files": [_file_json(artifact, version, row) for row in artifacts.files_of(s, version)]})


def file_download(actor: Actor, version_id: str):
    """get-asset with ``artifactVersionId``: a file of an artifact version the actor may read
    (whichever experiment asks)."""
    from dashboard.api.artifacts import file_response

    return file_response(actor, version_id, request.args.get("assetId") or "")
