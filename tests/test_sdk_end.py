"""What ``end()`` waits for: the environment (git metadata, patch, installed packages) of even a
run shorter than a second reaches the server, and end() stays bounded (HALLEY_END_TIMEOUT) when the
environment or the server does not answer."""
import io
import os
import shutil
import socket
import stat
import subprocess
import threading
import time
import zipfile

import pytest

from dashboard.sdk import API, Experiment
from dashboard.sdk.upload import upload

SHORT = dict(parse_args=False, auto_output_logging=False, auto_metric_logging=False)


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git working directory with one commit and an uncommitted change (so a patch)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.txt").write_text("v1\n")
    git(root, "add", "train.txt")
    git(root, "-c", "user.name=Ada", "-c", "user.email=a@example.org", "commit", "-q", "-m", "first")
    (root / "train.txt").write_text("v2\n")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    monkeypatch.chdir(root)
    monkeypatch.setenv("HALLEY_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("HALLEY_BATCH_INTERVAL_S", "0.1")
    return head


def patch_text(e) -> bytes:
    assets = [a for a in e.get_asset_list() if a["type"] == "git-patch"]
    if len(assets) != 1:
        return b""
    return zipfile.ZipFile(io.BytesIO(e.get_asset(assets[0]["asset_id"]))).read("git_diff.patch")


def put_git_first(tmp_path, monkeypatch, script: str) -> None:
    """Puts a ``git`` in front of the real one on PATH (``script`` in sh; $GIT is the real one)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text(f"#!/bin/sh\nGIT={shutil.which('git')}\n{script}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ["PATH"])


def test_thirty_short_runs_each_keep_git_patch_and_packages(server, user, repo, tmp_path, monkeypatch):
    """``git diff`` takes 0.6 s here, as in a large repository: twice as long as each run lasts."""
    put_git_first(tmp_path, monkeypatch, 'if [ "$1" = diff ]; then sleep 0.6; fi\nexec "$GIT" "$@"')
    monkeypatch.setenv("HALLEY_END_TIMEOUT", "120")  # the default, stated: the machine may be busy
    keys = []
    for run in range(30):
        exp = Experiment(api_key=user.api_key, url=server.url, project_name="sweep", **SHORT)
        exp.log_parameter("run", run)
        for step in range(10):  # a 0.3 s run: ten training steps of 0.03 s
            exp.log_metric("loss", 1.0 / (step + 1), step=step)
            time.sleep(0.03)
        exp.end()
        keys.append(exp.get_key())
    api = API(api_key=user.api_key, url=server.url)
    incomplete = []
    for key in keys:
        e = api.get_experiment_by_key(key)
        system = e.get_system_details()
        if not (e.get_state() == "finished" and (system.get("git") or {}).get("commit") == repo
                and any(p.startswith("requests==") for p in system.get("installed_packages") or [])
                and b"+v2" in patch_text(e)):
            incomplete.append(key)
    assert incomplete == []


def test_end_gives_up_on_a_stuck_git_with_a_clear_message(server, user, repo, tmp_path, monkeypatch, capfd):
    put_git_first(tmp_path, monkeypatch, "exec sleep 600")  # a git that never answers
    monkeypatch.setenv("HALLEY_END_TIMEOUT", "5")  # under git's own 10 s timeout
    exp = Experiment(api_key=user.api_key, url=server.url, project_name="stuck-git", log_code=False, **SHORT)
    exp.log_metric("m", 1.0, step=0)
    exp.end()
    err = capfd.readouterr().err
    assert "gave up waiting for the environment details after 5 s" in err
    assert "without the git metadata, git patch" in err and "HALLEY_END_TIMEOUT" in err
    e = API(api_key=user.api_key, url=server.url).get_experiment_by_key(exp.get_key())
    assert e.get_state() == "finished" and [p["value"] for p in e.get_metrics("m")] == [1.0]
    assert e.get_installed_packages()  # collected before git got stuck
    assert not e.get_git_metadata().get("commit")
    assert not [a for a in e.get_asset_list() if a["type"] == "git-patch"]


@pytest.fixture
def silent_server():
    """An address that accepts connections and never answers (a hung server or network)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_end_against_a_silent_server_is_bounded_and_spools_the_environment(server, user, repo, silent_server,
                                                                          tmp_path, monkeypatch, capfd):
    """Each request would wait 300 s for an answer; end() returns after HALLEY_END_TIMEOUT with
    everything, environment included, in the spool, which ``halley upload`` then delivers."""
    monkeypatch.setenv("HALLEY_TIMEOUT_S", "300")
    monkeypatch.setenv("HALLEY_END_TIMEOUT", "15")  # time enough to collect the environment on a busy machine
    exp = Experiment(api_key=user.api_key, url=silent_server, project_name="silent", workspace=user.workspace,
                     log_code=False, **SHORT)
    exp.log_metric("m", 1.0, step=0)
    ender = threading.Thread(target=exp.end, daemon=True)
    ender.start()
    ender.join(timeout=120)  # far below the 300 s a request would wait
    assert not ender.is_alive()
    spool = tmp_path / "spool" / exp.get_key()
    assert (spool / "end.json").exists() and f"halley upload {spool}" in capfd.readouterr().err

    results = upload([str(spool)], api_key=user.api_key, url=server.url)
    assert [r.ok for r in results] == [True], [r.describe() for r in results]
    e = API(api_key=user.api_key, url=server.url).get_experiment_by_key(exp.get_key())
    assert e.get_state() == "finished" and [p["value"] for p in e.get_metrics("m")] == [1.0]
    assert e.get_git_metadata()["commit"] == repo and e.get_installed_packages()
    assert b"+v2" in patch_text(e)
