"""What an operator's probes and scrapers read from a live ``halley serve``: readiness that
names the failing part, and Prometheus metrics behind a token, counted across workers and the
processes that run background jobs. Jobs run by ``halley worker`` are scraped in
tests/test_multi_server.py."""
from __future__ import annotations

import os
import stat

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import Accounts, LiveServer, api, sign_in
from tests.test_export_all import SLOW, export_all_columns, log_runs

TOKEN = "scrape-token-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("ops"), extra_env={"HALLEY_METRICS_TOKEN": TOKEN}).start(workers=2)
    yield srv
    srv.stop()


def _sample(text: str, name: str, **labels) -> float:
    """The value of one sample of the scrape (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + ("{" if labels else " ")) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_ready_names_the_part_that_fails_and_recovers(server):
    r = requests.get(server.url + "/api/v1/ready", timeout=30)
    assert r.status_code == 200 and r.json()["ready"] is True
    assert set(r.json()["checks"]) == {"database", "asset_store"}
    assets = server.home / "assets"
    mode = assets.stat().st_mode
    if os.geteuid() == 0:  # root writes anywhere: take the folder away instead
        moved = server.home / "assets-away"
        assets.rename(moved)
        try:
            r = requests.get(server.url + "/api/v1/ready", timeout=30)
        finally:
            moved.rename(assets)
    else:
        assets.chmod(stat.S_IRUSR | stat.S_IXUSR)
        try:
            r = requests.get(server.url + "/api/v1/ready", timeout=30)
        finally:
            assets.chmod(mode)
    assert r.status_code == 503 and r.json()["status"] == "not ready"
    assert r.json()["checks"]["asset_store"]["ok"] is False and r.json()["checks"]["database"]["ok"] is True
    assert "assets" in r.json()["checks"]["asset_store"]["error"]
    assert requests.get(server.url + "/api/v1/ready", timeout=30).status_code == 200  # back by itself
    assert requests.get(server.url + "/api/v1/health", timeout=30).json()["status"] == "ok"


def test_metrics_need_the_token_and_count_requests_and_points_across_workers(server):
    assert requests.get(server.url + "/api/v1/metrics", timeout=30).status_code == 401
    assert requests.get(server.url + "/api/v1/metrics", headers={"Authorization": "Bearer wrong"},
                        timeout=30).status_code == 401
    user = Accounts(server).create("ops")
    client = api(server, user.api_key)
    before = requests.get(server.url + "/api/v1/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert before.status_code == 200 and before.headers["Content-Type"].startswith("text/plain")
    for _ in range(20):  # spread over both workers
        assert requests.get(server.url + "/api/v1/health", timeout=30).status_code == 200
    r = client.post(server.url + "/api/v1/experiments", json={"project": "ops"}, timeout=30)
    key = r.json()["experiment_key"]
    r = client.post(f"{server.url}/api/v1/experiments/{key}/batch", json={
        "batch_id": "b1", "metrics": [{"name": "loss", "value": 1.0 / (s + 1), "step": s} for s in range(7)]}, timeout=30)
    assert r.status_code == 200, r.text
    after = requests.get(server.url + "/api/v1/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).text
    route = "/api/v1/health"
    assert _sample(after, "halley_http_requests_total", route=route, method="GET", status="200") \
        - _sample(before.text, "halley_http_requests_total", route=route, method="GET", status="200") >= 20
    assert _sample(after, "halley_http_request_duration_seconds_count", route=route, method="GET") >= 20
    assert _sample(after, "halley_metric_points_stored_total") - _sample(before.text, "halley_metric_points_stored_total") == 7
    assert "halley_db_pool_connections" in after


def scrape(server) -> str:
    r = requests.get(server.url + "/api/v1/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert r.status_code == 200
    return r.text


JOBS_RUN = 3


@pytest.mark.browser
def test_export_jobs_are_counted_with_their_durations_and_leave_no_files(server, page):
    """Each job runs in a process of the server's fork server that ends with it; the server's
    scrape counts every one, completed with its duration, and the folder the workers share their
    counts in holds files of the server's own processes only, however many jobs ran."""
    import psutil

    owner = Accounts(server).create("jobs")
    log_runs(server.database_url, owner.username, owner.workspace, "exports", 3)
    job = {"job": "export_all_columns", "outcome": "completed"}
    before = scrape(server)
    assert "halley_background_jobs_queued" not in before  # no broker: jobs start at once, never queue
    sign_in(page, server, owner, f"/{owner.workspace}/exports")
    page.goto(f"{server.url}/{owner.workspace}/exports")
    expect(page.locator("#project-export-all")).to_be_visible(timeout=SLOW)
    for _ in range(JOBS_RUN):
        assert len(export_all_columns(page)) == 3
    after = scrape(server)
    assert _sample(after, "halley_background_jobs_total", **job) - _sample(before, "halley_background_jobs_total",
                                                                          **job) == JOBS_RUN
    counted = "halley_background_job_duration_seconds_count"
    assert _sample(after, counted, **job) - _sample(before, counted, **job) == JOBS_RUN
    assert _sample(after, "halley_background_job_duration_seconds_sum", **job) > 0
    shared = server.home / "cache" / f"prometheus-{server.port}"
    master = psutil.Process(server.proc.pid)
    own = {master.pid} | {p.pid for p in master.children()}  # gunicorn's arbiter and workers
    files = sorted(f.name for f in shared.glob("*.db"))
    assert files and {int(name.rsplit("_", 1)[1][:-3]) for name in files} <= own, (files, own)


def test_metrics_are_off_without_a_token(tmp_path):
    srv = LiveServer(tmp_path / "home").start()
    try:
        r = requests.get(srv.url + "/api/v1/metrics", headers={"Authorization": "Bearer anything"}, timeout=30)
        assert r.status_code == 404 and "HALLEY_METRICS_TOKEN" in r.json()["error"]
    finally:
        srv.stop()
