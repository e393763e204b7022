"""The SDK's REST v2 writes (under /api/rest/v2 and /clientlib/rest/v2): others and the
name, output, system details, file path, git metadata, HTML, graph, dependencies, status,
and the ``APIExperiment`` writers (metric, parameter, tags, upload-asset, stop)."""
from __future__ import annotations

import time

from flask import request

from dashboard import context
from dashboard.api.comet import apply, body, comet_route, experiment_key, ok, records, rest, texts
from dashboard.api.comet.logger import store_patch_upload, store_upload
from dashboard.auth import Actor
from dashboard.errors import Invalid
from dashboard.importers import comet_format as cf
from dashboard.services import experiments, ingest
from models import AssetType, ExperimentStatus


def _others(data: dict) -> list[dict]:
    key = data.get("key")
    if not isinstance(key, str) or not key:
        raise Invalid("key is required")
    return [{"key": key, "value": data.get("value")}]


@comet_route(rest("write/experiment/log-other"))
def log_other(actor: Actor):
    data = body()
    return ok(apply(actor, experiment_key(data), {"others": _others(data)}))


@comet_route(rest("write/experiment/output"))
def output(actor: Actor):
    """stdout/stderr chunks as the SDK captured them, rebuilt into lines. Their
    ``localTimestamp`` is a monotonic clock, so lines get the server's receive time."""
    data = body()
    now = time.time()
    chunks = [(line.get("output"), bool(line.get("stderr")), now)
              for line in records(data, "outputLines")]
    lines = [{**line, "offset": None} for line in cf.output_lines(chunks)]
    return ok(apply(actor, experiment_key(data), {"output": lines}, dedupe=True))


@comet_route(rest("write/experiment/system-details"))
def system_details(actor: Actor):
    """One of: environment details, installed packages, OS packages, GPU list, or
    ``log_system_info`` key/values."""
    data = body()
    key = experiment_key(data)
    details, info = cf.system_details(data)
    if data.get("installedPackages") is not None:
        details["installed_packages"] = texts(data, "installedPackages")
    if data.get("osPackages") is not None:
        os_packages = texts(data, "osPackages")
        with context.db().session() as s:
            ingest.store_asset(s, actor, key, data=cf.os_packages_file(os_packages), type=AssetType.file.value,
                               name=cf.OS_PACKAGES_NAME, metadata={"comet_upload_type": cf.OS_PACKAGES_KIND},
                               asset_id=cf.os_packages_asset_id(key), settings=context.settings())
    if data.get("gpuStaticInfoList") is not None:
        info.append({"key": "gpu_static_info", "value": data["gpuStaticInfoList"]})
    for item in records(data, "logAdditionalSystemInfoList"):
        if isinstance(item.get("key"), str) and item["key"]:
            info.append({"key": item["key"], "value": item.get("value")})
    fields = {"system_info": info}
    if details:
        fields["details"] = details
    return ok(apply(actor, key, fields))


@comet_route(rest("write/experiment/file-path"))
def file_path(actor: Actor):
    data = body()
    path = data.get("filePath")
    if not isinstance(path, str) or not path:
        raise Invalid("filePath is required")
    return ok(apply(actor, experiment_key(data), {"details": cf.file_details(path)}))


@comet_route(rest("write/experiment/git/metadata"))
def git_metadata(actor: Actor):
    data = body()
    return ok(apply(actor, experiment_key(data), {"details": {"git": cf.git_details(data)}}))


@comet_route(rest("write/experiment/git/patch"))
def git_patch(actor: Actor):
    return store_patch_upload(actor)


@comet_route(rest("write/experiment/html"))
def html(actor: Actor):
    data = body()
    return ok(apply(actor, experiment_key(data),
                    {"html": [{"html": str(data.get("html") or ""), "override": bool(data.get("override"))}]}))


@comet_route(rest("write/experiment/graph"))
def graph(actor: Actor):
    data = body()
    if not isinstance(data.get("graph"), str):
        raise Invalid("graph must be a string")
    return ok(apply(actor, experiment_key(data), {"graph": data["graph"]}))


@comet_route(rest("write/experiment/dependencies"), methods=("PUT", "POST"))
def dependencies(actor: Actor):
    """``log_dependency`` name/versions, merged into system_info "dependencies"."""
    data = body()
    key = experiment_key(data)
    with context.db().session() as s:
        current = experiments.system(experiments.get_writable(s, actor, key))["system_info"].get("dependencies")
    merged = cf.dependencies(current, records(data, "logDependencies"))
    return ok(apply(actor, key, {"system_info": [{"key": "dependencies", "value": merged}]}))


@comet_route(rest("write/experiment/cloud-details"))
def cloud_details(actor: Actor):
    data = body()
    info = [{"key": "cloud_provider", "value": data.get("provider")},
            {"key": "cloud_metadata", "value": data.get("metadata")}]
    return ok(apply(actor, experiment_key(data), {"system_info": info}))


@comet_route(rest("write/experiment/update-status"))
def update_status(actor: Actor):
    """Crash reports (``hasCrashed``) end the run as crashed; ``APIExperiment.set_state``
    sends finished (isAlive false) and running (isAlive true). Other SDK error reports
    (e.g. "failed to log ip") change nothing."""
    data = body()
    key = experiment_key(data)
    with context.db().session() as s:
        exp = experiments.get_writable(s, actor, key)
        if data.get("hasCrashed"):
            ingest.end_experiment(s, actor, key, ExperimentStatus.crashed.value)
        elif data.get("error") is None and data.get("isAlive") is False:
            ingest.end_experiment(s, actor, key, ExperimentStatus.finished.value)
        elif data.get("error") is None and data.get("isAlive") is True and exp.status != ExperimentStatus.running.value:
            ingest.start_experiment(s, actor, None, None, key=key)
    return ok()


@comet_route(rest("write/experiment/metric"))
def write_metric(actor: Actor):
    data = body()
    m = cf.metric(data, data.get("context"), data.get("timestamp"))
    if m is None:
        raise Invalid("metricName and a numeric metricValue are required")
    return ok(apply(actor, experiment_key(data), {"metrics": [m]}))


@comet_route(rest("write/experiment/parameter"))
def write_parameter(actor: Actor):
    data = body()
    p = cf.parameter(data.get("parameterName"), data.get("parameterValue"), data.get("step"), "manual")
    if p is None:
        raise Invalid("parameterName is required")
    return ok(apply(actor, experiment_key(data), {"parameters": [p]}))


@comet_route(rest("write/experiment/tags"))
def write_tags(actor: Actor):
    data = body()
    return ok(apply(actor, experiment_key(data), {"tags": texts(data, "addedTags")}))


@comet_route(rest("write/experiment/upload-asset"))
def write_upload_asset(actor: Actor):
    return store_upload(actor, request.args.get("type") or "asset")


@comet_route(rest("write/experiment/stop"), methods=("GET",))
def stop(actor: Actor):
    """``API.stop_experiment``: the run learns it from its next heartbeat."""
    key = experiment_key()
    with context.db().session() as s:
        experiments.request_stop(s, actor, key)
    return ok({"msg": "Stop requested"})
