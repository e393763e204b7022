"""Artifacts of a workspace (members only): the list, one artifact's versions with their files
and experiments, and a file's download."""
from __future__ import annotations

from flask import jsonify, request

from dashboard import context
from dashboard.api import attachment, read_route
from dashboard.services import artifacts
from dashboard.services import assets as asset_service
from dashboard.services.experiments import iso


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
        "files": [{"asset_id": f.asset_id, "name": f.file_name, "size": f.size, "remote_url": f.remote_url,
                   "type": f.type} for f in v.files],
    } for v in views]})


@read_route("/artifact-versions/<version_id>/files/<asset_id>", methods=["GET"])
def download_artifact_file(version_id, asset_id, actor):
    """A stored file of an artifact version."""
    return file_response(actor, version_id, asset_id)


def file_response(actor, version_id: str, asset_id: str):
    """A stored file of an artifact version the actor may read, as a download."""
    with context.db().session() as s:
        row = artifacts.file_of(s, actor, version_id, asset_id)
    return attachment(asset_service.open_asset(context.settings(), row), row.content_type,
                      asset_service.safe_download_name(row.file_name))
