"""Artifacts of a workspace (members only): the list, one artifact's versions with their files
and experiments, a version by version or alias, and a file's download; and the writes of the
SDK's ``log_artifact`` (a new version, its files, then its state)."""
from __future__ import annotations

from flask import jsonify, request

from dashboard import context
from dashboard.errors import Invalid
from dashboard.api import asset_download, json_body, key_route, read_route
from dashboard.services import artifacts
from dashboard.services.experiments import iso
from dashboard.webauth import changes_state_on_get
from models import Experiment, Workspace


@read_route("/workspaces/<workspace>/artifacts", methods=["GET"])
def list_artifacts(workspace, actor):
    """The workspace's artifacts (?type= one type), most recently updated first."""
    with context.db().session() as s:
        rows = artifacts.list_artifacts(s, actor, workspace, request.args.get("type") or None)
    return jsonify({"artifacts": [{
        "id": r.artifact.id, "name": r.artifact.name, "type": r.artifact.type,
        "latest_version": r.latest.version if r.latest else None, "versions": r.count, "size": r.size,
        "updated_at": iso(r.updated_at)} for r in rows]})


@read_route("/workspaces/<workspace>/artifacts/<name>", methods=["GET"])
def get_artifact(workspace, name, actor):
    """One artifact: its versions (newest first) with aliases, tags, metadata, files, the
    experiment that logged each and the experiments that used it."""
    with context.db().session() as s:
        artifact = artifacts.find_artifact(s, actor, workspace=workspace, name=name)
        views = artifacts.version_views(s, actor, artifact)
    return jsonify({"id": artifact.id, "name": artifact.name, "type": artifact.type, "versions": [{
        "id": v.version.id, "version": v.version.version, "state": v.version.state, "size": v.version.size,
        "aliases": v.aliases, "tags": v.tags, "metadata": v.metadata, "created_at": iso(v.version.created_at),
        "logged_by": v.logged_by.key if v.logged_by else None, "used_by": [u.key for u in v.used_by],
        "files": [file_json(f) for f in v.files],
    } for v in views]})


def file_json(f) -> dict:
    return {"asset_id": f.asset_id, "name": f.file_name, "size": f.size, "remote_url": f.remote_url, "type": f.type}


def version_json(session, artifact, version) -> dict:
    found = artifacts.versions_of(session, artifact)
    logged_by = session.get(Experiment, version.experiment_id) if version.experiment_id else None
    return {"artifact_id": artifact.id, "name": artifact.name, "type": artifact.type,
            "workspace": session.get(Workspace, artifact.workspace_id).name, "version_id": version.id,
            "version": version.version, "state": version.state, "size": version.size,
            "aliases": artifacts.aliases(version, found[-1]), "tags": artifacts.tags(version),
            "metadata": artifacts.metadata(version), "logged_by": logged_by.key if logged_by else None,
            "files": [file_json(f) for f in artifacts.files_of(session, version)]}


@read_route("/workspaces/<workspace>/artifacts/<name>/version", methods=["GET"])
def get_artifact_version(workspace, name, actor):
    """One version (?version_or_alias=, default the newest), which must be complete; with
    ?experiment_key= that experiment is recorded as using it (not when a signed-in browser is sent
    here from another site: that would be a change made on its behalf, see below)."""
    consumer = request.args.get("experiment_key")
    with context.db().session() as s:
        artifact = artifacts.find_artifact(s, actor, workspace=workspace, name=name)
        version = artifacts.find_version(s, artifact, version_or_alias=request.args.get("version_or_alias") or None,
                                         require_closed=True)
        if consumer:
            artifacts.record_use(s, actor, version, consumer)
        return jsonify(version_json(s, artifact, version))


changes_state_on_get("api.get_artifact_version", lambda: bool(request.args.get("experiment_key")))


@key_route("/experiments/<key>/artifacts", methods=["POST"])
def create_artifact_version(key, actor):
    """A new version of an artifact (JSON: name, type, version, aliases, version_tags, metadata),
    OPEN until its files are uploaded and its state set."""
    data = json_body()
    with context.db().session() as s:
        done = artifacts.upsert(s, actor, key, data.get("name"), data.get("type"), version=data.get("version"),
                                aliases_=data.get("aliases"), tags_=data.get("version_tags"),
                                metadata_=data.get("metadata"))
        reply = {**version_json(s, done.artifact, done.version), "previous_version": done.previous}
    return jsonify(reply), 201


@key_route("/artifact-versions/<version_id>/files", methods=["POST"])
def upload_artifact_file(version_id, actor):
    """A file of an OPEN version, by the experiment that logged it (?experiment_key=): multipart
    ``file`` and ``name``, or form fields ``name`` and ``remote_url``."""
    upload = request.files.get("file")
    form = request.form
    if upload is None and not form.get("remote_url"):
        raise Invalid("Multipart part 'file' (or field 'remote_url') is required")
    with context.db().session() as s:
        row = artifacts.store_file(s, actor, request.args.get("experiment_key") or "", version_id,
                                   name=form.get("name") or (upload.filename if upload is not None else None),
                                   data=upload.stream if upload is not None else None,
                                   remote_url=form.get("remote_url") if upload is None else None,
                                   asset_id=form.get("asset_id"), metadata_=form.get("metadata"),
                                   settings=context.settings())
        reply = {"asset_id": row.asset_id, "name": row.file_name, "size": row.size}
    return jsonify(reply), 201


@key_route("/artifact-versions/<version_id>/state", methods=["POST"])
def set_artifact_version_state(version_id, actor):
    """Close a version once its files are in (JSON: experiment_key, state CLOSED or ERROR)."""
    data = json_body()
    with context.db().session() as s:
        version = artifacts.set_state(s, actor, version_id, data.get("experiment_key") or "", data.get("state"))
        reply = {"version_id": version.id, "state": version.state}
    return jsonify(reply)


@read_route("/artifact-versions/<version_id>/files/<asset_id>", methods=["GET"])
def download_artifact_file(version_id, asset_id, actor):
    """A stored file of an artifact version."""
    return file_response(actor, version_id, asset_id)


def file_response(actor, version_id: str, asset_id: str):
    """A stored file of an artifact version the actor may read, as a download."""
    with context.db().session() as s:
        row = artifacts.file_of(s, actor, version_id, asset_id)
    return asset_download(row)
