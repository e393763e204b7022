"""What the database benchmarks share: which database to measure.

``--database-url URL`` measures an existing database (SQLAlchemy URL, ``postgresql://...``
for PostgreSQL; its data is reused between runs like ``--home``'s), ``--postgres`` starts a
throwaway PostgreSQL cluster the way the tests do (tests/postgres_fixtures.py: a temporary
directory, a unix socket, removed at the end), and neither measures SQLite in ``HOME/halley.db``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--database-url", help="measure this database (default: SQLite in HOME/halley.db)")
    group.add_argument("--postgres", action="store_true",
                       help="measure a throwaway PostgreSQL cluster started for the run (needs its server binaries)")


def database_url(args, home: Path) -> str:
    """The URL to measure; a ``--postgres`` cluster is stopped when the process exits."""
    from dashboard.config import database_url_of

    if args.database_url:
        return database_url_of(args.database_url)
    if not args.postgres:
        return f"sqlite:///{home / 'halley.db'}"
    sys.path.insert(0, str(ROOT))
    from tests.postgres_fixtures import PostgresCluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        sys.exit("--postgres needs PostgreSQL's server binaries (initdb, pg_ctl; Debian package postgresql)")
    cluster = PostgresCluster(bindir).start()  # stops itself at exit
    print(f"PostgreSQL {bindir.parent.name} started in {cluster.base}", flush=True)
    return cluster.create_database("bench")


def describe(url: str) -> str:
    """The database, for the benchmark's first lines."""
    from sqlalchemy import text

    from dashboard.db import get_engine

    engine = get_engine(url)
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database)
        return f"SQLite {path} ({path.stat().st_size / 1e6:.0f} MB)"
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    return f"PostgreSQL {version}, database {engine.url.database} ({size / 1e6:.0f} MB)"


def live_server(home: Path, url: str):
    """``halley serve`` (the tests' LiveServer) on ``home`` with this database."""
    sys.path.insert(0, str(ROOT))
    from tests.conftest import LiveServer
    from tests.postgres_fixtures import PostgresServer

    return LiveServer(home) if url.startswith("sqlite") else PostgresServer(home, url)
