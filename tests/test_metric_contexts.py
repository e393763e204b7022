"""A metric logged with a context (comet_ml's train()/validate()/context_manager(), xgboost's
eval sets) is its own series, named as Comet names it: `{context}_{name}`, whether it came
from the real comet_ml, Halley's SDK or an imported offline archive."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.test_comet_import import comet_env, halley_import
from tests.test_comet_live import api_get, run_comet

# What comet_ml's xgboost callback does per eval set: `with experiment.context_manager(name):
# experiment._log_metrics(metrics)` (comet_ml/callbacks/_base.py), i.e. log_metrics in a context.
LOGGING = r'''
for step in range(3):
    with exp.train():
        exp.log_metric("loss", 1.0 / (step + 1), step=step)
        exp.log_metric("train_acc", 0.5 + step / 10, step=step)  # already prefixed: stays train_acc
    with exp.validate():
        exp.log_metric("loss", 2.0 / (step + 1), step=step)
    for eval_set, base in (("validation_0", 0.5), ("validation_1", 0.7)):
        with exp.context_manager(eval_set):
            exp.log_metrics({"rmse": base - step / 10}, step=step)
    exp.log_metric("lr", 0.1, step=step)
'''

COMET_SCRIPT = r'''
import sys
import comet_ml

Experiment = comet_ml.OfflineExperiment if sys.argv[1] == "offline" else comet_ml.Experiment
exp = Experiment(project_name="contexts", log_env_gpu=False, log_env_details=False, log_code=False,
                 log_git_metadata=False, log_git_patch=False, log_env_cpu=False, log_env_network=False,
                 log_env_disk=False, log_env_host=False)
print("KEY=" + exp.get_key(), flush=True)
''' + LOGGING + r'''
exp.end()
'''

API_SCRIPT = r'''
import json, sys
import comet_ml

exp = comet_ml.API().get_experiment_by_key(sys.argv[1])
print(json.dumps({"metrics": exp.get_metrics(), "summary": exp.get_metrics_summary(),
                  "one": exp.get_metrics("validation_1_rmse")}))
'''

SERIES = {
    "train_loss": ([1.0, 0.5, 1 / 3], "train"),
    "validate_loss": ([2.0, 1.0, 2 / 3], "validate"),
    "train_acc": ([0.5, 0.6, 0.7], "train"),
    "validation_0_rmse": ([0.5, 0.4, 0.3], "validation_0"),
    "validation_1_rmse": ([0.7, 0.6, 0.5], "validation_1"),
    "lr": ([0.1, 0.1, 0.1], None),
}


def user_series(points: list[dict]) -> dict[str, list[tuple]]:
    """{series name: [(value, step, context)]} of the REST read."""
    out: dict[str, list[tuple]] = {}
    for p in points:
        out.setdefault(p["name"], []).append((p["value"], p["step"], p["context"]))
    return out


def assert_series(server, user, key):
    got = user_series(api_get(server, user, f"/experiments/{key}/metrics")["metrics"])
    assert set(SERIES) <= set(got) and not {"loss", "rmse", "acc", "train_train_acc"} & set(got)
    for name, (values, context) in SERIES.items():
        assert [p[0] for p in got[name]] == pytest.approx(values), name
        assert [(p[1], p[2]) for p in got[name]] == [(0, context), (1, context), (2, context)], name
    summary = {m["name"] for m in api_get(server, user, f"/experiments/{key}/metrics/summary")["metrics"]}
    assert set(SERIES) <= summary and not {"loss", "rmse", "acc", "train_train_acc"} & summary


def assert_table_columns(server, accounts, user, project: str):
    """The project table offers each series as its own column, and fills it."""
    from dashboard.services import experiment_table, projects, view_state, workspaces

    with accounts.db.session() as s:
        ws = workspaces.find_by_name(s, user.workspace)
        ids = {a["id"] for a in experiment_table.attributes(s, projects.find(s, ws.id, project))}
    assert {f"metric:last:{n}" for n in SERIES} <= ids
    assert not {"metric:last:loss", "metric:last:rmse"} & ids
    columns = [f"metric:last:{n}" for n in ("train_loss", "validate_loss", "validation_0_rmse", "validation_1_rmse")]
    state = view_state.encode_state({**view_state.default_state(), "columns": columns})
    r = requests.get(f"{server.url}/api/v1/workspaces/{user.workspace}/projects/{project}/experiments.csv",
                     params={"state": state}, headers={"Authorization": user.api_key})
    assert r.status_code == 200, r.text
    (row,) = list(csv.DictReader(io.StringIO(r.text)))
    last = [float(v) for k, v in row.items() if "loss" in k or "rmse" in k]
    assert last == pytest.approx([1 / 3, 2 / 3, 0.3, 0.5]), row


def test_comet_ml_contexts_are_series_of_their_own(server, accounts, tmp_path):
    user = accounts.create("ctxcomet")
    result = run_comet(server, user, tmp_path, COMET_SCRIPT, "online")
    assert result.returncode == 0, result.stderr[-3000:]
    key = result.stdout.split("KEY=")[1].split()[0]
    assert_series(server, user, key)
    assert_table_columns(server, accounts, user, "contexts")

    # comet_ml's own API reads them back as Comet shows them: name with its context, and the context
    api = run_comet(server, user, tmp_path, API_SCRIPT, key)
    assert api.returncode == 0, api.stderr[-3000:]
    got = json.loads(api.stdout.strip().splitlines()[-1])
    pairs = {(m["metricName"], m["runContext"]) for m in got["metrics"]}
    assert {(n, c) for n, (_, c) in SERIES.items()} <= pairs and not {n for n, _ in pairs} & {"loss", "rmse"}
    assert {m["name"] for m in got["summary"]} >= set(SERIES)
    assert [float(m["metricValue"]) for m in got["one"]] == pytest.approx([0.7, 0.6, 0.5])
    assert {(m["metricName"], m["runContext"]) for m in got["one"]} == {("validation_1_rmse", "validation_1")}


def test_halley_sdk_contexts_are_series_of_their_own(server, accounts, tmp_path):
    user = accounts.create("ctxsdk")
    script = tmp_path / "train.py"
    script.write_text("import sys\nfrom dashboard.sdk import Experiment\n"
                      "exp = Experiment(project_name='contexts', log_code=False, parse_args=False, "
                      "auto_output_logging=False, log_env_details=False, log_git_metadata=False, "
                      "log_git_patch=False, auto_metric_logging=False)\n"
                      "print('KEY=' + exp.get_key(), flush=True)\n" + LOGGING + "exp.end()\n")
    env = {"HALLEY_URL": server.url, "HALLEY_API_KEY": user.api_key, "HALLEY_SPOOL_DIR": str(tmp_path / "spool"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    key = result.stdout.split("KEY=")[1].split()[0]
    assert_series(server, user, key)
    assert_table_columns(server, accounts, user, "contexts")


def test_imported_offline_archive_keeps_contexts_apart(server, accounts, tmp_path):
    user = accounts.create("ctximport")
    script = tmp_path / "offline.py"
    script.write_text(COMET_SCRIPT)
    result = subprocess.run([sys.executable, str(script), "offline"], env=comet_env(tmp_path), cwd=tmp_path,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    key = result.stdout.split("KEY=")[1].split()[0]
    (archive,) = (tmp_path / "offline").glob("*.zip")
    imported = halley_import(server, archive, "--user", user.username)
    assert imported.returncode == 0, imported.stderr + imported.stdout
    assert_series(server, user, key)
    again = halley_import(server, archive, "--user", user.username)  # importing twice changes nothing
    assert again.returncode == 0
    assert_series(server, user, key)
