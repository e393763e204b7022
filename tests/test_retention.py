"""``halley retention``: old archived experiments' points purged or downsampled, with the
summaries kept and the rollup rebuilt so panels and later logging stay consistent; on SQLite
and PostgreSQL."""
from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from dashboard.auth import Actor
from dashboard.cli import main
from dashboard.db import Database, migrate
from dashboard.services import accounts, ingest, metrics, panels, retention
from models import Experiment, MetricPoint, MetricRollup, MetricSeries
from models.accounts import utcnow
from tests.postgres_fixtures import postgres  # noqa: F401  (the session's cluster)
from tests.rollup_data import log_batches, values_with_specials

SUMMARY = ["last_value", "last_step", "first_step", "min_value", "min_step", "max_value", "max_step",
           "invalid_count", "first_timestamp", "last_timestamp"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'r.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database("retention")
    migrate(url)
    return Database(url)


def _setup(db: Database) -> tuple[Actor, dict[str, str]]:
    with db.session() as s:
        u = accounts.create_user(s, "keeper", "keeper@example.org", "pw-keeper-123")
        actor = Actor(user_id=u.id, username=u.username)
    values = values_with_specials(3000)
    keys = {}
    for name, archived, age_days in (("old", True, 40), ("recent", True, 2), ("live", False, 40)):
        key = log_batches(db, actor, None, [1000, 37, 1963], values)
        with db.session() as s:
            ingest.apply_batch(s, actor, key, {"batch_id": uuid.uuid4().hex, "metric_columns": [
                {"name": "lr", "value": [0.1, 0.2, 0.3], "step": [0, 1, 2]}]})
            s.execute(update(Experiment).where(Experiment.key == key).values(
                archived=archived, updated_at=utcnow() - timedelta(days=age_days)))
        keys[name] = key
    return actor, keys


def _series(db: Database, key: str, name: str = "loss") -> MetricSeries:
    with db.session() as s:
        return s.execute(select(MetricSeries).join(Experiment, Experiment.id == MetricSeries.experiment_id)
                         .where(Experiment.key == key, MetricSeries.name == name)).scalar_one()


def _points(db: Database, sid: int) -> np.ndarray:
    with db.session() as s:
        rows = s.execute(select(MetricPoint.step, MetricPoint.value, MetricPoint.invalid)
                         .where(MetricPoint.series_id == sid).order_by(MetricPoint.id)).all()
    return np.array(rows, dtype=float).reshape(-1, 3)


def _rollup_count(db: Database, sid: int) -> int:
    with db.session() as s:
        return s.execute(select(func.coalesce(func.sum(MetricRollup.count), 0))
                         .where(MetricRollup.series_id == sid)).scalar()


def test_downsample_keeps_the_summary_and_rebuilds_the_rollup(db):
    actor, keys = _setup(db)
    before = {k: _series(db, key) for k, key in keys.items()}
    lr_before = _series(db, keys["old"], "lr")

    dry = retention.apply(db, timedelta(days=30), downsample=200, dry_run=True)
    assert (dry.experiments, dry.series, dry.points_before) == (1, 1, 3000) and dry.points_after <= 200
    assert len(_points(db, before["old"].id)) == 3000

    report = retention.apply(db, timedelta(days=30), downsample=200)
    assert (report.experiments, report.series, report.points_before, report.points_after) == \
        (1, 1, 3000, dry.points_after)
    after = _series(db, keys["old"])
    pts = _points(db, after.id)
    assert len(pts) == after.count == report.points_after <= 200
    assert [getattr(after, f) for f in SUMMARY] == [getattr(before["old"], f) for f in SUMMARY]
    # every value of the summary is still a stored point; the spike and the invalid points show
    valid = pts[pts[:, 2] == 0]
    assert valid[:, 1].max() == after.max_value == 50.0 and valid[:, 1].min() == after.min_value
    assert pts[0, 0] == 0 and pts[-1, 0] == 2999 and (pts[:, 2] > 0).any()
    assert np.all(np.diff(pts[:, 0]) > 0)  # arrival (= step) order kept
    # the rollup is the kept points' own; panels draw them, spike included
    assert _rollup_count(db, after.id) == after.count
    with db.session() as s:
        drawn = panels.read_series(s, [after.experiment_id], "loss")[after.experiment_id]
    assert 50.0 in drawn["value"].tolist()
    # what is not old, not archived or short enough stays as it was
    for name in ("recent", "live"):
        assert _series(db, keys[name]).count == 3000 and len(_points(db, before[name].id)) == 3000
    assert _series(db, keys["old"], "lr").count == lr_before.count == 3
    # a second run finds nothing more to do; logging more extends the rebuilt rollup
    assert retention.apply(db, timedelta(days=30), downsample=200).series == 0
    log_batches(db, actor, keys["old"], [45], list(range(45)))
    grown = _series(db, keys["old"])
    assert grown.count == after.count + 45 == _rollup_count(db, grown.id) == len(_points(db, grown.id))


def test_purge_deletes_the_points_and_keeps_the_summary(db):
    actor, keys = _setup(db)
    before = _series(db, keys["old"])
    report = retention.apply(db, timedelta(days=30), purge=True)
    assert (report.experiments, report.series, report.points_before, report.points_after) == (1, 2, 3003, 0)
    after = _series(db, keys["old"])
    assert after.count == 0 and len(_points(db, after.id)) == 0 and _rollup_count(db, after.id) == 0
    assert [getattr(after, f) for f in SUMMARY] == [getattr(before, f) for f in SUMMARY]
    assert metrics.summary_dict(after)["last"] == metrics.summary_dict(before)["last"]
    with db.session() as s:
        assert panels.read_series(s, [after.experiment_id], "loss") == {}
    assert _series(db, keys["recent"]).count == 3000
    log_batches(db, actor, keys["old"], [70], list(range(70)))  # logging again starts afresh
    grown = _series(db, keys["old"])
    assert grown.count == 70 == _rollup_count(db, grown.id)


def test_kept_indices_respect_the_limit():
    rng = np.random.default_rng(1)
    for n, limit in ((10_000, 10), (10_000, 1000), (999, 998), (50, 100)):
        values = rng.normal(size=n)
        invalid = rng.random(n) < 0.05
        steps = rng.permutation(n).astype(float)  # steps out of arrival order
        keep = retention.kept_indices(steps, values, invalid, limit)
        assert len(keep) <= limit and np.all(np.diff(keep) > 0)
        assert {0, n - 1, int(np.argmax(steps)), int(np.argmin(steps))} <= set(keep.tolist())
        ok = np.where(invalid, np.nan, values)
        assert np.nanargmax(ok) in keep and np.nanargmin(ok) in keep


def test_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HALLEY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HALLEY_DATABASE_URL", raising=False)
    runner = CliRunner()
    for args, message in ((["--downsample", "5"], "at least 10"), (["--purge-points", "--downsample", "50"], "one of"),
                          ([], "one of")):
        done = runner.invoke(main, ["retention", "--archived-older-than", "30d", *args])
        assert done.exit_code == 2 and message in done.output, done.output
    done = runner.invoke(main, ["retention", "--archived-older-than", "30 days", "--purge-points"])
    assert done.exit_code == 2 and "not an age such as 30d" in done.output
    done = runner.invoke(main, ["retention", "--archived-older-than", "2w", "--purge-points", "--dry-run"])
    assert done.exit_code == 0 and "dry run: 0 archived experiments" in done.output, done.output
