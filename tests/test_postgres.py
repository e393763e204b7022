"""Halley on PostgreSQL: migrations, a real ``halley serve`` on a PostgreSQL URL with the SDK
logging to it, and the table, panel, rollup and archive queries, compared with the same data
on SQLite where both must answer alike.

The cluster is a throwaway one (see tests/postgres_fixtures.py for when these tests run, skip
or fail). Its session time zone is set far from UTC, so a timestamp written or compared in
local time instead of UTC shows up here.
"""
from __future__ import annotations

import base64
import io
import json
import math
import threading
import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import requests
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel, select

from dashboard.auth import Actor
from dashboard.config import Settings
from dashboard.db import Database, alembic_config, get_engine, migrate
from dashboard.services import accounts as account_service
from dashboard.services import experiment_bulk, experiment_table, ingest, metric_rollup, panels, projects
from models import (
    Asset, Experiment, ExperimentTag, MetricPoint, MetricRollup, MetricSeries, Other, OutputLine, Parameter,
    ParameterValue, ReceivedBatch, User,
)
from tests.conftest import Accounts, api
from tests.rollup_data import log_batches, values_with_specials
from tests.postgres_fixtures import PostgresServer, postgres  # noqa: F401  (the session's cluster)

pytestmark = pytest.mark.postgres

QUIET = dict(log_code=False, parse_args=False, auto_output_logging=False, log_env_details=False,
             log_git_metadata=False, log_git_patch=False, auto_metric_logging=False)
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
ROLLUP_COLUMNS = [c.name for c in MetricRollup.__table__.columns if c.name != "series_id"]


@pytest.fixture(scope="module")
def pg_server(postgres, tmp_path_factory):  # noqa: F811
    srv = PostgresServer(tmp_path_factory.mktemp("pg-home"), postgres.create_database("serve")).start(workers=2)
    Accounts(srv).create("owner")  # past first-run setup
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def pg_accounts(pg_server) -> Accounts:
    return Accounts(pg_server)


@pytest.fixture
def sdk_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HALLEY_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("HALLEY_BATCH_INTERVAL_S", "0.1")
    return tmp_path


def _rows(db: Database, model, **where) -> list:
    with db.session() as s:
        stmt = select(model)
        for column, value in where.items():
            stmt = stmt.where(getattr(model, column) == value)
        return list(s.exec(stmt).all())


# --- schema ----------------------------------------------------------------------------------

def test_migrations_build_the_models_schema_and_keep_data(postgres):  # noqa: F811
    url = postgres.create_database("schema")
    migrate(url)
    with get_engine(url).connect() as conn:
        assert conn.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"  # whatever the server's zone
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == [], f"models and migrations differ on PostgreSQL; add a migration: {diff}"

    db = Database(url)
    actor = _actor(db, "keeper")
    key = log_batches(db, actor, None, [3, 250, 64, 100], values_with_specials(417))
    before = _rollup(db, key)
    migrate(url)  # idempotent
    cfg = alembic_config(url)
    with get_engine(url).begin() as conn:  # back to the schema without the rollup...
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
        assert "metricrollup" not in sa.inspect(conn).get_table_names()
    migrate(url)  # ...and up again: the migration rebuilds the blocks from the points
    assert _rollup(db, key) == before and len(before) == math.ceil(417 / 64)
    assert [u.username for u in _rows(db, User)] == ["keeper"]


def test_servers_starting_at_once_migrate_one_after_another(postgres):  # noqa: F811
    """Several processes migrating one empty database at once (servers started together)."""
    import os

    url = postgres.create_database("race")
    children = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                migrate(url)
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    assert codes == [0, 0, 0, 0]
    with get_engine(url).connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() == [
            MigrationContext.configure(conn).get_current_revision()]
        assert "metricpoint" in sa.inspect(conn).get_table_names()


def test_plain_postgresql_urls_use_psycopg(postgres, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.delenv("HALLEY_DATABASE_URL", raising=False)
    url = postgres.create_database("plain")
    for plain in (url.replace("+psycopg://", "://"), url.replace("postgresql+psycopg://", "postgres://")):
        settings = Settings.from_env(home=tmp_path, database_url=plain)
        assert settings.database_url == url
    migrate(settings.database_url)
    assert Settings.from_env(home=tmp_path).database_url == f"sqlite:///{tmp_path / 'halley.db'}"


# --- a live server on PostgreSQL -------------------------------------------------------------

def test_sdk_logs_to_a_server_on_postgres_and_reads_back(pg_server, pg_accounts, sdk_env):
    from dashboard.sdk import API, Experiment as SdkExperiment

    user = pg_accounts.create("sdk")
    exp = SdkExperiment(api_key=user.api_key, url=pg_server.url, project_name="pg-round-trip", **QUIET)
    exp.set_name("pg-run")
    exp.add_tags(["alpha", "beta"])
    values = [0.5, float("nan"), float("inf"), -float("inf"), 2, np.float32(0.25), 1e308, -1e-308]
    for step, v in enumerate(values):
        exp.log_metric("loss", v, step=step, epoch=step // 2)
    exp.log_metrics({"a": 1.0, "b": {"c": 2.0}}, prefix="val", step=7)
    exp.log_parameter("lr", 0.01)
    exp.log_parameters({"model": {"layers": [64, 32], "act": "relu"}, "bad": float("nan"), "flag": True,
                        "name": "ünïcødé ✓"})
    exp.log_other("note", "hello")
    exp.log_others({"n": 3})
    asset_file = sdk_env / "table.csv"
    asset_file.write_text("a,b\n1,2\n")
    exp.log_asset(str(asset_file), step=4, metadata={"rows": 1})
    exp.log_asset(io.BytesIO(bytes(range(256))), file_name="blob.bin")
    key = exp.get_key()
    assert exp.flush()
    exp.end()

    e = API(api_key=user.api_key, url=pg_server.url).get_experiment_by_key(key)
    assert e.name == "pg-run" and e.get_state() == "finished"
    assert sorted(e.get_tags()) == ["alpha", "beta"]
    loss = e.get_metrics("loss")
    assert [p["step"] for p in loss] == list(range(8)) and [p["epoch"] for p in loss] == [0, 0, 1, 1, 2, 2, 3, 3]
    got = [p["value"] for p in loss]
    assert got[0] == 0.5 and math.isnan(got[1]) and got[2:5] == [math.inf, -math.inf, 2.0]
    assert got[5:] == [0.25, 1e308, -1e-308]
    assert {p["name"] for p in e.get_metrics()} == {"loss", "val_a", "val_b/c"}
    summary = {m["name"]: m for m in e.get_metrics_summary()}
    assert summary["loss"]["count"] == 8 and summary["loss"]["invalid_count"] == 3
    assert summary["loss"]["min"] == -1e-308 and summary["loss"]["max"] == 1e308
    params = {p["name"]: p for p in e.get_parameters_summary()}
    assert json.loads(params["lr"]["value_json"]) == 0.01
    assert json.loads(params["model|layers"]["value_json"]) == [64, 32]
    assert params["bad"]["value"] == "NaN" and params["name"]["value"] == "ünïcødé ✓"
    others = {o["key"]: o["value"] for o in e.get_others_summary()}
    assert others["note"] == "hello" and others["n"] in (3, "3")
    assets = {a["name"]: a for a in e.get_asset_list()}
    assert e.get_asset(assets["table.csv"]["asset_id"]) == b"a,b\n1,2\n" and assets["table.csv"]["step"] == 4
    assert e.get_asset(assets["blob.bin"]["asset_id"]) == bytes(range(256))
    with pg_accounts.db.session() as s:  # stored in UTC, read back as aware datetimes
        row = s.exec(select(Experiment).where(Experiment.key == key)).one()
        assert row.start_time.utcoffset() == timedelta(0)
        assert abs((datetime.now(timezone.utc) - row.start_time).total_seconds()) < 600


def test_a_batch_sent_twice_is_stored_once(pg_server, pg_accounts):
    user = pg_accounts.create("dup")
    s = api(pg_server, user.api_key)
    key = s.post(pg_server.url + "/api/v1/experiments", json={"project": "dupes"}).json()["experiment_key"]
    body = {"batch_id": uuid.uuid4().hex, "metrics": [{"name": "m", "value": 1, "step": 0}],
            "parameters": [{"name": "p", "value": 1}], "output": [{"text": "x\n"}], "tags": ["t"]}
    url = f"{pg_server.url}/api/v1/experiments/{key}/batch"
    first = s.post(url, json=body)
    assert first.status_code == 200 and first.json()["stored"]["metrics"] == 1
    again = s.post(url, json=body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    base = f"{pg_server.url}/api/v1/experiments/{key}"
    assert [m["count"] for m in s.get(base + "/metrics/summary").json()["metrics"]] == [1]
    assert len(s.get(base + "/parameters/p/history").json()["values"]) == 1
    assert len(s.get(base + "/output").json()["output"]) == 1
    # the same id for another experiment is refused and changes nothing there
    other = s.post(pg_server.url + "/api/v1/experiments", json={"project": "dupes"}).json()["experiment_key"]
    r = s.post(f"{pg_server.url}/api/v1/experiments/{other}/batch", json=body)
    assert r.status_code == 409
    assert s.get(f"{pg_server.url}/api/v1/experiments/{other}/metrics/summary").json()["metrics"] == []


def test_concurrent_batches_and_starts_lose_nothing(pg_server, pg_accounts):
    """Concurrent transactions are real on PostgreSQL: batches to one experiment, and runs
    creating the same new project at once."""
    user = pg_accounts.create("conc")
    key = api(pg_server, user.api_key).post(pg_server.url + "/api/v1/experiments",
                                            json={"project": "concurrent"}).json()["experiment_key"]
    errors, statuses = [], []
    project = "race-" + uuid.uuid4().hex[:8]
    barrier = threading.Barrier(8)

    def send(worker: int) -> None:
        s = api(pg_server, user.api_key)
        barrier.wait()
        for n in range(4):
            pts = [{"name": name, "value": float(worker * 1000 + n * 100 + i), "step": worker * 1000 + n * 100 + i}
                   for i in range(100) for name in ("shared", f"batch{n}", f"worker{worker}")]
            r = s.post(f"{pg_server.url}/api/v1/experiments/{key}/batch",
                       json={"batch_id": uuid.uuid4().hex, "metrics": pts})
            if r.status_code != 200:
                errors.append(r.text)

    def begin() -> None:
        s = api(pg_server, user.api_key)
        barrier.wait()
        statuses.append(s.post(pg_server.url + "/api/v1/experiments", json={"project": project}).status_code)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=begin) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and statuses == [201] * 4
    s = api(pg_server, user.api_key)
    sums = {m["name"]: m for m in s.get(f"{pg_server.url}/api/v1/experiments/{key}/metrics/summary").json()["metrics"]}
    assert sums["shared"]["count"] == 1600 and all(sums[f"batch{n}"]["count"] == 400 for n in range(4))
    assert sums["shared"]["max"] == 3399.0 and sums["shared"]["last_step"] == 3399 and sums["shared"]["min"] == 0.0
    listed = s.get(f"{pg_server.url}/api/v1/workspaces/{user.workspace}/projects/{project}/experiments").json()
    assert len(listed["experiments"]) == 4
    with pg_accounts.db.session() as db_s:  # the rollup counted every point of every batch
        sid = db_s.exec(select(MetricSeries.id).join(Experiment, Experiment.id == MetricSeries.experiment_id)
                        .where(Experiment.key == key, MetricSeries.name == "shared")).one()
        blocks = db_s.exec(select(MetricRollup.block, MetricRollup.count).where(MetricRollup.series_id == sid)
                           .order_by(MetricRollup.block)).all()
    assert [b for b, _ in blocks] == list(range(math.ceil(1600 / 64))) and sum(c for _, c in blocks) == 1600
    assert all(c == 64 for _, c in blocks)


def test_rollup_of_odd_batches_equals_one_batch(pg_server, pg_accounts):
    """The rollup's merge UPDATE (CASE expressions into a partial block), through the server."""
    user = pg_accounts.create("roll")
    s = api(pg_server, user.api_key)
    vals = values_with_specials(517)

    def log(sizes: list[int]) -> str:
        key = s.post(pg_server.url + "/api/v1/experiments", json={"project": "rollup"}).json()["experiment_key"]
        at = 0
        for size in sizes:
            chunk = vals[at:at + size]
            r = s.post(f"{pg_server.url}/api/v1/experiments/{key}/batch", json={
                "batch_id": uuid.uuid4().hex, "metric_columns": [{
                    "name": "loss", "value": chunk, "step": list(range(at, at + len(chunk))),
                    "epoch": [i // 100 for i in range(at, at + len(chunk))],
                    "timestamp": [1.7e9 + i for i in range(at, at + len(chunk))]}]})
            assert r.status_code == 200, r.text
            at += len(chunk)
        return key

    whole = log([517])
    pieces = log([1, 63, 1, 100, 7, 64, 200, 81])
    rows = _rollup(pg_accounts.db, whole)
    assert _rollup(pg_accounts.db, pieces) == rows
    assert [r[0] for r in rows] == list(range(math.ceil(517 / 64))) and sum(r[1] for r in rows) == 517
    by_block = {r[0]: dict(zip(ROLLUP_COLUMNS, r)) for r in rows}
    assert by_block[4]["max_value"] == 50.0 and by_block[4]["max_step"] == 300
    assert by_block[1]["max_value"] != math.inf  # +/-Inf are never extremes
    # and the same points on SQLite give the same blocks
    lite = _sqlite_db(pg_server.home / "rollup-lite.db")
    lite_key = log_batches(lite, _actor(lite, "roll"), None, [517], vals)
    assert _rollup(lite, lite_key) == rows


def test_64_bit_steps_epochs_offsets_and_pids(pg_server, pg_accounts):
    """The API takes any 64-bit integer (a step counting tokens, a millisecond clock...):
    PostgreSQL stores them as SQLite does."""
    user = pg_accounts.create("big")
    s = api(pg_server, user.api_key)
    key = s.post(pg_server.url + "/api/v1/experiments", json={"project": "big"}).json()["experiment_key"]
    base = f"{pg_server.url}/api/v1/experiments/{key}"
    big, top = 3_000_000_000, 2**53  # (steps pass through float64 at ingest: exact up to 2**53)
    steps = [big + i for i in range(70)] + [top]
    for chunk in (steps[:3], steps[3:], []):  # the second batch merges into the first's rollup block
        r = s.post(base + "/batch", json={
            "batch_id": uuid.uuid4().hex,
            "metrics": [{"name": "m", "value": float(i), "step": st, "epoch": st // 2} for i, st in enumerate(chunk)],
            "parameters": [{"name": "p", "value": 1, "step": top}], "details": {"pid": big},
            "output": [{"text": "line\n", "offset": big}] if not chunk else []})
        assert r.status_code == 200, r.text
    r = s.post(base + "/assets", files={"file": ("a.bin", b"x")}, data={"step": str(top), "epoch": str(-big)})
    assert r.status_code == 201, r.text
    points = s.get(base + "/metrics", params={"name": "m"}).json()["metrics"]
    assert [p["step"] for p in points] == steps and points[-1]["epoch"] == top // 2
    summary = s.get(base + "/metrics/summary").json()["metrics"][0]
    assert (summary["first_step"], summary["last_step"], summary["max_step"]) == (big, top, top)
    assert s.get(base + "/parameters").json()["parameters"][0]["step"] == top
    assert s.get(base + "/output").json()["output"][0]["offset"] == big
    asset = s.get(base + "/assets").json()["assets"][0]
    assert (asset["step"], asset["epoch"]) == (top, -big)
    with pg_accounts.db.session() as db_s:
        assert db_s.exec(select(Experiment.pid).where(Experiment.key == key)).one() == big
    blocks = _rollup(pg_accounts.db, key, "m")
    assert [(b[0], b[1], b[2], b[3]) for b in blocks] == [(0, 64, big, big + 63), (1, 7, big + 64, top)]
    assert blocks[1][ROLLUP_COLUMNS.index("max_step")] == top


def test_text_with_nul_characters_is_stored(pg_server, pg_accounts):
    """PostgreSQL's text can't hold NUL: a captured line or a value with one is stored with
    U+FFFD in its place instead of failing the batch."""
    user = pg_accounts.create("nul")
    s = api(pg_server, user.api_key)
    key = s.post(pg_server.url + "/api/v1/experiments", json={"project": "nul"}).json()["experiment_key"]
    base = f"{pg_server.url}/api/v1/experiments/{key}"
    r = s.post(base + "/batch", json={
        "batch_id": uuid.uuid4().hex, "name": "run\x00", "output": [{"text": "a\x00b\n"}],
        "parameters": [{"name": "p", "value": "x\x00y"}], "others": [{"key": "o", "value": "\x00"}],
        "html": [{"html": "<b>\x00</b>"}], "details": {"host": "h\x00"},
        "metrics": [{"name": "m", "value": 1.0, "step": 0, "context": "c\x00"},
                    {"name": "m", "value": "NaN", "step": 1, "context": "tab\there \\N back\\slash\nline"}]})
    assert r.status_code == 200, r.text
    assert s.get(base + "/output").json()["output"][0]["text"] == "a\ufffdb\n"
    assert s.get(base + "/parameters").json()["parameters"][0]["value"] == "x\ufffdy"
    assert s.get(base + "/others").json()["others"][0]["value"] == "\ufffd"
    points = s.get(base + "/metrics").json()["metrics"]
    assert [(p["context"], p["value"]) for p in points] == [
        ("c\ufffd", 1.0), ("tab\there \\N back\\slash\nline", "NaN")]
    assert s.get(base + "/system").json()["details"]["host"] == "h\ufffd"
    with pg_accounts.db.session() as db_s:
        row = db_s.exec(select(Experiment).where(Experiment.key == key)).one()
    assert (row.name, row.html) == ("run\ufffd", "<b>\ufffd</b>")
    for step in (0, 1):  # names with NUL, twice: the second batch finds what the first stored
        r = s.post(base + "/batch", json={"batch_id": uuid.uuid4().hex, "tags": ["t\x00"],
                                          "metrics": [{"name": "q\x00", "value": 1.0, "step": step}],
                                          "parameters": [{"name": "p\x00", "value": step}],
                                          "others": [{"key": "o\x00", "value": step}]})
        assert r.status_code == 200, r.text
    counts = {m["name"]: m["count"] for m in s.get(base + "/metrics/summary").json()["metrics"]}
    assert counts["q\ufffd"] == 2


def test_archive_and_delete_cascade(pg_server, pg_accounts, sdk_env):
    from dashboard.sdk import Experiment as SdkExperiment

    user = pg_accounts.create("arch")
    keys = []
    for i in range(2):
        with SdkExperiment(api_key=user.api_key, url=pg_server.url, project_name="arch", **QUIET) as exp:
            for step in range(100):
                exp.log_metric("loss", 1.0 / (step + 1), step=step)
            exp.log_parameter("lr", 0.1 * (i + 1))
            exp.log_other("o", "x")
            exp.add_tag("t")
            exp.log_asset(io.BytesIO(b"payload %d" % i), file_name="f.bin")
            print("output line")
        keys.append(exp.get_key())
    db = pg_accounts.db
    s = api(pg_server, user.api_key)
    base = f"{pg_server.url}/api/v1/workspaces/{user.workspace}/projects/arch"
    with db.session() as ses:
        actor = Actor(user_id=_user_id(ses, user.username), username=user.username)
        project = projects.get_readable(ses, actor, user.workspace, "arch")
        assert experiment_bulk.archive(ses, actor, project, [keys[0]]) == 1
    assert [e["experiment_key"] for e in s.get(base + "/archive").json()["experiments"]] == [keys[0]]
    gone_id = _rows(db, Experiment, key=keys[0])[0].id
    paths = [a.storage_path for a in _rows(db, Asset, experiment_id=gone_id)]
    assert len(paths) == 1 and (pg_server.home / "assets" / paths[0]).exists()

    r = s.post(base + "/archive/delete", json={"keys": [keys[0]]})
    assert r.status_code == 200, r.text
    assert _rows(db, Experiment, key=keys[0]) == []
    series_ids = [m.id for m in _rows(db, MetricSeries, experiment_id=gone_id)]
    assert series_ids == []
    for model in (ExperimentTag, Parameter, ParameterValue, Other, OutputLine, Asset, ReceivedBatch):
        assert _rows(db, model, experiment_id=gone_id) == [], model.__name__
    with db.session() as ses:
        orphans = ses.exec(select(sa.func.count()).select_from(MetricPoint).where(
            ~MetricPoint.series_id.in_(select(MetricSeries.id)))).one()
        orphan_blocks = ses.exec(select(sa.func.count()).select_from(MetricRollup).where(
            ~MetricRollup.series_id.in_(select(MetricSeries.id)))).one()
    assert orphans == 0 and orphan_blocks == 0
    assert not (pg_server.home / "assets" / paths[0]).exists()
    kept = _rows(db, Experiment, key=keys[1])[0]
    assert len(_rows(db, MetricSeries, experiment_id=kept.id)) == 1

    r = s.delete(base)  # the whole project, the other experiment with it
    assert r.status_code == 200 and r.json()["experiments"] == 1
    assert _rows(db, Experiment, id=kept.id) == [] and _rows(db, MetricSeries, experiment_id=kept.id) == []


# --- the same queries on PostgreSQL and SQLite -----------------------------------------------

@pytest.fixture(scope="module")
def twins(postgres, tmp_path_factory):  # noqa: F811
    """The same experiments logged into a PostgreSQL and a SQLite database."""
    home = tmp_path_factory.mktemp("pg-twins")
    out = {}
    for kind, url in (("pg", postgres.create_database("twins")), ("lite", f"sqlite:///{home / 'twins.db'}")):
        migrate(url)
        db = Database(url)
        actor = _actor(db, "twin")
        _seed(db, actor)
        out[kind] = {"db": db, "actor": actor, "cache_dir": home / f"cache-{kind}"}
    return out


def _seed(db: Database, actor: Actor, n: int = 12) -> None:
    rng = np.random.default_rng(7)
    for i in range(n):
        with db.session() as s:
            exp, _ = ingest.start_experiment(s, actor, "twin", "sweep", key=f"k{i:02d}".ljust(32, "0"),
                                             name=["Alpha", "alpha", "beta", "Beta_2", "gamma%"][i % 5] + f"-{i}")
            long = i < 3
            steps = np.arange(20_000 if long else 300)
            values = np.sin(steps / 700.0) + rng.normal(0, 0.01, steps.size) + i
            if long:
                values[12_345] = 99.0  # a spike
            batch = {
                "batch_id": f"seed{i}",
                "metric_columns": [{"name": "loss", "value": values.round(6).tolist(), "step": steps.tolist(),
                                    "timestamp": (1.7e9 + steps).tolist(), "epoch": (steps // 1000).tolist()}],
                "metrics": [{"name": "loss", "value": "NaN", "step": int(steps[-1]) + 1},
                            *[{"name": "acc", "value": v, "step": k} for k, v in enumerate([1, 2, 2, 3, i])],
                            {"name": "odd", "value": ["Infinity", 1.5, "NaN"][i % 3], "step": 0},
                            *[{"name": "nostep", "value": float(k), "step": st, "timestamp": 1.7e9 + k}
                              for k, st in enumerate([3, None, 1, None])]],
                "parameters": [{"name": "lr", "value": [0.1, 0.01, 0.001, "0.010"][i % 4]},
                               {"name": "opt", "value": ["sgd", "Adam", "adamw"][i % 3]},
                               {"name": "layers", "value": [2, 4][i % 2]},
                               {"name": "flag", "value": i % 2 == 0},
                               {"name": "mixed", "value": [1, "one", None][i % 3]}],
                "others": [{"key": "seed", "value": i}],
                "tags": ["best"] if i % 4 == 0 else (["ünï", "z"] if i % 4 == 1 else []),
            }
            ingest.apply_batch(s, actor, exp.key, batch)
            if i % 5 != 4:
                ingest.end_experiment(s, actor, exp.key, "finished")
        with db.session() as s:  # fixed times: durations, date filters and lost heartbeats read alike
            start = T0 + timedelta(hours=i, seconds=0.25 * i)
            s.execute(sa.update(Experiment).where(Experiment.key == exp.key).values(
                start_time=start, end_time=None if i % 5 == 4 else start + timedelta(minutes=10 + i, seconds=0.5),
                last_heartbeat=start + timedelta(minutes=1)))


def _both(twins, fn):
    """``fn(session, actor, project, twin)`` on each database; returns (pg, sqlite) results."""
    results = []
    for kind in ("pg", "lite"):
        t = twins[kind]
        with t["db"].session() as s:
            results.append(fn(s, t["actor"], projects.get_readable(s, t["actor"], "twin", "sweep"), t))
    return results


FILTERS = [
    {"attr": "param:lr", "operator": "gt", "value": 0.005},
    {"attr": "param:lr", "operator": "equals", "value": "0.01"},
    {"attr": "param:opt", "operator": "contains", "value": "ADAM"},
    {"attr": "param:opt", "operator": "not_equals", "value": "sgd"},
    {"attr": "param:flag", "operator": "is_true"},
    {"attr": "param:mixed", "operator": "is_null"},
    {"attr": "sys:name", "operator": "begins_with", "value": "gamma%"},
    {"attr": "sys:name", "operator": "ends_with", "value": "_2-8"},
    {"attr": "sys:duration", "operator": "ge", "value": 900},
    {"attr": "sys:duration", "operator": "between", "value": 600.5, "value2": 780},
    {"attr": "sys:start_time", "operator": "after", "value": "2026-03-01T14:30"},
    {"attr": "sys:start_time", "operator": "between", "value": "2026-03-01T10:00+01:00", "value2": "2026-03-01T12:00"},
    {"attr": "sys:status", "operator": "equals", "value": "crashed"},
    {"attr": "sys:status", "operator": "not_equals", "value": "finished"},
    {"attr": "tags", "operator": "has", "value": "best"},
    {"attr": "tags", "operator": "has_not", "value": "ünï"},
    {"attr": "metric:max:loss", "operator": "ge", "value": 99},
    {"attr": "metric:last:odd", "operator": "lt", "value": 2},
    {"attr": "metric:max:acc", "operator": "ge", "value": 5},
    {"op": "or", "rules": [{"attr": "param:layers", "operator": "eq", "value": 2},
                           {"attr": "other:seed", "operator": "ge", "value": 10}]},
]
SORTS = [
    [{"colId": "metric:last:loss", "sort": "asc"}],
    [{"colId": "param:lr", "sort": "desc"}, {"colId": "sys:name", "sort": "asc"}],
    [{"colId": "param:mixed", "sort": "asc"}],
    [{"colId": "sys:duration", "sort": "desc"}],
    [{"colId": "metric:last:odd", "sort": "desc"}, {"colId": "other:seed", "sort": "asc"}],
    [{"colId": "sys:status", "sort": "asc"}, {"colId": "sys:start_time", "sort": "asc"}],
]
COLUMNS = ["sys:status", "sys:name", "sys:start_time", "sys:end_time", "sys:duration", "tags", "param:lr",
           "param:opt", "param:flag", "param:mixed", "metric:last:loss", "metric:max:loss", "metric:last:odd",
           "other:seed"]


@pytest.mark.parametrize("rule", FILTERS, ids=lambda r: r.get("attr", "or") + ":" + r.get("operator", ""))
def test_table_filters_answer_alike(twins, rule):
    state = experiment_table.normalize_state({"columns": COLUMNS, "filters": {"op": "and", "rules": [rule]}})

    def page(s, actor, project, _):
        rows, total = experiment_table.fetch_rows(s, project, state, 0, 100)
        return total, rows

    pg, lite = _both(twins, page)
    assert pg == lite
    assert 0 < pg[0] < 12, "each filter should keep some experiments and drop others"


@pytest.mark.parametrize("sort_model", SORTS, ids=lambda m: ",".join(c["colId"] for c in m))
def test_table_sorts_answer_alike(twins, sort_model):
    state = experiment_table.normalize_state({"columns": COLUMNS})
    pg, lite = _both(twins, lambda s, a, p, _: experiment_table.fetch_rows(s, p, state, 2, 9, sort_model))
    assert [r["key"] for r in pg[0]] == [r["key"] for r in lite[0]]
    assert pg == lite and pg[1] == 12


def test_table_groups_constants_catalogue_and_csv_answer_alike(twins):
    state = experiment_table.normalize_state({"columns": COLUMNS + ["param:layers"], "filters": {
        "op": "and", "rules": [{"attr": "param:opt", "operator": "not_equals", "value": "adamw"}]}})

    all_rows = experiment_table.normalize_state({"columns": COLUMNS})

    def read(s, actor, project, _):
        return {
            "groups": {**{g: experiment_table.group_counts(s, project, {**state, "groupBy": g})
                          for g in ("param:opt", "tags", "sys:status", "metric:last:odd", "sys:start_time")},
                       **{f"all:{g}": experiment_table.group_counts(s, project, {**all_rows, "groupBy": g})
                          for g in ("param:mixed", "tags", "metric:last:odd")}},
            "constant": experiment_table.constant_columns(
                s, project, {**state, "filters": {"op": "and", "rules": [
                    {"attr": "param:layers", "operator": "eq", "value": 2}]}}),
            "attributes": experiment_table.attributes(s, project),
            "tags": experiment_table.project_tags(s, project),
            "csv": "".join(experiment_table.iter_csv(s, project, state)),
        }

    pg, lite = _both(twins, read)
    for group in pg["groups"]:
        assert pg["groups"][group] == lite["groups"][group], group
    for part in ("constant", "attributes", "tags", "csv"):
        assert pg[part] == lite[part], part
    assert pg["groups"]["sys:status"] == [("finished", 6), ("crashed", 2)]
    assert sorted(n for _, n in pg["groups"]["all:param:mixed"]) == [4, 4, 4]
    assert "param:layers" in pg["constant"] and "param:lr" not in pg["constant"]
    assert {a["id"]: a["type"] for a in pg["attributes"]}["param:mixed"] == "mixed"


def test_table_csv_over_rest_on_postgres(pg_server, pg_accounts):
    user = pg_accounts.create("csv")
    with pg_accounts.db.session() as s:
        actor = Actor(user_id=_user_id(s, user.username), username=user.username)
    for i in range(6):
        with pg_accounts.db.session() as s:
            exp, _ = ingest.start_experiment(s, actor, user.workspace, "table", name=f"run-{i}")
            ingest.apply_batch(s, actor, exp.key, {"batch_id": uuid.uuid4().hex, "parameters": [
                {"name": "opt", "value": ["adam", "sgd"][i % 2]}, {"name": "lr", "value": 0.001 * (i + 1)}],
                "metrics": [{"name": "loss", "value": 1.0 / (i + 1), "step": 0}]})
    state = experiment_table.default_state()
    state["columns"] = ["sys:name", "param:lr", "metric:last:loss"]
    state["filters"] = {"op": "and", "rules": [{"attr": "param:opt", "operator": "equals", "value": "adam"}]}
    state["columnState"] = [{"colId": "sys:name"}, {"colId": "param:lr"},
                            {"colId": "metric:last:loss", "sort": "asc", "sortIndex": 0}]
    r = requests.get(f"{pg_server.url}/api/v1/workspaces/{user.workspace}/projects/table/experiments.csv",
                     params={"state": experiment_table.encode_state(experiment_table.normalize_state(state))},
                     headers={"Authorization": user.api_key})
    assert r.status_code == 200, r.text
    lines = r.text.strip().splitlines()
    assert lines[0] == "Experiment key,Name,lr,loss (last)"
    assert [line.split(",")[1] for line in lines[1:]] == ["run-4", "run-2", "run-0"]


def test_point_reads_answer_alike(twins):
    """Points without a step come first on both databases (SQLite's NULL order)."""
    from dashboard.services import experiment_page, metrics

    def read(s, actor, project, _):
        exp = s.exec(select(Experiment).where(Experiment.key == "k00".ljust(32, "0"))).one()
        many = metrics.series_many(s, [exp.id], "nostep")[exp.id]
        page = [(d["x"].tolist(), d["y"].tolist()) for d in experiment_page.chart_series(s, exp, ["nostep"])[0]]
        one = metrics.series(s, exp.id, "nostep")
        return (metrics.points(s, exp.id, "nostep"), json.dumps([a.tolist() for a in one]),
                json.dumps([a.tolist() for a in many]), json.dumps(page, default=repr, sort_keys=True))

    pg, lite = _both(twins, read)
    assert pg == lite
    assert [p["value"] for p in pg[0]] == [1.0, 3.0, 2.0, 0.0]


LINE = {"type": "line", "metrics": ["loss"], "x": "step"}


def _figure(panel, **kwargs):
    def draw(s, actor, project, twin):
        fig = panels.panel_figure(s, actor, project, None, panel, **kwargs)
        return json.loads(fig.to_json())
    return draw


def _array(value) -> np.ndarray:
    """A figure's data array as JSON carries it (a list, or Plotly's typed base64 form)."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value, dtype=float)


def test_line_panels_answer_alike_on_every_read_path(twins, monkeypatch):
    """Raw points, the database's bucket reduction (GROUP BY) and the ingest-time rollup."""
    pg, lite = _both(twins, _figure(LINE))
    assert pg == lite
    long = [t for t in pg["data"] if np.nanmax(_array(t["y"])) >= 99.0]
    assert len(long) == 3 and all(len(_array(t["y"])) <= 2000 for t in long)

    zoom_pg, zoom_lite = _both(twins, _figure(LINE, x_range=[12_000, 13_000]))
    assert zoom_pg == zoom_lite
    assert sorted(len(_array(t["x"])) for t in zoom_pg["data"] if len(_array(t["x"])) > 1) == [1001, 1001, 1001]
    between_pg, between_lite = _both(twins, _figure(LINE, x_range=[12_000.4, 12_999.6]))  # a zoom's edges
    assert between_pg == between_lite
    assert sorted(len(_array(t["x"])) for t in between_pg["data"] if len(_array(t["x"])) > 1) == [999, 999, 999]

    monkeypatch.setattr(panels, "RAW_POINTS_LIMIT", 1000)  # long series now come from the rollup
    with twins["pg"]["db"].session() as s:
        sids = s.exec(select(MetricSeries.id).where(MetricSeries.name == "loss", MetricSeries.count > 16_000)).all()
        assert len(sids) == 3 and all(len(p["step"]) <= 2 * math.ceil(20_001 / 64)
                                      for p in metric_rollup.read(s, list(sids)).values())
    rolled_pg, rolled_lite = _both(twins, _figure(LINE))
    assert rolled_pg == rolled_lite
    long = [(_array(t["x"]), _array(t["y"])) for t in rolled_pg["data"] if _array(t["x"]).max() > 10_000]
    assert len(long) == 3
    assert all(y.max() == 99.0 and x.min() < 64 and x.max() >= 20_000 - 64 for x, y in long)  # block extremes

    monkeypatch.setattr(panels, "ROLLUP_MIN_POINTS", 10**9)  # and now from the GROUP BY buckets
    for x_axis in ("step", "wall"):
        grouped_pg, grouped_lite = _both(twins, _figure({**LINE, "x": x_axis}))
        assert grouped_pg == grouped_lite
        assert sum(np.nanmax(_array(t["y"])) >= 99.0 for t in grouped_pg["data"]) == 3


def test_summary_panels_answer_alike(twins):
    parcoords = {"type": "parcoords", "axes": ["param:opt", "param:lr", "param:flag", "metric:acc"]}
    pg, lite = _both(twins, _figure(parcoords))
    assert pg == lite
    dims = pg["data"][0]["dimensions"]
    assert [d["label"] for d in dims] == ["opt", "lr", "flag", "acc"]
    assert dims[0]["ticktext"] == ["Adam", "adamw", "sgd"] and len(_array(dims[1]["values"])) == 12
    with_gaps = {"type": "parcoords", "axes": ["param:mixed", "param:opt", "metric:odd"]}  # None, text, +/-Inf
    pg, lite = _both(twins, _figure(with_gaps))
    assert pg == lite
    for panel in ({"type": "bar", "metric": "acc", "aggregation": "std"},
                  {"type": "bar", "metric": "loss", "aggregation": "average"},
                  {"type": "scatter", "xAxis": {"source": "param", "name": "lr"},
                   "yAxis": {"source": "metric", "name": "acc", "transform": "first"}},
                  {"type": "line", "metrics": ["acc"], "x": "epoch", "group": {"by": "param", "name": "opt"}}):
        pg, lite = _both(twins, _figure(panel))
        assert pg == lite, panel
    brush_pg, brush_lite = _both(twins, lambda s, a, p, _: panels.brush(s, a, p, None, parcoords,
                                                                          {"param:lr": [0.005, 0.5]}))
    assert brush_pg == brush_lite and len(brush_pg["keys"]) == 9


# --- helpers -----------------------------------------------------------------------------------

def _sqlite_db(path) -> Database:
    url = f"sqlite:///{path}"
    migrate(url)
    return Database(url)


def _actor(db: Database, name: str) -> Actor:
    with db.session() as s:
        u = account_service.create_user(s, name, f"{name}@example.org", "pw-" + name + "-123")
        return Actor(user_id=u.id, username=name)


def _user_id(session, username: str) -> int:
    return session.exec(select(User.id).where(User.username == username)).one()


def _rollup(db: Database, key: str, name: str = "loss") -> list[tuple]:
    with db.session() as s:
        sid = s.exec(select(MetricSeries.id).join(Experiment, Experiment.id == MetricSeries.experiment_id)
                     .where(Experiment.key == key, MetricSeries.name == name)).one()
        rows = s.exec(select(MetricRollup).where(MetricRollup.series_id == sid).order_by(MetricRollup.block)).all()
        return [tuple(getattr(r, c) for c in ROLLUP_COLUMNS) for r in rows]


@pytest.mark.parametrize("attr,operator,expected", [
    ("metric:last:loss", "is_null", 12),      # every run's last loss is NaN
    ("metric:last:loss", "is_not_null", 0),
    ("metric:last:odd", "is_null", 4),        # "odd" is only NaN in runs 2, 5, 8, 11
    ("metric:last:odd", "is_not_null", 8),    # +Infinity and 1.5 are values
    ("metric:min:odd", "is_null", 8),         # no finite value in the NaN-only and Infinity-only runs
    ("metric:max:odd", "is_not_null", 4),
    ("metric:min:loss", "is_not_null", 12),
])
def test_nan_metrics_count_as_empty_alike(twins, attr, operator, expected):
    """A metric whose values (or last value) are NaN is empty: NaN is stored as no value on both
    databases, so "is null" finds it and "is not null" doesn't."""
    state = experiment_table.normalize_state({"filters": {"op": "and", "rules": [
        {"attr": attr, "operator": operator}]}})

    def stored(s, actor, project, _):
        nan_rows = s.execute(sa.select(sa.func.count()).select_from(MetricSeries).where(
            MetricSeries.last_value != MetricSeries.last_value)).scalar_one()  # a float NaN (PostgreSQL: none)
        return experiment_table.fetch_rows(s, project, state, 0, 100)[1], nan_rows

    pg, lite = _both(twins, stored)
    assert pg == lite == (expected, 0)


def test_a_nan_stored_as_a_float_still_counts_as_empty(postgres, tmp_path):  # noqa: F811
    """A summary holding a float NaN (written outside ingest, which stores NaN as no value):
    PostgreSQL keeps it as NaN, equal to itself and above every number; SQLite reads it back
    as NULL. Filters treat it as empty on both."""
    rules = {"is_null": "n", "is_not_null": "v", "gt": "v", "ge": "v", "between": "v", "eq": ""}
    for url in (postgres.create_database("nan"), f"sqlite:///{tmp_path / 'nan.db'}"):
        migrate(url)
        db = Database(url)
        actor = _actor(db, "nanny")
        with db.session() as s:
            p = projects.get_or_create_for_logging(s, actor, "nanny", "nans")
            for key, value in (("n", math.nan), ("v", 2.0)):
                e = Experiment(key=key.ljust(32, "0"), project_id=p.id, name=key, start_time=T0)
                s.add(e)
                s.flush()
                s.add(MetricSeries(experiment_id=e.id, name="m", count=1, last_value=value))
        with db.session() as s:
            p = projects.get_readable(s, actor, "nanny", "nans")
            for operator, expected in rules.items():
                rule = {"attr": "metric:last:m", "operator": operator, "value": 1, "value2": 5}
                if operator == "eq":
                    rule["value"] = 3
                state = experiment_table.normalize_state({"filters": {"op": "and", "rules": [rule]}})
                rows, _total = experiment_table.fetch_rows(s, p, state, 0, 10)
                assert "".join(sorted(r["key"][0] for r in rows)) == expected, (url.split(":")[0], operator)
