"""Engine, sessions and schema migrations.

SQLite is the embedded default (WAL, foreign keys, busy timeout set on every connection);
PostgreSQL works through the same models with ``HALLEY_DATABASE_URL``. The schema is owned by
Alembic: ``migrate()`` upgrades any older database to head at start, so data is kept.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Table, event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

import models  # noqa: F401  (registers every table on SQLModel.metadata)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_engines: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return engine


def get_engine(url: str) -> Engine:
    """One engine per database URL per process."""
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Bring the schema to the newest revision (creates it on an empty database)."""
    engine = get_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


class Database:
    """The app's handle on its database: ``with db.session() as s: ...``."""

    def __init__(self, url: str):
        self.url = url
        self.engine = get_engine(url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def bulk_insert(session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert many rows in the session's transaction with one driver-level executemany.

    The metric hot path: it skips SQLAlchemy's per-row parameter processing, so ``rows``
    must hold plain driver values (int, float, str, bool, None) in ``columns`` order.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    marks = {"qmark": "?", "format": "%s", "pyformat": "%s"}
    if dialect.paramstyle not in marks:
        connection.execute(table.insert(), [dict(zip(columns, row)) for row in rows])
        return
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join([marks[dialect.paramstyle]] * len(columns))})")
    connection.exec_driver_sql(sql, list(rows))
