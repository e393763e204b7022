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


def test_upgrade_splits_metric_series_by_context(database_url):
    """Series stored before contexts were series of their own (one "loss" holding the train and
    validate points) are split into `{context}_{name}` series, merged into one that already
    had that name; their summaries and rollup are what logging the same points today gives."""
    from alembic import command
    from sqlalchemy import text

    from dashboard.auth import Actor
    from dashboard.db import alembic_config
    from dashboard.services import accounts, experiments, ingest, metrics
    from models import MetricRollup, MetricSeries

    migrate(database_url)
    db = Database(database_url)
    with db.session() as s:
        user = accounts.create_user(s, "splitter", "splitter@example.org", "password123")
    actor = Actor(user_id=user.id, username=user.username)
    contexts = [("train", "validate", None)[i % 3] for i in range(150)]
    values = [float("nan") if i == 40 else float("inf") if i == 100 else (i * 37 % 101) / 10 for i in range(150)]
    loss = [{"name": "loss", "value": metrics.encode_value(v), "step": i // 3, "epoch": i // 30,
             "timestamp": 1700000000.0 + i, "context": c} for i, (v, c) in enumerate(zip(values, contexts))]
    rest = ([{"name": "train_loss", "value": 9.0 + i, "step": 60 + i, "timestamp": 1700000200.0} for i in range(3)]
            + [{"name": "rmse", "value": 0.5 - i / 10, "step": i, "context": "validation_0", "timestamp": 1700000300.0}
               for i in range(3)]
            + [{"name": "train_acc", "value": 0.7, "step": 1, "context": "train", "timestamp": 1700000400.0}])
    with db.session() as s:
        old = ingest.start_experiment(s, actor, "splitter", "p")[0].key
        ingest.apply_batch(s, actor, old, {"batch_id": "old", "metrics": [{**p, "context": None} for p in loss + rest]})
    command.downgrade(alembic_config(database_url), "0008")
    with get_engine(database_url).begin() as conn:  # as stored before: the context on the points only
        series = dict(conn.execute(text("SELECT name, id FROM metricseries")).all())
        for name, points in (("loss", loss), ("rmse", rest[3:6]), ("train_acc", rest[6:])):
            ids = [r[0] for r in conn.execute(text("SELECT id FROM metricpoint WHERE series_id = :s ORDER BY id"),
                                              {"s": series[name]})]
            for point_id, p in zip(ids, points):
                conn.execute(text("UPDATE metricpoint SET context = :c WHERE id = :i"),
                             {"c": p["context"], "i": point_id})
    migrate(database_url)
    with db.session() as s:  # the same points logged today, for comparison
        new = ingest.start_experiment(s, actor, "splitter", "p")[0].key
        ingest.apply_batch(s, actor, new, {"batch_id": "new", "metrics": loss + rest})

    def shape(key):
        with db.session() as s:
            exp = experiments.find_by_key(s, key)
            sums = {m.name: metrics.summary_dict(m) for m in metrics.summaries(s, [exp.id])}
            ids = {m.name: m.id for m in metrics.summaries(s, [exp.id])}
            rollup = {n: [r.model_dump(exclude={"series_id"}) for r in s.exec(
                select(MetricRollup).where(MetricRollup.series_id == sid).order_by(MetricRollup.block)).all()]
                for n, sid in ids.items()}
            points = {n: metrics.points(s, exp.id, n) for n in sums}
            return sums, rollup, points

    (old_sums, old_rollup, old_points), (new_sums, new_rollup, new_points) = shape(old), shape(new)
    assert sorted(old_sums) == ["loss", "train_acc", "train_loss", "validate_loss", "validation_0_rmse"]
    assert old_sums == new_sums and old_rollup == new_rollup and old_points == new_points
    assert old_sums["train_loss"]["count"] == 53 and old_sums["loss"]["count"] == 50
    assert old_sums["validate_loss"]["invalid_count"] == 2 and len(old_rollup["train_loss"]) == 1
    assert {p["context"] for p in old_points["validate_loss"]} == {"validate"}
    with db.session() as s:
        assert "rmse" not in {m.name for m in s.exec(select(MetricSeries)).all()}  # all its points moved
