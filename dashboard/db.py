"""Engine, sessions and schema migrations.

SQLite is the embedded default (WAL, foreign keys, busy timeout set on every connection);
PostgreSQL works through the same models with ``HALLEY_DATABASE_URL``. The schema is owned by
Alembic: ``migrate()`` upgrades any older database to head at start, so data is kept.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Table, event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

import models  # noqa: F401  (registers every table on SQLModel.metadata)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Bound variables per statement: 32766 since SQLite 3.32, 999 before.
SQLITE_MAX_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
SQLITE_ROWS_PER_INSERT = 500
MAX_ID = 2**63 - 1  # the largest integer both databases bind

# Pages the write-ahead log may grow to before a committing connection copies it into the
# database itself. The background checkpointer below normally does that long before; this is
# the fallback should it fall behind (SQLite's own default is 1,000 pages).
SQLITE_WAL_AUTOCHECKPOINT = 4096

_engines: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT}")
    cur.close()


class WalCheckpointer:
    """Copies the write-ahead log into a SQLite database file from a background thread, after
    commits, so the copy and its fsync stay off the requests' path (with SQLite's default,
    every ~1,000 pages one committing request does it while its client waits). A PASSIVE
    checkpoint never blocks writers or readers; SQLite releases the interpreter lock while it
    runs. One daemon thread per database file and process, started on the first commit, with
    a connection of its own kept open (opening and closing one takes SQLite's process-wide
    lock, which a forked background job must not inherit held)."""

    PAUSE_S = 0.05  # commits within this long share one checkpoint

    def __init__(self, path: str):
        self.path = path
        self.pending = threading.Event()
        self.pid = 0
        self.lock = threading.Lock()
        _checkpointers.append(self)

    def committed(self, _connection=None) -> None:
        if self.pid != os.getpid():  # first commit in this process (threads don't survive a fork)
            with self.lock:
                if self.pid != os.getpid():
                    self.pending = threading.Event()
                    threading.Thread(target=self._run, args=(self.pending,), name="halley-wal-checkpoint",
                                     daemon=True).start()
                    self.pid = os.getpid()
        self.pending.set()

    def _run(self, pending: threading.Event) -> None:
        connection = None
        while True:
            pending.wait()
            # The commit event comes just before the commit itself: wait for it to finish (and
            # for the commits right behind it, which this checkpoint then copies too).
            time.sleep(self.PAUSE_S)
            pending.clear()
            connection = self._checkpoint(connection)

    def _checkpoint(self, connection: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """One checkpoint; returns the connection to use next time (None: open one then)."""
        try:
            if connection is None:  # mode=rw: a database deleted meanwhile is not created again
                connection = sqlite3.connect(f"file:{urllib.parse.quote(self.path)}?mode=rw", uri=True, timeout=1)
                connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            return connection
        except sqlite3.Error:  # busy or gone: the next commit asks again; the fallback still holds
            if connection is not None:
                connection.close()
            return None


_checkpointers: list[WalCheckpointer] = []


def _reset_checkpointers_in_child() -> None:
    for checkpointer in _checkpointers:  # a lock held by a parent's thread at the fork stays held
        checkpointer.lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_checkpointers_in_child)


def _nul_safe(base: type) -> type:
    """A psycopg text dumper that writes NUL characters as U+FFFD: PostgreSQL's text can't
    hold NUL (SQLite's can), and a captured output line or a logged value with one must be
    stored, not fail its whole batch. It wraps the driver's own (compiled) dumper."""
    from psycopg.adapt import Dumper

    class NulSafeDumper(Dumper):
        format = base.format

        def __init__(self, cls, context=None):
            super().__init__(cls, context)
            self._base = base(cls, context)
            self.oid = self._base.oid

        def dump(self, obj):
            return self._base.dump(obj.replace("\x00", "\ufffd") if "\x00" in obj else obj)

    return NulSafeDumper


def _postgresql_session(dbapi_connection, _record) -> None:
    """Every session works in UTC, as timestamps are stored, whatever the server's zone
    (a SET rather than a startup option, which connection poolers may refuse); text
    parameters are written NUL-free (see ``_nul_safe``)."""
    adapters = getattr(dbapi_connection, "adapters", None)  # psycopg 3
    if adapters is not None:
        from psycopg.adapt import PyFormat

        for fmt in (PyFormat.TEXT, PyFormat.BINARY):
            adapters.register_dumper(str, _nul_safe(adapters.get_dumper(str, fmt)))
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    cur = dbapi_connection.cursor()
    try:
        cur.execute("SET TIME ZONE 'UTC'")
    finally:
        cur.close()
        dbapi_connection.autocommit = autocommit


def make_engine(url: str) -> Engine:
    """An engine whose connection pool is sized by HALLEY_DB_POOL_SIZE and HALLEY_DB_MAX_OVERFLOW
    (``config.pool_sizing``); an in-memory SQLite database keeps SQLAlchemy's own pool."""
    from dashboard.config import pool_sizing

    size, overflow = pool_sizing()
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
        pool = {} if in_memory else {"pool_size": size, "max_overflow": overflow}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        path = engine.url.database
        if path and path != ":memory:" and not path.startswith("file:"):
            event.listen(engine, "commit", WalCheckpointer(os.path.abspath(path)).committed)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=overflow)
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", _postgresql_session)
    return engine


def _forget_pools_in_child() -> None:
    """Background callbacks run in forked processes; a connection opened by the parent must
    never be used by the child (SQLite and PostgreSQL connections are not fork-safe), so the
    child starts with fresh pools and leaves the parent's connections alone."""
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_pools_in_child)


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


# Held for the migration's transaction on PostgreSQL, so servers starting at once against one
# database migrate one after another (the later ones then find the schema at head).
MIGRATION_LOCK = 0x68616C6C6579  # "halley"


def migrate(url: str) -> None:
    """Bring the schema to the newest revision (creates it on an empty database)."""
    engine = get_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def is_id(value) -> bool:
    """Whether a value from outside can be a row id: a positive integer both databases bind
    (a larger one overflows the driver instead of finding nothing)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


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


def insert_skipping_duplicates(session: Session, table: Table):
    """An INSERT that leaves out rows a unique constraint already holds (ON CONFLICT DO
    NOTHING, on SQLite and PostgreSQL), or None on databases without it."""
    name = session.get_bind().dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        return None
    return insert(table).on_conflict_do_nothing()


def bulk_insert(session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert many rows (tuples in ``columns`` order) in the session's transaction."""
    if rows:
        bulk_insert_columns(session, table, {c: [row[i] for row in rows] for i, c in enumerate(columns)}, len(rows))


def bulk_insert_columns(session: Session, table: Table, columns: dict[str, Sequence | int | bool], count: int) -> None:
    """Insert ``count`` rows given column by column, in the session's transaction.

    The metric hot path, so it skips SQLAlchemy's per-row parameter processing: each value is
    a list of ``count`` plain driver values (int, float, str, bool, None) or one int/bool for
    every row; leave out a column to get its default (NULL). SQLite gets multi-row
    ``INSERT ... VALUES (..), (..)`` statements of a fixed size (prepared once, cached by the
    driver), which binds a batch about 1.5x faster than an executemany; PostgreSQL (psycopg)
    gets one ``COPY ... FROM STDIN``; other databases one driver-level executemany.
    """
    if not count:
        return
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = list(columns)
    target = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in names)}) VALUES "
    varying = [c for c in names if isinstance(columns[c], (list, tuple))]
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        # COPY streams the rows in one command: ~10x an executemany of single-row INSERTs.
        constant = {c: columns[c] for c in names if c not in varying}
        data = [columns[c] for c in varying]
        copy_sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in varying + list(constant))}) FROM STDIN"
        tail = tuple(constant.values())
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
            write = copy.write_row
            for row in zip(*data):
                write(row + tail if tail else row)
        return
    if dialect.name != "sqlite" or dialect.paramstyle != "qmark":
        data = [columns[c] if c in varying else [columns[c]] * count for c in names]
        marks = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
        if marks is None:
            connection.execute(table.insert(), [dict(zip(names, row)) for row in zip(*data)])
        else:
            connection.exec_driver_sql(target + f"({', '.join([marks] * len(names))})", list(zip(*data)))
        return
    # Constants are ints/bools only (checked), so rendering them inline is safe.
    row_sql = "(" + ", ".join("?" if c in varying else str(int(_constant(columns[c]))) for c in names) + ")"
    width = len(varying)
    flat: list = [None] * (count * width)
    for j, c in enumerate(varying):
        flat[j::width] = columns[c]
    per_statement = max(1, min(SQLITE_ROWS_PER_INSERT, SQLITE_MAX_VARIABLES // max(width, 1)))
    cursor = connection.connection.driver_connection.cursor()
    try:
        full = target + ", ".join([row_sql] * per_statement)
        done = 0
        while count - done >= per_statement:
            cursor.execute(full, flat[done * width:(done + per_statement) * width])
            done += per_statement
        if done < count:
            cursor.execute(target + ", ".join([row_sql] * (count - done)), flat[done * width:])
    finally:
        cursor.close()


def _constant(value) -> int:
    if not isinstance(value, int):  # bool is an int
        raise TypeError(f"a constant column must be an int or bool, not {type(value).__name__}")
    return value


def fetch_array(session: Session, stmt, ncols: int) -> np.ndarray:
    """Run a numeric SELECT and return a float matrix (NULL -> NaN). Rows are read from the
    DBAPI cursor as plain tuples: building SQLAlchemy Row objects for millions of points
    would cost more than the query."""
    result = session.connection().execute(stmt)  # a Core result: its DBAPI cursor is reachable
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return np.array(rows, dtype=np.float64).reshape(-1, ncols)


def split_by_key(keys: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """``(key, start, end)`` for each run of equal keys in a result sorted by key (e.g. one
    query's rows of many series, ordered by series id)."""
    ids = np.asarray(keys).astype(np.int64)
    if not len(ids):
        return
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    for a, b in zip(starts.tolist(), np.r_[starts[1:], len(ids)].tolist()):
        yield int(ids[a]), a, b
