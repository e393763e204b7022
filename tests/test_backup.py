"""``halley backup`` of a live server, ``halley restore`` into a fresh home, and a server there
that answers every REST read as the first one did (asset files byte for byte), on SQLite and on
PostgreSQL, with the asset files in the home's folder or in an S3 bucket."""
from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dashboard import asset_store
from dashboard.auth import Actor
from dashboard.config import Settings
from dashboard.sdk import Artifact, Experiment
from tests.conftest import HALLEY, ROOT, Accounts, LiveServer, api
from tests.postgres_fixtures import PostgresServer, postgres  # noqa: F401  (the session's cluster)
from tests.s3_server import s3_server  # noqa: F401  (the session's S3 server)

QUIET = dict(log_code=False, parse_args=False, auto_output_logging=False, log_env_details=False,
             log_git_metadata=False, log_git_patch=False, auto_metric_logging=False)


@pytest.fixture
def sdk_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HALLEY_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("HALLEY_BATCH_INTERVAL_S", "0.1")
    return tmp_path


def halley(server: LiveServer, *args: str) -> subprocess.CompletedProcess:
    env = server.env()
    return subprocess.run([HALLEY, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def settings_of(server: LiveServer) -> Settings:
    """The settings the server runs with (its environment: its own asset store too, and the S3
    credentials it finds in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)."""
    env, old = server.env(), dict(os.environ)
    os.environ.update(env)
    try:
        settings = Settings.from_env(home=server.home, database_url=server.database_url)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return dataclasses.replace(settings, s3_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
                               s3_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"))


def _log_everything(server: LiveServer) -> tuple[Accounts, object, list[str]]:
    """Users, a project with notes and an icon, two runs with metrics, parameters, others,
    tags, notes and files; returns (accounts, the owner, experiment keys)."""
    accounts = Accounts(server)
    owner = accounts.create("owner")
    accounts.create("second")
    rng = np.random.default_rng(7)
    keys = []
    # one run through the SDK...
    exp = Experiment(api_key=owner.api_key, url=server.url, workspace=owner.workspace, project_name="kept", **QUIET)
    exp.set_name("run-0")
    exp.add_tags(["backup", "r0"])
    exp.log_parameters({"lr": 0.01, "layers": [64, 32], "act": "relu"})
    exp.log_other("dataset", "digits")
    for step in range(150):
        exp.log_metrics({"loss": float(rng.random()) if step != 40 else float("nan"), "acc": step / 150},
                        step=step, epoch=step // 50)
    exp.log_asset_data(rng.bytes(70_000), name="weights-0.bin")
    exp.log_image(Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)), name="sample.png")
    exp.log_text("a line of text", step=3)
    exp.log_remote_asset("s3://bucket/data/train.csv", remote_file_name="train.csv")  # a link: no file
    (server.home / "corpus.bin").write_bytes(rng.bytes(5_000))
    artifact = Artifact("kept-data", "dataset", aliases=["best"])
    artifact.add(server.home / "corpus.bin")
    exp.log_artifact(artifact)
    exp.end()
    keys.append(exp.get_key())
    # ...and one over plain HTTP
    client = api(server, owner.api_key)
    r = client.post(f"{server.url}/api/v1/experiments", json={"workspace": owner.workspace, "project": "kept",
                                                               "name": "run-1"})
    assert r.status_code in (200, 201), r.text
    key = r.json()["experiment_key"]
    steps = list(range(150))
    r = client.post(f"{server.url}/api/v1/experiments/{key}/batch", json={
        "batch_id": "backup-run-1", "tags": ["backup", "r1"],
        "parameters": [{"name": "lr", "value": 0.001}, {"name": "act", "value": "tanh"}],
        "others": [{"key": "dataset", "value": "digits"}],
        "metric_columns": [{"name": "loss", "step": steps, "value": rng.random(150).tolist()},
                           {"name": "acc", "step": steps, "value": [s / 150 for s in steps]}]})
    assert r.status_code == 200, r.text
    for name, data in (("weights-1.bin", rng.bytes(70_000)), ("sample.png", b"\x89PNG fake"), ("notes.txt", b"text")):
        r = client.post(f"{server.url}/api/v1/experiments/{key}/assets", files={"file": (name, data)},
                        data={"type": "file"})
        assert r.status_code == 201, r.text
    assert client.post(f"{server.url}/api/v1/experiments/{key}/end", json={"status": "finished"}).status_code == 200
    keys.append(key)
    r = client.patch(f"{server.url}/api/v1/workspaces/{owner.workspace}/projects/kept",
                     json={"notes": "# Notes\nkept across **backups**"})
    assert r.status_code == 200, r.text
    from dashboard.services import accounts as account_service
    from dashboard.services import experiment_page, projects

    png = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(png, format="PNG")
    with accounts.db.session() as s:
        u = account_service.find_user(s, owner.username)
        actor = Actor(user_id=u.id, username=u.username)
        project = projects.get_readable(s, actor, owner.workspace, "kept")
        projects.set_icon(s, actor, project.id, png.getvalue(), settings_of(server))
        experiment_page.rename(s, actor, keys[0], "renamed run")
        experiment_page.set_notes(s, actor, keys[1], "the run's **notes**")
    return accounts, owner, keys


def _everything(server: LiveServer, owner, keys: list[str]) -> dict:
    """What the REST API answers about the logged data, asset bytes included."""
    c = api(server, owner.api_key)
    base = f"{server.url}/api/v1"
    ws = owner.workspace

    def get(path: str):
        r = c.get(base + path, timeout=60)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json() if r.headers["Content-Type"].startswith("application/json") else r.content

    out = {"account": get("/account"), "workspaces": get("/workspaces"), "projects": get(f"/workspaces/{ws}/projects"),
           "project": {k: v for k, v in get(f"/workspaces/{ws}/projects/kept").items()},
           "icon": get(f"/workspaces/{ws}/projects/kept/icon"),
           "experiments": get(f"/workspaces/{ws}/projects/kept/experiments"),
           "artifact": get(f"/workspaces/{ws}/artifacts/kept-data")}
    version = out["artifact"]["versions"][0]
    out["artifact_file"] = get(f"/artifact-versions/{version['id']}/files/{version['files'][0]['asset_id']}")
    for key in keys:
        assets = get(f"/experiments/{key}/assets")
        out[key] = {
            "meta": get(f"/experiments/{key}"), "metrics": get(f"/experiments/{key}/metrics"),
            "summary": get(f"/experiments/{key}/metrics/summary"), "parameters": get(f"/experiments/{key}/parameters"),
            "others": get(f"/experiments/{key}/others"), "tags": get(f"/experiments/{key}/tags"), "assets": assets,
            "files": {a["asset_id"]: get(f"/experiments/{key}/assets/{a['asset_id']}") for a in assets["assets"]
                      if not a.get("remote_url")},
        }
    return out


def _control_pid(server: LiveServer) -> int:
    """The pid of the gunicorn master answering on the server's own control socket."""
    socket = server.home / "run" / f"gunicorn-{server.port}.ctl"
    done = subprocess.run([str(Path(HALLEY).parent / "gunicornc"), "-s", str(socket), "-c", "show all", "-j"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["arbiter"]["pid"]


def _round_trip(source: LiveServer, target: LiveServer, tmp_path) -> None:
    """Backup of a live server, restored into a fresh home served beside it: the two servers on
    one machine also keep their own gunicorn control sockets."""
    from dashboard.backup import BackupError, restore

    source.start()
    try:
        _, owner, keys = _log_everything(source)
        archive = tmp_path / "halley-backup.tar.gz"
        done = halley(source, "backup", str(archive))  # while the server runs
        assert done.returncode == 0, done.stderr
        before = _everything(source, owner, keys)
        assert oct(archive.stat().st_mode & 0o777) == "0o600"
        with tarfile.open(archive) as tar:
            manifest = json.loads(tar.extractfile("manifest.json").read())
        assert manifest["counts"]["experiment"] == 2 and manifest["counts"]["user"] >= 2
        # 3 per run, the icon and the artifact's file
        assert manifest["assets"]["count"] == 8 and manifest["missing_assets"] == []

        target.home.mkdir(parents=True)
        done = halley(target, "restore", str(archive))
        assert done.returncode == 0, done.stderr
        settings = settings_of(target)
        with pytest.raises(BackupError, match="already holds data: pass --force"):
            restore(settings, archive)  # now the database holds data
        store, stray = asset_store.of(settings), "ab/ab" + "0" * 30
        store.write(stray, b"not in the backup")
        restore(settings, archive, force=True)  # replaces the data, and the files with the backup's
        assert store.size(stray) is None
        target.start()
        try:
            assert [_control_pid(source), _control_pid(target)] == [source.proc.pid, target.proc.pid]
            after = _everything(target, owner, keys)
            assert after == before
            assert len(after[keys[0]]["files"]) == 3 and after["icon"][:4] == b"\x89PNG"
            assert len(after["artifact_file"]) == 5_000 and after["artifact"]["versions"][0]["aliases"] == [
                "latest", "best"]
            assert [a["remote_url"] for a in after[keys[0]]["assets"]["assets"] if a.get("remote_url")] == [
                "s3://bucket/data/train.csv"]
            assert after[keys[0]]["meta"]["name"] == "renamed run"
            assert len(after[keys[1]]["metrics"]["metrics"]) == 300
            with Accounts(target).db.session() as s:  # notes are read on the experiment page
                from dashboard.services import experiments as experiment_service

                assert experiment_service.find_by_key(s, keys[1]).notes == "the run's **notes**"
            # the restored server takes new data (its ids continue past the restored rows)
            r = api(target, owner.api_key).post(f"{target.url}/api/v1/experiments",
                                               json={"workspace": owner.workspace, "project": "kept"})
            assert r.status_code in (200, 201), r.text
            listed = api(target, owner.api_key).get(
                f"{target.url}/api/v1/workspaces/{owner.workspace}/projects/kept/experiments").json()
            assert len(listed["experiments"]) == 3
        finally:
            target.stop()
        # stopping one server left the other's control socket in place
        assert _control_pid(source) == source.proc.pid
    finally:
        source.stop()


def test_backup_of_a_live_sqlite_server_restores_into_a_fresh_home_served_beside_it(tmp_path, sdk_env):
    _round_trip(LiveServer(tmp_path / "source"), LiveServer(tmp_path / "target"), tmp_path)


def test_backup_of_a_server_storing_assets_in_s3_restores_into_a_fresh_home_and_bucket(tmp_path, sdk_env,
                                                                                      s3_server):  # noqa: F811
    """The archive holds the bucket's objects; the restore puts them into the new home's store."""
    source = LiveServer(tmp_path / "source", extra_env=s3_server.env(f"s3://{s3_server.new_bucket('src')}/a"))
    target_bucket = s3_server.new_bucket("dst")
    target = LiveServer(tmp_path / "target", extra_env=s3_server.env(f"s3://{target_bucket}/restored"))
    _round_trip(source, target, tmp_path)
    assert len(s3_server.keys(target_bucket, "restored/")) == 8  # 3 per run, the artifact file and the icon
    assert not (source.home / "assets").exists() and not (target.home / "assets").exists()


@pytest.mark.postgres
def test_backup_of_a_live_postgresql_server_restores_into_a_fresh_database(postgres, tmp_path, sdk_env):  # noqa: F811
    source = PostgresServer(tmp_path / "source", postgres.create_database("backup_src"))
    target = PostgresServer(tmp_path / "target", postgres.create_database("backup_dst"))
    _round_trip(source, target, tmp_path)


def test_restore_brings_an_older_backup_up_to_date_and_refuses_bad_archives(tmp_path):
    from alembic import command

    from dashboard.backup import BackupError, backup, restore
    from dashboard.db import alembic_config, get_engine, migrate

    old = Settings.from_env(home=tmp_path / "old")
    migrate(old.database_url)
    cfg = alembic_config(old.database_url)
    with get_engine(old.database_url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
        conn.exec_driver_sql("INSERT INTO user (username, email, password_hash, is_active_user, session_token, "
                             "created_at) "
                             "VALUES ('old', 'old@example.org', 'x', 1, 'tok', '2026-01-01 00:00:00')")
    archive = tmp_path / "old.tar.gz"
    manifest = backup(old, archive)
    assert manifest["database"]["revision"].startswith("0008") and manifest["counts"]["user"] == 1

    new = Settings.from_env(home=tmp_path / "new")
    restore(new, archive)
    with get_engine(new.database_url).connect() as conn:
        head = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert conn.exec_driver_sql("SELECT username FROM user").scalar() == "old"
    assert not head.startswith("0008")  # migrated forward

    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BackupError, match="damaged|not a Halley backup"):
        restore(Settings.from_env(home=tmp_path / "third"), damaged)
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w:gz") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()
            if m.name == "database.sqlite3":
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.addfile(m, io.BytesIO(data))
    with pytest.raises(BackupError, match="checksum"):
        restore(Settings.from_env(home=tmp_path / "fourth"), tampered)
    assert not os.path.exists(tmp_path / "fourth" / "halley.db")
    not_archive = tmp_path / "notes.txt"
    not_archive.write_text("hello")
    with pytest.raises(BackupError, match="not a Halley backup"):
        restore(Settings.from_env(home=tmp_path / "fifth"), not_archive)
