"""REST routes for logging runs (start, batch, assets, heartbeat, stop, end) and reading them.

Every write validates the whole request first, then runs in one transaction that is
committed before the response is sent.
"""
from __future__ import annotations

from flask import jsonify, request
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError

from dashboard import context
from dashboard.api import (asset_download, attachment, json_body, key_required_unless_readable, key_route,
                           read_route)
from dashboard.api.openapi import body_model
from dashboard.api.schemas import BatchIn, EndIn, HeartbeatIn, StartExperimentIn
from dashboard.errors import Invalid
from dashboard.services import assets as asset_service
from dashboard.services import experiment_models, experiments, ingest, metrics, projects, workspaces


def _parse(model: type[BaseModel], data: dict) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(ingest.validation_message(exc, "request")) from exc


# --- writes -------------------------------------------------------------------------------

@key_route("/experiments", methods=["POST"])
@body_model(StartExperimentIn)
def create_experiment(actor):
    """Create an experiment (201) or resume an existing key (200)."""
    body = _parse(StartExperimentIn, json_body())

    def create(s):
        started = ingest.start(s, actor, body.workspace, body.project, body.experiment_key, body.name)
        return started_reply(started), started.created

    reply, created = _retrying_start(create)
    return jsonify(reply), 201 if created else 200


def started_reply(started: ingest.Located) -> dict:
    """What POST /experiments answers about the experiment it created or resumed."""
    exp, workspace, project = started.experiment, started.workspace, started.project
    return {"experiment_key": exp.key, "workspace": workspace, "project": project, "name": exp.name,
            "url": experiments.url_path(workspace, project, exp.key),
            "heartbeat_interval_s": experiments.HEARTBEAT_INTERVAL_S}


def _retrying_start(work):
    """``work(session)`` in a transaction, once more if it collided with another run starting in
    the same new project at once (unique name, or SQLite's stale snapshot): its transaction is
    rolled back and the retry finds the project."""
    for attempt in (1, 2):
        try:
            with context.db().session() as s:
                return work(s)
        except (IntegrityError, OperationalError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@key_route("/experiments/<key>/batch", methods=["POST"])
@body_model(BatchIn)
def log_batch(key, actor):
    """Log a batch of metrics, parameters, others, tags, system details, output, HTML and graph;
    with "end", also end the run in the same transaction."""
    batch = ingest.parse_batch(json_body())

    def log(s):
        counts, exp, started = ingest.apply(s, actor, key, batch)
        reply = {"ok": True, "stored": counts}
        if counts.get("duplicate"):
            reply = {"ok": True, "duplicate": True, "stored": {}}
        if started is not None:
            reply["experiment"] = started_reply(started)
        if batch.end is not None:
            reply["end"] = {"status": exp.status, "end_time": experiments.iso(exp.end_time)}
        return reply

    if batch.start is None:
        with context.db().session() as s:
            return jsonify(log(s))
    return jsonify(_retrying_start(log))


def _form_int(name: str) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if raw in ("", "None", "null"):
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise Invalid(f"{name} must be a whole number") from exc


@key_route("/experiments/<key>/assets", methods=["POST"])
def upload_experiment_asset(key, actor):
    """Upload an asset (multipart: file, type, name, step, epoch, context, metadata, asset_id), or
    record a remote one (form field remote_url instead of the file)."""
    settings = context.settings()  # the body's size was checked by dashboard.request_guard
    upload = request.files.get("file")
    form = request.form
    remote_url = form.get("remote_url")
    if upload is None and remote_url is None:
        raise Invalid("Multipart part 'file' (or field 'remote_url') is required")
    step, epoch = _form_int("step"), _form_int("epoch")
    with context.db().session() as s:
        asset = ingest.store_asset(
            s, actor, key, data=upload.stream if upload is not None else None, type=form.get("type") or "file",
            name=form.get("name") or (upload.filename if upload is not None else None), step=step, epoch=epoch,
            context=form.get("context") or None, metadata=form.get("metadata"), asset_id=form.get("asset_id"),
            content_type=upload.mimetype if upload is not None else None, remote_url=remote_url,
            settings=settings)
        reply = {"asset_id": asset.asset_id, "name": asset.file_name, "size": asset.size}
    return jsonify(reply), 201


@key_route("/experiments/<key>/heartbeat", methods=["POST"])
@body_model(HeartbeatIn)
def experiment_heartbeat(key, actor):
    """Record that the run is alive; answers whether a stop was requested."""
    _parse(HeartbeatIn, json_body() if request.get_data() else {})
    with context.db().session() as s:
        stop, by = ingest.heartbeat(s, actor, key)
    return jsonify({"stop_requested": stop, "stopped_by": by})


@key_route("/experiments/<key>/end", methods=["POST"])
@body_model(EndIn)
def end_experiment(key, actor):
    """End the run as finished, crashed or stopped."""
    body = _parse(EndIn, json_body() if request.get_data() else {})
    with context.db().session() as s:
        exp = ingest.end_experiment(s, actor, key, body.status)
        reply = {"ok": True, "status": exp.status, "end_time": experiments.iso(exp.end_time)}
    return jsonify(reply)


@key_route("/experiments/<key>/stop", methods=["POST"])
def stop_experiment(key, actor):
    """Ask a running experiment to stop (it learns it from its next heartbeat)."""
    request.get_data()  # any body is ignored, but read so the connection stays reusable
    with context.db().session() as s:
        exp = experiments.request_stop(s, actor, key)
        reply = {"ok": True, "stop_requested": exp.stop_requested, "stopped_by": exp.stop_requested_by}
    return jsonify(reply)


# --- reads --------------------------------------------------------------------------------

@key_route("/workspaces", methods=["GET"])
def list_workspaces(actor):
    """Names of the workspaces the caller belongs to."""
    with context.db().session() as s:
        names = [w.name for w in workspaces.list_for(s, actor)]
    return jsonify({"workspaces": names})


@key_route("/workspaces/<ws>/projects", methods=["GET"])
def list_projects(ws, actor):
    """Projects of a workspace the caller can read."""
    with context.db().session() as s:
        workspace, _role = workspaces.get_visible(s, actor, ws)
        items = projects.list_readable(s, actor, workspace.id)
    return jsonify({"projects": [{"name": p.name, "description": p.description, "public": p.is_public,
                                  "experiment_count": p.experiment_count} for p in items]})


@read_route("/workspaces/<ws>/projects/<project>/experiments", methods=["GET"])
def list_experiments(ws, project, actor):
    """Experiments of a project (archived ones with ?archived=1); public projects need no key."""
    archived = request.args.get("archived", "").lower() in ("1", "true", "yes")
    with context.db().session() as s, key_required_unless_readable(actor):
        items = experiments.list_metadata(s, actor, ws, project, include_archived=archived)
    return jsonify({"experiments": items})


@read_route("/experiments/<key>", methods=["GET"])
def get_experiment(key, actor):
    """An experiment's metadata."""
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        reply = experiments.describe(s, exp)
    return jsonify(reply)


@read_route("/experiments/<key>/metrics", methods=["GET"])
def get_metric(key, actor):
    """Every point of one metric (?name=), or of every metric, in step order."""
    name = request.args.get("name") or None
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        items = metrics.points(s, exp.id, name)
    return jsonify({"metrics": items})


@read_route("/experiments/<key>/metrics/summary", methods=["GET"])
def get_metrics_summary(key, actor):
    """Per metric: last, min, max, count, first/last step, invalid count."""
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        items = [metrics.summary_dict(m) for m in metrics.summaries(s, [exp.id])]
    return jsonify({"metrics": items})


@read_route("/experiments/<key>/parameters", methods=["GET"])
def get_parameters(key, actor):
    """Last value of every parameter ("value" as text, "value_json" the logged JSON)."""
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        items = [{"name": p.name, "value": p.value_text, "value_json": p.value_json, "step": p.step,
                  "source": p.source} for p in experiments.parameters(s, exp)]
    return jsonify({"parameters": items})


@read_route("/experiments/<key>/parameters/<path:name>/history", methods=["GET"])
def get_parameter_history(key, name, actor):
    """Every value one parameter was logged with, oldest first."""
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        items = [{"value": v.value_text, "step": v.step, "logged_at": experiments.iso(v.logged_at)}
                 for v in experiments.parameter_history(s, exp, name)]
    return jsonify({"values": items})


@read_route("/experiments/<key>/others", methods=["GET"])
def get_others(key, actor):
    """The experiment's other key/values (as text)."""
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        items = [{"key": o.key, "value": o.value} for o in experiments.others(s, exp)]
    return jsonify({"others": items})


@read_route("/experiments/<key>/tags", methods=["GET"])
def get_tags(key, actor):
    """The experiment's tags."""
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        items = experiments.tags(s, exp)
    return jsonify({"tags": items})


@read_route("/experiments/<key>/assets", methods=["GET"])
def list_experiment_assets(key, actor):
    """The experiment's assets (?type= to filter)."""
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        items = [asset_service.asset_dict(a) for a in asset_service.list_for(s, exp, request.args.get("type"))]
    return jsonify({"assets": items})


@read_route("/experiments/<key>/assets/<asset_id>", methods=["GET"])
def download_experiment_asset(key, asset_id, actor):
    """An asset's bytes, as an attachment with a safe file name."""
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        asset = asset_service.find(s, exp, asset_id)
    return asset_download(asset)


@read_route("/experiments/<key>/models", methods=["GET"])
def list_experiment_models(key, actor):
    """The models logged with the experiment (log_model): name, size and files."""
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        items = [{"name": m.name, "id": m.id, "size": m.size, "files": [asset_service.asset_dict(a) for a in m.files]}
                 for m in experiment_models.models(s, exp)]
    return jsonify({"models": items})


@read_route("/experiments/<key>/model-zip", methods=["GET"])
def download_experiment_model(key, actor):
    """One model's files as a zip (?name= the model's name), each at its path in the model."""
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        model = experiment_models.find(s, exp, request.args.get("name") or "")
    return model_zip_response(model)


def model_zip_response(model):
    return attachment(experiment_models.zip_file(context.settings(), model), "application/zip",
                      asset_service.safe_download_name(model.name) + ".zip")


@read_route("/experiments/<key>/output", methods=["GET"])
def get_output(key, actor):
    """Captured stdout/stderr lines in order."""
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        items = [{"text": o.text, "stderr": o.stderr, "offset": o.offset, "timestamp": o.timestamp}
                 for o in experiments.output(s, exp)]
    return jsonify({"output": items})


@read_route("/experiments/<key>/system", methods=["GET"])
def get_system(key, actor):
    """Environment details, system info, installed packages and git facts."""
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        reply = experiments.system(exp)
    return jsonify(reply)
