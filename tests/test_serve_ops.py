"""Running several servers on one machine: each ``halley serve`` has its own gunicorn control
socket (two live servers are checked in tests/test_backup.py, which serves a restored home beside
the original); and the database connection pool is sized from the environment."""
from __future__ import annotations

import pytest


def test_control_socket_paths(tmp_path):
    from dashboard.cli import UNIX_SOCKET_PATH_MAX, control_socket_path
    from dashboard.config import Settings

    settings = Settings.from_env(home=tmp_path / "home", port=8123)
    assert control_socket_path(settings, None) == settings.home / "run" / "gunicorn-8123.ctl"
    assert control_socket_path(settings, "off") is None
    assert control_socket_path(settings, str(tmp_path / "x.ctl")) == tmp_path / "x.ctl"
    deep = Settings.from_env(home=tmp_path / ("d" * 120), port=8123)  # too long for a socket path
    path = control_socket_path(deep, None)
    assert len(str(path)) <= UNIX_SOCKET_PATH_MAX and path != control_socket_path(settings, None)


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
