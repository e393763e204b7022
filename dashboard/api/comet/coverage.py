"""What of comet_ml's protocol this server offers: the served paths are read from the
registered routes (nothing to keep in step by hand); what is left out is named here, with
the comet_ml calls that reach it. The OpenAPI document carries both as ``x-comet-protocol``
and the README lists them."""
from __future__ import annotations

from flask import current_app

from dashboard.api import ACCESS_RULES

NOT_SERVED: dict[str, str] = {
    "artifact lineage": "APIExperiment.get_artifact_lineage (get/artifacts) and "
                        "LoggedArtifact.update_artifact_tags (write/artifacts/details); artifacts are served",
    "model registry": "Experiment.register_model, API.get_registry_model* (registry-model/*); "
                      "experiment models (log_model, experiment/model/*) are served",
    "search": "API.search (experiments/search); API.query is served",
    "project edits": "API.update_project, API.delete_project, share keys, symlinks "
                     "(write/project/update, write/project/delete, write/project/*share*, write/project/symlink)",
    "moving experiments": "API.move_experiments (write/experiment/move)",
    "chart templates and panels": "views/chart-templates answers an empty list; code panels, reports",
    "experiment-scoped views": "APIExperiment.get_views answers an empty list",
    "workspace administration": "API.get_workspace_members, service accounts, usage and billing",
    "direct cloud uploads": "S3/GCS presigned uploads (assets go through upload-asset instead)",
}


def served() -> list[dict]:
    """Every comet_ml path this server answers, with its methods (catch-alls left out)."""
    out = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.endpoint.startswith("comet.") or rule.endpoint.endswith("unknown"):
            continue
        if rule.endpoint not in ACCESS_RULES:
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        out[rule.rule] = {"path": rule.rule, "methods": methods}
    return [out[p] for p in sorted(out)]


def protocol() -> dict:
    return {"served": served(), "not_served": NOT_SERVED}
