"""The SDK when the server goes away: spooling, retries without duplicates, `halley upload`
of spool folders and offline archives."""
import json
import math
import os
import subprocess
import sys
import textwrap
import threading
import time
import zipfile

import numpy as np
import pytest

from dashboard.sdk import API, Experiment, OfflineExperiment
from tests.conftest import HALLEY, Accounts, LiveServer

QUIET = dict(log_code=False, parse_args=False, auto_output_logging=False, log_env_details=False,
             log_git_metadata=False, log_git_patch=False, auto_metric_logging=False)


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """A server this module may stop, kill and restart (same port, same home)."""
    srv = LiveServer(tmp_path_factory.mktemp("sdk-resilience")).start(workers=2)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def own_user(own_server):
    return Accounts(own_server).create("sdk")


@pytest.fixture
def fast_retry(tmp_path, monkeypatch):
    monkeypatch.setenv("HALLEY_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("HALLEY_BATCH_INTERVAL_S", "0.1")
    monkeypatch.setenv("HALLEY_RETRY_MAX_S", "0.3")
    monkeypatch.setenv("HALLEY_TIMEOUT_S", "5")
    return tmp_path


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def spooled_entries(root):
    return list(root.glob("*/entries/*.json"))


def steps_of(api, key, name):
    return [p["step"] for p in api.get_experiment_by_key(key).get_metrics(name)]


def test_server_down_for_a_while(own_server, own_user, fast_retry, capfd):
    api = API(api_key=own_user.api_key, url=own_server.url)
    exp = Experiment(api_key=own_user.api_key, url=own_server.url, project_name="outage", **QUIET)
    for step in range(500):
        exp.log_metric("m", step * 0.5, step=step)
    assert exp.flush()
    own_server.stop()
    for step in range(500, 1500):
        exp.log_metric("m", step * 0.5, step=step)
    exp.log_asset_data("kept on disk", name="during-outage.txt")
    exp.log_parameter("p", "during")
    wait_for(lambda: len(spooled_entries(fast_retry / "spool")) >= 2)
    own_server.start(workers=2)
    exp.end()
    assert steps_of(api, exp.get_key(), "m") == list(range(1500))
    e = api.get_experiment_by_key(exp.get_key())
    assert [a["name"] for a in e.get_asset_list()] == ["during-outage.txt"]
    assert e.get_state() == "finished"
    err = capfd.readouterr().err
    assert err.count("unreachable") == 1 and err.count("restored") == 1
    assert not (fast_retry / "spool" / exp.get_key()).exists()


def test_server_killed_mid_run(own_server, own_user, fast_retry):
    api = API(api_key=own_user.api_key, url=own_server.url)
    exp = Experiment(api_key=own_user.api_key, url=own_server.url, project_name="killed", **QUIET)
    for chunk in range(20):
        for i in range(1000):
            step = chunk * 1000 + i
            exp.log_metric("m", float(step), step=step)
        if chunk == 8:
            own_server.kill()
        if chunk == 12:
            own_server.start(workers=2)
        time.sleep(0.02)
    exp.end()
    assert steps_of(api, exp.get_key(), "m") == list(range(20000))


def test_server_down_at_start_then_back(own_server, own_user, fast_retry, capfd):
    """The experiment is created by the sender once the server is back; nothing is lost."""
    own_server.stop()
    try:
        exp = Experiment(api_key=own_user.api_key, url=own_server.url, project_name="late-start", **QUIET)
        for step in range(400):
            exp.log_metric("m", float(step), step=step)
        wait_for(lambda: len(spooled_entries(fast_retry / "spool")) >= 1)
    finally:
        own_server.start(workers=2)
    for step in range(400, 600):
        exp.log_metric("m", float(step), step=step)
    exp.end()
    api = API(api_key=own_user.api_key, url=own_server.url)
    assert steps_of(api, exp.get_key(), "m") == list(range(600))
    assert api.get_experiment_by_key(exp.get_key()).get_state() == "finished"
    assert exp.url and exp.url.endswith(f"/late-start/{exp.get_key()}")
    err = capfd.readouterr().err
    assert err.count("unreachable") == 1 and err.count("restored") == 1 and "could not create" not in err
    assert not (fast_retry / "spool" / exp.get_key()).exists()


def test_server_down_at_end_then_back(own_server, own_user, fast_retry, monkeypatch):
    """The batch carrying the end is spooled and retried; the run still ends, once, as finished."""
    monkeypatch.setenv("HALLEY_OFFLINE_END_WAIT_S", "120")
    exp = Experiment(api_key=own_user.api_key, url=own_server.url, project_name="late-end", **QUIET)
    for step in range(100):
        exp.log_metric("m", float(step), step=step)
    assert exp.flush()
    own_server.stop()
    for step in range(100, 200):
        exp.log_metric("m", float(step), step=step)
    ender = threading.Thread(target=exp.end)
    ender.start()
    try:
        wait_for(lambda: any("end" in json.loads(p.read_text())
                             for p in spooled_entries(fast_retry / "spool") if p.name.endswith(".batch.json")))
    finally:
        own_server.start(workers=2)
    ender.join(timeout=120)
    assert not ender.is_alive() and exp._sender.ended
    api = API(api_key=own_user.api_key, url=own_server.url)
    assert steps_of(api, exp.get_key(), "m") == list(range(200))
    assert api.get_experiment_by_key(exp.get_key()).get_state() == "finished"
    assert not (fast_retry / "spool" / exp.get_key()).exists()


SCRIPT = """
    from dashboard.sdk import Experiment
    exp = Experiment(project_name="late", log_git_patch=False, log_env_details=False, auto_metric_logging=False)
    exp.set_name("written-while-down")
    for step in range(300):
        exp.log_metric("m", float("nan") if step == 7 else step, step=step)
    exp.log_asset_data({"x": 1}, name="a.json")
    print("KEY", exp.get_key())
"""


def test_process_ends_while_server_is_down_then_halley_upload(own_server, own_user, tmp_path):
    script = tmp_path / "late.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "HALLEY_URL": own_server.url, "HALLEY_API_KEY": own_user.api_key,
           "HALLEY_SPOOL_DIR": str(tmp_path / "spool"), "HALLEY_END_TIMEOUT_S": "1", "HALLEY_RETRY_MAX_S": "0.2",
           "PYTHONPATH": os.getcwd()}
    own_server.kill()  # no graceful wait for idle keep-alive connections
    try:
        out = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=120)
    finally:
        own_server.start(workers=2)
    assert out.returncode == 0, out.stderr
    key = out.stdout.split("KEY ")[1].split()[0]
    spool = tmp_path / "spool" / key
    assert (spool / "end.json").exists() and f"halley upload {spool}" in out.stderr
    assert out.stderr.count("unreachable") == 1

    up = subprocess.run([HALLEY, "upload", str(tmp_path / "spool")], env=env, capture_output=True, text=True,
                        timeout=120)
    assert up.returncode == 0, up.stderr
    assert key in up.stdout and "2 assets" in up.stdout  # the script's code and a.json
    assert not spool.exists()
    e = API(api_key=own_user.api_key, url=own_server.url).get_experiment_by_key(key)
    assert e.name == "written-while-down" and e.get_state() == "finished"
    points = e.get_metrics("m")
    assert [p["step"] for p in points] == list(range(300)) and math.isnan(points[7]["value"])
    assets = {a["name"]: a for a in e.get_asset_list()}
    assert sorted(assets) == ["a.json", "late.py"]
    assert e.get_asset(assets["a.json"]["asset_id"], return_type="json") == {"x": 1}


def test_offline_archive_upload_is_idempotent(own_server, own_user, tmp_path, monkeypatch):
    monkeypatch.setenv("HALLEY_BATCH_INTERVAL_S", "0.1")
    runs = tmp_path / "runs"
    exp = OfflineExperiment(offline_directory=str(runs), project_name="offline", workspace=own_user.workspace,
                            **QUIET)
    exp.set_name("off-run")
    exp.add_tags(["offline", "t2"])
    for step in range(50):
        exp.log_metric("loss", math.inf if step == 3 else 1.0 / (step + 1), step=step)
    exp.log_parameters({"opt": {"lr": 0.1}})
    exp.log_other("note", "from the archive")
    exp.log_image(np.zeros((2, 3), dtype=np.uint8), name="black.png", step=2)
    exp.log_histogram_3d([0.5, 1.5], name="w", step=0)
    exp.end()
    archive = runs / f"{exp.get_key()}.zip"
    assert exp.archive_path == archive
    manifest = json.loads(zipfile.ZipFile(archive).read("manifest.json"))
    assert manifest["format"] == "halley-offline" and manifest["version"] == 1
    assert manifest["experiment"]["experiment_key"] == exp.get_key() and manifest["end"] == {"status": "finished"}
    assert {e["kind"] for e in manifest["entries"]} == {"batch", "asset"}

    env = {**os.environ, "HALLEY_URL": own_server.url}
    for _ in range(2):
        up = subprocess.run([HALLEY, "upload", str(runs), "--api-key", own_user.api_key], env=env,
                            capture_output=True, text=True, timeout=120)
        assert up.returncode == 0, up.stderr
        assert f"experiment {exp.get_key()}" in up.stdout and "2 assets" in up.stdout
    assert archive.exists()
    e = API(api_key=own_user.api_key, url=own_server.url).get(f"{own_user.workspace}/offline/{exp.get_key()}")
    assert e.name == "off-run" and e.get_state() == "finished"
    assert sorted(e.get_tags()) == ["offline", "t2"]
    loss = e.get_metrics("loss")
    assert [p["step"] for p in loss] == list(range(50)) and loss[3]["value"] == math.inf
    params = {p["name"]: json.loads(p["value_json"]) for p in e.get_parameters_summary()}
    assert params == {"opt|lr": 0.1}
    others = {o["key"]: o["value"] for o in e.get_others_summary()}
    assert others["note"] == "from the archive" and others["offline_experiment"] in (True, "true")
    assert sorted(a["name"] for a in e.get_asset_list()) == ["black.png", "w"]


def test_upload_reports_what_it_cannot_read(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    up = subprocess.run([HALLEY, "upload", str(bad), "--url", "http://127.0.0.1:9", "--api-key", "k"],
                        capture_output=True, text=True, timeout=60)
    assert up.returncode == 1 and "bad.zip: FAILED (unreadable" in up.stdout
    comet = tmp_path / "comet.zip"
    with zipfile.ZipFile(comet, "w") as z:
        z.writestr("experiment.json", "{}")
        z.writestr("messages.json", "")
    up = subprocess.run([HALLEY, "upload", str(comet), "--url", "http://127.0.0.1:9", "--api-key", "k"],
                        capture_output=True, text=True, timeout=60)
    assert up.returncode == 1 and "not a Halley offline archive (a comet_ml archive? use: halley import comet)" \
        in up.stdout


KILLED_OFFLINE = """
    import sys, time
    from dashboard.sdk import OfflineExperiment
    exp = OfflineExperiment(offline_directory=sys.argv[1], project_name="killed-offline", log_git_patch=False,
                            log_env_details=False, auto_metric_logging=False)
    for step in range(100):
        exp.log_metric("m", step, step=step)
    exp.flush()
    print("KEY", exp.get_key(), flush=True)
    time.sleep(600)
"""


def test_offline_run_killed_before_end_can_still_be_uploaded(own_server, own_user, tmp_path):
    script = tmp_path / "offline.py"
    script.write_text(textwrap.dedent(KILLED_OFFLINE))
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, str(script), str(runs)], cwd=tmp_path, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": os.getcwd(), "HALLEY_BATCH_INTERVAL_S": "0.1"})
    try:
        key = proc.stdout.readline().split()[1]
    finally:
        proc.kill()
        proc.wait()
    assert not (runs / f"{key}.zip").exists() and (runs / f".{key}.partial").is_dir()
    up = subprocess.run([HALLEY, "upload", str(runs), "--api-key", own_user.api_key, "--url", own_server.url],
                        capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    api = API(api_key=own_user.api_key, url=own_server.url)
    assert steps_of(api, key, "m") == list(range(100))
    assert api.get_experiment_by_key(key).project_name == "killed-offline"
