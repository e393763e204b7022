"""A server worker is fully set up before it takes its first connection: Dash otherwise finishes
its setup in the first request, and two first requests at once could leave a worker broken."""
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from app import create_app
from dashboard.access_log import CLIENT_ID
from dashboard.config import Settings
from tests.conftest import LiveServer


def test_the_app_is_set_up_when_the_factory_returns(tmp_path):
    app = create_app(Settings.from_env(home=tmp_path))
    outputs = "".join(app.callback_map)
    assert "_pages_content.children" in outputs  # the pages router, registered by Dash's first request
    assert '{"index":["MATCH"],"type":"project-panel-agg"}.figure' in outputs


def test_many_first_requests_at_once_are_all_answered(tmp_path):
    srv = LiveServer(tmp_path / "home").launch(workers=2)
    proc = srv.proc
    try:
        deadline = time.time() + 60
        while True:  # the first moment the port takes connections, not the first answered request
            try:
                socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline and proc.poll() is None, srv.log_path.read_text()[-3000:]
                time.sleep(0.05)
        paths = ["/login", "/_dash-layout", "/_dash-dependencies", "/api/v1/health"] * 8
        with ThreadPoolExecutor(len(paths)) as pool:
            replies = list(pool.map(lambda p: requests.get(srv.url + p, timeout=120), paths))
        assert [r.status_code for r in replies] == [200] * len(paths)
        assert all("dash_renderer" in r.text for p, r in zip(paths, replies) if p == "/login")
        assert "Traceback" not in srv.log_path.read_text()
    finally:
        srv.stop()


def _wait_for_line(srv: LiveServer, needle: str) -> str:
    """The server log's line holding ``needle`` (the log is written as requests finish)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        for line in srv.log_path.read_text().splitlines():
            if needle in line:
                return line
        time.sleep(0.1)
    raise AssertionError(f"no log line with {needle!r}: {srv.log_path.read_text()[-2000:]}")


def test_each_request_is_logged_with_who_asked_and_a_request_id(tmp_path):
    from tests.conftest import Accounts, api

    srv = LiveServer(tmp_path / "home").start()
    try:
        user = Accounts(srv).create("logged")
        client = api(srv, user.api_key)
        r = client.get(f"{srv.url}/api/v1/workspaces?apiKey=secret-in-query", timeout=30)
        assert r.status_code == 200
        line = _wait_for_line(srv, f"id={r.headers['X-Request-Id']}")
        assert "GET /api/v1/workspaces 200 " in line and f"user={user.username}" in line
        assert "secret-in-query" not in srv.log_path.read_text()
        # an unknown comet path: a JSON 404, logged; a client's own request id is kept
        r = requests.get(f"{srv.url}/clientlib/no/such/route", headers={"X-Request-Id": "trace-0001"}, timeout=30)
        assert r.status_code == 404 and r.headers["Content-Type"].startswith("application/json")
        assert r.headers["X-Request-Id"] == "trace-0001"
        assert "GET /clientlib/no/such/route 404 " in _wait_for_line(srv, "id=trace-0001")
        # an id that isn't a short token is replaced
        r = requests.get(f"{srv.url}/api/v1/health", headers={"X-Request-Id": "x\" y"}, timeout=30)
        assert CLIENT_ID.match(r.headers["X-Request-Id"]) and r.headers["X-Request-Id"] != "x\" y"
    finally:
        srv.stop()


def test_quiet_server_writes_no_access_log(tmp_path):
    srv = LiveServer(tmp_path / "home", extra_env={"HALLEY_ACCESS_LOG": "0"}).start()
    try:
        r = requests.get(f"{srv.url}/api/v1/health", timeout=30)
        assert r.status_code == 200 and r.headers["X-Request-Id"]
    finally:
        srv.stop()
    assert "/api/v1/health" not in srv.log_path.read_text()


def test_json_log_lines_carry_the_request_id(tmp_path):
    srv = LiveServer(tmp_path / "home", extra_env={"HALLEY_LOG_FORMAT": "json"}).start()
    try:
        r = requests.get(f"{srv.url}/api/v1/health", headers={"X-Request-Id": "trace-json-01"}, timeout=30)
        assert r.status_code == 200
        record = json.loads(_wait_for_line(srv, '"request_id": "trace-json-01"'))
        assert (record["logger"], record["level"], record["method"], record["path"], record["status"]) == (
            "halley.access", "INFO", "GET", "/api/v1/health", 200)
        assert record["time"] and record["duration_ms"] >= 0 and record["user"] == "-"
    finally:
        srv.stop()
