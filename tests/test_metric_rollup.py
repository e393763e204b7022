"""The metric rollup kept at ingest: batches of any size give the same blocks as the whole
series at once, extremes are real points, invalid values never become extremes, and the
migration that introduced the rollup fills it for data logged before."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import select

from dashboard.auth import Actor
from dashboard.db import Database, alembic_config, get_engine, migrate
from dashboard.services import accounts, metric_rollup, workspaces
from models import MetricRollup, MetricSeries
from tests.rollup_data import log_batches, values_with_specials

ROLLUP_COLUMNS = [c.name for c in MetricRollup.__table__.columns]


def _user(db: Database) -> Actor:
    with db.session() as s:
        u = accounts.create_user(s, "rolly", "rolly@example.org", "pw-rolly-123")
        workspaces.find_by_name(s, "rolly")
        return Actor(user_id=u.id, username="rolly")


def _rows(db: Database, key: str) -> list[tuple]:
    with db.session() as s:
        sid = s.exec(select(MetricSeries.id).where(MetricSeries.name == "loss")
                     .where(MetricSeries.experiment_id == _exp_id(s, key))).one()
        rows = s.exec(select(MetricRollup).where(MetricRollup.series_id == sid).order_by(MetricRollup.block)).all()
        return [tuple(getattr(r, c) for c in ROLLUP_COLUMNS if c != "series_id") for r in rows]


def _exp_id(s, key: str) -> int:
    from models import Experiment
    return s.exec(select(Experiment.id).where(Experiment.key == key)).one()


@pytest.fixture()
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    migrate(url)
    return Database(url)


def test_blocks_of_any_batching_equal_the_whole_series(db):
    actor = _user(db)
    vals = values_with_specials(517)
    whole = log_batches(db, actor, None, [517], vals)
    pieces = log_batches(db, actor, None, [1, 63, 1, 100, 7, 64, 200, 81], vals)
    assert _rows(db, pieces) == _rows(db, whole)
    rows = _rows(db, whole)
    assert [r[0] for r in rows] == list(range(math.ceil(517 / 64)))
    assert sum(r[1] for r in rows) == 517


def test_block_extremes_are_real_valid_points(db):
    actor = _user(db)
    vals = values_with_specials(517)
    key = log_batches(db, actor, None, [10, 300, 207], vals)
    rows = {r[0]: dict(zip([c for c in ROLLUP_COLUMNS if c != "series_id"], r)) for r in _rows(db, key)}
    finite = [(i, v) for i, v in enumerate(vals) if not isinstance(v, str)]
    for block, row in rows.items():
        inside = [(i, v) for i, v in finite if block * 64 <= i < (block + 1) * 64]
        if not inside:  # block 2 holds NaN only
            assert row["min_value"] is None and row["max_value"] is None
            continue
        low, high = min(inside, key=lambda p: p[1]), max(inside, key=lambda p: p[1])
        assert (row["min_step"], row["min_value"]) == low
        assert (row["max_step"], row["max_value"]) == high
        assert row["max_epoch"] == high[0] // 100 and row["max_timestamp"] == 1.7e9 + high[0]
        assert row["first_step"] == block * 64 and row["last_step"] == min(517, (block + 1) * 64) - 1
    assert rows[4]["max_value"] == 50.0 and rows[4]["max_step"] == 300


def test_read_returns_extremes_in_step_order_and_honours_a_range(db):
    actor = _user(db)
    vals = values_with_specials(517)
    key = log_batches(db, actor, None, [517], vals)
    with db.session() as s:
        sid = s.exec(select(MetricSeries.id).where(MetricSeries.experiment_id == _exp_id(s, key))).one()
        full = metric_rollup.read(s, [sid])[sid]
        part = metric_rollup.read(s, [sid], 250, 320)[sid]
    assert np.all(np.diff(full["step"]) >= 0)
    assert 50.0 in full["value"] and np.isfinite(full["value"]).all()
    assert len(full["step"]) <= 2 * math.ceil(517 / 64)
    assert part["step"].min() >= 250 and part["step"].max() <= 320 and 50.0 in part["value"]


def test_migration_fills_the_rollup_of_existing_points(tmp_path):
    """Data logged before the rollup existed: downgrade to the schema without it, upgrade
    again, and the migration rebuilds exactly the blocks ingest had written."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url)
    db = Database(url)
    key = log_batches(db, _user(db), None, [3, 250, 64, 100], values_with_specials(417))
    before = _rows(db, key)
    cfg = alembic_config(url)
    with get_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
        assert "metricrollup" not in sa.inspect(conn).get_table_names()
    migrate(url)
    assert _rows(db, key) == before and len(before) == math.ceil(417 / 64)
