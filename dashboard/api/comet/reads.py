"""``comet_ml.API`` / ``APIExperiment`` reads under /api/rest/v2, in the shapes the SDK
parses: account, workspaces, projects, experiments and one experiment's metadata, metrics,
parameters, others, tags, assets, system details, output, HTML, graph, code and git."""
from __future__ import annotations

import json

from flask import Response, request

from dashboard import context
from dashboard.api import asset_download
from dashboard.api.comet import comet_route, error, experiment_key, ok, rest
from dashboard.api.comet import artifacts as artifact_api
from dashboard.auth import Actor
from dashboard.errors import NotFound
from dashboard.importers import comet_format as cf
from dashboard.services import assets as asset_service
from dashboard.services import experiments, metrics, projects, workspaces
from models import AssetType, ExperimentStatus


def _ms(value) -> int | None:
    value = experiments.as_utc(value)
    return int(value.timestamp() * 1000) if value is not None else None


def _ts_ms(seconds: float | None) -> int | None:
    return int(seconds * 1000) if seconds is not None else None


def _text(value) -> str | None:
    """comet_ml reports values as strings (NaN/Inf as "NaN", "Infinity", "-Infinity")."""
    if value is None:
        return None
    if isinstance(value, float):
        encoded = metrics.encode_value(value)
        return encoded if isinstance(encoded, str) else repr(value)
    return str(value)


def comet_metadata(exp, workspace: str, project: str) -> dict:
    status = experiments.effective_status(exp)
    duration = experiments.duration_s(exp)
    return {
        "experimentKey": exp.key, "experimentName": exp.name, "workspaceName": workspace,
        "projectName": project, "projectId": str(exp.project_id), "archived": exp.archived,
        "startTimeMillis": _ms(exp.start_time), "endTimeMillis": _ms(exp.end_time),
        "durationMillis": int(duration * 1000) if duration is not None else None,
        "fileName": exp.file_name, "filePath": exp.file_path, "optimizationId": None,
        "running": status == ExperimentStatus.running.value, "hasCrashed": status == ExperimentStatus.crashed.value,
        "status": status, "throttle": False,
    }


def readable(session, actor: Actor):
    exp = experiments.get_readable(session, actor, experiment_key())
    return exp, *experiments.location(session, exp)


@comet_route(rest("account-details"), methods=("GET",))
def account_details(actor: Actor):
    with context.db().session() as s:
        return ok({"userName": actor.username, "defaultWorkspaceName": workspaces.default_workspace_name(s, actor)})


@comet_route(rest("workspaces"), methods=("GET",))
def workspace_names(actor: Actor):
    with context.db().session() as s:
        return ok({"workspaceNames": [w.name for w in workspaces.list_for(s, actor)]})


@comet_route(rest("projects"), methods=("GET",))
def project_list(actor: Actor):
    name = request.args.get("workspaceName") or ""
    with context.db().session() as s:
        ws = workspaces.get_readable(s, actor, name)
        rows = projects.list_readable(s, actor, ws.id)
    return ok({"projects": [{
        "projectId": str(p.id), "projectName": p.name, "workspaceName": ws.name, "projectDescription": p.description,
        "public": p.is_public, "numberOfExperiments": p.experiment_count, "lastUpdated": _ms(p.updated_at),
    } for p in rows]})


@comet_route(rest("experiments"), methods=("GET",))
def experiment_list(actor: Actor):
    ws, project = request.args.get("workspaceName") or "", request.args.get("projectName") or ""
    archived = (request.args.get("archived") or "").lower() == "true"
    with context.db().session() as s:
        found = experiments.list_for_project(s, actor, ws, project, include_archived=archived)
        found = [e for e in found if e.archived == archived]
        ws, project = experiments.location(s, found[0]) if found else (ws, project)  # one project: names once
    return ok({"experiments": [comet_metadata(e, ws, project) for e in found]})


@comet_route(rest("experiment/metadata"), methods=("GET",))
def experiment_metadata(actor: Actor):
    with context.db().session() as s:
        exp, ws, project = readable(s, actor)
        return ok(comet_metadata(exp, ws, project))


def _points(session, exp, name: str | None) -> list[dict]:
    """One metric's points (or every metric's, in one query) in comet_ml's shape."""
    return [{"metricName": p["name"], "metricValue": _text(p["value"]), "timestamp": _ts_ms(p["timestamp"]),
             "step": p["step"], "epoch": p["epoch"], "runContext": p["context"], "offset": i}
            for i, p in enumerate(metrics.points(session, exp.id, name))]


@comet_route(rest("experiment/metrics/get-all"), methods=("GET",))
def metrics_all(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        return ok({"metrics": _points(s, exp, None)})


@comet_route(rest("experiment/metrics/get-metric"), methods=("GET",))
def metric_one(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        return ok({"metrics": _points(s, exp, request.args.get("metricName") or "")})


@comet_route(rest("experiment/metrics/summary"), methods=("GET",))
def metrics_summary(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        rows = metrics.summaries(s, [exp.id])
    return ok({"values": [{
        "name": m.name, "valueMax": _text(m.max_value), "valueMin": _text(m.min_value),
        "valueCurrent": _text(m.last_value) if m.last_value is not None else ("NaN" if m.count else None),
        "timestampMax": _ts_ms(m.last_timestamp), "timestampMin": _ts_ms(m.first_timestamp),
        "timestampCurrent": _ts_ms(m.last_timestamp), "stepMax": m.max_step, "stepMin": m.min_step,
        "stepCurrent": m.last_step, "editable": False,
    } for m in rows]})


def _summary(name: str, value: str | None, step=None, when=None, editable=True) -> dict:
    return {"name": name, "valueMax": value, "valueMin": value, "valueCurrent": value, "timestampMax": when,
            "timestampMin": when, "timestampCurrent": when, "stepMax": step, "stepMin": step, "stepCurrent": step,
            "editable": editable}


@comet_route(rest("experiment/parameters"), methods=("GET",))
def parameter_summary(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        rows = experiments.parameters(s, exp)
    return ok({"values": [_summary(p.name, p.value_text, p.step, _ms(p.updated_at)) for p in rows]})


@comet_route(rest("experiment/log-other"), methods=("GET",))
def other_summary(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        rows = experiments.others(s, exp)
    return ok({"values": [_summary(o.key, o.value) for o in rows]})


@comet_route(rest("experiment/tags"), methods=("GET",))
def read_tags(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        return ok({"tags": experiments.tags(s, exp)})


def comet_asset(asset, key: str) -> dict:
    meta = asset_service.asset_dict(asset)["metadata"]
    return {
        "assetId": asset.asset_id, "fileName": asset.file_name, "fileSize": asset.size, "step": asset.step,
        "epoch": asset.epoch, "runContext": asset.context, "type": cf.comet_upload_type(asset.type, meta),
        "metadata": json.dumps(meta) if meta else None, "createdAt": _ms(asset.created_at),
        "grouping": meta.get("groupingName"), "image": asset.type == AssetType.image.value,
        "link": asset.remote_url or
        f"{request.host_url}api/rest/v2/experiment/asset/get-asset?experimentKey={key}&assetId={asset.asset_id}",
        "remote": bool(asset.remote_url),
    }


@comet_route(rest("experiment/asset/list"), methods=("GET",))
def asset_list(actor: Actor):
    wanted = request.args.get("type") or "all"
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        rows = asset_service.list_for(s, exp, None if wanted == "all" else cf.asset_type(wanted).value)
    return ok({"assets": [comet_asset(a, exp.key) for a in rows]})


@comet_route(rest("experiment/asset/get-asset"), methods=("GET",))
def get_asset(actor: Actor):
    if request.args.get("artifactVersionId"):
        return artifact_api.file_download(actor, request.args["artifactVersionId"])
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        asset = asset_service.find(s, exp, request.args.get("assetId") or "")
    return asset_download(asset)


def _os_packages(session, exp) -> list[str]:
    for asset in asset_service.list_for(session, exp, AssetType.file.value):
        if asset_service.asset_dict(asset)["metadata"].get("comet_upload_type") == cf.OS_PACKAGES_KIND:
            try:
                return asset_service.read_asset(context.settings(), asset).decode("utf-8").splitlines()
            except NotFound:
                return []
    return []


@comet_route(rest("experiment/system-details"), methods=("GET",))
def read_system_details(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        system = experiments.system(exp)
        os_packages = _os_packages(s, exp)
    d, info = system["details"], dict(system["system_info"])
    reserved = {"gpu_static_info", "machine", "processor", "os_release", "python_version_verbose",
                "dependencies", "git_repo_name", "cloud_provider", "cloud_metadata"}
    return ok({
        "experimentKey": exp.key, "user": d["os_user"], "hostname": d["host"], "ip": d["ip"], "os": d["os"],
        "osType": d["os_type"], "osRelease": info.get("os_release"), "pid": d["pid"],
        "pythonVersion": d["python_version"], "pythonVersionVerbose": info.get("python_version_verbose"),
        "executable": d["python_executable"], "command": d["command"], "machine": info.get("machine"),
        "processor": info.get("processor"), "installedPackages": system["installed_packages"],
        "osPackages": os_packages, "gpuStaticInfoList": info.get("gpu_static_info") or [],
        "logAdditionalSystemInfoList": [{"key": k, "value": v} for k, v in info.items() if k not in reserved],
        "dependencies": info.get("dependencies") or {}, "networkInterfaceIps": [], "totalRam": None,
        "maxTotalMemory": None, "systemMetricNames": [],
    })


@comet_route(rest("experiment/output"), methods=("GET",))
def read_output(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        lines = experiments.output(s, exp)
    return ok({"output": "".join(line.text + "\n" for line in lines)})


@comet_route(rest("experiment/html"), methods=("GET",))
def read_html(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        return ok({"html": exp.html or ""})


@comet_route(rest("experiment/graph"), methods=("GET",))
def read_graph(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        return ok({"graph": exp.graph})


@comet_route(rest("experiment/git/metadata"), methods=("GET",))
def read_git_metadata(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
    return ok({"user": exp.git_user, "root": exp.git_root, "branch": exp.git_branch, "parent": exp.git_commit,
               "origin": exp.git_remote})


def _asset_bytes(session, exp, kind: AssetType, last: bool) -> bytes | None:
    """The bytes of the experiment's first (or last) asset of a kind."""
    rows = asset_service.list_for(session, exp, kind.value)
    if not rows:
        return None
    try:
        return asset_service.read_asset(context.settings(), rows[-1 if last else 0])
    except NotFound:
        return None


@comet_route(rest("experiment/git/patch"), methods=("GET",))
def read_git_patch(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        patch = _asset_bytes(s, exp, AssetType.git_patch, last=True)
    if patch is None:
        return ok({"msg": "No git patch was logged"})
    return Response(cf.patch_zip(patch), mimetype="application/zip")


@comet_route(rest("experiment/code"), methods=("GET",))
def read_code(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        data = _asset_bytes(s, exp, AssetType.code, last=False)
    return ok({"code": data.decode("utf-8", "replace") if data is not None else None})


@comet_route(rest("<path:unknown>"), methods=("GET", "POST", "PUT", "DELETE"), public=True)
def rest_unknown(unknown: str):
    """Anything else under the REST prefixes is a clear JSON 404 (never the web app's HTML)."""
    return error(404, f"Endpoint {request.path} is not offered by this server")
