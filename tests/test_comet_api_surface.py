"""comet_ml's API surface against a live Halley, with the real, unmodified SDK in a subprocess:
APIExperiment creation and edits, start/end times, deleting tags, parameters and assets,
archive/restore/delete, projects (create, get, notes, views), API.query with comet_ml's
query objects, get_query_variables, get_metrics_for_chart and get_metrics_df; Comet's
asset-cleanup REST calls and the Optuna integration. Another workspace's key is refused,
and bad input answers a 4xx JSON error."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
import requests

from tests.test_comet_live import run_comet

# optuna comes with the test extra; HALLEY_OPTUNA_PATH names a folder holding it instead.
OPTUNA_PATH = os.environ.get("HALLEY_OPTUNA_PATH", "")


def _has_optuna() -> bool:
    if OPTUNA_PATH:
        return (Path(OPTUNA_PATH) / "optuna_integration").exists()
    return importlib.util.find_spec("optuna_integration") is not None

EDIT_SCRIPT = r'''
import json, sys, time
import comet_ml

workspace = sys.argv[1]
exp = comet_ml.APIExperiment(workspace=workspace, project_name="api-surface", experiment_name="made-by-api")
key = exp.key
exp.log_parameter("lr", 0.01)
exp.log_parameter("opt", "adam")
exp.log_parameters({"model": {"layers": 3, "act": "relu"}})
exp.log_metric("loss", 0.9, step=0)
exp.log_metric("loss", 0.4, step=1)
exp.log_other("note", "from api")
exp.add_tags(["keep", "drop", "also-drop"])
exp.set_name("renamed-by-api")
for name, data in (("data.json", '{"a": 1}'), ("other.json", '{"b": 2}')):
    with open(name, "w") as f:
        f.write(data)
    exp.log_asset(name)
start = 1_700_000_000_000
exp.set_start_time(start)
exp.set_end_time(start + 90_000)
deleted_tags = exp.delete_tags(["drop", "also-drop"])
exp.delete_parameter("opt")
exp.delete_parameters(["model"])
data = [a for a in exp.get_asset_list() if a["fileName"] == "data.json"][0]
exp.delete_asset(data["assetId"])
api = comet_ml.API()
fresh = api.get_experiment_by_key(key)
print(json.dumps({
    "key": key, "name": fresh.get_name(), "state": fresh.get_state(), "metadata": fresh.get_metadata(),
    "tags": fresh.get_tags(), "deleted_tags": deleted_tags,
    "params": sorted(p["name"] for p in fresh.get_parameters_summary()),
    "others": {o["name"]: o["valueCurrent"] for o in fresh.get_others_summary()},
    "metrics": [(m["metricValue"], m["step"]) for m in fresh.get_metrics("loss")],
    "assets": sorted(a["fileName"] for a in fresh.get_asset_list()),
}))
'''

LIFECYCLE_SCRIPT = r'''
import json, sys
import comet_ml

workspace = sys.argv[1]
api = comet_ml.API()
a = comet_ml.APIExperiment(workspace=workspace, project_name="api-lifecycle")
b = comet_ml.APIExperiment(workspace=workspace, project_name="api-lifecycle")
out = {"a": a.key, "b": b.key}
a.archive()
out["after_archive"] = [e.key for e in api.get_experiments(workspace, "api-lifecycle")]
out["archived"] = [e.key for e in api.get_archived_experiments(workspace, "api-lifecycle")]
api.restore_experiment(a.key)
out["after_restore"] = sorted(e.key for e in api.get_experiments(workspace, "api-lifecycle"))
api.delete_experiment(b.key)
out["after_delete"] = [e.key for e in api.get_experiments(workspace, "api-lifecycle")]
print(json.dumps(out))
'''

PROJECT_SCRIPT = r'''
import json, sys
import comet_ml

workspace = sys.argv[1]
api = comet_ml.API()
created = api.create_project(workspace, "made-by-api", project_description="from the SDK", public=False)
project = api.get_project(workspace, "made-by-api")
by_id = api.get_project_by_id(project["projectId"])
api.set_project_notes(workspace, "made-by-api", "# Notes\nfrom the SDK")
print(json.dumps({
    "created": created, "project": project, "by_id": by_id,
    "missing": api.get_project(workspace, "no-such-project"),
    "missing_id": api.get_project_by_id("999999999"),
    "notes": api.get_project_notes(workspace, "made-by-api"),
    "views": [v.name for v in api.get_views(workspace, sys.argv[2])],
    "view_ids": [v.project_id for v in api.get_views(workspace, sys.argv[2])],
}))
'''

QUERY_SCRIPT = r'''
import json, sys
from datetime import datetime
import comet_ml
from comet_ml.query import Metadata, Metric, Other, Parameter, Tag

workspace = sys.argv[1]
api = comet_ml.API()
keys = {}
for name, lr, opt, loss, tag in (("q1", 0.1, "adam", 0.2, "best"), ("q2", 0.01, "sgd", 0.5, None),
                                 ("q3", 0.001, "adamw", 0.9, "best")):
    e = comet_ml.APIExperiment(workspace=workspace, project_name="api-query", experiment_name=name)
    e.log_parameter("lr", lr)
    e.log_parameter("opt", opt)
    e.log_metric("loss", 1.0, step=0)
    e.log_metric("loss", loss, step=1)
    e.log_other("team", "vision" if name != "q2" else "nlp")
    if tag:
        e.add_tag(tag)
    if name == "q1":
        e.log_other("extra", "x")
    keys[e.key] = name

def names(q):
    return sorted(keys[e.key] for e in api.query(workspace, "api-query", q))

variables = api.get_query_variables(workspace, "api-query")
print(json.dumps({
    "variables": sorted(repr(v) for v in variables),
    "loss_lt": names(Metric("loss") < 0.6),
    "and": names((Metric("loss") < 0.6) & (Parameter("lr") >= 0.05)),
    "or": names((Metric("loss") > 0.8) | (Parameter("opt") == "sgd")),
    "tag": names(Tag("best")),
    "not_tag": names(~Tag("best")),
    "contains": names(Parameter("opt").contains("adam")),
    "startswith": names(Parameter("opt").startswith("ad")),
    "endswith": names(Parameter("opt").endswith("w")),
    "between": names(Metric("loss").between(0.1, 0.6)),
    "not_between": names(~Metric("loss").between(0.1, 0.6)),
    "other": names(Other("team") == "vision"),
    "ne": names(Parameter("opt") != "adam"),
    "name": names(Metadata("experiment_name") == "q2"),
    "started": names(Metadata("start_server_timestamp") > datetime(2020, 1, 1)),
    "null": names(Other("extra") == None),
    "not_null": names(Other("extra") != None),
}))
'''

CHART_SCRIPT = r'''
import json, sys
import comet_ml

workspace = sys.argv[1]
api = comet_ml.API()
keys = []
for i in range(2):
    e = comet_ml.APIExperiment(workspace=workspace, project_name="api-chart", experiment_name=f"c{i}")
    for step in range(5):
        e.log_metric("loss", (i + 1) * (5 - step), step=step, epoch=step // 2)
        if step % 2 == 0:
            e.log_metric("acc", 0.1 * step + i, step=step)
    e.log_parameter("lr", 0.1 * (i + 1))
    keys.append(e.key)
chart = api.get_metrics_for_chart(keys, ["loss", "acc"], ["lr"])
full = api.get_metrics_for_chart(keys, ["loss"], full=True)
df = api.get_metrics_df(keys, ["loss", "acc"], x_axis="step", interpolate=False)
df_epoch = api.get_metrics_df(keys, ["loss"], x_axis="epoch")
print(json.dumps({
    "keys": keys, "chart": chart, "full": full,
    "df_columns": list(df.columns), "df_rows": df.to_dict(orient="records"),
    "df_epoch_rows": len(df_epoch),
}))
'''

# comet-examples' optuna-hello-world (integrations/model-optimization/optuna): the same calls,
# with fewer trials so the suite stays fast.
OPTUNA_SCRIPT = r'''
from comet_ml import login

import optuna
from optuna_integration.comet import CometCallback

login()

study = optuna.create_study()
comet = CometCallback(
    study, project_name="comet-example-optuna-hello-world", metric_names=["score"]
)


@comet.track_in_comet()
def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    objective = (x - 2) ** 2

    return objective


study.optimize(objective, n_trials=2, callbacks=[comet])

best_params = study.best_params
found_x = best_params["x"]
print("Found x: {}, (x - 2)^2: {}".format(found_x, (found_x - 2) ** 2))
print("STUDY=" + study.user_attrs["comet_study_experiment_key"])
'''


def _json(result) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def v1(server, user, path: str, **params):
    r = requests.get(server.url + "/api/v1" + path, params=params, headers={"Authorization": user.api_key})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def owner(accounts):
    return accounts.create("cometapi")


@pytest.fixture(scope="module")
def edited(server, owner, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("comet-api-edit")
    return _json(run_comet(server, owner, tmp, EDIT_SCRIPT, owner.workspace))


def test_api_experiment_creation_and_edits(server, owner, edited):
    key = edited["key"]
    assert edited["name"] == "renamed-by-api" and edited["state"] == "finished"
    meta = edited["metadata"]
    assert (meta["workspaceName"], meta["projectName"], meta["running"]) == (owner.workspace, "api-surface", False)
    assert meta["startTimeMillis"] == 1_700_000_000_000 and meta["endTimeMillis"] == 1_700_000_090_000
    assert meta["durationMillis"] == 90_000
    assert edited["tags"] == ["keep"] and edited["deleted_tags"]["tags"] == ["keep"]
    assert edited["params"] == ["lr"]  # "opt" deleted, "model" took model|layers and model|act along
    assert edited["others"]["note"] == "from api"
    assert [(float(v), s) for v, s in edited["metrics"]] == [(0.9, 0), (0.4, 1)]
    assert edited["assets"] == ["other.json"]
    # the same, read through Halley's own API
    v1_meta = v1(server, owner, f"/experiments/{key}")
    assert (v1_meta["name"], v1_meta["status"]) == ("renamed-by-api", "finished")
    assert [a["name"] for a in v1(server, owner, f"/experiments/{key}/assets")["assets"]] == ["other.json"]


def test_archive_restore_and_delete(server, owner, tmp_path):
    got = _json(run_comet(server, owner, tmp_path, LIFECYCLE_SCRIPT, owner.workspace))
    a, b = got["a"], got["b"]
    assert got["after_archive"] == [b] and got["archived"] == [a]
    assert got["after_restore"] == sorted([a, b])
    assert got["after_delete"] == [a]
    r = requests.get(server.url + f"/api/v1/experiments/{b}", headers={"Authorization": owner.api_key})
    assert r.status_code == 404


def test_projects_notes_and_views(server, owner, accounts, tmp_path):
    from dashboard.auth import Actor
    from dashboard.services import accounts as account_service, project_views, projects

    with accounts.db.session() as s:  # a saved view in the project the edits went to
        user = account_service.find_user(s, owner.username)
        actor = Actor(user_id=user.id, username=user.username)
        project = projects.get_readable(s, actor, owner.workspace, "api-surface")
        project_views.create_view(s, actor, project, "Loss view", {})
        project_id = str(project.id)
    got = _json(run_comet(server, owner, tmp_path, PROJECT_SCRIPT, owner.workspace, "api-surface"))
    assert got["created"]["projectName"] == "made-by-api"
    assert got["project"]["projectDescription"] == "from the SDK" and got["project"]["workspaceName"] == owner.workspace
    assert got["by_id"] == got["project"] and got["project"]["numberOfExperiments"] == 0
    assert got["missing"] is None and got["missing_id"] is None
    assert got["notes"] == "# Notes\nfrom the SDK"
    assert got["views"] == ["Loss view"] and got["view_ids"] == [project_id]


def test_query_and_query_variables(server, owner, tmp_path):
    got = _json(run_comet(server, owner, tmp_path, QUERY_SCRIPT, owner.workspace))
    assert {"Metric('loss')", "Parameter('lr')", "Parameter('opt')", "Other('team')", "Tag('best')",
            "Metadata('start_server_timestamp')"} <= set(got["variables"])
    assert got["loss_lt"] == ["q1", "q2"]
    assert got["and"] == ["q1"]
    assert got["or"] == ["q2", "q3"]
    assert got["tag"] == ["q1", "q3"] and got["not_tag"] == ["q2"]
    assert got["contains"] == ["q1", "q3"] and got["startswith"] == ["q1", "q3"] and got["endswith"] == ["q3"]
    assert got["between"] == ["q1", "q2"] and got["not_between"] == ["q3"]
    assert got["other"] == ["q1", "q3"] and got["ne"] == ["q2", "q3"]
    assert got["name"] == ["q2"] and got["started"] == ["q1", "q2", "q3"]
    assert got["null"] == ["q2", "q3"] and got["not_null"] == ["q1"]


def test_query_refuses_unsupported_operators_clearly(server, owner, edited):
    headers = {"Authorization": owner.api_key}
    url = server.url + "/api/rest/v2/project/query"
    rule = {"id": "opt", "field": "opt", "type": "string", "operator": "not_begins_with", "value": "a"}
    body = {"workspaceName": owner.workspace, "projectName": "api-surface",
            "predicates": [{"source": "params", "query": {"condition": "AND", "rules": [rule]}}]}
    r = requests.post(url, json=body, headers=headers)
    assert r.status_code == 400 and "not_begins_with" in r.json()["msg"]
    for bad in ({**body, "predicates": "x"}, {**body, "predicates": [{"source": "nope", "query": {"rules": []}}]},
                {**body, "predicates": [{"source": "metrics", "query": {"rules": [{"field": "loss"}]}}]},
                {**body, "predicates": [{"source": "metadata", "query": {"rules": [
                    {"field": "unknown", "operator": "equal", "value": 1}]}}]},
                {**body, "predicates": [{"source": "metrics", "query": {"rules": [
                    {"field": "loss", "operator": "less", "value": "abc"}]}}]}):
        r = requests.post(url, json=bad, headers=headers)
        assert r.status_code == 400 and r.json()["msg"], bad


def test_metrics_for_chart_and_dataframe(server, owner, tmp_path):
    got = _json(run_comet(server, owner, tmp_path, CHART_SCRIPT, owner.workspace))
    k0, k1 = got["keys"]
    first = got["chart"][k0]
    assert first["experimentKey"] == k0 and first["params"] == {"lr": "0.1"}
    loss = next(m for m in first["metrics"] if m["metricName"] == "loss")
    assert loss["values"] == [5, 4, 3, 2, 1] and loss["steps"] == [0, 1, 2, 3, 4]
    assert loss["epochs"] == [0, 0, 1, 1, 2] and len(loss["timestamps"]) == 5 and len(loss["durations"]) == 5
    acc = next(m for m in got["chart"][k1]["metrics"] if m["metricName"] == "acc")
    assert acc["steps"] == [0, 2, 4] and acc["values"] == pytest.approx([1.0, 1.2, 1.4])
    assert [m["values"] for m in got["full"][k1]["metrics"]] == [[10, 8, 6, 4, 2]]
    assert got["full"][k1]["params"] is None
    assert got["df_columns"] == ["experiment_key", "experiment_name", "step", "loss", "acc"]
    rows = [r for r in got["df_rows"] if r["experiment_key"] == k0]
    assert [(r["step"], r["loss"]) for r in rows] == [(0, 5), (1, 4), (2, 3), (3, 2), (4, 1)]
    assert rows[0]["experiment_name"] == "c0" and rows[2]["acc"] == pytest.approx(0.2)
    assert got["df_epoch_rows"] == 6  # 3 epochs x 2 experiments


def test_asset_cleanup_rest_calls(server, owner, edited):
    """The calls of comet-examples' rest_api/asset_cleanup script, made as it makes them: list
    projects, experiments and assets, then GET write/experiment/asset/delete for each."""
    session = requests.Session()
    session.headers.update({"Authorization": owner.api_key, "Content-Type": "application/json"})
    base = server.url + "/api/rest/v2"
    names = [p["projectName"] for p in session.get(f"{base}/projects", params={"workspaceName": owner.workspace})
             .json()["projects"]]
    assert "api-surface" in names
    exps = session.get(f"{base}/experiments", params={"workspaceName": owner.workspace, "projectName": "api-surface",
                                                      "archived": "false"}).json()["experiments"]
    key = edited["key"]
    assert key in [e["experimentKey"] for e in exps]
    assets = session.get(f"{base}/experiment/asset/list", params={"experimentKey": key, "type": "all"}).json()["assets"]
    assert [a["fileName"] for a in assets] == ["other.json"] and assets[0]["createdAt"] > 0
    assert assets[0]["fileSize"] > 0
    r = session.get(f"{base}/write/experiment/asset/delete", params={"experimentKey": key,
                                                                     "assetId": assets[0]["assetId"]})
    r.raise_for_status()
    assert session.get(f"{base}/experiment/asset/list", params={"experimentKey": key}).json()["assets"] == []
    r = session.get(f"{base}/write/experiment/asset/delete", params={"experimentKey": key, "assetId": "gone"})
    assert r.status_code == 404 and r.json()["msg"]


def test_another_workspaces_key_is_refused(server, accounts, owner, edited):
    stranger = accounts.create("cometstranger")
    headers = {"Authorization": stranger.api_key}
    key = edited["key"]
    rest = server.url + "/api/rest/v2/"
    for path in ("write/experiment/archive", "write/experiment/restore", "write/experiment/delete",
                 "write/experiment/asset/delete"):
        r = requests.get(rest + path, params={"experimentKey": key, "assetId": "x"}, headers=headers)
        assert r.status_code == 404, path
    for path, body in (("write/experiment/tags/delete", {"experimentKey": key, "tags": ["keep"]}),
                       ("write/experiment/parameter/delete", {"experimentKey": key, "parameterName": "lr"}),
                       ("write/experiment/set-start-end-time", {"experimentKey": key, "startTimeMillis": 0}),
                       ("write/experiment/create", {"workspaceName": owner.workspace, "projectName": "x"}),
                       ("write/project/create", {"workspaceName": owner.workspace, "projectName": "x"}),
                       ("project/query", {"workspaceName": owner.workspace, "projectName": "api-surface",
                                          "predicates": [{"source": "tag", "query": {"rules": [
                                              {"field": "keep", "operator": "equal", "value": "keep"}]}}]})):
        r = requests.post(rest + path, json=body, headers=headers)
        assert r.status_code in (403, 404), (path, r.status_code)
    r = requests.get(rest + "project", params={"workspaceName": owner.workspace, "projectName": "api-surface"},
                     headers=headers)
    assert r.status_code == 404
    chart = requests.post(rest + "experiments/multi-metric-chart", json={"targetedExperiments": [key],
                                                                          "metrics": ["loss"]}, headers=headers)
    assert chart.status_code == 200 and chart.json()["experiments"] == {}
    # nothing changed
    assert v1(server, owner, f"/experiments/{key}/tags")["tags"] == ["keep"]
    assert v1(server, owner, f"/experiments/{key}")["archived"] is False


def test_bad_input_is_a_clear_4xx(server, owner, edited):
    headers = {"Authorization": owner.api_key}
    rest = server.url + "/api/rest/v2/"
    key = edited["key"]
    cases = [
        ("write/experiment/create", {"workspaceName": owner.workspace}),
        ("write/experiment/create", {"workspaceName": owner.workspace, "projectName": "p", "experimentName": 3}),
        ("write/experiment/set-start-end-time", {"experimentKey": key}),
        ("write/experiment/set-start-end-time", {"experimentKey": key, "startTimeMillis": "soon"}),
        ("write/experiment/set-start-end-time", {"experimentKey": key, "startTimeMillis": 10 ** 20}),
        ("write/experiment/set-start-end-time", {"experimentKey": key, "startTimeMillis": 2000, "endTimeMillis": 1000}),
        ("write/experiment/tags/delete", {"experimentKey": key, "tags": "keep"}),
        ("write/experiment/parameter/delete", {"experimentKey": key}),
        ("write/experiments/parameters/delete", {"experimentKey": key}),
        ("write/project/create", {"workspaceName": owner.workspace, "projectName": "a/b"}),
        ("write/project/create", {"workspaceName": owner.workspace, "projectName": "api-surface"}),
        ("write/project/notes", {"projectId": "abc", "notes": "x"}),
        ("experiments/multi-metric-chart", {"targetedExperiments": "x", "metrics": ["loss"]}),
        ("experiments/multi-metric-chart", {"targetedExperiments": [key], "metrics": [1]}),
    ]
    for path, body in cases:
        r = requests.post(rest + path, json=body, headers=headers)
        assert 400 <= r.status_code < 500 and r.json()["msg"], (path, body, r.status_code, r.text[:200])
    for path, params in (("project", {}), ("project", {"projectId": "nope"}), ("project/notes", {"projectId": "-1"}),
                         ("views/get-all", {}), ("write/experiment/archive", {}),
                         ("write/experiment/delete", {"experimentKey": "x" * 300}),
                         ("project/column-names", {"workspaceName": owner.workspace, "projectName": "nope"})):
        r = requests.get(rest + path, params=params, headers=headers)
        assert 400 <= r.status_code < 500 and r.json()["msg"], (path, params, r.status_code)
    r = requests.post(rest + "write/experiment/create", data="{",
                      headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 400


@pytest.mark.skipif(not _has_optuna(), reason="optuna-integration is not installed (the test extra has it)")
def test_optuna_comet_callback(server, owner, tmp_path):
    extra = {"PYTHONPATH": OPTUNA_PATH} if OPTUNA_PATH else {}
    result = run_comet(server, owner, tmp_path, OPTUNA_SCRIPT, COMET_WORKSPACE=owner.workspace, **extra)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Found x:" in result.stdout
    study_key = result.stdout.split("STUDY=")[1].split()[0]
    study = v1(server, owner, f"/experiments/{study_key}")
    assert study["project"] == "comet-example-optuna-hello-world" and study["status"] == "finished"
    assert "optuna_study" in v1(server, owner, f"/experiments/{study_key}/tags")["tags"]
    others = {o["key"]: o["value"] for o in v1(server, owner, f"/experiments/{study_key}/others")["others"]}
    assert others["optuna_study_name"] and others["direction_of_objective_score"] == "minimize"
    runs = v1(server, owner, f"/workspaces/{owner.workspace}/projects/comet-example-optuna-hello-world/experiments")
    trials = [e for e in runs["experiments"] if e["experiment_key"] != study_key]
    assert len(trials) == 2 and all(e["status"] == "finished" for e in trials)
    params = v1(server, owner, f"/experiments/{trials[0]['experiment_key']}/parameters")["parameters"]
    assert "x" in {p["name"] for p in params}




def test_openapi_and_readme_name_what_is_served(server):
    from dashboard.api.comet.coverage import NOT_SERVED

    doc = requests.get(server.url + "/api/v1/openapi.json").json()["x-comet-protocol"]
    served = {item["path"]: item["methods"] for item in doc["served"]}
    for path, method in (("write/experiment/create", "POST"), ("write/experiment/set-start-end-time", "POST"),
                         ("write/experiment/tags/delete", "POST"), ("write/experiment/parameter/delete", "POST"),
                         ("write/experiment/asset/delete", "GET"), ("write/experiment/archive", "GET"),
                         ("write/experiment/restore", "GET"), ("write/experiment/delete", "GET"),
                         ("project", "GET"), ("write/project/create", "POST"), ("project/notes", "GET"),
                         ("views/get-all", "GET"), ("project/column-names", "GET"), ("project/query", "POST"),
                         ("experiments/multi-metric-chart", "POST"), ("write/artifacts/upsert", "POST"),
                         ("artifacts/version", "GET"), ("artifacts/get-all", "GET")):
        assert method in served["/api/rest/v2/" + path], path
    assert "/clientlib/logger/add/run" in served and not any("unknown" in p for p in served)
    assert doc["not_served"] == NOT_SERVED
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for what in NOT_SERVED:
        assert what in readme, what
