"""comet_ml's experiment model reads: get_model_names, get_model_asset_list, download_model, and
so load_model("experiment://KEY/NAME") of comet_ml's framework integrations."""
from __future__ import annotations

from flask import request

from dashboard import context
from dashboard.api.comet import comet_route, ok, rest
from dashboard.api.comet.reads import comet_asset, readable
from dashboard.api.experiments import model_zip_response
from dashboard.auth import Actor
from dashboard.services import experiment_models


@comet_route(rest("experiment/model"), methods=("GET",))
def experiment_model_list(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        found = experiment_models.models(s, exp)
        return ok({"models": [{"experimentModelId": m.id, "experimentKey": exp.key, "modelName": m.name}
                              for m in found]})


@comet_route(rest("experiment/model/asset/list"), methods=("GET",))
def experiment_model_assets(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        model = experiment_models.find(s, exp, request.args.get("modelName") or "")
        return ok({"assets": [{**comet_asset(a, exp.key), "dir": model.name} for a in model.files]})


@comet_route(rest("experiment/model/download"), methods=("GET",))
def experiment_model_download(actor: Actor):
    with context.db().session() as s:
        exp, _, _ = readable(s, actor)
        model = experiment_models.find(s, exp, request.args.get("modelName") or "")
    return model_zip_response(model)
