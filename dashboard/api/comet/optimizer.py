"""comet_ml's Optimizer protocol (``comet_ml.Optimizer``), served at ``/optimizer/...`` where
the SDK looks for it by default (``COMET_OPTIMIZER_URL``: the root of ``COMET_URL_OVERRIDE``
plus ``optimizer/``). The same calls are under ``/api/v1/optimizer/...`` for Halley's own SDK
(``dashboard.api.optimizer``), where handing out a parameter set is a POST: those routes take a
browser's cookies too, and these take API keys only."""
from __future__ import annotations

from flask import jsonify, request

from dashboard.api.comet import body, comet_route, error
from dashboard.api import optimizer as v1
from dashboard.auth import Actor
from dashboard.services import optimizer as service

PREFIX = "/optimizer"


# --- comet_ml's paths ---------------------------------------------------------------------------

@comet_route([f"{PREFIX}/algorithms"], methods=("GET",))
def optimizer_algorithms(actor: Actor):
    """comet_ml Optimizer: the algorithms served (grid, random, bayes)."""
    return jsonify(service.algorithms())


@comet_route([f"{PREFIX}/spec"], methods=("GET",))
def optimizer_spec(actor: Actor):
    """comet_ml Optimizer: an algorithm's spec settings and defaults (?algorithmName=)."""
    return jsonify(service.spec_template(request.args.get("algorithmName")))


@comet_route([f"{PREFIX}/create"])
def optimizer_create(actor: Actor):
    """comet_ml Optimizer: create a sweep from a config; answers its id."""
    return jsonify(v1.create(actor, body()))


@comet_route([f"{PREFIX}/next"], methods=("GET",))
def optimizer_next(actor: Actor):
    """comet_ml Optimizer: the next parameter set of a sweep (?id=)."""
    return jsonify(v1.next_set(actor, request.args.get("id")))


@comet_route([f"{PREFIX}/status"], methods=("GET",))
def optimizer_status(actor: Actor):
    """comet_ml Optimizer: a sweep's status (?id=), or the workspace's sweeps."""
    return jsonify(v1.status(actor, request.args.get("id")))


@comet_route([f"{PREFIX}/update"])
def optimizer_update(actor: Actor):
    """comet_ml Optimizer: report a parameter set's status and score."""
    return jsonify(v1.update(actor, body()))


@comet_route([f"{PREFIX}/insert"])
def optimizer_insert(actor: Actor):
    """comet_ml Optimizer: record a parameter set run elsewhere."""
    return jsonify(v1.insert(actor, body()))


@comet_route([f"{PREFIX}/", f"{PREFIX}/<path:unknown>"], methods=("GET", "POST", "PUT", "DELETE"), public=True)
def optimizer_unknown(unknown: str = ""):
    """Any other path under /optimizer is a clear JSON 404 (never the web app's HTML page)."""
    return error(404, f"Unknown Optimizer endpoint /optimizer/{unknown[:200]} (this server offers "
                      "algorithms, spec, create, next, status, update and insert)")
