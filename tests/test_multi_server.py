"""Two `halley serve` processes behind a round-robin proxy, as a team deploys Halley: different
homes, one PostgreSQL database, one Redis broker, one secret key, one S3 bucket for assets
(moto's server, tests/s3_server.py), and a `halley worker` for background jobs. Every request
may go to either server (the proxy alternates them), so nothing may depend on which one answers:
sign-in, the project page's panels, a background job (started through one server, polled through
both, run by the worker), an asset uploaded through one and downloaded through the other,
readiness through a database outage and a lost worker, and a backup restored into a fresh home
and bucket."""
from __future__ import annotations

import atexit
import csv
import hashlib
import io
import os
import secrets
import shutil
import subprocess
import time

import pytest
import requests
from playwright.sync_api import expect

from dashboard.auth import Actor
from dashboard.db import Database
from dashboard.services import accounts as account_service, experiment_table as table, project_views, projects
from dashboard.services import view_state
from tests.conftest import HALLEY, ROOT, Accounts, free_port, sign_in, stop_process_group
from tests.postgres_fixtures import PostgresCluster, PostgresServer, postgres, postgres_required  # noqa: F401
from tests.round_robin_proxy import RoundRobinProxy
from tests.s3_server import s3_server  # noqa: F401  (the session's S3 server)
from tests.test_export_all import log_runs
from tests.test_observability import _sample as one_sample

redis = pytest.importorskip("redis", reason="the multi-server test needs redis-py (the celery extra)")

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
SLOW = 60_000
RUNS = 6
METRICS_TOKEN = "team-scrape-token-0123456789"
PANELS = [{"type": "line", "name": "Loss", "metrics": ["loss"]},
          {"type": "bar", "metric": "loss", "aggregation": "average"},
          {"type": "scatter", "xAxis": {"source": "param", "name": "lr"},
           "yAxis": {"source": "metric", "name": "loss"}},
          {"type": "parcoords", "axes": ["param:lr", "metric:loss"]}]


def wait_until(condition, timeout: float = 120, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Process:
    """A command in its own process group, logging to a file."""

    def __init__(self, args: list[str], env: dict, log):
        self.args, self.env, self.log = args, env, log
        self.proc = None

    def start(self) -> "Process":
        self.proc = subprocess.Popen(self.args, env=self.env, cwd=ROOT, stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        stop_process_group(self.proc, timeout=30)
        self.proc = None


def sample(url: str, name: str, **labels) -> float:
    """One sample of the Prometheus scrape at ``url`` (0 when absent)."""
    return one_sample(requests.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30).text,
                      name, **labels)


def ready(server, status: int = 200, what: str = "readiness") -> dict:
    """Once ``/api/v1/ready`` of ``server`` answers ``status``: its checks."""
    def answer():
        r = requests.get(server.url + "/api/v1/ready", timeout=60)
        return r.status_code == status and r.json()["checks"]

    return wait_until(answer, 120, f"{what} ({status}) of the server on port {server.port}")


@pytest.fixture(scope="module")
def team(postgres, s3_server, tmp_path_factory):  # noqa: F811
    """PostgreSQL (a cluster of this module's own, stopped for an outage), Redis, an S3 bucket, a
    worker, two servers and the proxy; an owner with a project of runs and a view of panels."""
    if shutil.which("redis-server") is None:  # an error where PostgreSQL must run (make test, CI), as for it
        message = "the multi-server test needs redis-server (Debian package redis-server; `make redis`)"
        if postgres_required():
            pytest.fail(message + " (HALLEY_TEST_POSTGRES=1)", pytrace=False)
        pytest.skip(message)
    base = tmp_path_factory.mktemp("team")
    cluster = PostgresCluster(postgres.bindir).start()
    redis_port = free_port()
    broker = f"redis://127.0.0.1:{redis_port}/0"
    store = Process(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", str(base)], dict(os.environ), base / "redis.log").start()
    wait_until(lambda: _pings(broker), 30, "Redis")
    database_url = cluster.create_database("team")
    shared = {"HALLEY_SECRET_KEY": secrets.token_hex(32), "HALLEY_CELERY_BROKER": broker,
              "HALLEY_METRICS_TOKEN": METRICS_TOKEN, **s3_server.env(f"s3://{s3_server.new_bucket('team')}/assets")}
    servers = [PostgresServer(base / name, database_url, extra_env=shared) for name in ("one", "two")]
    worker_home = base / "worker"
    worker_home.mkdir()
    worker_env = {**os.environ, **shared, "HALLEY_HOME": str(worker_home), "HALLEY_DATABASE_URL": database_url}
    metrics_port = free_port()
    worker = Process([HALLEY, "worker", "--concurrency", "2", "--metrics-port", str(metrics_port)], worker_env,
                     worker_home / "worker.log")
    proxy = None
    try:
        for server in servers:
            server.start(workers=2)
        worker.start()
        proxy = RoundRobinProxy([("127.0.0.1", s.port) for s in servers])
        owner = Accounts(servers[0]).create("team")
        keys = log_runs(database_url, owner.username, owner.workspace, "shared", RUNS)
        db = Database(database_url)
        with db.session() as s:
            actor = Actor(user_id=account_service.find_user(s, owner.username).id, username=owner.username)
            project = projects.get_readable(s, actor, owner.workspace, "shared")
            view = project_views.create_view(s, actor, project, "Panels", {"panels": PANELS})
        for server in servers:
            ready(server, 200, "a worker to answer")
        yield {"s3": s3_server, "cluster": cluster, "servers": servers, "worker": worker, "proxy": proxy,
               "metrics_port": metrics_port, "owner": owner, "keys": keys, "db": db, "actor": actor, "database_url": database_url, "base": base,
               "path": f"/{owner.workspace}/shared", "view": f"/{owner.workspace}/shared?view={view.id}"}
    finally:
        if proxy:
            proxy.close()
        worker.stop()
        for server in servers:
            server.stop()
        store.stop()
        cluster.stop()


def _pings(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def test_serve_refuses_a_broker_that_does_not_answer(tmp_path):
    silent = f"redis://127.0.0.1:{free_port()}/0"
    env = {**os.environ, "HALLEY_HOME": str(tmp_path), "HALLEY_CELERY_BROKER": silent, "HALLEY_PORT": str(free_port())}
    done = subprocess.run([HALLEY, "serve"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "HALLEY_CELERY_BROKER" in done.stderr and "does not answer" in done.stderr


DRAWN_JS = """() => { const graphs = document.querySelectorAll('.project-panel .js-plotly-plot');
    return graphs.length === %d && [...graphs].every(g => (g._fullData || []).length > 0); }""" % len(PANELS)


def test_sign_in_and_every_panel_draws_through_either_server(team, page):
    proxy = team["proxy"]
    sign_in(page, proxy, team["owner"], team["view"])
    for _ in range(4):
        page.goto(proxy.url + team["view"])
        page.wait_for_function(DRAWN_JS, timeout=SLOW)
    assert proxy.backends_of("/_dash-update-component") == {0, 1}


def test_an_export_waits_for_a_worker_says_so_and_completes_once_one_starts(team, page):
    """With the worker stopped, readiness names it and the page says plainly that no worker has
    started the job (Cancel ends it); a job queued then is run by the worker once it starts, and
    its result reaches the browser through polls that went to both servers."""
    proxy, worker = team["proxy"], team["worker"]
    worker.stop()
    try:
        for server in team["servers"]:
            checks = ready(server, 503, "the worker's absence")
            assert checks["worker"]["ok"] is False and "halley worker" in checks["worker"]["error"]
            assert checks["broker"]["ok"] and checks["database"]["ok"]
        sign_in(page, proxy, team["owner"], team["path"])
        expect(page.locator("#project-export-all")).to_be_visible(timeout=SLOW)
        page.click("#project-export-all")
        note = page.locator("#project-export-all-note")
        expect(note).to_contain_text("No worker has started this export", timeout=SLOW)
        page.click("#project-export-all-cancel")
        expect(page.locator("#project-export-all-running")).to_be_hidden(timeout=SLOW)
        expect(page.locator("#project-export-all")).to_be_enabled()

        with page.expect_download(timeout=SLOW * 4) as download:
            page.click("#project-export-all")
            expect(note).to_contain_text("Waiting for a worker", timeout=SLOW)
            queued = team["servers"][1].url + "/api/v1/metrics"
            wait_until(lambda: sample(queued, "halley_background_jobs_queued") >= 1, 60, "the queued job counted")
            worker.start()
    finally:
        if worker.proc is None:
            worker.start()
    expect(page.locator("#project-export-all-status")).to_contain_text(f"Exported {RUNS} experiments", timeout=SLOW)
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert sorted(r["Experiment key"] for r in rows) == sorted(team["keys"])
    assert {"lr", "depth", "dataset", "loss (last)"} <= set(rows[0])
    assert proxy.backends_of("cacheKey=") == {0, 1}  # the job's polls went to both servers
    assert "succeeded" in (team["base"] / "worker" / "worker.log").read_text()  # the worker ran it
    # the worker counts the jobs it ran, on its own metrics port (with the token)
    worker_metrics = f"http://127.0.0.1:{team['metrics_port']}/"
    assert requests.get(worker_metrics, timeout=30).status_code == 401
    job = {"job": "export_all_columns", "outcome": "completed"}
    assert sample(worker_metrics, "halley_background_jobs_total", **job) == 1
    assert sample(worker_metrics, "halley_background_job_duration_seconds_count", **job) == 1
    wait_until(lambda: sample(queued, "halley_background_jobs_queued") == 0, 60, "the queue emptied")
    for server in team["servers"]:
        ready(server, 200, "the worker to answer again")


def test_an_asset_uploaded_through_one_server_downloads_through_the_other(team):
    owner, (one, two) = team["owner"], team["servers"]
    data = secrets.token_bytes(3 * 1024 * 1024 + 17)
    with requests.Session() as client:
        client.headers["Authorization"] = owner.api_key
        r = client.post(f"{one.url}/api/v1/experiments/{team['keys'][0]}/assets", files={"file": ("blob.bin", data)},
                        data={"type": "file"}, timeout=120)
        assert r.status_code == 201, r.text
        asset_id = r.json()["asset_id"]
        got = client.get(f"{two.url}/api/v1/experiments/{team['keys'][0]}/assets/{asset_id}", timeout=120)
    assert got.status_code == 200 and hashlib.sha256(got.content).digest() == hashlib.sha256(data).digest()
    on_disk = [f for server in (one, two) for f in (server.home / "assets").rglob("*") if f.is_file()]
    assert on_disk == []  # in the bucket, on neither server's disk


def test_a_database_outage_makes_both_servers_not_ready_and_they_recover(team):
    team["cluster"].pause()
    try:
        for server in team["servers"]:
            checks = ready(server, 503, "the outage")
            assert checks["database"]["ok"] is False and checks["broker"]["ok"] is True
    finally:
        team["cluster"].resume()
    for server in team["servers"]:
        assert ready(server, 200, "the end of the outage")["database"]["ok"] is True


def _everything(database_url: str, actor) -> tuple[str, list[str]]:
    """The project's experiments with every column, and the usernames."""
    from sqlmodel import select

    from models.accounts import User

    with Database(database_url).session() as s:
        project = projects.get_readable(s, actor, actor.username, "shared")
        state = table.all_columns_state(s, project, view_state.default_state())
        return "".join(table.iter_csv(s, project, state)), sorted(s.exec(select(User.username)).all())


def test_a_backup_restores_the_same_data_into_a_fresh_home(team, tmp_path):
    server = team["servers"][1]
    archive = tmp_path / "team.tar.gz"
    done = subprocess.run([HALLEY, "backup", str(archive)], env=server.env(), cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    restored_url = team["cluster"].create_database("restored")
    env = {**server.env(), "HALLEY_HOME": str(tmp_path / "fresh"), "HALLEY_DATABASE_URL": restored_url,
           "HALLEY_ASSET_STORE": f"s3://{team['s3'].new_bucket('restored')}/assets"}
    done = subprocess.run([HALLEY, "restore", str(archive)], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    before, after = _everything(team["database_url"], team["actor"]), _everything(restored_url, team["actor"])
    assert after == before and len(before[0].splitlines()) == RUNS + 1 and team["owner"].username in before[1]
