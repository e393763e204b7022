"""The OpenAPI document, built from the registered routes (no hand-kept list to drift).

Routes that validate a JSON body with a pydantic model register it in ``BODY_MODELS`` so the
document carries its schema.
"""
from __future__ import annotations

import re

from flask import current_app

from dashboard import __version__

BODY_MODELS: dict[str, type] = {}  # endpoint -> pydantic model of the JSON body
UNDOCUMENTED = {"api.unknown_endpoint", "comet.optimizer_unknown"}  # the catch-alls answering 404/405
# Besides Halley's own API: comet_ml's Optimizer protocol, served where comet_ml looks for it.
DOCUMENTED_PREFIXES = ("/api/v1/", "/optimizer/")


def body_model(model: type):
    """Decorator for a view function: document ``model`` as its request body."""
    def decorator(fn):
        BODY_MODELS[f"api.{fn.__name__}"] = model
        return fn
    return decorator


def openapi_document() -> dict:
    from dashboard.api import ACCESS_RULES

    paths: dict = {}
    schemas: dict = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(DOCUMENTED_PREFIXES) or rule.endpoint not in ACCESS_RULES or rule.endpoint in UNDOCUMENTED:
            continue
        view = current_app.view_functions[rule.endpoint]
        doc = (view.__doc__ or rule.endpoint).strip().splitlines()[0]
        path = re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule.rule)
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{([a-zA-Z_]+)}", path)
        ]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op = {
                "operationId": f"{rule.endpoint}_{method.lower()}",
                "summary": doc,
                "parameters": params,
                "responses": {
                    "200": {"description": "OK"},
                    "400": {"description": "Invalid input", "content": _error_content()},
                    "401": {"description": "Missing or wrong API key", "content": _error_content()},
                    "403": {"description": "No permission", "content": _error_content()},
                    "404": {"description": "Not found", "content": _error_content()},
                    "413": {"description": "Body too large", "content": _error_content()},
                },
            }
            if ACCESS_RULES[rule.endpoint] == "public":
                op["security"] = []
                op["responses"] = {"200": {"description": "OK"}}
            model = BODY_MODELS.get(rule.endpoint)
            if model is not None and method in ("POST", "PUT", "PATCH"):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in schema.pop("$defs", {}).items():
                    schemas[name] = sub
                schemas[model.__name__] = schema
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
                }
            paths.setdefault(path, {})[method.lower()] = op
    schemas["Error"] = {
        "type": "object",
        "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
        "required": ["error"],
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "Halley REST API", "version": __version__},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        },
        "security": [{"apiKey": []}],
        "paths": dict(sorted(paths.items())),
        "x-comet-protocol": _comet_protocol(),
    }


def _comet_protocol() -> dict:
    """The comet_ml endpoints (``/clientlib``, ``/api/rest/v2``) served, and what is not."""
    from dashboard.api.comet.coverage import protocol

    return protocol()


def _error_content() -> dict:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
