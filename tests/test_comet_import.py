"""`halley import comet`: archives written by the real comet_ml OfflineExperiment land in
Halley message type by message type; re-imports change nothing; bad archives import nothing."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import HALLEY

OFFLINE_SCRIPT = r'''
import sys
import numpy as np
from PIL import Image
import comet_ml

work = sys.argv[1]
exp = comet_ml.OfflineExperiment(workspace=None, project_name="comet-import", log_env_gpu=False)
exp.set_name("imported-run")
exp.add_tags(["alpha", "beta"])
for i in range(5):
    exp.log_metric("loss", 1.0 / (i + 1), step=i, epoch=i // 2)
exp.log_metric("loss", float("nan"), step=5)
exp.log_metric("loss", float("inf"), step=6)
exp.log_metric("loss", float("-inf"), step=7)
with exp.train():
    exp.log_metric("acc", 0.5, step=7)
exp.log_parameter("lr", 0.01)
exp.log_parameters({"model": {"layers": [64, 32], "act": "relu"}})
exp.log_other("note", "hello")
exp.log_html("<h1>A</h1>")
exp.log_html("<h2>C</h2>", clear=True)
exp.log_html("<p>D</p>")
print("hello stdout")
print("hello stderr", file=sys.stderr)
Image.new("RGB", (8, 8), (255, 0, 0)).save(work + "/red.png")
exp.log_image(work + "/red.png", name="red.png", step=2)
exp.log_audio(np.array([0, 1000, -1000, 500] * 200, dtype=np.int16), sample_rate=8000, file_name="tone.wav")
frames = [Image.new("RGB", (8, 8), c) for c in ((0, 0, 0), (255, 255, 255))]
frames[0].save(work + "/clip.gif", save_all=True, append_images=frames[1:])
exp.log_video(work + "/clip.gif", name="clip.gif")
exp.log_text("some text", step=1, metadata={"k": 1})
exp.log_asset_data({"a": 1}, name="data.json")
exp.log_curve("roc", [0, 0.5, 1], [0, 0.8, 1])
exp.log_confusion_matrix(matrix=[[5, 1], [2, 7]], labels=["cat", "dog"], title="CM")
exp.log_histogram_3d([1, 2, 2, 3], name="weights", step=3)
exp.log_code(code="print(1)", code_name="snippet.py")
open(work + "/model.bin", "wb").write(b"weights")
exp.log_model("mymodel", work + "/model.bin")
open(work + "/nb.ipynb", "w").write('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
exp.log_notebook(work + "/nb.ipynb")
exp.set_model_graph("Sequential()")
exp.log_system_info("custom_key", "custom_value")
exp.log_dependency("torch", "2.0.0")
exp.log_points_3d("scene", points=[[0, 0, 0], [1, 1, 1]])
exp.end()
'''


def comet_env(tmp: Path, **extra) -> dict:
    """comet_ml without telemetry, framework patching or the user's own config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMET_")}
    env.update(COMET_DISABLE_AUTO_LOGGING="1", COMET_ERROR_TRACKING_ENABLE="false", COMET_INTERNAL_REPORTING="false",
               COMET_OFFLINE_DIRECTORY=str(tmp / "offline"), HOME=str(tmp), **extra)
    return env


def make_git_repo(path: Path) -> str:
    """A repository with one commit and an uncommitted change (for git metadata and patch)."""
    path.mkdir()
    run = lambda *a: subprocess.run(["git", *a], cwd=path, check=True, capture_output=True, text=True)  # noqa: E731
    run("init", "-q")
    run("config", "user.email", "dev@example.org")
    run("config", "user.name", "Test User")
    (path / "train.py").write_text("a = 1\n")
    run("add", ".")
    run("commit", "-qm", "init")
    (path / "train.py").write_text("a = 1\nb = 2\n")
    return run("rev-parse", "HEAD").stdout.strip()


def write_offline_archive(tmp: Path) -> tuple[Path, str]:
    """Run the script above with the real comet_ml; returns (zip path, git HEAD)."""
    head = make_git_repo(tmp / "repo")
    script = tmp / "train_offline.py"
    script.write_text(OFFLINE_SCRIPT)
    subprocess.run([sys.executable, str(script), str(tmp)], env=comet_env(tmp, COMET_GIT_DIRECTORY=str(tmp / "repo")),
                   cwd=tmp, check=True, capture_output=True, timeout=180)
    (archive,) = (tmp / "offline").glob("*.zip")
    return archive, head


def halley_import(server, *args) -> subprocess.CompletedProcess:
    return subprocess.run([HALLEY, "import", "comet", *map(str, args)], env=server.env(), capture_output=True,
                          text=True, timeout=120)


def messages(archive: Path) -> list[dict]:
    with zipfile.ZipFile(archive) as zf:
        return [json.loads(line) for line in zf.read("messages.json").decode().splitlines() if line.strip()]


def variant(archive: Path, dest: Path, key: str, meta: dict | None = None, edit=None, extra_lines=()) -> Path:
    """A copy of an archive under another experiment key, optionally with edited metadata
    or messages (``edit(list_of_messages)``) and extra message lines."""
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"{key}.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "experiment.json":
                data = json.dumps({**json.loads(data), "offline_id": key, **(meta or {})}).encode()
            elif info.filename == "messages.json":
                lines = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
                if edit:
                    edit(lines)
                lines.extend(extra_lines)
                data = "\n".join(json.dumps(m) for m in lines).encode()
            dst.writestr(info.filename, data)
    return out


def asset_files(server) -> set[Path]:
    return {p for p in (server.home / "assets").rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def importer(server, accounts, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("comet-import")
    archive, head = write_offline_archive(tmp)
    owner = accounts.create("cometimp")
    result = halley_import(server, archive, "--user", owner.username)
    assert result.returncode == 0, result.stderr + result.stdout
    return {"tmp": tmp, "archive": archive, "head": head, "user": owner, "output": result.stdout,
            "key": archive.name[:-4], "db": accounts.db}


def stored(importer, key: str | None = None):
    """Everything Halley stored for an experiment, read through the services."""
    from dashboard.services import assets, experiments, metrics

    with importer["db"].session() as s:
        exp = experiments.find_by_key(s, key or importer["key"])
        if exp is None:
            return None
        names = [m.name for m in metrics.summaries(s, [exp.id])]
        return {
            "exp": exp, "where": experiments.location(s, exp), "tags": experiments.tags(s, exp),
            "metrics": {n: metrics.points(s, exp.id, n) for n in names},
            "params": {p.name: p for p in experiments.parameters(s, exp)},
            "others": {o.key: o.value for o in experiments.others(s, exp)},
            "output": [(line.text, line.stderr) for line in experiments.output(s, exp)],
            "assets": assets.list_for(s, exp), "system": experiments.system(exp),
        }


def asset_bytes(server, asset) -> bytes:
    return (server.home / "assets" / asset.storage_path).read_bytes()


def test_every_message_type_is_stored(server, importer):
    got = stored(importer)
    exp, msgs = got["exp"], messages(importer["archive"])
    meta = json.loads(zipfile.ZipFile(importer["archive"]).read("experiment.json"))
    assert f"imported {importer['archive'].name}" in importer["output"]

    # experiment.json: null workspace -> the user's own; project, tags, times; status finished
    assert got["where"] == (importer["user"].workspace, "comet-import")
    assert got["tags"] == meta["tags"] and sorted(got["tags"]) == ["alpha", "beta"]
    assert exp.name == "imported-run" and exp.status == "finished"
    assert round(exp.start_time.timestamp() * 1000) == meta["start_time"]
    assert round(exp.end_time.timestamp() * 1000) == meta["stop_time"]

    # metric_msg: every point, with step, epoch, context and the non-finite values
    logged = [m["payload"] for m in msgs if m["type"] == "metric_msg"]
    assert sum(len(v) for v in got["metrics"].values()) == len(logged)
    loss = got["metrics"]["loss"]
    assert [p["value"] for p in loss] == [1.0, 0.5, 1 / 3, 0.25, 0.2, "NaN", "Infinity", "-Infinity"]
    assert [p["step"] for p in loss] == list(range(8)) and [p["epoch"] for p in loss][:5] == [0, 0, 1, 1, 2]
    assert [(p["value"], p["context"]) for p in got["metrics"]["train_acc"]] == [(0.5, "train")]
    assert "acc" not in got["metrics"]  # a context is its own series, named as Comet names it

    # parameter_msg: plain, list-valued ("params") and nested names; step markers hidden
    params = got["params"]
    assert params["lr"].value_num == 0.01 and params["lr"].source == "manual"
    assert json.loads(params["model|layers"].value_json) == [64, 32]
    assert params["model|act"].value_text == "relu"
    assert "curr_step" not in params and "curr_epoch" not in params

    # log_other (the Name other is also the experiment name)
    others = {m["payload"]["key"]: m["payload"]["value"] for m in msgs if m["type"] == "log_other"}
    assert set(got["others"]) == set(others) and got["others"]["note"] == "hello"
    assert got["others"]["Name"] == "imported-run"

    # html then htmlOverride then html
    assert exp.html == "<h2>C</h2><p>D</p>"

    # standard_output chunks become lines per stream
    assert ("hello stdout", False) in got["output"] and ("hello stderr", True) in got["output"]

    # file_upload: every upload type, with name, step, metadata and the exact bytes
    by_type = {}
    for a in got["assets"]:
        by_type.setdefault(a.type, []).append(a)
    uploads = [m["payload"] for m in msgs if m["type"] == "file_upload"]
    points = [m["payload"] for m in msgs if m["type"] == "3d-image"]
    os_pkgs = [m["payload"]["os_packages"] for m in msgs if m["type"] == "os_packages"]
    assert len(got["assets"]) == len(uploads) + sum(len(p["items"]) + 1 for p in points) + len(os_pkgs)
    (image,) = by_type["image"]
    assert (image.file_name, image.step) == ("red.png", 2)
    assert asset_bytes(server, image) == (importer["tmp"] / "red.png").read_bytes()
    (audio,) = by_type["audio"]
    assert audio.file_name == "tone.wav" and asset_bytes(server, audio)[:4] == b"RIFF"
    assert json.loads(audio.metadata_json)["sample_rate"] == 8000
    (video,) = by_type["video"]
    assert asset_bytes(server, video) == (importer["tmp"] / "clip.gif").read_bytes()
    (text,) = by_type["text"]
    assert asset_bytes(server, text) == b"some text" and json.loads(text.metadata_json) == {"k": 1}
    assert text.step == 1
    files = {a.file_name: a for a in by_type["file"]}
    assert json.loads(asset_bytes(server, files["data.json"])) == {"a": 1}
    if os_pkgs:  # dpkg's list, as a downloadable file
        assert asset_bytes(server, files["os_packages.txt"]).decode().splitlines() == os_pkgs[0]
    (curve,) = by_type["curve"]
    assert json.loads(asset_bytes(server, curve))["y"] == [0, 0.8, 1]
    (cm,) = by_type["confusion-matrix"]
    assert json.loads(asset_bytes(server, cm))["matrix"] == [[5, 1], [2, 7]]
    (hist,) = by_type["histogram3d"]
    assert hist.file_name == "weights" and hist.step == 3 and json.loads(asset_bytes(server, hist))["index_values"]
    code = {a.file_name: a for a in by_type["code"]}
    assert asset_bytes(server, code["snippet.py"]) == b"print(1)"
    assert any(name.endswith("train_offline.py") for name in code)
    (model,) = by_type["model-element"]
    assert json.loads(model.metadata_json)["groupingName"] == "mymodel" and asset_bytes(server, model) == b"weights"
    (notebook,) = by_type["notebook"]
    assert json.loads(asset_bytes(server, notebook))["nbformat"] == 4
    (patch,) = by_type["git-patch"]
    assert b"+b = 2" in asset_bytes(server, patch)
    assert {a.file_name for a in by_type["3d-points"]} == {"scene/points.jsonl", "scene/thumbnail.png"}

    # system_details, installed/os packages, file_name, git_metadata, graph, system_info, log_dependency
    system, details = got["system"], got["system"]["details"]
    (env,) = [m["payload"] for m in msgs if m["type"] == "system_details"]
    assert (details["host"], details["python_version"], details["pid"]) == (env["hostname"], env["python_version"],
                                                                             env["pid"])
    assert details["command"] == env["command"] and details["file_name"] == "train_offline.py"
    (pkgs,) = [m["payload"]["installed_packages"] for m in msgs if m["type"] == "installed_packages"]
    assert system["installed_packages"] == pkgs and any(p.startswith("comet_ml==") for p in pkgs)
    assert "os_packages" not in system["system_info"]
    assert system["git"]["commit"] == importer["head"] and system["git"]["user"] == "Test User"
    assert system["git"]["branch"].startswith("refs/heads/")
    assert exp.graph == "Sequential()"
    assert system["system_info"]["custom_key"] == "custom_value"
    assert system["system_info"]["dependencies"] == {"torch": "2.0.0"}


def test_importing_again_changes_nothing(server, importer):
    before = stored(importer)
    files = asset_files(server)
    again = halley_import(server, importer["archive"], "--user", importer["user"].username)
    assert again.returncode == 0 and "skipped" in again.stdout and "0 imported, 1 skipped" in again.stdout
    after = stored(importer)
    assert after["metrics"] == before["metrics"] and after["output"] == before["output"]
    assert [a.asset_id for a in after["assets"]] == [a.asset_id for a in before["assets"]]
    assert asset_files(server) == files


def test_workspace_and_project_options_and_legacy_messages(server, accounts, importer):
    other = accounts.create("cometdest")
    key = "f" * 32
    legacy = [{"type": "ws_msg", "payload": {"local_timestamp": 1, "log_other": {"key": "legacy", "val": 7}}},
              {"type": "ws_msg", "payload": {"local_timestamp": 2, "stdout": "legacy line\n", "stderr": False}},
              {"type": "ws_msg", "payload": {"local_timestamp": 3, "htmlOverride": "<b>old</b>"}},
              {"type": "ws_msg", "payload": {"local_timestamp": 4, "env_details": {"hostname": "oldhost", "pid": 3}}},
              {"type": "ws_msg", "payload": {"local_timestamp": 5, "metric": {"metricName": "old_m", "metricValue": 2,
                                                                              "step": 1, "epoch": None}}},
              {"type": "ws_msg", "payload": {"local_timestamp": 6, "code": "print('legacy')"}}]
    def metrics_and_others_only(lines):
        lines[:] = [m for m in lines if m["type"] in ("metric_msg", "log_other")]

    copy = variant(importer["archive"], importer["tmp"] / "variants", key, {"workspace": "ignored"},
                   edit=metrics_and_others_only, extra_lines=legacy)
    refused = halley_import(server, copy, "--user", other.username)
    assert refused.returncode == 1 and "Workspace 'ignored' not found" in refused.stderr
    assert "pass --workspace" in refused.stderr and stored(importer, key) is None
    result = halley_import(server, copy, "--user", other.username, "--workspace", other.workspace,
                           "--project", "moved")
    assert result.returncode == 0, result.stderr
    got = stored(importer, key)
    assert got["where"] == (other.workspace, "moved")
    assert got["others"]["legacy"] == "7" and ("legacy line", False) in got["output"]
    assert got["exp"].html == "<b>old</b>" and got["system"]["details"]["host"] == "oldhost"
    assert got["metrics"]["old_m"][0]["value"] == 2
    (code,) = [a for a in got["assets"] if a.type == "code"]
    assert (code.file_name, asset_bytes(server, code)) == ("code.py", b"print('legacy')")


def bad_archive(importer, kind: str, key: str) -> tuple[Path, str]:
    """A broken archive of one kind and the start of the error it must produce."""
    folder = importer["tmp"] / f"bad-{kind}"
    if kind == "foreign":
        folder.mkdir()
        path = folder / f"{key}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "not an experiment")
        return path, "not a comet_ml offline archive"
    if kind == "missing-member":
        def drop_member(lines):
            next(m for m in lines if m["type"] == "file_upload")["payload"]["file_path"] = "tmpnotthere"
        return variant(importer["archive"], folder, key, edit=drop_member), "upload refers to missing member"
    path = variant(importer["archive"], folder, key)
    data = bytearray(path.read_bytes())
    if kind == "damaged":
        start = data.find(b"messages.json") + 40
        data[start:start + 64] = bytes(b ^ 0xFF for b in data[start:start + 64])
        expected = "damaged zip archive"
    else:
        data = data[: len(data) // 2]
        # zipfile may find the end record of the zipped git patch inside the cut archive
        expected = "not a readable zip archive" if b"PK\x05\x06" not in data else "not a comet_ml offline archive"
    path.write_bytes(bytes(data))
    return path, expected


def test_bad_archives_import_nothing(server, importer):
    bad = {kind: bad_archive(importer, kind, ch * 32)
           for kind, ch in (("damaged", "d"), ("foreign", "e"), ("missing-member", "c"), ("truncated", "b"))}
    files = asset_files(server)
    result = halley_import(server, *(path for path, _ in bad.values()), "--user", importer["user"].username)
    assert result.returncode == 1 and "0 imported, 0 skipped, 4 failed" in result.stdout
    for path, expected in bad.values():
        assert f"failed {path.name}: {expected}" in result.stderr
        assert stored(importer, path.name[:-4]) is None
    assert asset_files(server) == files


def test_failure_while_writing_rolls_back_and_removes_files(server, importer):
    """The second upload reuses an asset id of the first import: the import fails after the
    first file was written, and that file is removed with the rolled-back transaction."""
    key = "a" * 32

    def fresh_first_asset_id(lines):
        uploads = [m for m in lines if m["type"] == "file_upload" and (m["payload"]["additional_params"] or {})
                   .get("assetId")]
        uploads[0]["payload"]["additional_params"]["assetId"] = "0" * 32

    path = variant(importer["archive"], importer["tmp"] / "conflict", key, edit=fresh_first_asset_id)
    files = asset_files(server)
    result = halley_import(server, path, "--user", importer["user"].username)
    assert result.returncode == 1 and "asset_id is already used" in result.stderr
    assert stored(importer, key) is None
    assert asset_files(server) == files


APPEND_SCRIPT = r'''
import sys
import comet_ml

exp = comet_ml.ExistingOfflineExperiment(previous_experiment=sys.argv[1], log_env_gpu=False, log_env_details=False,
                                         log_code=False, log_git_metadata=False, log_git_patch=False)
exp.log_metric("appended", 5, step=100)
exp.end()
'''


def test_existing_offline_experiment_archives_add_to_the_run(server, importer, tmp_path):
    script = tmp_path / "append.py"
    script.write_text(APPEND_SCRIPT)
    subprocess.run([sys.executable, str(script), importer["key"]], env=comet_env(tmp_path), cwd=tmp_path, check=True,
                   capture_output=True, timeout=180)
    (appending,) = (tmp_path / "offline").glob("*.zip")
    assert appending.name.startswith(importer["key"] + "-")
    shutil.copy(importer["archive"], tmp_path / "offline" / importer["archive"].name)
    before = stored(importer)
    first = halley_import(server, tmp_path / "offline", "--user", importer["user"].username)
    assert first.returncode == 0 and "1 imported, 1 skipped, 0 failed" in first.stdout, first.stderr
    after = stored(importer)
    assert [p["value"] for p in after["metrics"]["appended"]] == [5]
    assert after["metrics"]["loss"] == before["metrics"]["loss"]
    assert after["exp"].start_time == before["exp"].start_time and after["exp"].status == "finished"
    again = halley_import(server, tmp_path / "offline", "--user", importer["user"].username)
    assert "0 imported, 2 skipped" in again.stdout and "already added" in again.stdout
    assert stored(importer)["metrics"]["appended"] == after["metrics"]["appended"]


def test_folder_of_archives(server, importer, tmp_path):
    shutil.copy(importer["archive"], tmp_path / importer["archive"].name)
    def without_files(lines):
        lines[:] = [m for m in lines if m["type"] not in ("file_upload", "3d-image", "os_packages")]

    variant(importer["archive"], tmp_path, "9" * 32, edit=without_files)
    result = halley_import(server, tmp_path, "--user", importer["user"].username)
    assert result.returncode == 0, result.stderr
    assert "1 imported, 1 skipped, 0 failed" in result.stdout
    assert stored(importer, "9" * 32)["exp"].name == "imported-run"
    # the imported run comes after the first one in their project, with the next color
    first, second = stored(importer), stored(importer, "9" * 32)
    assert first["where"] == second["where"]
    assert second["exp"].color_index > first["exp"].color_index >= 0
