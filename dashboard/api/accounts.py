"""Health, account, the OpenAPI document, and the answer for unknown API paths."""
from __future__ import annotations

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from dashboard import __version__, context, observability
from dashboard.api import error_response, key_route, public_route
from dashboard.api.openapi import openapi_document
from dashboard.services import workspaces


@public_route("/health", methods=["GET"])
def health():
    return jsonify({"status": "ok", "version": __version__})


@public_route("/ready", methods=["GET"])
def ready():
    """Whether this server can do its work: 200, or 503 naming the part that fails."""
    report = observability.readiness(context.settings(), context.db())
    return jsonify({"status": "ready" if report["ready"] else "not ready", **report}), 200 if report["ready"] else 503


@public_route("/metrics", methods=["GET"])
def metrics():
    """Prometheus' text format for a scraper holding HALLEY_METRICS_TOKEN (off without it)."""
    token = context.settings().metrics_token
    if not token:
        return error_response(404, "Metrics are off: set HALLEY_METRICS_TOKEN and scrape with it as a bearer token")
    if not observability.token_matches(token, request.headers.get("Authorization")):
        return error_response(401, "Metrics need the bearer token set in HALLEY_METRICS_TOKEN")
    body, content_type = observability.scrape(context.settings(), context.db())
    return current_app.response_class(body, mimetype=None, content_type=content_type)


@public_route("/openapi.json", methods=["GET"])
def openapi():
    return jsonify(openapi_document())


@key_route("/account", methods=["GET"])
def account(actor):
    with context.db().session() as s:
        spaces = workspaces.list_for(s, actor)
        default = workspaces.default_workspace_name(s, actor)
    return jsonify({
        "username": actor.username,
        "defaultWorkspace": default,
        "workspaces": [{"name": w.name, "role": w.role} for w in spaces],
    })


ROUTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@public_route("/<path:unknown>", methods=list(ROUTED_METHODS))
def unknown_endpoint(unknown):
    """Anything else under /api/v1 is a JSON 404, or a 405 naming the methods the path takes:
    never the web app's page."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ROUTED_METHODS:
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != request.endpoint:
            allowed.append(method)
    if allowed:
        response = error_response(405, f"{request.method} is not allowed on {request.path} "
                                        f"(allowed: {', '.join(allowed)})")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return error_response(404, f"Unknown endpoint {request.path}")
