"""A server worker is fully set up before it takes its first connection: Dash otherwise finishes
its setup in the first request, and two first requests at once could leave a worker broken."""
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from app import create_app
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
