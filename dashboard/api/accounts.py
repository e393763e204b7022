"""Health, account and the OpenAPI document."""
from __future__ import annotations

from flask import jsonify

from dashboard import __version__, context
from dashboard.api import key_route, public_route
from dashboard.api.openapi import openapi_document
from dashboard.services import workspaces


@public_route("/health", methods=["GET"])
def health():
    return jsonify({"status": "ok", "version": __version__})


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
