"""An API key rotated while a run is logging: the SDK stops sending with it at once, keeps what
the server did not acknowledge in its spool, says how to send it, and `halley upload --api-key`
sends it with the new key."""
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from dashboard.sdk import API, Experiment
from tests.conftest import HALLEY, Accounts, LiveServer
from tests.test_sdk_resilience import QUIET, wait_for


class RecordingProxy:
    """Forwards every request to the server and records (Authorization, path, status) in order:
    what reached the server with which key."""

    def __init__(self, target: str):
        self.target = target
        self.seen: list[tuple[str, str, int]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                r = requests.request(self.command, proxy.target + self.path, data=body, headers=headers,
                                     allow_redirects=False)
                proxy.seen.append((self.headers.get("Authorization") or "", self.path, r.status_code))
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, *_args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("sdk-revoked")).start(workers=2)
    yield srv
    srv.stop()


@pytest.fixture
def proxy(own_server):
    p = RecordingProxy(own_server.url)
    yield p
    p.close()


def test_key_rotated_mid_run_stops_sending_spools_and_uploads_with_new_key(own_server, proxy, tmp_path,
                                                                           monkeypatch, capfd):
    accounts = Accounts(own_server)
    user = accounts.create("rot")
    spool_root = tmp_path / "spool"
    monkeypatch.setenv("HALLEY_SPOOL_DIR", str(spool_root))
    monkeypatch.setenv("HALLEY_BATCH_INTERVAL_S", "0.1")
    old_key = user.api_key
    exp = Experiment(api_key=old_key, url=proxy.url, workspace=user.workspace, project_name="rotation", **QUIET)
    for step in range(200):
        exp.log_metric("loss", 1.0 / (step + 1), step=step)
    assert exp.flush(60)  # acknowledged with the old key

    new_key = accounts.key_for(user, user.workspace)  # rotating stops the old key at once
    step = 200
    # the run goes on logging; the sender meets the refusal on its next batch
    while not any(status == 401 for _k, _p, status in proxy.seen):
        exp.log_metric("loss", 1.0 / (step + 1), step=step)
        step += 1
        exp.flush(1)
    for _ in range(100):  # training continues after the refusal: log calls don't raise
        exp.log_metric("loss", 1.0 / (step + 1), step=step)
        step += 1
    exp.log_other("after", "refusal")
    exp.end()
    logged = step

    first_refusal = next(i for i, (_k, _p, status) in enumerate(proxy.seen) if status == 401)
    assert proxy.seen[first_refusal][0] == old_key
    after = [(path, status) for key, path, status in proxy.seen[first_refusal + 1:] if key == old_key]
    assert after == []  # nothing more was sent with the refused key

    err = capfd.readouterr().err
    spool = spool_root / exp.get_key()
    assert err.count("rotated or revoked") == 1, err
    assert f"halley upload --api-key NEW_KEY {spool}" in err
    assert "unreachable" not in err
    assert (spool / "end.json").exists()

    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    env.pop("HALLEY_API_KEY", None)
    up = subprocess.run([HALLEY, "upload", "--api-key", new_key, "--url", own_server.url, str(spool)], env=env,
                        capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    assert not spool.exists()

    e = API(api_key=new_key, url=own_server.url).get_experiment_by_key(exp.get_key())
    steps = [p["step"] for p in e.get_metrics("loss")]
    assert sorted(steps) == list(range(logged))  # every step logged, each once
    assert e.get_state() == "finished"
    assert [o["value"] for o in e.get_others_summary("after")] == ["refusal"]


def test_upload_help_names_api_key():
    out = subprocess.run([HALLEY, "upload", "--help"], capture_output=True, text=True, timeout=60)
    assert "--api-key" in out.stdout
