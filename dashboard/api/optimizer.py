"""Halley's REST API for optimizer sweeps (``/api/v1/optimizer/...``, for
``dashboard.sdk.Optimizer``): the calls of comet_ml's Optimizer protocol, which
``dashboard.api.comet.optimizer`` serves at ``/optimizer/...`` for comet_ml itself. The API
key's workspace owns the sweeps it creates; the work is ``dashboard.services.optimizer``'s."""
from __future__ import annotations

from datetime import timedelta

from flask import jsonify, request

from dashboard import context
from dashboard.api import json_body, key_route
from dashboard.auth import Actor
from dashboard.services import optimizer as service

EXHAUSTED = {"code": 404, "message": "No more parameter sets in this optimizer"}


def create(actor: Actor, data: dict) -> dict:
    with context.db().session() as s:
        sweep_id = service.create(s, actor, data)
    return {"code": 200, "id": sweep_id}


def next_set(actor: Actor, sweep_id) -> dict:
    with context.db().session() as s:
        grace = timedelta(seconds=context.settings().optimizer_start_grace)
        package = service.next_parameters(s, actor, sweep_id, grace=grace)
    return EXHAUSTED if package is None else {"code": 200, "parameters": package}


def status(actor: Actor, sweep_id) -> dict:
    with context.db().session() as s:
        if sweep_id is None:
            return service.list_sweeps(s, actor)
        return service.status(s, actor, sweep_id)


def update(actor: Actor, data: dict) -> dict:
    with context.db().session() as s:
        return service.update_trial(s, actor, data)


def insert(actor: Actor, data: dict) -> dict:
    with context.db().session() as s:
        return service.insert_trial(s, actor, data)


# --- Halley's REST API (/api/v1), for dashboard.sdk.Optimizer ------------------------------------

@key_route("/optimizer/algorithms", methods=["GET"])
def optimizer_algorithms_v1(actor: Actor):
    """The optimizer algorithms served: grid, random, bayes."""
    return jsonify(service.algorithms())


@key_route("/optimizer/spec", methods=["GET"])
def optimizer_spec_v1(actor: Actor):
    """An algorithm's spec settings and their defaults (?algorithmName=)."""
    return jsonify(service.spec_template(request.args.get("algorithmName")))


@key_route("/optimizer/create", methods=["POST"])
def optimizer_create_v1(actor: Actor):
    """Create an optimizer sweep from a comet_ml Optimizer config; answers its id."""
    return jsonify(create(actor, json_body()))


@key_route("/optimizer/next", methods=["POST"])
def optimizer_next_v1(actor: Actor):
    """Hand out a sweep's next parameter set (JSON: id); code 404 in the body when none is left.

    A POST: it changes the sweep (comet_ml's own ``GET /optimizer/next`` takes API keys only)."""
    return jsonify(next_set(actor, json_body().get("id")))


@key_route("/optimizer/status", methods=["GET"])
def optimizer_status_v1(actor: Actor):
    """A sweep's status, config and counts (?id=), or the workspace's sweeps."""
    return jsonify(status(actor, request.args.get("id")))


@key_route("/optimizer/update", methods=["POST"])
def optimizer_update_v1(actor: Actor):
    """Report a parameter set's status and score (completed, aborted, failed, running)."""
    return jsonify(update(actor, json_body()))


@key_route("/optimizer/insert", methods=["POST"])
def optimizer_insert_v1(actor: Actor):
    """Record a parameter set that was run elsewhere."""
    return jsonify(insert(actor, json_body()))

