"""The SDK's run lifecycle and logging calls under /clientlib: handshake, heartbeat and the
stop signal, metric/parameter batches, tags, file uploads, and ``comet upload``'s times."""
from __future__ import annotations

import time
import uuid
from urllib.parse import quote

from flask import request

from dashboard import context, safe_json
from dashboard.api.comet import (
    API_KEY_NOT_REGISTERED,
    BACKEND_VERSION,
    NO_WRITE_ACCESS_TO_EXPERIMENT,
    NON_EXISTING_TEAM,
    VIEW_ONLY_PERMISSIONS,
    apply,
    body,
    clientlib,
    comet_actor,
    comet_route,
    error,
    experiment_key,
    ok,
    records,
    texts,
)
from dashboard.api.comet import artifacts as artifact_api
from dashboard.auth import Actor
from dashboard.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from dashboard.importers import comet_format as cf
from dashboard.importers.comet import set_times
from dashboard.services import experiments, ingest, points_3d
from models import AssetType, ExperimentStatus

EXPERIMENT_ALREADY_EXISTS = 90999
GPU_MONITOR_MS = 30_000
PARAMETER_UPDATE_MS = 5_000
# What comet_ml itself falls back to when a server doesn't answer 3d-limits.
POINTS_3D_LIMITS = {"maxPoints": 1_000_000, "maxPointsFileSizeInBytes": 0, "maxBoxes": 250_000,
                    "maxBoxesFileSizeInBytes": 0}


# --- handshake ----------------------------------------------------------------------------

def _handshake(session, exp, created: bool) -> dict:
    workspace, project = experiments.location(session, exp)
    settings = context.settings()
    last_offset = 0 if created else len(experiments.output(session, exp))
    return {
        "runId": exp.key,
        "experimentKey": exp.key,
        "project_id": str(exp.project_id),
        "focusUrl": f"{request.host_url}{quote(workspace)}/{quote(project)}/",
        "lastOffset": last_offset,
        "name": exp.name,
        "featureToggles": [],
        "s3DirectAccessEnabled": False,
        "githubEnabled": False,
        "upload_file_size_limit_in_mb": settings.max_asset_mb,
        "asset_upload_file_size_limit_in_mb": settings.max_asset_mb,
        "uploadVideoMaxSizeMB": settings.max_asset_mb,
    }


def _handshake_actor():
    """The API-key holder; a bad key answers 400 with the code the SDK turns into
    ``InvalidAPIKey`` (its handshake only reads error codes from 400/403)."""
    try:
        return comet_actor(), None
    except Unauthorized as exc:
        return None, error(400, exc.message, API_KEY_NOT_REGISTERED)


def _text_field(data: dict, name: str) -> str | None:
    """An optional string field of the handshake; anything else is a clear 400."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    return value


@comet_route(clientlib("logger/add/run"), key_checked_in_view=True)
def add_run():
    actor, failure = _handshake_actor()
    if failure:
        return failure
    data = body()
    key, team, project = (_text_field(data, name) for name in ("experimentKey", "teamName", "projectName"))
    try:
        with context.db().session() as s:
            if key and experiments.find_by_key(s, key) is not None and not data.get("getOrCreateEnabled"):
                return error(400, f"Experiment {key} already exists", EXPERIMENT_ALREADY_EXISTS)
            exp, created = ingest.start_experiment(s, actor, team, project, key=key)
            return ok(_handshake(s, exp, created))
    except NotFound as exc:
        return error(400, exc.message, NON_EXISTING_TEAM)
    except Forbidden as exc:
        return error(403, exc.message, VIEW_ONLY_PERMISSIONS)
    except Conflict as exc:
        return error(400, exc.message, EXPERIMENT_ALREADY_EXISTS)


@comet_route(clientlib("logger/get/run"), key_checked_in_view=True)
def get_run():
    actor, failure = _handshake_actor()
    if failure:
        return failure
    key = body().get("previousExperiment")
    try:
        with context.db().session() as s:
            if not isinstance(key, str):
                raise NotFound("previousExperiment is required")
            experiments.get_writable(s, actor, key)
            exp, created = ingest.start_experiment(s, actor, None, None, key=key)
            return ok(_handshake(s, exp, created))
    except (NotFound, Forbidden, Invalid, Conflict) as exc:
        return error(400, exc.message, NO_WRITE_ACCESS_TO_EXPERIMENT)


# --- heartbeat, stop, health ----------------------------------------------------------------

def _stop_delivered(session, exp) -> bool:
    return any(o.key == cf.STOPPED_BY_USER_KEY for o in experiments.others(session, exp))


@comet_route(clientlib("status-report/update"))
def status_update(actor: Actor):
    """Start, heartbeat and end (``is_alive: false``). The answer sets the heartbeat period
    and says whether a stop is waiting (then the SDK fetches get-pending-rpcs)."""
    data = body()
    key = experiment_key(data)
    pending = False
    with context.db().session() as s:
        if data.get("is_alive") is False:
            exp = experiments.get_writable(s, actor, key)
            if exp.status == ExperimentStatus.running.value:
                ingest.end_experiment(s, actor, key, ExperimentStatus.finished.value)
        else:
            stop, _ = ingest.heartbeat(s, actor, key)
            pending = stop and not _stop_delivered(s, experiments.get_writable(s, actor, key))
    return ok({
        "is_alive_beat_duration_millis": experiments.HEARTBEAT_INTERVAL_S * 1000,
        "gpu_monitor_interval_millis": GPU_MONITOR_MS,
        "cpu_monitor_interval_millis": GPU_MONITOR_MS,
        "parameter_update_interval_millis": PARAMETER_UPDATE_MS,
        "pending_rpcs": pending,
    })


@comet_route(clientlib("rpc/get-pending-rpcs"), methods=("GET",))
def pending_rpcs(actor: Actor):
    """A requested stop, once, as the built-in ``stop`` call: the SDK raises
    ``InterruptedExperiment`` on the user's next logging call. Delivery is recorded as the
    ``experiment_stopped_by_user`` other (which the SDK logs itself as well)."""
    key = experiment_key()
    calls = []
    with context.db().session() as s:
        exp = experiments.get_writable(s, actor, key)
        if exp.stop_requested and not _stop_delivered(s, exp):
            by = exp.stop_requested_by or actor.username
            ingest.apply_batch(s, actor, key, {"batch_id": uuid.uuid4().hex,
                                               "others": [{"key": cf.STOPPED_BY_USER_KEY, "value": True}]})
            calls.append({"callId": f"stop-{key}", "userName": by, "functionName": "stop", "cometDefined": True,
                          "arguments": [], "createdAt": int(time.time() * 1000)})
    return ok({"remoteProcedureCalls": calls})


@comet_route(clientlib("rpc/register-rpc") + clientlib("rpc/save-rpc-result"))
def rpc_ack(actor: Actor):
    """User-defined remote calls aren't offered; registering them is acknowledged."""
    return ok()


@comet_route(clientlib("health/ping"), methods=("GET",), public=True)
def health_ping():
    return ok({"msg": "ok"})


@comet_route(clientlib("isAlive/ver"), methods=("GET",), public=True)
def backend_version():
    return ok({"version": BACKEND_VERSION})


@comet_route(clientlib("status-report/offline-metadata"))
def offline_metadata(actor: Actor):
    """``comet upload`` ends with the archive's real start and end times."""
    data = body()
    key = experiment_key(data)
    with context.db().session() as s:
        exp = experiments.get_writable(s, actor, key)
        if exp.status == ExperimentStatus.running.value:
            ingest.end_experiment(s, actor, key, ExperimentStatus.finished.value)
        start = ingest.time_from_seconds(cf.seconds(data.get("startTimestamp")), "startTimestamp")
        end = ingest.time_from_seconds(cf.seconds(data.get("endTimestamp")), "endTimestamp")
        set_times(s, actor, key, start, end)
    return ok()


@comet_route(clientlib("notification/experiment"))
def notification(actor: Actor):
    """End-of-run e-mail summaries aren't sent; comet_ml treats 404 as "not offered"."""
    return error(404, "Notifications are not offered by this server")


# --- batches and tags -------------------------------------------------------------------------

@comet_route(clientlib("batch/logger/experiment/metric"))
def metric_batch(actor: Actor):
    data = body()
    key = experiment_key(data)
    items = [m for m in (cf.metric(v, v.get("context"), v.get("timestamp"))
                         for v in records(data, "values")) if m is not None]
    return ok(apply(actor, key, {"metrics": items}, dedupe=True))


@comet_route(clientlib("batch/logger/experiment/parameter"))
def parameter_batch(actor: Actor):
    data = body()
    key = experiment_key(data)
    items = [p for p in (cf.parameter(v.get("parameterName"), v.get("parameterValue"), v.get("step"), v.get("source"))
                         for v in records(data, "values")) if p is not None]
    return ok(apply(actor, key, {"parameters": items}, dedupe=True))


@comet_route(clientlib("tags/add-tags-to-experiment"))
def add_tags(actor: Actor):
    data = body()
    return ok(apply(actor, experiment_key(data), {"tags": texts(data, "addedTags")}))


# --- uploads ------------------------------------------------------------------------------

def store_upload(actor: Actor, upload_type: str, name: str | None = None, data: bytes | None = None):
    """One multipart upload (part ``file``, optional ``metadata`` JSON) stored as an asset; a
    remote asset (log_remote_asset) sends a ``link`` part with its URI instead of the file."""
    key = experiment_key()
    params = request.args
    upload = request.files.get("file")
    remote_url = _remote_link()
    if upload is None and data is None and remote_url is None:
        raise Invalid("The upload has no 'file' part")
    if params.get("artifactVersionId") and data is None:
        return artifact_api.store_upload(actor, params["artifactVersionId"], upload, remote_url)
    kind = cf.asset_type(upload_type)
    try:
        user_meta = safe_json.loads_object(request.form.get("metadata") or "{}", "metadata")
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    fallback = cf.PATCH_MEMBER if kind == AssetType.git_patch else ("text-sample" if kind == AssetType.text
                                                                     else upload_type)
    metadata = cf.asset_metadata(upload_type, user_meta, {"groupingName": params.get("groupingName")})
    asset_id = params.get("assetId") or params.get("imageId")
    with context.db().session() as s:
        asset = ingest.store_asset(
            s, actor, key, data=data if data is not None else (upload.stream if upload is not None else None),
            type=kind.value,
            name=name or cf.asset_name(upload_type, params, fallback), step=cf.int_or_none(params.get("step")),
            epoch=cf.int_or_none(params.get("epoch"), "epoch"), context=params.get("context") or None, metadata=metadata,
            asset_id=asset_id if asset_id and asset_id.isalnum() else None,
            content_type=cf.extension_content_type(params.get("extension")),
            remote_url=remote_url if upload is None and data is None else None, settings=context.settings())
    return ok({"assetId": asset.asset_id, "fileName": asset.file_name, "size": asset.size})


def _remote_link() -> str | None:
    """The URI of a remote asset: comet_ml sends it as a multipart part named ``link``."""
    part = request.files.get("link")
    if part is not None:
        return part.read(4096).decode("utf-8", "replace")
    return request.form.get("link")


@comet_route(clientlib("asset/upload"))
def asset_upload(actor: Actor):
    return store_upload(actor, request.args.get("type") or "asset")


@comet_route(clientlib("visualizations/upload"))
def image_upload(actor: Actor):
    return store_upload(actor, "visualization")


def store_patch_upload(actor: Actor):
    """The git patch zip of a multipart upload, stored as the patch text it holds."""
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("The upload has no 'file' part")
    try:
        patch = cf.patch_text(upload.read())
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    return store_upload(actor, "git-patch", name=cf.PATCH_MEMBER, data=patch)


@comet_route(clientlib("git-patch/upload"))
def git_patch_upload(actor: Actor):
    return store_patch_upload(actor)


@comet_route(clientlib("asset/3d-limits"))
def points_3d_limits(actor: Actor):
    return ok(POINTS_3D_LIMITS)


@comet_route(clientlib("asset"))
def create_3d_asset(actor: Actor):
    """log_points_3d's first call: the scene (its name, step and the points' ranges). Its parts
    (points, boxes, thumbnail) follow as separate uploads naming the id answered here."""
    data = body()
    scene = data.get("userFileName")
    if not isinstance(scene, str) or not scene.strip():
        raise Invalid("userFileName (the scene's name) is required")
    try:
        meta = safe_json.loads_object(data.get("metadata") or "{}", "metadata") \
            if not isinstance(data.get("metadata"), dict) else data["metadata"]
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    with context.db().session() as s:
        asset = points_3d.create_scene(s, actor, experiment_key(data), scene.strip(), cf.int_or_none(data.get("step")),
                                       meta, settings=context.settings())
    return ok({"assetId": asset.asset_id})


def _scene_part(actor: Actor, params: dict, part: str, item_type: str, file_name: str):
    upload = request.files.get(part)
    if upload is None:
        raise Invalid(f"The upload has no '{part}' part")
    scene_id = params.get("assetId")
    if not isinstance(scene_id, str) or not scene_id:
        raise Invalid("assetId (the scene's id) is required")
    with context.db().session() as s:
        asset = points_3d.store_part(s, actor, experiment_key(params), scene_id, item_type, file_name, upload.stream,
                                     settings=context.settings())
    return ok({"assetId": asset.asset_id, "fileName": asset.file_name, "size": asset.size})


def _request_params() -> dict:
    """The JSON ``requestParams`` part of log_points_3d's uploads."""
    part = request.files.get("requestParams")
    text = part.read(65536).decode("utf-8", "replace") if part is not None else request.form.get("requestParams")
    try:
        return safe_json.loads_object(text or "{}", "requestParams")
    except ValueError as exc:
        raise Invalid(str(exc)) from exc


@comet_route(clientlib("asset/asset-item"))
def upload_3d_item(actor: Actor):
    params = _request_params()
    item_type = params.get("assetItemType")
    if item_type not in points_3d.ITEM_TYPES:
        raise Invalid(f"assetItemType must be one of: {', '.join(points_3d.ITEM_TYPES)}")
    name = params.get("userFileName") if isinstance(params.get("userFileName"), str) else f"{item_type}.jsonl"
    return _scene_part(actor, params, "assetItemContent", item_type, name)


@comet_route(clientlib("asset/<scene_id>/thumbnail"), methods=("PUT", "POST"))
def upload_3d_thumbnail(actor: Actor, scene_id: str):
    params = {**_request_params(), "assetId": scene_id}
    return _scene_part(actor, params, "thumbnail", "thumbnail", "thumbnail.png")


@comet_route(clientlib("<path:unknown>"), methods=("GET", "POST", "PUT", "DELETE"), public=True)
def clientlib_unknown(unknown: str):
    """Anything else under /clientlib is a clear JSON 404 (never the web app's HTML)."""
    return error(404, f"Unknown endpoint /clientlib/{unknown}")
