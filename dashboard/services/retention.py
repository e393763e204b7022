"""Retention of archived experiments' metric points (``halley retention``).

An archived experiment whose last change (archiving included: it sets ``updated_at``) is
older than a given age can have its points

* purged: every point and rollup block goes; the summary the table, the bar and scatter
  panels read (last, min, max, first/last step, timestamps, invalid count) stays, and its
  point count becomes 0, so line panels draw nothing for it;
* downsampled to at most N points per series: the series is cut, in arrival order, into
  equal buckets, each keeping its lowest and highest valid point (a bucket without one keeps
  its first point, so gaps stay visible), as the rollup keeps each block's extremes; the first
  and last points (by arrival and by step) are always kept, so every value of the summary is
  still a stored point. The rollup is rebuilt from the kept points and the summary's point
  count set to them, so the panels' read plan, their caches and later logging stay consistent.

Each experiment is changed in one transaction; running the command again changes nothing more.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from sqlalchemy import delete, select, update

from dashboard.db import Database
from dashboard.errors import Invalid
from dashboard.services import metric_rollup
from models import Experiment, MetricPoint, MetricRollup, MetricSeries
from models.accounts import utcnow

MIN_DOWNSAMPLE = 10
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_AGE = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$", re.IGNORECASE)
_P = MetricPoint.__table__
_S = MetricSeries.__table__
_R = MetricRollup.__table__
_POINT_COLUMNS = [c.name for c in _P.columns]


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w``, ``90m`` -> a timedelta (Invalid otherwise)."""
    m = _AGE.match(text or "")
    if not m:
        raise Invalid(f"{text!r} is not an age such as 30d, 12h, 2w or 90m")
    return timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})


@dataclass
class RetentionReport:
    experiments: int = 0
    series: int = 0
    points_before: int = 0
    points_after: int = 0

    def describe(self, dry_run: bool) -> str:
        verb = "would keep" if dry_run else "kept"
        return (f"{self.experiments} archived experiments, {self.series} series: {verb} {self.points_after} of "
                f"{self.points_before} points ({self.points_before - self.points_after} "
                f"{'to remove' if dry_run else 'removed'})")


def kept_indices(steps: np.ndarray, values: np.ndarray, invalid: np.ndarray, limit: int) -> np.ndarray:
    """Indices (arrival order, ascending) of at most ``limit`` points of one series to keep:
    the first and last to arrive, the lowest and highest step (the latest among equals for the
    highest, as the summary's last value), then each of ``(limit - 4) // 2`` equal buckets'
    lowest and highest valid point."""
    n = len(values)
    if n <= limit:
        return np.arange(n)
    arrival = np.arange(n)
    by_step = np.where(np.isnan(steps), -np.inf, steps)
    last_by_step = np.lexsort((arrival, by_step))[-1]
    first_by_step = np.lexsort((arrival, np.where(np.isnan(steps), np.inf, steps)))[0]
    fixed = {0, n - 1, int(last_by_step), int(first_by_step)}
    buckets = max(1, (limit - len(fixed)) // 2)
    bucket = arrival * buckets // n
    starts = np.searchsorted(bucket, np.arange(buckets))
    low = np.where(invalid, np.inf, values)
    high = np.where(invalid, -np.inf, values)
    lows = np.lexsort((arrival, low, bucket))[starts]  # stable: the first to arrive among equals
    highs = np.lexsort((arrival, -high, bucket))[starts]
    keep = np.unique(np.concatenate([lows, highs, np.fromiter(fixed, dtype=np.int64)]))
    return keep


def archived_experiments(db: Database, older_than: timedelta) -> list[int]:
    cutoff = utcnow() - older_than
    with db.session() as s:
        return list(s.execute(select(Experiment.id).where(Experiment.archived == True,  # noqa: E712
                                                          Experiment.updated_at < cutoff)
                              .order_by(Experiment.id)).scalars())


def apply(db: Database, older_than: timedelta, purge: bool = False, downsample: int | None = None,
          dry_run: bool = False) -> RetentionReport:
    """Purge or downsample the points of archived experiments older than ``older_than``."""
    if purge == (downsample is not None):
        raise Invalid("choose one of purging the points or downsampling them")
    if downsample is not None and downsample < MIN_DOWNSAMPLE:
        raise Invalid(f"keep at least {MIN_DOWNSAMPLE} points per series")
    report = RetentionReport()
    for exp_id in archived_experiments(db, older_than):
        with db.session() as s:
            connection = s.connection()
            series = connection.execute(
                select(_S.c.id, _S.c.count).where(_S.c.experiment_id == exp_id, _S.c.count > (downsample or 0))
                .order_by(_S.c.id)).all()
            if not series:
                continue
            report.experiments += 1
            for sid, count in series:
                report.series += 1
                report.points_before += count
                if purge:
                    if not dry_run:
                        connection.execute(delete(_P).where(_P.c.series_id == sid))
                        connection.execute(delete(_R).where(_R.c.series_id == sid))
                        connection.execute(update(_S).where(_S.c.id == sid).values(count=0))
                    continue
                rows = connection.execute(select(*_P.c).where(_P.c.series_id == sid).order_by(_P.c.id)).all()
                data = np.array([(r.step, r.value, r.invalid) for r in rows], dtype=float).reshape(-1, 3)
                keep = kept_indices(data[:, 0], data[:, 1], data[:, 2] > 0, downsample)
                report.points_after += len(keep)
                if dry_run or len(keep) == len(rows):
                    continue
                kept_rows = [dict(zip(_POINT_COLUMNS, rows[i])) for i in keep.tolist()]
                connection.execute(delete(_P).where(_P.c.series_id == sid))
                connection.execute(_P.insert(), kept_rows)  # with their ids: arrival order stays
                connection.execute(delete(_R).where(_R.c.series_id == sid))
                metric_rollup.backfill(connection, _P, [sid])
                connection.execute(update(_S).where(_S.c.id == sid).values(count=len(kept_rows)))
    return report
