"""The comet_ml Optimizer protocol served by Halley: the real comet_ml (and Halley's own SDK) in
worker processes sharing one sweep, for grid, random and bayes; status, resume, bad configs and
workspace isolation."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.postgres_fixtures import postgres  # noqa: F401  (the session's cluster)
from tests.test_comet_live import online_env

WORKER = r'''
import json, sys
import comet_ml

arg = sys.argv[1]
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 0
config = json.loads(arg) if arg.startswith("{") else arg
opt = comet_ml.Optimizer(config, verbose=0)
print("ID=" + opt.get_id(), flush=True)
done = 0
for exp in opt.get_experiments(project_name="sweeps", log_code=False, log_git_metadata=False, log_git_patch=False,
                               log_env_details=False, log_env_gpu=False, log_env_cpu=False, log_env_host=False,
                               auto_output_logging=None, parse_args=False, display_summary_level=0):
    x, y = exp.get_parameter("x"), exp.get_parameter("y")
    loss = (float(x) - 3) ** 2 + (0.5 if y == "b" else 0.0)
    exp.log_metric("loss", loss, step=0)
    print("RUN=" + json.dumps({"key": exp.get_key(), "x": x, "y": y, "pid": exp.optimizer["pid"],
                               "trial": exp.optimizer["trial"], "loss": loss}), flush=True)
    exp.end()
    done += 1
    if limit and done >= limit:
        break
'''

HALLEY_WORKER = r'''
import json, sys
from dashboard.sdk import Optimizer

arg = sys.argv[1]
config = json.loads(arg) if arg.startswith("{") else arg
opt = Optimizer(config)
print("ID=" + opt.get_id(), flush=True)
for exp in opt.get_experiments(project_name="sweeps-sdk", log_code=False, log_git_metadata=False,
                               log_git_patch=False, log_env_details=False, log_env_gpu=False, log_env_cpu=False,
                               auto_output_logging=False, parse_args=False):
    x, y = exp.get_parameter("x"), exp.get_parameter("y")
    loss = (float(x) - 3) ** 2 + (0.5 if y == "b" else 0.0)
    exp.log_metric("loss", loss, step=0)
    print("RUN=" + json.dumps({"key": exp.get_key(), "x": x, "y": y, "pid": exp.optimizer["pid"],
                               "trial": exp.optimizer["trial"], "loss": loss}), flush=True)
    exp.end()
print("STATUS=" + json.dumps(opt.status()), flush=True)
'''

GRID = {"algorithm": "grid", "parameters": {"x": {"type": "integer", "min": 1, "max": 3},
                                            "y": {"type": "categorical", "values": ["a", "b"]}},
        "spec": {"metric": "loss", "objective": "minimize", "seed": 7}}
RANDOM = {"algorithm": "random", "parameters": {"x": {"type": "float", "min": 0.5, "max": 8, "scalingType": "loguniform"},
                                                "y": ["a", "b"]},
          "spec": {"metric": "loss", "maxCombo": 6, "seed": 11}}
BAYES = {"algorithm": "bayes", "parameters": {"x": {"type": "float", "min": 0, "max": 6},
                                              "y": {"type": "categorical", "values": ["a", "b"]}},
         "spec": {"metric": "loss", "objective": "minimize", "maxCombo": 6, "seed": 5}}


def start(script: str, tmp: Path, server, user, *args, halley: bool = False) -> subprocess.Popen:
    path = tmp / ("halley_worker.py" if halley else "comet_worker.py")
    path.write_text(script)
    env = online_env(server, user, tmp)
    if halley:
        env.update(HALLEY_URL=server.url, HALLEY_API_KEY=user.api_key, HALLEY_SPOOL_DIR=str(tmp / "spool"))
    return subprocess.Popen([sys.executable, str(path), *args], cwd=tmp, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def first_line_id(proc: subprocess.Popen) -> str:
    """The worker's first line (the sweep's id), read from the pipe a byte at a time: nothing
    after it leaves the pipe, where ``finish`` reads the rest (``communicate`` reads the pipes
    themselves, not the lines a buffered ``readline`` would have taken along)."""
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(proc.stdout.fileno(), 1)
        if not byte:
            break
        line += byte
    text = line.decode()
    assert text.startswith("ID="), text + proc.stderr.read()[-3000:]
    return text.strip()[3:]


def finish(proc: subprocess.Popen) -> list[dict]:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    return [json.loads(line[4:]) for line in out.splitlines() if line.startswith("RUN=")]


def test_a_worker_s_runs_printed_right_after_its_id_are_all_counted(tmp_path):
    """A worker quick enough to print its first run before its id is read: that run is kept."""
    script = tmp_path / "quick.py"
    script.write_text('print("ID=abc"); print("RUN=" + \'{"pid": "p1"}\'); print("RUN=" + \'{"pid": "p2"}\')')
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.wait(timeout=60)  # every line is in the pipe before the id is read
    assert first_line_id(proc) == "abc"
    assert finish(proc) == [{"pid": "p1"}, {"pid": "p2"}]


def status(server, user, sweep_id: str) -> dict:
    r = requests.get(server.url + "/optimizer/status", params={"id": sweep_id}, headers={"X-API-KEY": user.api_key})
    assert r.status_code == 200, r.text
    return r.json()


def run_sweep(server, user, tmp: Path, config: dict, script: str = WORKER, halley: bool = False):
    """Three worker processes share one sweep: the first creates it, two more join by its id."""
    first = start(script, tmp, server, user, json.dumps(config), halley=halley)
    sweep_id = first_line_id(first)
    others = [start(script, tmp, server, user, sweep_id, halley=halley) for _ in range(2)]
    runs = [finish(p) for p in [first, *others]]
    return sweep_id, runs


def others_of(server, user, key: str) -> dict:
    r = requests.get(f"{server.url}/api/v1/experiments/{key}/others", headers={"Authorization": user.api_key})
    assert r.status_code == 200, r.text
    return {o["key"]: o["value"] for o in r.json()["others"]}


def test_three_comet_workers_share_one_sweep_for_each_algorithm(server, accounts, tmp_path):
    """grid, random and bayes side by side, each sweep with three comet_ml worker processes."""
    configs = {"grid": GRID, "random": RANDOM, "bayes": BAYES}
    users = {name: accounts.create("opt" + name) for name in configs}
    folders = {name: tmp_path / name for name in configs}
    for folder in folders.values():
        folder.mkdir()
    firsts = {name: start(WORKER, folders[name], server, users[name], json.dumps(config))
              for name, config in configs.items()}
    ids = {name: first_line_id(proc) for name, proc in firsts.items()}
    joined = {name: [start(WORKER, folders[name], server, users[name], ids[name]) for _ in range(2)] for name in configs}
    runs = {name: [r for proc in [firsts[name], *joined[name]] for r in finish(proc)] for name in configs}
    for name, config in configs.items():
        check_sweep(server, users[name], ids[name], config, runs[name])


def check_sweep(server, user, sweep_id: str, config: dict, flat: list[dict]) -> None:
    assert len(flat) == 6, (config["algorithm"], flat)
    pids = [r["pid"] for r in flat]
    assert len(set(pids)) == 6, pids  # no parameter set handed out twice
    if config["algorithm"] == "grid":
        assert sorted((r["x"], r["y"]) for r in flat) == [(x, y) for x in (1, 2, 3) for y in ("a", "b")]
    else:
        assert all(r["y"] in ("a", "b") and isinstance(r["x"], float) for r in flat)
        assert all(0.5 <= r["x"] <= 8 for r in flat) if config is RANDOM else all(0 <= r["x"] <= 6 for r in flat)
    st = status(server, user, sweep_id)
    assert st["status"] == "completed" and st["algorithm"] == config["algorithm"]
    assert st["counts"] == {"running": 0, "completed": 6, "aborted": 0, "retry": 0, "failed": 0}
    assert st["comboCount"] == 6 and st["state"]["sequence_i"] == 6
    assert st["best"]["score"] == min(r["loss"] for r in flat)
    # each run carries the sweep's id and its parameters, and the sweep knows its run
    best = next(r for r in flat if r["pid"] == st["best"]["pid"])
    others = others_of(server, user, best["key"])
    assert others["optimizer_id"] == sweep_id and others["optimizer_metric"] == "loss"
    assert st["best"]["experimentKey"] == best["key"]


def test_resume_a_sweep_by_its_id(server, accounts, tmp_path):
    user = accounts.create("optresume")
    config = {**GRID, "parameters": {"x": [1, 2], "y": ["a", "b"]}}
    first = start(WORKER, tmp_path, server, user, json.dumps(config), "2")
    sweep_id = first_line_id(first)
    before = finish(first)
    assert len(before) == 2 and status(server, user, sweep_id)["status"] == "running"
    after = finish(start(WORKER, tmp_path, server, user, sweep_id))
    assert sorted((r["x"], r["y"]) for r in before + after) == [(1, "a"), (1, "b"), (2, "a"), (2, "b")]
    st = status(server, user, sweep_id)
    assert st["status"] == "completed" and st["counts"]["completed"] == 4
    # the sweep is now used up: a worker joining later gets nothing
    r = requests.get(server.url + "/optimizer/next", params={"id": sweep_id}, headers={"X-API-KEY": user.api_key})
    assert r.status_code == 200 and r.json()["code"] != 200


def test_halley_sdk_optimizer_with_three_workers(server, accounts, tmp_path):
    user = accounts.create("optsdk")
    config = {**GRID, "trials": 2, "parameters": {"x": [1, 3], "y": ["a", "b"]}}
    sweep_id, runs = run_sweep(server, user, tmp_path, config, script=HALLEY_WORKER, halley=True)
    flat = [r for worker in runs for r in worker]
    assert sorted((r["x"], r["y"], r["trial"]) for r in flat) == sorted(
        (x, y, t) for x in (1, 3) for y in ("a", "b") for t in (1, 2))
    st = status(server, user, sweep_id)
    assert st["status"] == "completed" and st["counts"]["completed"] == 8 and st["trials"] == 2
    assert others_of(server, user, flat[0]["key"])["optimizer_id"] == sweep_id


def test_bad_configs_and_other_workspaces(server, accounts):
    user, stranger = accounts.create("optbad"), accounts.create("optother")
    post = lambda path, body, key=user.api_key: requests.post(server.url + path, json=body,  # noqa: E731
                                                              headers={"X-API-KEY": key})
    for bad, words in [
        ({**GRID, "algorithm": "hyperband"}, "algorithm"),
        ({**GRID, "parameters": {}}, "parameters"),
        ({**GRID, "parameters": {"x": {"type": "float"}}}, "min and max"),
        ({**GRID, "parameters": {"x": {"type": "float", "min": 2, "max": 1}}}, "above max"),
        ({**GRID, "parameters": {"x": {"type": "complex", "min": 0, "max": 1}}}, "type"),
        ({**GRID, "parameters": {"x": {"type": "float", "min": 0, "max": 1, "scalingType": "loguniform"}}}, "above 0"),
        ({**GRID, "spec": {"objective": "best"}}, "objective"),
        ({**GRID, "trials": 0}, "trials"),
        ({**RANDOM, "parameters": {"x": {"type": "float", "min": 0, "max": 1}}, "spec": {"maxCombo": 0, "gridSize": 1000},
          "trials": 1000}, "maxCombo"),
    ]:
        for path in ("/optimizer/create", "/api/v1/optimizer/create"):
            r = post(path, bad)
            assert r.status_code == 400, (path, bad, r.text)
            assert words in json.dumps(r.json()), (words, r.text)
    r = requests.get(server.url + "/optimizer/spec", params={"algorithmName": "nope"}, headers={"X-API-KEY": user.api_key})
    assert r.status_code == 400 and "grid" in r.json()["msg"]
    assert post("/optimizer/create", GRID, key="not-a-key").status_code == 401

    sweep_id = post("/optimizer/create", GRID).json()["id"]
    for path in ("/optimizer/status", "/optimizer/next", "/api/v1/optimizer/status"):
        r = requests.get(server.url + path, params={"id": sweep_id}, headers={"Authorization": stranger.api_key})
        assert r.status_code == 404, (path, r.text)
    assert post("/api/v1/optimizer/next", {"id": sweep_id}, key=stranger.api_key).status_code == 404
    r = post("/optimizer/update", {"id": sweep_id, "pid": "x", "trial": 1, "status": "completed"}, key=stranger.api_key)
    assert r.status_code == 404
    listed = requests.get(server.url + "/optimizer/status", headers={"X-API-KEY": stranger.api_key}).json()
    assert sweep_id not in json.dumps(listed)
    # the owner's own calls with bad fields: 4xx, never 5xx
    for body in [{"id": sweep_id}, {"id": sweep_id, "pid": "x", "trial": "one"}, {"id": 5},
                 {"id": sweep_id, "pid": "x", "trial": 1, "status": "exploded"}]:
        assert 400 <= post("/optimizer/update", body).status_code < 500, body
    assert post("/optimizer/no/such", {}).status_code == 404


# The distributed-optimizer pattern of Comet's examples: one job creates the sweep and prints its
# id; parallel jobs then call Optimizer() with no arguments, which reads COMET_OPTIMIZER_ID.
INIT_JOB = """
from comet_ml import Optimizer

opt = Optimizer(config={"algorithm": "grid", "parameters": {"x": {"type": "integer", "min": 1, "max": 5}},
                        "spec": {"metric": "loss", "objective": "minimize"}})
print(opt.get_id())
"""
WORKER_JOB = """
import time
from comet_ml import Optimizer

for experiment in Optimizer().get_experiments():
    x = experiment.get_parameter("x")
    experiment.log_parameter("x", x)
    print("Current hyperparameter value: ", x)
    time.sleep(60)  # training
"""
# The workers "train" with time.sleep(60); this hook (a sitecustomize module on their path)
# shortens only the sleeps the job itself calls.
SHORT_SLEEP = """
import sys, time
_sleep = time.sleep
def sleep(seconds):
    caller = sys._getframe(1).f_globals.get("__name__")
    _sleep(min(seconds, 0.2) if caller == "__main__" else seconds)
time.sleep = sleep
"""


def test_distributed_optimizer_jobs_share_a_sweep_by_environment(server, accounts, tmp_path):
    """Comet's distributed-optimizer pattern: one job creates the sweep and prints its id, then
    parallel jobs run it with COMET_OPTIMIZER_ID, COMET_WORKSPACE and COMET_PROJECT_NAME set."""
    user = accounts.create("optexample")
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SHORT_SLEEP)
    (tmp_path / "initialize_optimizer.py").write_text(INIT_JOB)
    (tmp_path / "run_optimizer.py").write_text(WORKER_JOB)
    folder = tmp_path
    # the jobs' environment: the example's variables, and automatic logging this test doesn't need
    env = online_env(server, user, tmp_path, COMET_WORKSPACE=user.workspace, COMET_PROJECT_NAME="k8s-sweep",
                     COMET_AUTO_LOG_ENV_DETAILS="false", COMET_AUTO_LOG_GIT_METADATA="false",
                     COMET_AUTO_LOG_GIT_PATCH="false", COMET_AUTO_LOG_CODE="false", COMET_AUTO_LOG_ENV_GPU="false",
                     COMET_AUTO_LOG_ENV_CPU="false", COMET_AUTO_LOG_ENV_HOST="false")
    init = subprocess.run([sys.executable, str(folder / "initialize_optimizer.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr[-3000:]
    sweep_id = init.stdout.strip().splitlines()[-1].split("=")[-1]
    env.update(COMET_OPTIMIZER_ID=sweep_id, PYTHONPATH=f"{hook}:{env.get('PYTHONPATH', '')}")
    jobs = [subprocess.Popen([sys.executable, str(folder / "run_optimizer.py")], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = []
    for job in jobs:
        out, err = job.communicate(timeout=240)
        assert job.returncode == 0, err[-3000:]
        outputs.append(out)
    values = sorted(int(line.split(":")[1]) for out in outputs for line in out.splitlines()
                    if line.startswith("Current hyperparameter value"))
    assert values == [1, 2, 3, 4, 5]
    st = status(server, user, sweep_id)
    # the example logs no "loss": each run ends unscored (aborted), none is handed out again
    assert st["status"] == "completed" and st["counts"]["aborted"] == 5 and st["state"]["sequence_i"] == 5
    r = requests.get(f"{server.url}/api/v1/workspaces/{user.workspace}/projects/k8s-sweep",
                     headers={"Authorization": user.api_key})
    assert r.status_code == 200, r.text


def _race(server, user, algorithm: str) -> None:
    """Six clients ask one sweep for parameter sets at the same moment, over and over: every
    set is handed out once, and the sweep hands out exactly its size."""
    import threading

    config = {"algorithm": algorithm, "parameters": {"x": {"type": "integer", "min": 1, "max": 6}, "y": ["a", "b", "c"]},
              "spec": {"metric": "loss", "maxCombo": 0 if algorithm == "grid" else 12, "seed": 3}}
    headers = {"X-API-KEY": user.api_key}
    sweep_id = requests.post(server.url + "/optimizer/create", json=config, headers=headers).json()["id"]
    got, errors = [], []
    barrier = threading.Barrier(6)

    def work() -> None:
        s = requests.Session()
        barrier.wait()
        while True:
            r = s.get(server.url + "/optimizer/next", params={"id": sweep_id}, headers=headers)
            if r.status_code != 200:
                errors.append(r.text)
                return
            if r.json()["code"] != 200:
                return
            p = r.json()["parameters"]
            got.append(p["pid"])
            s.post(server.url + "/optimizer/update", headers=headers,
                   json={"id": sweep_id, "pid": p["pid"], "trial": p["trial"], "status": "completed", "score": 1.0})

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    size = 18 if algorithm == "grid" else 12
    assert errors == [] and len(got) == size and len(set(got)) == size
    assert status(server, user, sweep_id)["counts"]["completed"] == size


def test_concurrent_workers_never_share_a_parameter_set(server, accounts):
    _race(server, accounts.create("optrace"), "grid")


@pytest.mark.postgres
def test_concurrent_hand_outs_on_postgresql(postgres):  # noqa: F811
    """The same race on PostgreSQL, through the service on separate connections: the sweep's
    row lock keeps each parameter set to one worker."""
    import threading

    from dashboard.auth import Actor
    from dashboard.db import Database, migrate
    from dashboard.services import accounts as account_service, optimizer, workspaces

    url = postgres.create_database("optimizer")
    migrate(url)
    db = Database(url)
    with db.session() as s:
        user = account_service.create_user(s, "pgopt", "pgopt@example.org", "password123")
        ws = workspaces.find_by_name(s, "pgopt")
        actor = Actor(user_id=user.id, username=user.username, api_workspace_id=ws.id)
    for algorithm in ("grid", "bayes"):
        config = {"algorithm": algorithm, "parameters": {"x": {"type": "integer", "min": 1, "max": 6}, "y": ["a", "b", "c"]},
                  "spec": {"metric": "loss", "maxCombo": 0 if algorithm == "grid" else 12, "seed": 3}}
        with db.session() as s:
            sweep_id = optimizer.create(s, actor, config)
        got, errors = [], []
        barrier = threading.Barrier(6)

        def work() -> None:
            barrier.wait()
            try:
                while True:
                    with db.session() as s:
                        p = optimizer.next_parameters(s, actor, sweep_id)
                    if p is None:
                        return
                    got.append(p["pid"])
                    with db.session() as s:
                        optimizer.update_trial(s, actor, {"id": sweep_id, "pid": p["pid"], "trial": p["trial"],
                                                          "status": "completed", "score": 1.0})
            except Exception as exc:  # noqa: BLE001  (reported below)
                errors.append(repr(exc))

        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        size = 18 if algorithm == "grid" else 12
        assert errors == [] and len(got) == size and len(set(got)) == size, (algorithm, errors)
        with db.session() as s:
            st = optimizer.status(s, actor, sweep_id)
        assert st["status"] == "completed" and st["counts"]["completed"] == size


def test_openapi_lists_the_optimizer_endpoints(server):
    paths = requests.get(server.url + "/api/v1/openapi.json").json()["paths"]
    for name, method in [("algorithms", "get"), ("spec", "get"), ("create", "post"), ("next", "get"),
                         ("status", "get"), ("update", "post"), ("insert", "post")]:
        v1_method = "post" if name == "next" else method  # it changes the sweep: never a GET a link could make
        assert method in paths[f"/optimizer/{name}"] and v1_method in paths[f"/api/v1/optimizer/{name}"], name
    assert "/optimizer/" not in paths and "/optimizer/{unknown}" not in paths


def service_sweep(tmp_path: Path, name: str, config: dict):
    """A database of its own with one user and one sweep: (db, the user's API-key actor, sweep id)."""
    from dashboard.auth import Actor
    from dashboard.db import Database, migrate
    from dashboard.services import accounts as account_service, optimizer, workspaces

    url = f"sqlite:///{tmp_path / 'o.db'}"
    migrate(url)
    db = Database(url)
    with db.session() as s:
        user = account_service.create_user(s, name, f"{name}@example.org", "password123")
        ws = workspaces.find_by_name(s, name)
        actor = Actor(user_id=user.id, username=user.username, api_workspace_id=ws.id)
        return db, actor, optimizer.create(s, actor, config)


def log_run(db, actor, sweep_id: str, package: dict, minutes_ago: int = 0) -> None:
    """A run of a parameter set, as comet_ml logs it (the others naming the sweep and the set);
    ``minutes_ago``: it started then, and its heartbeats stopped then."""
    from datetime import timedelta

    from dashboard.services import ingest
    from models import Experiment, utcnow

    with db.session() as s:
        exp, _ = ingest.start_experiment(s, actor, None, "sweep")
        ingest.apply_batch(s, actor, exp.key, {"batch_id": exp.key, "others": [
            {"key": "optimizer_id", "value": sweep_id}, {"key": "optimizer_pid", "value": package["pid"]},
            {"key": "optimizer_trial", "value": package["trial"]}]})
    if minutes_ago:
        with db.session() as s:
            row = s.get(Experiment, exp.id)
            row.start_time = row.last_heartbeat = utcnow() - timedelta(minutes=minutes_ago)
            s.add(row)


def test_a_parameter_set_whose_run_crashed_is_handed_out_again(tmp_path):
    """A worker that dies leaves its run without heartbeats (crashed) and its parameter set
    unreported: once nothing else is left, the set goes to another worker, within retryLimit."""
    from datetime import timedelta

    from dashboard.services import optimizer
    from models import utcnow

    db, actor, sweep_id = service_sweep(tmp_path, "crasher", {"algorithm": "grid", "parameters": {"x": [1]},
                                                              "spec": {"metric": "loss", "retryLimit": 1}})
    with db.session() as s:
        first = optimizer.next_parameters(s, actor, sweep_id, now=utcnow() - timedelta(minutes=30))
    log_run(db, actor, sweep_id, first, minutes_ago=29)
    with db.session() as s:  # its heartbeat stopped long ago: the set goes out again
        again = optimizer.next_parameters(s, actor, sweep_id)
        assert (again["pid"], again["trial"]) == (first["pid"], first["trial"])
    with db.session() as s:  # the crashed run belongs to the earlier hand-out: nothing more
        assert optimizer.next_parameters(s, actor, sweep_id) is None
    log_run(db, actor, sweep_id, again)
    with db.session() as s:  # while the new run lives, nothing either
        assert optimizer.next_parameters(s, actor, sweep_id) is None
    with db.session() as s:  # crashed again: retryLimit 1 is spent, the set fails and the sweep ends
        assert optimizer.next_parameters(s, actor, sweep_id, now=utcnow() + timedelta(minutes=10)) is None
        st = optimizer.status(s, actor, sweep_id)
    assert st["status"] == "completed" and st["counts"]["failed"] == 1 and st["retryCount"] == 2


def test_a_parameter_set_no_run_took_up_is_handed_out_again_after_the_grace_period(tmp_path):
    """A worker that dies right after taking a parameter set leaves no run of it: the set stays
    its worker's for the grace period (a script that takes sets with get_parameters and starts
    its run later keeps it), then goes to another worker, within retryLimit."""
    from datetime import timedelta

    from dashboard.services import optimizer
    from models import utcnow

    db, actor, sweep_id = service_sweep(tmp_path, "vanisher", {"algorithm": "grid", "parameters": {"x": [1, 2]},
                                                               "spec": {"metric": "loss", "retryLimit": 1}})
    grace = timedelta(minutes=10)
    start = utcnow() - timedelta(minutes=30)
    with db.session() as s:
        lost = optimizer.next_parameters(s, actor, sweep_id, now=start, grace=grace)
        taken = optimizer.next_parameters(s, actor, sweep_id, now=start, grace=grace)
    with db.session() as s:  # within the grace period neither set goes out again
        assert optimizer.next_parameters(s, actor, sweep_id, now=start + timedelta(minutes=9), grace=grace) is None
    log_run(db, actor, sweep_id, taken)  # the second set's run started (late, and lives)
    with db.session() as s:  # past the grace period: the set no run took up goes out again, only it
        again = optimizer.next_parameters(s, actor, sweep_id, grace=grace)
        assert (again["pid"], again["trial"], again["count"]) == (lost["pid"], lost["trial"], lost["count"])
        assert optimizer.next_parameters(s, actor, sweep_id, grace=grace) is None
        optimizer.update_trial(s, actor, {"id": sweep_id, "pid": taken["pid"], "trial": 1, "status": "completed",
                                          "score": 1.0})
    with db.session() as s:  # no run took it up again: retryLimit 1 is spent, it fails and the sweep ends
        assert optimizer.next_parameters(s, actor, sweep_id, now=utcnow() + grace, grace=grace) is None
        st = optimizer.status(s, actor, sweep_id)
    assert st["status"] == "completed" and st["retryCount"] == 2
    assert st["counts"] == {"running": 0, "completed": 1, "aborted": 0, "retry": 0, "failed": 1}


# A comet_ml worker that dies right after the sweep handed it a parameter set.
DYING_WORKER = r"""
import json, os, sys
import comet_ml

opt = comet_ml.Optimizer(json.loads(sys.argv[1]), verbose=0)
data = opt.next_data()
print("ID=" + opt.get_id(), flush=True)
print("TAKEN=" + json.dumps({"pid": data["pid"], "trial": data["trial"]}), flush=True)
os._exit(0)
"""


def test_comet_workers_take_up_a_set_whose_worker_died_before_starting_it(tmp_path):
    """Against a server with a 1 s grace period: one comet_ml worker takes a set and dies before
    creating its experiment; the next workers run the rest of the sweep, that set included."""
    from tests.conftest import Accounts, LiveServer

    srv = LiveServer(tmp_path / "home", extra_env={"HALLEY_OPTIMIZER_START_GRACE": "1"}).start()
    try:
        user = Accounts(srv).create("optdead")
        config = {**GRID, "parameters": {"x": [1, 2], "y": ["a"]}}
        dying = start(DYING_WORKER, tmp_path, srv, user, json.dumps(config))
        out, err = dying.communicate(timeout=240)
        assert dying.returncode == 0, err[-3000:]
        sweep_id = next(line[3:] for line in out.splitlines() if line.startswith("ID="))
        lost = json.loads(next(line[6:] for line in out.splitlines() if line.startswith("TAKEN=")))
        runs = []
        for _ in range(5):  # a worker finding the set still within its grace period ends early: start another
            runs += finish(start(WORKER, tmp_path, srv, user, sweep_id))
            if status(srv, user, sweep_id)["status"] == "completed":
                break
        assert sorted((r["x"], r["y"]) for r in runs) == [(1, "a"), (2, "a")]
        assert {"pid": lost["pid"], "trial": lost["trial"]} in [{"pid": r["pid"], "trial": r["trial"]} for r in runs]
        st = status(srv, user, sweep_id)
        assert st["status"] == "completed" and st["retryCount"] == 1 and st["state"]["sequence_i"] == 2
        assert st["counts"] == {"running": 0, "completed": 2, "aborted": 0, "retry": 0, "failed": 0}
    finally:
        srv.stop()
