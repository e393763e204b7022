"""Comet-compatible endpoints: the real ``comet_ml`` SDK logs into Halley unmodified.

Point the SDK at Halley with ``COMET_URL_OVERRIDE=http://HOST:PORT/clientlib/`` and
``COMET_API_KEY=<a Halley API key>``. The SDK calls ``<override>...`` for its "clientlib"
endpoints but takes only the scheme and host of the override for its REST v2 calls, so this
blueprint serves ``/clientlib/...``, ``/clientlib/rest/v2/...`` and ``/api/rest/v2/...`` at
the host root.

It is a thin adapter: every write goes through ``dashboard.services.ingest`` (the same core
as Halley's own API and the offline importer) and every read through the read services.
The raw API key comes in the ``Authorization`` header (or an ``apiKey`` field).

Each route is registered with an access decision in ``dashboard.api.ACCESS_RULES`` under
``comet.<endpoint>`` ("public" or "api-key"), which ``tests/test_route_coverage.py`` checks.
"""
from __future__ import annotations

import hashlib
import uuid
from functools import wraps
from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from dashboard import context
from dashboard.api import ACCESS_RULES
from dashboard.auth import Actor, actor_from_api_key
from dashboard.errors import HalleyError, Invalid, Unauthorized
from dashboard.services import ingest

comet = Blueprint("comet", __name__)

CLIENTLIB = "/clientlib"
REST_PREFIXES = ("/api/rest/v2", "/clientlib/rest/v2")
# Reported by isAlive/ver: >= 3.3.11 keeps the SDK's fallback-to-offline, >= 3.20.60 makes
# APIExperiment.get_metrics use the one-call get-all endpoint.
BACKEND_VERSION = "3.35.0"

# comet_ml's sdk_error_code values (comet_ml/exceptions.py) for the handshake errors it maps
# to clear exceptions.
API_KEY_NOT_REGISTERED = 90212
NO_WRITE_ACCESS_TO_EXPERIMENT = 90210
NON_EXISTING_TEAM = 90219
VIEW_ONLY_PERMISSIONS = 7000011


def rest(path: str) -> list[str]:
    """A REST v2 path under both prefixes the SDK uses for it."""
    return [f"{prefix}/{path}" for prefix in REST_PREFIXES]


def clientlib(path: str) -> list[str]:
    return [f"{CLIENTLIB}/{path}"]


def error(status: int, message: str, sdk_error_code: int | None = None):
    body = {"msg": message, "code": status}
    if sdk_error_code is not None:
        body["sdk_error_code"] = sdk_error_code
    return jsonify(body), status


def body() -> dict:
    """The JSON object of the request (gzip already undone), or {} for an empty body."""
    data = request.get_json(silent=True)
    if data is None:
        if request.content_length and request.mimetype == "application/json":
            raise Invalid("Request body is not valid JSON")
        return {}
    if not isinstance(data, dict):
        raise Invalid("Request body must be a JSON object")
    return data


def listed(data: dict, name: str) -> list:
    """A field that must be a list (missing or null: empty)."""
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(f"{name} must be a list")
    return value


def _items_of(data: dict, name: str, kind: type, label: str) -> list:
    items = listed(data, name)
    for i, item in enumerate(items):
        if not isinstance(item, kind):
            raise Invalid(f"{name}[{i}] must be {label}")
    return items


def records(data: dict, name: str) -> list[dict]:
    """A field that must be a list of objects."""
    return _items_of(data, name, dict, "an object")


def texts(data: dict, name: str) -> list[str]:
    """A field that must be a list of strings (empty strings dropped)."""
    return [item for item in _items_of(data, name, str, "a string") if item]


def _raw_key() -> str | None:
    key = request.headers.get("Authorization") or request.headers.get("X-API-Key")
    if not key and request.mimetype == "application/json":
        data = request.get_json(silent=True)
        if isinstance(data, dict):
            key = data.get("apiKey") or data.get("api_key")
    return key or request.args.get("apiKey") or None


def comet_actor() -> Actor:
    with context.db().engine.connect() as connection:
        actor = actor_from_api_key(connection, _raw_key())
    if actor is None:
        raise Unauthorized("Invalid or missing API key (send a Halley API key as COMET_API_KEY)")
    return actor


def comet_route(rules: list[str], methods: tuple[str, ...] = ("POST",), public: bool = False,
                key_checked_in_view: bool = False):
    """Register a view under several paths with its access decision. Views that need a key
    get the API-key holder as ``actor``, unless they check the key themselves
    (``key_checked_in_view``: the handshake answers a bad key in the SDK's own format)."""
    def decorator(fn):
        endpoint = fn.__name__
        ACCESS_RULES[f"comet.{endpoint}"] = "public" if public else "api-key"
        view = fn
        if not public and not key_checked_in_view:
            @wraps(fn)
            def view(*args, **kwargs):
                return fn(*args, actor=comet_actor(), **kwargs)
        for rule in rules:
            comet.add_url_rule(rule, endpoint, view, methods=list(methods))
        return fn
    return decorator


def experiment_key(data: dict | None = None) -> str:
    """The experiment a request is about: ``experimentKey`` in the body or query string
    (upload query strings call it ``experimentId``)."""
    data = data if data is not None else {}
    key = data.get("experimentKey") or request.args.get("experimentKey") or request.args.get("experimentId")
    if not isinstance(key, str) or not key:
        raise Invalid("experimentKey is required")
    return key


def apply(actor: Actor, key: str, fields: dict[str, Any], dedupe: bool = False) -> dict:
    """One ingest batch in its own transaction. ``dedupe`` derives the batch id from the raw
    request, so an SDK retry of the same metric/parameter/output batch adds nothing twice."""
    if dedupe:
        digest = hashlib.sha256(request.path.encode() + b"\0" + key.encode() + b"\0" + request.get_data())
        batch_id = digest.hexdigest()
    else:
        batch_id = uuid.uuid4().hex
    with context.db().session() as s:
        return ingest.apply_batch(s, actor, key, {"batch_id": batch_id, **fields})


def ok(payload: dict | None = None):
    return jsonify(payload or {})


@comet.errorhandler(HalleyError)
def _halley_error(exc: HalleyError):
    return error(exc.status, exc.message, API_KEY_NOT_REGISTERED if exc.status == 401 else None)


@comet.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    return error(413, "Request body too large (limit: HALLEY_MAX_REQUEST_MB / HALLEY_MAX_ASSET_MB)")


@comet.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error(exc.code or 500, exc.description or exc.name)


from dashboard.api.comet import logger as _logger  # noqa: E402,F401  (registers routes)
from dashboard.api.comet import reads as _reads  # noqa: E402,F401
from dashboard.api.comet import writes as _writes  # noqa: E402,F401
from dashboard.api.comet import models as _models  # noqa: E402,F401
from dashboard.api.comet import optimizer as _optimizer  # noqa: E402,F401
from dashboard.api.comet import manage as _manage  # noqa: E402,F401
from dashboard.api.comet import project_api as _project_api  # noqa: E402,F401
from dashboard.api.comet import artifacts as _artifacts  # noqa: E402,F401
