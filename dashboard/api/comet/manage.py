"""``comet_ml.APIExperiment`` / ``API`` edits under /api/rest/v2: create an experiment,
set its start/end times, delete tags, parameters and assets, archive, restore and delete."""
from __future__ import annotations

from urllib.parse import quote

from flask import request

from dashboard import context
from dashboard.api.comet import body, comet_route, experiment_key, ok, rest
from dashboard.auth import Actor
from dashboard.errors import Invalid
from dashboard.services import experiment_edits, experiments

MAX_PARAMETER_DELETES = 1000


@comet_route(rest("write/experiment/create"))
def create_experiment(actor: Actor):
    """``APIExperiment(workspace=, project_name=, experiment_name=)``: a new experiment that
    is not running (the project is made on first use)."""
    data = body()
    with context.db().session() as s:
        exp = experiment_edits.create(s, actor, data.get("workspaceName"), data.get("projectName"),
                                      data.get("experimentName"))
        workspace, project = experiments.location(s, exp)
        key = exp.key
    return ok({"experimentKey": key,
               "link": f"{request.host_url}{quote(workspace)}/{quote(project)}/{key}"})


@comet_route(rest("write/experiment/set-start-end-time"))
def set_start_end_time(actor: Actor):
    data = body()
    with context.db().session() as s:
        experiment_edits.set_times(s, actor, experiment_key(data), data.get("startTimeMillis"),
                                   data.get("endTimeMillis"))
    return ok()


@comet_route(rest("write/experiment/tags/delete"))
def delete_tags(actor: Actor):
    data = body()
    with context.db().session() as s:
        left = experiment_edits.delete_tags(s, actor, experiment_key(data), data.get("tags"))
    return ok({"tags": left})


def _parameter_name(data: dict) -> str:
    name = data.get("parameterName")
    if not isinstance(name, str) or not name:
        raise Invalid("parameterName is required")
    return name


@comet_route(rest("write/experiment/parameter/delete"))
def delete_parameter(actor: Actor):
    data = body()
    with context.db().session() as s:
        experiment_edits.delete_parameters(s, actor, experiment_key(data), [_parameter_name(data)])
    return ok()


@comet_route(rest("write/experiments/parameters/delete"))
def delete_parameters(actor: Actor):
    """A list of ``{experimentKey, parameterName}``; all are checked before any is deleted."""
    items = request.get_json(silent=True)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise Invalid("The body must be a list of {experimentKey, parameterName} objects")
    if len(items) > MAX_PARAMETER_DELETES:
        raise Invalid(f"At most {MAX_PARAMETER_DELETES} parameters at once")
    by_key: dict[str, list[str]] = {}
    for item in items:
        by_key.setdefault(experiment_key(item), []).append(_parameter_name(item))
    with context.db().session() as s:
        for key, names in by_key.items():
            experiment_edits.delete_parameters(s, actor, key, names)
    return ok()


@comet_route(rest("write/experiment/asset/delete"), methods=("GET", "POST"))
def delete_asset(actor: Actor):
    data = body() if request.method == "POST" else {}
    asset_id = data.get("assetId") or request.args.get("assetId")
    with context.db().session() as s:
        experiment_edits.delete_asset(s, actor, experiment_key(data), asset_id, context.settings())
    return ok()


@comet_route(rest("write/experiment/archive"), methods=("GET",))
def archive_experiment(actor: Actor):
    with context.db().session() as s:
        experiment_edits.archive_one(s, actor, experiment_key())
    return ok({"msg": "Experiment archived"})


@comet_route(rest("write/experiment/restore"), methods=("GET",))
def restore_experiment(actor: Actor):
    with context.db().session() as s:
        experiment_edits.restore_one(s, actor, experiment_key())
    return ok({"msg": "Experiment restored"})


@comet_route(rest("write/experiment/delete"), methods=("GET",))
def delete_experiment(actor: Actor):
    with context.db().session() as s:
        experiment_edits.delete_one(s, actor, experiment_key(), context.settings())
    return ok({"msg": "Experiment deleted"})

