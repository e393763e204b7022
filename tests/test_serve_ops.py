"""Running several servers on one machine: each ``halley serve`` has its own gunicorn control
socket, so a second server neither takes over nor removes the first one's; and the database
connection pool is sized from the environment."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import LiveServer

GUNICORNC = str(Path(sys.executable).parent / "gunicornc")


def _master_pid(socket: Path) -> int:
    done = subprocess.run([GUNICORNC, "-s", str(socket), "-c", "show all", "-j"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["arbiter"]["pid"]


def test_two_servers_on_one_machine_each_keep_their_own_control_socket(tmp_path):
    first = LiveServer(tmp_path / "one").launch()
    second = LiveServer(tmp_path / "two").launch()
    try:
        for srv in (first, second):
            _wait_until_up(srv)
        sockets = [srv.home / "run" / f"gunicorn-{srv.port}.ctl" for srv in (first, second)]
        assert all(s.exists() for s in sockets)
        assert [_master_pid(s) for s in sockets] == [first.proc.pid, second.proc.pid]
        second.stop()  # the first server's socket stays, and it still answers
        assert sockets[0].exists() and not sockets[1].exists()
        assert _master_pid(sockets[0]) == first.proc.pid
        assert requests.get(first.url + "/api/v1/health", timeout=30).status_code == 200
    finally:
        first.stop()
        second.stop()


def _wait_until_up(srv: LiveServer) -> None:
    import time

    deadline = time.time() + 90
    while time.time() < deadline:
        assert srv.proc.poll() is None, srv.log_path.read_text()[-3000:]
        try:
            if requests.get(srv.url + "/api/v1/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not start: " + srv.log_path.read_text()[-3000:])


def test_control_socket_can_be_named_or_turned_off(tmp_path):
    named = tmp_path / "ctl" / "halley.ctl"
    srv = LiveServer(tmp_path / "home", extra_env={"HALLEY_CONTROL_SOCKET": str(named)}).start()
    try:
        assert _master_pid(named) == srv.proc.pid
    finally:
        srv.stop()
    srv = LiveServer(tmp_path / "home", extra_env={"HALLEY_CONTROL_SOCKET": "off"}).start()
    try:
        assert not (srv.home / "run").exists() or not list((srv.home / "run").iterdir())
    finally:
        srv.stop()


def test_pool_size_comes_from_the_environment(monkeypatch, tmp_path):
    from dashboard.db import make_engine

    monkeypatch.setenv("HALLEY_DB_POOL_SIZE", "3")
    monkeypatch.setenv("HALLEY_DB_MAX_OVERFLOW", "4")
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 4)
    monkeypatch.setenv("HALLEY_DB_POOL_SIZE", "zero")
    with pytest.raises(SystemExit, match="HALLEY_DB_POOL_SIZE must be a whole number"):
        make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    monkeypatch.setenv("HALLEY_DB_POOL_SIZE", "0")
    with pytest.raises(SystemExit, match="at least 1"):
        make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
