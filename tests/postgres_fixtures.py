"""A throwaway PostgreSQL cluster for the tests that run Halley on PostgreSQL.

``initdb`` + ``pg_ctl start`` in a temporary directory, listening only on a unix socket in that
directory (no TCP port, no system service), stopped and removed when the session ends. PostgreSQL
refuses to run as root: as root the cluster belongs to the ``postgres`` account when the Debian
package created it, else to ``nobody``.

``HALLEY_TEST_POSTGRES`` decides what happens when PostgreSQL is missing: ``1`` (as ``make test``
and CI set it) makes a missing or broken PostgreSQL an error, ``0`` skips these tests, unset runs
them when the server binaries and psycopg are installed and skips them otherwise. A cluster that
is found but does not start is an error in every mode.
"""
from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import LiveServer

SUPERUSER = "halley"
_names = itertools.count()


def postgres_required() -> bool | None:
    """True: must run; False: skip; None: run when available."""
    raw = os.environ.get("HALLEY_TEST_POSTGRES", "").strip().lower()
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    return None


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: on PATH, else Debian's newest
    /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(os.path.realpath(on_path)).parent
    candidates = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")
                  if Path(p, "pg_ctl").exists() and Path(p, "initdb").exists()]
    candidates.sort(key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))
    return candidates[-1] if candidates else None


class PostgresCluster:
    """One PostgreSQL server on a unix socket in its own temporary directory."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="halley-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.owner: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
                self.owner = "postgres"
            except KeyError:
                self.owner = "nobody"
            entry = pwd.getpwnam(self.owner)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        self.running = False

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.owner:
            cmd = ["runuser", "-u", self.owner, "--", *cmd]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        done = subprocess.run(cmd, cwd=self.base, env=env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.log.read_text()[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{log}")
        return done

    def start(self) -> "PostgresCluster":
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                  "--locale=C", "--no-sync")
        options = " ".join([
            "-c listen_addresses=''",
            f"-c unix_socket_directories='{self.base}'",
            "-c max_connections=200",
            "-c timezone=Pacific/Chatham",  # far from UTC (+12:45/+13:45): local-time slips show
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
        ])
        self._options = options
        self.resume()
        self.running = True
        atexit.register(self.stop)  # also when pytest is interrupted before fixture teardown
        return self

    def pause(self) -> None:
        """Stop the server, keeping its data: an outage, until ``resume``."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w")

    def resume(self) -> None:
        self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", self._options)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.base}"

    def create_database(self, prefix: str = "halley") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"{prefix}_{next(_names)}"
        with psycopg.connect(host=str(self.base), user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.running:
            self.running = False
            try:
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w")
            except (RuntimeError, subprocess.TimeoutExpired):
                try:
                    self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
                except RuntimeError:  # already stopped (paused)
                    pass
        shutil.rmtree(self.base, ignore_errors=True)


class PostgresServer(LiveServer):
    """``halley serve`` on a PostgreSQL database (files still under its own HALLEY_HOME)."""

    def __init__(self, home: Path, database_url: str, **kwargs):
        env = {**kwargs.pop("extra_env", {}), "HALLEY_DATABASE_URL": database_url}
        super().__init__(home, extra_env=env, **kwargs)
        self._database_url = database_url

    @property
    def database_url(self) -> str:
        return self._database_url


@pytest.fixture(scope="session")
def postgres():
    """The session's PostgreSQL cluster (see the module doc for when it is skipped)."""
    required = postgres_required()
    if required is False:
        pytest.skip("HALLEY_TEST_POSTGRES=0")
    bindir = find_bindir()
    missing = []
    if bindir is None:
        missing.append("the PostgreSQL server (initdb, pg_ctl; Debian package postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing.append("psycopg (pip install 'halley-tracker[test]')")
    if missing:
        message = "PostgreSQL tests need " + " and ".join(missing)
        if required:
            pytest.fail(message + " (HALLEY_TEST_POSTGRES=1)", pytrace=False)
        pytest.skip(message + "; set HALLEY_TEST_POSTGRES=1 to make this an error")
    cluster = PostgresCluster(bindir)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    yield cluster
    cluster.stop()
