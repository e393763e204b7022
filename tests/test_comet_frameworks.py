"""comet_ml's framework integrations against a live Halley: XGBoost auto-logging (one series
per evaluation set) and the Metaflow flow decorator (one experiment per run and per task,
finished through the REST API), each run unmodified in its own process with auto-logging on."""
from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sqlmodel import select

from dashboard.services import asset_pages, projects, table_groups, workspaces
from models import Asset
from tests.test_comet_live import online_env

XGBOOST_JOB = r'''
import comet_ml  # first, so the XGBoost hooks are in place before xgboost is imported

import xgboost
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

comet_ml.login()
run = comet_ml.start(project_name="xgb-diabetes")
features, target = load_diabetes(return_X_y=True, as_frame=True)
fit_x, hold_x, fit_y, hold_y = train_test_split(features, target, test_size=0.25, random_state=3)
model = xgboost.XGBRegressor(objective="reg:squarederror", n_estimators=6, max_depth=3,
                             learning_rate=0.2, eval_metric="rmse")
model.fit(fit_x, fit_y, eval_set=[(fit_x, fit_y), (hold_x, hold_y)], verbose=False)
print("KEY=" + run.get_key(), flush=True)
run.end()
'''

METAFLOW_JOB = r'''
from comet_ml import login
from comet_ml.integration.metaflow import comet_flow
from metaflow import FlowSpec, JSONType, Parameter, card, step


@comet_flow(project_name="flow-tips")
class TipsFlow(FlowSpec):
    """Fits a few regressors side by side and keeps the best on the run's experiment."""

    kinds = Parameter("kinds", type=JSONType, default='["linear", "tree"]')

    @step
    def start(self):
        from sklearn.datasets import load_diabetes

        self.x, self.y = load_diabetes(return_X_y=True)
        self.next(self.fit, foreach="kinds")

    @card(type="html")
    @step
    def fit(self):
        from sklearn.linear_model import LinearRegression
        from sklearn.tree import DecisionTreeRegressor

        self.kind = self.input
        model = LinearRegression() if self.kind == "linear" else DecisionTreeRegressor(max_depth=3)
        model.fit(self.x[:300], self.y[:300])
        self.score = model.score(self.x[300:], self.y[300:])
        self.comet_experiment.log_metric("score", self.score)
        self.html = "<h1>%s</h1><p>R2 %.3f</p>" % (self.kind, self.score)
        self.next(self.pick)

    @step
    def pick(self, inputs):
        from comet_ml import API

        best = max(inputs, key=lambda i: i.score)
        for i in inputs:
            self.comet_experiment.log_metric(i.kind + "_score", i.score)
        API().get_experiment_by_key(self.run_comet_experiment_key).log_parameter("best", best.kind)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    login()
    TipsFlow()
'''


@pytest.fixture(scope="module")
def framework_user(accounts):
    return accounts.create("frameworks")


def auto_logging_env(server, user, tmp: Path) -> dict:
    env = online_env(server, user, tmp, COMET_WORKSPACE=user.workspace, USERNAME="flow-tester")
    del env["COMET_DISABLE_AUTO_LOGGING"]  # these jobs rely on comet_ml's framework hooks
    return env


def xgboost_alias(tmp: Path) -> str:
    """comet_ml finds XGBoost's version by the distribution name ``xgboost``; the CPU-only wheel
    is ``xgboost-cpu`` (the same module). A metadata entry under the plain name lets comet_ml hook
    the CPU wheel the way it hooks the full one."""
    try:
        importlib.metadata.distribution("xgboost")
        return ""
    except importlib.metadata.PackageNotFoundError:
        version = importlib.metadata.version("xgboost-cpu")
    info = tmp / "alias" / f"xgboost-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: xgboost\nVersion: {version}\n")
    return str(info.parent)


def run_job(tmp: Path, script: str, env: dict, *args: str) -> subprocess.CompletedProcess:
    path = tmp / "job.py"
    path.write_text(script)
    result = subprocess.run([sys.executable, str(path), *args], cwd=tmp, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result


def rest(server, user, path: str, **params):
    r = requests.get(server.url + "/api/rest/v2/" + path, params=params, headers={"Authorization": user.api_key})
    assert r.status_code == 200, r.text
    return r.json()


def test_xgboost_eval_sets_become_one_series_each(server, framework_user, tmp_path):
    env = auto_logging_env(server, framework_user, tmp_path)
    alias = xgboost_alias(tmp_path)
    if alias:
        env["PYTHONPATH"] = alias + ":" + env.get("PYTHONPATH", "")
    result = run_job(tmp_path, XGBOOST_JOB, env)
    assert "callback couldn't be injected" not in result.stderr
    key = result.stdout.split("KEY=")[1].split()[0]

    summary = {m["name"]: m for m in rest(server, framework_user, "experiment/metrics/summary",
                                          experimentKey=key)["values"]}
    for series in ("validation_0_rmse", "validation_1_rmse"):
        assert summary[series]["stepCurrent"] == 5, sorted(summary)
        points = rest(server, framework_user, "experiment/metrics/get-metric", experimentKey=key,
                      metricName=series)["metrics"]
        assert [p["step"] for p in points] == list(range(6))
        assert {p["runContext"] for p in points} == {series.removesuffix("_rmse")}
    assert not any(name.endswith("-rmse") or name == "rmse" for name in summary)
    # the held-out set fits worse than the training set by the last round
    assert float(summary["validation_1_rmse"]["valueCurrent"]) > float(summary["validation_0_rmse"]["valueCurrent"])
    params = {p["name"]: p["valueCurrent"] for p in rest(server, framework_user, "experiment/parameters",
                                                        experimentKey=key)["values"]}
    assert params["objective"] == "reg:squarederror" and params["max_depth"] == "3"


def test_metaflow_run_and_tasks_land_as_experiments(server, accounts, framework_user, tmp_path):
    env = auto_logging_env(server, framework_user, tmp_path)
    run_job(tmp_path, METAFLOW_JOB, env, "run")
    rows = rest(server, framework_user, "experiments", workspaceName=framework_user.workspace,
                projectName="flow-tips")["experiments"]
    by_name = {e["experimentName"]: e for e in rows}
    run_id = next(name for name in by_name if name.startswith("flow - TipsFlow - ")).rsplit(" ", 1)[1]
    run_key = hashlib.sha1((run_id + "user:flow-tester").encode()).hexdigest()
    assert by_name[f"flow - TipsFlow - {run_id}"]["experimentKey"] == run_key
    steps = sorted(name.split(" - ")[0].split("/")[1] for name in by_name if not name.startswith("flow - "))
    assert steps == ["end", "fit", "fit", "pick", "start"], sorted(by_name)
    assert all(e["status"] == "finished" for e in rows)

    def others(key):
        return {o["name"]: o["valueCurrent"] for o in rest(server, framework_user, "experiment/log-other",
                                                           experimentKey=key)["values"]}

    # the run's experiment: finished by the last task through the REST API, with the flow's graph
    # and the parameter the join step set on it
    run_others = others(run_key)
    assert run_others["metaflow_status"] == "Completed" and run_others["pipeline_type"] == "metaflow"
    assert run_others["metaflow_run_id"] == run_id
    run_params = {p["name"]: p["valueCurrent"] for p in rest(server, framework_user, "experiment/parameters",
                                                            experimentKey=run_key)["values"]}
    assert run_params["best"] in ("linear", "tree") and run_params["kinds"] == '["linear", "tree"]'
    run_assets = rest(server, framework_user, "experiment/asset/list", experimentKey=run_key)["assets"]
    assert f"TipsFlow-{run_id}-graph.json" in {a["fileName"] for a in run_assets}

    # each task: tagged with its step, pointing at the run, its metric and its card
    fits = [e for name, e in by_name.items() if "/fit - " in name]
    for e in fits:
        key = e["experimentKey"]
        task = others(key)
        assert task["metaflow_step_name"] == "fit" and task["metaflow_run_experiment"] == run_key
        assert task["metaflow_status"] == "Completed"
        assert rest(server, framework_user, "experiment/tags", experimentKey=key)["tags"] == ["fit"]
        summary = {m["name"] for m in rest(server, framework_user, "experiment/metrics/summary",
                                           experimentKey=key)["values"]}
        assert "score" in summary
        cards = [a for a in rest(server, framework_user, "experiment/asset/list", experimentKey=key)["assets"]
                 if a["type"] == "metaflow-card"]
        assert [a["fileName"] for a in cards] == ["metaflow-card-fit-0.html"]

    # the project table groups the flow as Comet's Metaflow view does: by run, then by step
    with accounts.db.session() as session:
        ws = workspaces.find_by_name(session, framework_user.workspace)
        project = projects.find(session, ws.id, "flow-tips")
        state = {"groupBy": ["other:metaflow_run_id", "other:metaflow_step_name"]}
        by_run, _ = table_groups.level_groups(session, project, state, [])
        by_step, _ = table_groups.level_groups(session, project, state, [run_id])
        # the Assets tab names a card by comet_ml's kind for it, not as "other"
        card = session.exec(select(Asset).where(Asset.file_name == "metaflow-card-fit-0.html")).first()
        assert card.type == "other" and asset_pages.shown_type(card) == "metaflow-card"
    assert [(g["value"], g["count"]) for g in by_run] == [(run_id, 6)]
    assert sorted((g["value"] or "", g["count"]) for g in by_step) == [
        ("", 1), ("end", 1), ("fit", 2), ("pick", 1), ("start", 1)]
