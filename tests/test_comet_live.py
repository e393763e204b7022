"""The real, unmodified comet_ml SDK against a live Halley: an online Experiment, the Stop
button through the SDK's own pending-call mechanism, `comet upload` of an archive, and the
comet_ml.API getters. Every comet_ml run happens in a subprocess, as a user's script would."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.test_comet_import import comet_env, make_git_repo, variant, write_offline_archive

COMET = str(Path(sys.executable).parent / "comet")

ONLINE_SCRIPT = r'''
import sys
import numpy as np
from PIL import Image
import comet_ml

work = sys.argv[1]
exp = comet_ml.Experiment(project_name="comet-live", log_env_gpu=False)
print("KEY=" + exp.get_key(), flush=True)
exp.set_name("live-run")
exp.add_tags(["live", "sdk"])
for i in range(5):
    exp.log_metric("loss", 1.0 / (i + 1), step=i, epoch=i // 2)
exp.log_metric("loss", float("nan"), step=5)
exp.log_metric("loss", float("inf"), step=6)
with exp.train():
    exp.log_metric("acc", 0.75, step=6)
exp.log_parameter("lr", 0.01)
exp.log_parameters({"model": {"layers": [64, 32], "act": "relu"}})
exp.log_other("note", "hello")
exp.log_html("<h1>A</h1>")
exp.log_html("<p>B</p>")
print("hello stdout")
print("hello stderr", file=sys.stderr)
Image.new("RGB", (8, 8), (0, 0, 255)).save(work + "/blue.png")
exp.log_image(work + "/blue.png", name="blue.png", step=2)
exp.log_audio(np.array([0, 1000, -1000, 500] * 200, dtype=np.int16), sample_rate=8000, file_name="tone.wav")
exp.log_text("live text", step=1, metadata={"k": 2})
exp.log_asset_data({"b": 2}, name="data.json")
exp.log_confusion_matrix(matrix=[[3, 1], [0, 4]], labels=["x", "y"])
exp.log_histogram_3d([1, 2, 2, 3], name="weights", step=3)
exp.set_model_graph("Sequential(live)")
exp.log_system_info("custom_key", "custom_value")
exp.log_dependency("torch", "2.1.0")
exp.log_points_3d("scene", points=[[0, 0, 0], [1, 1, 1]])
exp.end()
'''

STOP_SCRIPT = r'''
import time
import comet_ml
from comet_ml.exceptions import InterruptedExperiment

exp = comet_ml.Experiment(project_name="comet-stop", log_env_gpu=False, log_env_details=False,
                          log_code=False, log_git_metadata=False, log_git_patch=False)
print("KEY=" + exp.get_key(), flush=True)
try:
    for i in range(1200):
        exp.log_metric("x", i, step=i)
        time.sleep(0.05)
except InterruptedExperiment as exc:
    print("INTERRUPTED:", exc, flush=True)
    raise
print("NOT STOPPED", flush=True)
'''

API_SCRIPT = r'''
import json, sys
import comet_ml

key, workspace = sys.argv[1], sys.argv[2]
api = comet_ml.API()
exp = api.get_experiment(workspace, "comet-live", key)
by_key = api.get_experiment_by_key(key)
image = [a for a in exp.get_asset_list() if a["fileName"] == "blue.png"][0]
print(json.dumps({
    "account": api.get_account_details(),
    "workspaces": api.get_workspaces(),
    "projects": api.get_projects(workspace),
    "experiments": [e.key for e in api.get_experiments(workspace, "comet-live")],
    "by_key": by_key.key,
    "name": exp.get_name(),
    "state": exp.get_state(),
    "metadata": exp.get_metadata(),
    "metrics": exp.get_metrics(),
    "metric_summary": exp.get_metrics_summary(),
    "parameters": exp.get_parameters_summary(),
    "others": exp.get_others_summary(),
    "tags": exp.get_tags(),
    "assets": exp.get_asset_list(),
    "image_size": len(exp.get_asset(image["assetId"])),
    "system": exp.get_system_details(),
    "gpu_static": exp.get_gpu_static_info(),
    "output": exp.get_output(),
    "html": exp.get_html(),
    "graph": exp.get_model_graph(),
    "git": exp.get_git_metadata(),
    "patch_size": len(exp.get_git_patch() or b""),
}))
'''


def run_comet(server, user, tmp: Path, script: str, *args, **env) -> subprocess.CompletedProcess:
    path = tmp / f"script_{abs(hash(script))}.py"
    path.write_text(script)
    return subprocess.run([sys.executable, str(path), *map(str, args)], cwd=tmp, capture_output=True, text=True,
                          timeout=180, env=online_env(server, user, tmp, **env))


def online_env(server, user, tmp: Path, **extra) -> dict:
    return comet_env(tmp, COMET_URL_OVERRIDE=server.url + "/clientlib/", COMET_API_KEY=user.api_key, **extra)


def api_get(server, user, path: str, **params):
    r = requests.get(server.url + "/api/v1" + path, params=params, headers={"Authorization": user.api_key})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def live(server, accounts, tmp_path_factory):
    """One online run with the real SDK, logging a bit of everything."""
    tmp = tmp_path_factory.mktemp("comet-live")
    head = make_git_repo(tmp / "repo")
    user = accounts.create("cometlive")
    result = run_comet(server, user, tmp, ONLINE_SCRIPT, tmp, COMET_GIT_DIRECTORY=str(tmp / "repo"))
    assert result.returncode == 0, result.stderr[-3000:]
    key = result.stdout.split("KEY=")[1].split()[0]
    return {"tmp": tmp, "user": user, "key": key, "head": head, "result": result}


def test_online_experiment_logs_everything(server, live):
    user, key = live["user"], live["key"]
    logs = live["result"].stdout + live["result"].stderr
    # the SDK stayed online (no offline fallback) and printed Halley's experiment page
    assert f"{server.url}/{user.workspace}/comet-live/{key}" in logs
    assert not (live["tmp"] / "offline").exists() or not list((live["tmp"] / "offline").glob("*.zip"))

    meta = api_get(server, user, f"/experiments/{key}")
    assert (meta["workspace"], meta["project"], meta["name"], meta["status"]) == (user.workspace, "comet-live",
                                                                                 "live-run", "finished")
    assert meta["file_name"] == Path(meta["file_path"]).name and meta["file_name"].startswith("script_")

    loss = api_get(server, user, f"/experiments/{key}/metrics", name="loss")["metrics"]
    assert [p["value"] for p in loss] == [1.0, 0.5, 1 / 3, 0.25, 0.2, "NaN", "Infinity"]
    assert [p["step"] for p in loss] == list(range(7)) and [p["epoch"] for p in loss][:5] == [0, 0, 1, 1, 2]
    acc = api_get(server, user, f"/experiments/{key}/metrics", name="train_acc")["metrics"]
    assert [(p["value"], p["context"]) for p in acc] == [(0.75, "train")]

    params = {p["name"]: p for p in api_get(server, user, f"/experiments/{key}/parameters")["parameters"]}
    assert params["lr"]["value"] == "0.01" and json.loads(params["model|layers"]["value_json"]) == [64, 32]
    assert params["model|act"]["value"] == "relu" and "curr_step" not in params
    others = {o["key"]: o["value"] for o in api_get(server, user, f"/experiments/{key}/others")["others"]}
    assert others["Name"] == "live-run" and others["note"] == "hello"
    assert sorted(api_get(server, user, f"/experiments/{key}/tags")["tags"]) == ["live", "sdk"]

    assets = api_get(server, user, f"/experiments/{key}/assets")["assets"]
    by_type = {}
    for a in assets:
        by_type.setdefault(a["type"], []).append(a)
    download = lambda a: requests.get(f"{server.url}/api/v1/experiments/{key}/assets/{a['asset_id']}",  # noqa: E731
                                      headers={"Authorization": user.api_key}).content
    (image,) = by_type["image"]
    assert (image["name"], image["step"]) == ("blue.png", 2)
    assert download(image) == (live["tmp"] / "blue.png").read_bytes()
    (text,) = by_type["text"]
    assert download(text) == b"live text" and text["metadata"] == {"k": 2}
    (audio,) = by_type["audio"]
    assert audio["name"] == "tone.wav" and download(audio)[:4] == b"RIFF"
    files = {a["name"]: a for a in by_type["file"]}
    assert json.loads(download(files["data.json"])) == {"b": 2}
    assert json.loads(download(by_type["confusion-matrix"][0]))["matrix"] == [[3, 1], [0, 4]]
    assert by_type["histogram3d"][0]["name"] == "weights"
    assert any(a["name"].endswith(".py") for a in by_type["code"])
    (patch,) = by_type["git-patch"]
    assert b"+b = 2" in download(patch)

    output = api_get(server, user, f"/experiments/{key}/output")["output"]
    lines = [(o["text"], o["stderr"]) for o in output]
    assert ("hello stdout", False) in lines and ("hello stderr", True) in lines

    system = api_get(server, user, f"/experiments/{key}/system")
    assert system["details"]["host"] and system["details"]["python_version"]
    assert system["details"]["command"][0].endswith(".py")
    assert any(p.startswith("comet_ml==") for p in system["installed_packages"])
    assert system["git"]["commit"] == live["head"] and system["git"]["user"] == "Test User"
    assert system["system_info"]["custom_key"] == "custom_value"
    assert system["system_info"]["dependencies"] == {"torch": "2.1.0"}


def test_comet_api_getters(server, live):
    user, key = live["user"], live["key"]
    result = run_comet(server, user, live["tmp"], API_SCRIPT, key, user.workspace)
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got["account"] == {"userName": user.username, "defaultWorkspaceName": user.workspace}
    assert user.workspace in got["workspaces"] and "comet-live" in got["projects"]
    assert key in got["experiments"] and got["by_key"] == key
    assert got["name"] == "live-run" and got["state"] == "finished"
    assert got["metadata"]["projectName"] == "comet-live" and got["metadata"]["running"] is False
    loss = [m for m in got["metrics"] if m["metricName"] == "loss"]
    assert [m["metricValue"] for m in loss][-2:] == ["NaN", "Infinity"] and [m["step"] for m in loss] == list(range(7))
    assert [m["runContext"] for m in got["metrics"] if m["metricName"] == "train_acc"] == ["train"]
    summary = {m["name"]: m for m in got["metric_summary"]}
    assert summary["loss"]["valueCurrent"] == "Infinity" and summary["loss"]["stepCurrent"] == 6
    assert summary["loss"]["valueMax"] == "1.0" and summary["loss"]["valueMin"] == "0.2"
    assert {p["name"]: p["valueCurrent"] for p in got["parameters"]}["lr"] == "0.01"
    assert {o["name"]: o["valueCurrent"] for o in got["others"]}["note"] == "hello"
    assert sorted(got["tags"]) == ["live", "sdk"]
    assert {a["fileName"] for a in got["assets"]} >= {"blue.png", "tone.wav", "data.json", "weights"}
    assert got["image_size"] == (live["tmp"] / "blue.png").stat().st_size
    assert got["system"]["logAdditionalSystemInfoList"] == [{"key": "custom_key", "value": "custom_value"}]
    assert got["gpu_static"] == []  # comet_ml reads "gpuStaticInfoList" (no GPU on this machine)
    assert any(p.startswith("comet_ml==") for p in got["system"]["installedPackages"])
    if Path("/var/lib/dpkg/status").exists():
        assert got["system"]["osPackages"] and all("=" in p for p in got["system"]["osPackages"])
    assert "hello stdout\n" in got["output"] and got["html"] == "<h1>A</h1><p>B</p>"
    assert got["graph"] == "Sequential(live)" and got["git"]["parent"] == live["head"]
    assert got["patch_size"] > 0


def test_stop_interrupts_the_users_script(server, accounts, live, tmp_path):
    from dashboard.auth import Actor
    from dashboard.services import experiments

    user = live["user"]
    script = tmp_path / "stop_me.py"
    script.write_text(STOP_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=online_env(server, user, tmp_path))
    try:
        line = proc.stdout.readline()
        while line and not line.startswith("KEY="):
            line = proc.stdout.readline()
        key = line.strip().split("=", 1)[1]
        with accounts.db.session() as s:
            experiments.request_stop(s, Actor(user_id=_user_id(accounts, user.username), username=user.username), key)
        rest = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert f"INTERRUPTED: The experiment has been stopped by user {user.username} from Comet" in rest
    assert "NOT STOPPED" not in rest
    meta = api_get(server, user, f"/experiments/{key}")
    assert meta["status"] == "stopped"
    others = {o["key"]: o["value"] for o in api_get(server, user, f"/experiments/{key}/others")["others"]}
    assert others["experiment_stopped_by_user"] == "true"


def _user_id(accounts, username: str) -> int:
    from dashboard.services import accounts as account_service

    with accounts.db.session() as s:
        return account_service.find_user(s, username).id


def test_comet_upload_stores_the_same_as_halley_import(server, accounts, live, tmp_path):
    """`comet upload ARCHIVE` against Halley and `halley import comet` of the same archive
    (under another key) give the same experiment."""
    from tests.test_comet_import import halley_import, stored

    user = live["user"]
    archive, _ = write_offline_archive(tmp_path)

    def new_asset_ids(lines):
        for m in lines:
            params = m["payload"].get("additional_params") or {}
            for k in ("assetId", "imageId"):
                if params.get(k):
                    params[k] = params[k][::-1]
    twin_key = "7" * 32
    twin = variant(archive, tmp_path / "twin", twin_key, edit=new_asset_ids)
    upload = subprocess.run([COMET, "upload", str(archive)], capture_output=True, text=True, timeout=180,
                            cwd=tmp_path, env=online_env(server, user, tmp_path))
    assert upload.returncode == 0, upload.stderr[-3000:]
    imported = halley_import(server, twin, "--user", user.username)
    assert imported.returncode == 0, imported.stderr

    view = {"db": accounts.db, "key": archive.name[:-4]}
    a, b = stored(view), stored(view, twin_key)
    assert a["where"] == b["where"] == (user.workspace, "comet-import")
    for field in ("name", "status", "html", "graph", "start_time", "end_time", "host", "git_commit"):
        assert getattr(a["exp"], field) == getattr(b["exp"], field), field
    assert sorted(a["tags"]) == sorted(b["tags"])
    strip = lambda pts: [{k: v for k, v in p.items() if k != "timestamp"} for p in pts]  # noqa: E731
    assert {n: strip(p) for n, p in a["metrics"].items()} == {n: strip(p) for n, p in b["metrics"].items()}
    assert {n: p.value_json for n, p in a["params"].items()} == {n: p.value_json for n, p in b["params"].items()}
    assert a["others"] == b["others"]
    assert sorted(a["output"]) == sorted(b["output"])
    assert a["system"] == b["system"]
    def shape(assets):
        """What both paths store alike: a live 3D scene also keeps a scene record, and its parts
        name it (scene_id)."""
        def meta(x):
            return json.dumps({k: v for k, v in json.loads(x.metadata_json).items() if k != "scene_id"}, sort_keys=True)

        return sorted((x.type, x.file_name, x.step, x.size, meta(x)) for x in assets
                      if x.type != "other" and not (x.type == "3d-points" and x.file_name.endswith("/scene.json")))

    assert shape(a["assets"]) == shape(b["assets"])
    # a second upload of the same archive is refused by key, as the importer skips it
    again = subprocess.run([COMET, "upload", str(archive)], capture_output=True, text=True, timeout=180,
                           cwd=tmp_path, env=online_env(server, user, tmp_path))
    assert "already" in (again.stdout + again.stderr).lower()
    assert len(stored(view)["assets"]) == len(a["assets"])


def test_bad_key_and_unknown_endpoints_fail_clearly(server):
    r = requests.post(server.url + "/clientlib/logger/add/run", json={"apiKey": "nope", "projectName": "p"})
    assert r.status_code == 400 and r.json()["sdk_error_code"] == 90212
    r = requests.post(server.url + "/clientlib/batch/logger/experiment/metric", json={"experimentKey": "x" * 32},
                      headers={"Authorization": "nope"})
    assert r.status_code == 401
    assert requests.get(server.url + "/api/rest/v2/no/such/thing").json()["code"] == 404
    for path in ("/optimizer/", "/optimizer/v1/spec?id=x"):  # not the web app's HTML page
        r = requests.post(server.url + path, json={})
        assert r.status_code == 404 and "Optimizer" in r.json()["msg"], path
    assert requests.get(server.url + "/clientlib/health/ping").status_code == 200
    version = requests.get(server.url + "/clientlib/isAlive/ver").json()["version"]
    assert tuple(map(int, version.split("."))) >= (3, 20, 60)


RESUME_SCRIPT = r'''
import sys
import comet_ml

exp = comet_ml.ExistingExperiment(previous_experiment=sys.argv[1], log_env_gpu=False, log_env_details=False,
                                  log_code=False, log_git_metadata=False, log_git_patch=False)
exp.log_metric("resumed", 3.5, step=10)
exp.log_other("resumed_by", "existing")
exp.end()
'''


def test_existing_experiment_resumes_the_run(server, live):
    user, key = live["user"], live["key"]
    result = run_comet(server, user, live["tmp"], RESUME_SCRIPT, key)
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = api_get(server, user, f"/experiments/{key}/metrics", name="resumed")["metrics"]
    assert [(p["value"], p["step"]) for p in resumed] == [(3.5, 10)]
    others = {o["key"]: o["value"] for o in api_get(server, user, f"/experiments/{key}/others")["others"]}
    assert others["resumed_by"] == "existing" and others["note"] == "hello"
    assert api_get(server, user, f"/experiments/{key}")["status"] == "finished"
    assert len(api_get(server, user, f"/experiments/{key}/metrics", name="loss")["metrics"]) == 7


def test_stop_protocol_shapes(server, live):
    """API.stop_experiment's endpoint, the heartbeat's pending flag and the exact RemoteCall
    shape comet_ml accepts (any extra key would make it drop the call), delivered once."""
    user = live["user"]
    headers = {"Authorization": user.api_key}
    key = "5" * 32
    run = requests.post(server.url + "/clientlib/logger/add/run", headers=headers,
                        json={"apiKey": user.api_key, "experimentKey": key, "projectName": "comet-stop", "offline": False})
    assert run.status_code == 200 and run.json()["runId"] == key
    beat = lambda: requests.post(server.url + "/clientlib/status-report/update", headers=headers,  # noqa: E731
                                 json={"experimentKey": key, "runId": key, "is_alive": True}).json()
    first = beat()
    assert first["pending_rpcs"] is False and first["is_alive_beat_duration_millis"] > 0
    assert "gpu_monitor_interval_millis" in first
    stop = requests.get(server.url + "/api/rest/v2/write/experiment/stop", params={"experimentKey": key},
                        headers=headers)
    assert stop.status_code == 200 and beat()["pending_rpcs"] is True
    calls = requests.get(server.url + "/clientlib/rpc/get-pending-rpcs", params={"experimentKey": key},
                         headers=headers).json()["remoteProcedureCalls"]
    assert len(calls) == 1
    assert set(calls[0]) == {"callId", "userName", "functionName", "cometDefined", "arguments", "createdAt"}
    assert (calls[0]["functionName"], calls[0]["cometDefined"], calls[0]["userName"]) == ("stop", True, user.username)
    assert beat()["pending_rpcs"] is False
    assert requests.get(server.url + "/clientlib/rpc/get-pending-rpcs", params={"experimentKey": key},
                        headers=headers).json()["remoteProcedureCalls"] == []
    requests.post(server.url + "/clientlib/status-report/update", headers=headers,
                  json={"experimentKey": key, "runId": key, "is_alive": False})
    assert api_get(server, user, f"/experiments/{key}")["status"] == "stopped"


CRASH_SCRIPT = r'''
import comet_ml

exp = comet_ml.Experiment(project_name="comet-crash", log_env_gpu=False, log_env_details=False,
                          log_code=False, log_git_metadata=False, log_git_patch=False)
print("KEY=" + exp.get_key(), flush=True)
exp.log_metric("x", 1, step=0)
raise ValueError("boom")
'''


def test_a_crashing_script_ends_the_run_as_crashed(server, live):
    user = live["user"]
    result = run_comet(server, user, live["tmp"], CRASH_SCRIPT)
    assert result.returncode != 0 and "ValueError: boom" in result.stderr
    key = result.stdout.split("KEY=")[1].split()[0]
    assert api_get(server, user, f"/experiments/{key}")["status"] == "crashed"
    assert [p["value"] for p in api_get(server, user, f"/experiments/{key}/metrics", name="x")["metrics"]] == [1]
