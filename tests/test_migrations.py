"""The Alembic migrations build exactly the schema the models describe, and keep data."""
import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel, select

from dashboard.db import SQLITE_WAL_AUTOCHECKPOINT, Database, get_engine, migrate
from tests.postgres_fixtures import postgres  # noqa: F401  (the session's cluster)


def test_migrations_match_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate(url)
    with get_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), SQLModel.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_upgrade_is_idempotent_and_keeps_rows(tmp_path):
    from dashboard.services import accounts
    from models import User

    url = f"sqlite:///{tmp_path / 'k.db'}"
    migrate(url)
    db = Database(url)
    with db.session() as s:
        accounts.create_user(s, "keeper", "keeper@example.org", "password123")
    migrate(url)
    with db.session() as s:
        assert s.exec(select(User.username)).all() == ["keeper"]


def test_sqlite_pragmas(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    migrate(url)
    with get_engine(url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == SQLITE_WAL_AUTOCHECKPOINT


def test_commits_reach_the_database_file_without_a_committing_request_copying_them(tmp_path):
    """The write-ahead log is checkpointed in the background: rows committed well below the
    auto-checkpoint threshold end up in the database file itself (read here with the log
    ignored), not only in the log."""
    import sqlite3
    import time

    from dashboard.services import accounts

    path = tmp_path / "c.db"
    url = f"sqlite:///{path}"
    migrate(url)
    with Database(url).session() as s:
        accounts.create_user(s, "walker", "walker@example.org", "password123")

    def in_file() -> list:
        conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)  # immutable: the WAL is not read
        try:
            return [r[0] for r in conn.execute("SELECT username FROM user")]
        finally:
            conn.close()

    deadline = time.monotonic() + 30
    while in_file() != ["walker"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert in_file() == ["walker"]


def test_forked_child_gets_its_own_connection_pool(tmp_path):
    """Background callbacks fork: the child must not reuse the parent's pooled connections."""
    import os

    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'f.db'}"
    migrate(url)
    db = Database(url)
    with db.session() as s:
        s.exec(text("select 1"))
    parent_pool = id(db.engine.pool)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0 if id(db.engine.pool) != parent_pool else 3
        try:
            with db.session() as s:
                s.exec(text("select count(*) from user"))
        except Exception:
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'o.db'}"
    return request.getfixturevalue("postgres").create_database("order")


def test_upgrade_numbers_existing_experiments_by_their_order_in_each_project(database_url):
    """An old database (at 0005, before experiments had an order) gets each experiment's order in
    its project (by creation) and each project's counter; a color a user picked stays, and so do
    the experiments' data."""
    from alembic import command
    from sqlalchemy import text

    from dashboard.auth import Actor
    from dashboard.charts.style import PALETTE, experiment_color
    from dashboard.db import alembic_config
    from dashboard.services import accounts, ingest
    from models import Experiment, MetricSeries, Project

    migrate(database_url)
    db = Database(database_url)
    with db.session() as s:
        user = accounts.create_user(s, "elder", "elder@example.org", "password123")
    actor = Actor(user_id=user.id, username=user.username)
    keys = []
    with db.session() as s:
        for project in ("one", "two", "one", "two", "one"):  # ids interleave across the projects
            exp, _ = ingest.start_experiment(s, actor, "elder", project)
            ingest.apply_batch(s, actor, exp.key, {"batch_id": exp.key, "metrics": [{"name": "m", "value": 1.0}]})
            keys.append(exp.key)
    command.downgrade(alembic_config(database_url), "0005")
    with get_engine(database_url).begin() as conn:
        conn.execute(text("UPDATE experiment SET color = '#123456' WHERE key = :k"), {"k": keys[2]})
    migrate(database_url)
    with db.session() as s:
        found = {e.key: e for e in s.exec(select(Experiment)).all()}
        counters = {p.name: p.next_color_index for p in s.exec(select(Project)).all()}
        assert s.exec(select(MetricSeries)).all() != [] and len(found) == 5
    assert [found[k].color_index for k in keys] == [0, 0, 1, 1, 2]
    assert counters == {"one": 3, "two": 2}
    assert [experiment_color(found[k]) for k in keys] == [PALETTE[0], PALETTE[0], "#123456", PALETTE[1], PALETTE[2]]
    with db.session() as s:  # the next run follows on
        assert ingest.start_experiment(s, actor, "elder", "two")[0].color_index == 2


def test_upgrade_names_the_runs_logged_without_a_name(database_url):
    """Runs stored without a name (before every run got one) get a generated name, unique in
    their project; a name a user gave stays."""
    from alembic import command
    from sqlalchemy import text

    from dashboard.auth import Actor
    from dashboard.db import alembic_config
    from dashboard.services import accounts, ingest
    from models import Experiment

    migrate(database_url)
    db = Database(database_url)
    with db.session() as s:
        user = accounts.create_user(s, "namer", "namer@example.org", "password123")
    actor = Actor(user_id=user.id, username=user.username)
    with db.session() as s:
        keys = [ingest.start_experiment(s, actor, "namer", "p", name=n)[0].key for n in ("kept", None, None, None)]
    command.downgrade(alembic_config(database_url), "0007")
    with get_engine(database_url).begin() as conn:
        conn.execute(text("UPDATE experiment SET name = NULL WHERE key IN (:a, :b)"), {"a": keys[1], "b": keys[2]})
        conn.execute(text("UPDATE experiment SET name = '' WHERE key = :c"), {"c": keys[3]})
    migrate(database_url)
    with db.session() as s:
        names = {e.key: e.name for e in s.exec(select(Experiment)).all()}
    assert names[keys[0]] == "kept"
    generated = [names[k] for k in keys[1:]]
    assert len(set(generated)) == 3
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*_[a-z]+(-[a-z]+)*_\d{4}", n) for n in generated), generated
