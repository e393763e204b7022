"""Metric points and their per-(experiment, metric) summaries: the hot path.

Writes: ``prepare_points`` builds the rows and each series' summary delta with numpy (before
the write lock); ``store_points`` inserts the rows with one executemany and folds the deltas
into the affected ``MetricSeries`` (read once, written back together).
Reads: ``series`` / ``series_many`` return numpy arrays from one indexed query;
``summaries`` reads the summaries of many experiments at once.

NaN is stored as a NULL value with ``invalid`` set; +/-Inf as floats with ``invalid`` set.
Over JSON they travel as the strings "NaN", "Infinity" and "-Infinity".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
from sqlalchemy import insert, select as sa_select
from sqlmodel import Session, select

from dashboard.db import bulk_insert
from models import MetricPoint, MetricSeries

SPECIAL_VALUES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
POINT_COLUMNS = ("series_id", "step", "epoch", "timestamp", "value", "invalid", "context")


class Series(NamedTuple):
    """One metric's points in step order; NaN marks a missing step/epoch/timestamp or a NaN value."""

    steps: np.ndarray
    values: np.ndarray
    epochs: np.ndarray
    timestamps: np.ndarray


def encode_value(value: float | None):
    """A float as JSON can carry it: NaN/Inf become the strings the SDK also sends."""
    if value is None or value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return value


def decode_value(value) -> float:
    """The inverse of ``encode_value`` for a metric value (number or special string)."""
    if isinstance(value, str):
        return SPECIAL_VALUES[value]
    return float(value)


# --- writes -------------------------------------------------------------------------------

def _series_ids(session: Session, experiment_id: int, names: set[str],
                before_create: Callable[[], None] | None = None) -> dict[str, MetricSeries]:
    """The experiment's series for these names, creating missing ones (one insert)."""
    found = {s.name: s for s in session.exec(
        select(MetricSeries).where(MetricSeries.experiment_id == experiment_id, MetricSeries.name.in_(names))
    ).all()}
    missing = sorted(names - found.keys())
    if missing and before_create is not None:
        before_create()
        return _series_ids(session, experiment_id, names)  # read again under the caller's lock
    if missing:
        session.execute(insert(MetricSeries.__table__),
                        [{"experiment_id": experiment_id, "name": n, "count": 0, "invalid_count": 0} for n in missing])
        for s in session.exec(
            select(MetricSeries).where(MetricSeries.experiment_id == experiment_id, MetricSeries.name.in_(missing))
        ).all():
            found[s.name] = s
    return found


@dataclass
class BatchStats:
    """What one batch adds to one series' summary, computed before the write lock."""

    count: int
    invalid: int
    first_step: int | None
    last_step: int | None
    last_value: float | None
    low: tuple[float, int | None] | None  # (min finite value, its step)
    high: tuple[float, int | None] | None
    first_ts: float | None
    last_ts: float | None


@dataclass
class PreparedPoints:
    experiment_id: int
    rows: list[tuple]
    stats: dict[int, BatchStats]  # by series id


def prepare_points(session: Session, experiment_id: int, points: list[dict], now: float,
                   before_create: Callable[[], None] | None = None) -> PreparedPoints:
    """The CPU work of storing validated metric points (dicts with name, value and optional
    step, epoch, timestamp, context): insert rows and per-series summary deltas. Done before
    the batch takes its write lock, so concurrent batches overlap it. Missing series are
    created here (once per metric), after calling ``before_create`` (the caller's lock)."""
    if not points:
        return PreparedPoints(experiment_id, [], {})
    series = _series_ids(session, experiment_id, {p["name"] for p in points}, before_create)
    sid_of = {name: s.id for name, s in series.items()}
    special = SPECIAL_VALUES
    rows = []
    append = rows.append
    for p in points:
        v = p["value"]
        if v.__class__ is str:
            f = special[v]
        else:
            try:
                f = float(v)
            except OverflowError:  # an integer beyond float range
                f = math.inf if v > 0 else -math.inf
        invalid = f - f != 0  # true for NaN and +/-Inf
        ts = p.get("timestamp")
        append((sid_of[p["name"]], p.get("step"), p.get("epoch"), now if ts is None else ts,
                None if f != f else f, invalid, p.get("context")))
    return PreparedPoints(experiment_id, rows, _batch_stats(rows))


def store_points(session: Session, prepared: PreparedPoints) -> int:
    """Insert prepared points (one executemany) and fold their deltas into the summaries,
    read afresh here because another batch may have changed them meanwhile."""
    if not prepared.rows:
        return 0
    bulk_insert(session, MetricPoint.__table__, POINT_COLUMNS, prepared.rows)
    current = session.exec(
        select(MetricSeries).where(MetricSeries.id.in_(list(prepared.stats)))
        .execution_options(populate_existing=True)
    ).all()
    for s in current:
        _fold(s, prepared.stats[s.id])
    session.flush()
    return len(prepared.rows)


def record_points(session: Session, experiment_id: int, points: list[dict], now: float) -> int:
    """``prepare_points`` then ``store_points``; returns the number of points stored."""
    return store_points(session, prepare_points(session, experiment_id, points, now))


def _num(value) -> float | None:
    value = float(value)
    return None if value != value else value


def _int(value) -> int | None:
    return None if value != value else int(value)


def _batch_stats(rows: list[tuple]) -> dict[int, BatchStats]:
    # One comprehension per column: much faster than zip(*rows) over 100k tuples.
    sids = np.asarray([r[0] for r in rows], dtype=np.int64)
    steps = np.asarray([r[1] for r in rows], dtype=float)  # None -> NaN
    stamps = np.asarray([r[3] for r in rows], dtype=float)
    values = np.asarray([r[4] for r in rows], dtype=float)
    invalid = np.asarray([r[5] for r in rows], dtype=bool)
    order = np.argsort(sids, kind="stable")  # keeps arrival order within a series
    sorted_ids = sids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    ends = np.r_[starts[1:], len(order)]
    out = {}
    for start, end in zip(starts, ends):
        idx = order[start:end]
        out[int(sorted_ids[start])] = _stats(steps[idx], values[idx], invalid[idx], stamps[idx])
    return out


def _stats(steps: np.ndarray, values: np.ndarray, invalid: np.ndarray, stamps: np.ndarray) -> BatchStats:
    """One series' share of a batch. Its "last" point is the one with the highest step (the
    latest-arriving among equals), or simply the latest when steps are absent."""
    if (~np.isnan(steps)).any():
        last = int(np.flatnonzero(steps == np.nanmax(steps))[-1])
        first_step = int(np.nanmin(steps))
    else:
        last, first_step = len(values) - 1, None
    low = high = None
    finite = np.flatnonzero(~invalid)
    if len(finite):
        lo = int(finite[np.argmin(values[finite])])
        hi = int(finite[np.argmax(values[finite])])
        low, high = (float(values[lo]), _int(steps[lo])), (float(values[hi]), _int(steps[hi]))
    has_ts = not np.isnan(stamps).all()
    return BatchStats(len(values), int(invalid.sum()), first_step, _int(steps[last]), _num(values[last]), low, high,
                      float(np.nanmin(stamps)) if has_ts else None, float(np.nanmax(stamps)) if has_ts else None)


def _fold(s: MetricSeries, b: BatchStats) -> None:
    """Merge a batch's stats into a series summary."""
    had_points = s.count > 0
    s.count += b.count
    s.invalid_count += b.invalid
    if b.first_step is not None and (s.first_step is None or b.first_step < s.first_step):
        s.first_step = b.first_step
    if not had_points or b.last_step is None or s.last_step is None or b.last_step >= s.last_step:
        s.last_value, s.last_step = b.last_value, b.last_step
    if b.low is not None and (s.min_value is None or b.low[0] < s.min_value):
        s.min_value, s.min_step = b.low
    if b.high is not None and (s.max_value is None or b.high[0] > s.max_value):
        s.max_value, s.max_step = b.high
    if b.first_ts is not None and (s.first_timestamp is None or b.first_ts < s.first_timestamp):
        s.first_timestamp = b.first_ts
    if b.last_ts is not None and (s.last_timestamp is None or b.last_ts > s.last_timestamp):
        s.last_timestamp = b.last_ts


# --- reads --------------------------------------------------------------------------------

_POINT = MetricPoint.__table__.c
_SERIES = MetricSeries.__table__.c


def _columns(rows, width: int) -> list[np.ndarray]:
    """Result rows -> one float array per column (NULL -> NaN). Row objects are converted
    to tuples first: numpy builds arrays from tuples an order of magnitude faster."""
    if not rows:
        return [np.empty(0) for _ in range(width)]
    data = np.array([tuple(r) for r in rows], dtype=float)
    return [data[:, i] for i in range(width)]


def _to_series(rows) -> Series:
    return Series(*_columns(rows, 4))


def series(session: Session, experiment_id: int, name: str) -> Series:
    """Every point of one metric of one experiment, in step order (one indexed query)."""
    rows = session.execute(
        sa_select(_POINT.step, _POINT.value, _POINT.epoch, _POINT.timestamp)
        .join(MetricSeries.__table__, _SERIES.id == _POINT.series_id)
        .where(_SERIES.experiment_id == experiment_id, _SERIES.name == name)
        .order_by(_POINT.step, _POINT.id)
    ).all()
    return _to_series(rows)


def series_many(session: Session, experiment_ids: list[int], name: str) -> dict[int, Series]:
    """One metric of many experiments in one query: {experiment_id: Series} (absent when none)."""
    if not experiment_ids:
        return {}
    rows = session.execute(
        sa_select(_SERIES.experiment_id, _POINT.step, _POINT.value, _POINT.epoch, _POINT.timestamp)
        .join(MetricSeries.__table__, _SERIES.id == _POINT.series_id)
        .where(_SERIES.experiment_id.in_(experiment_ids), _SERIES.name == name)
        .order_by(_SERIES.experiment_id, _POINT.step, _POINT.id)
    ).all()
    if not rows:
        return {}
    exp_ids, steps, values, epochs, stamps = _columns(rows, 5)
    ids = exp_ids.astype(np.int64)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    return {int(ids[a]): Series(steps[a:b], values[a:b], epochs[a:b], stamps[a:b]) for a, b in zip(starts, ends)}


def points(session: Session, experiment_id: int, name: str | None = None) -> list[dict]:
    """Every point of one metric (or, without a name, of all metrics by name) as JSON-ready
    dicts with NaN/Inf as strings, in step order."""
    stmt = (
        sa_select(_SERIES.name, _POINT.step, _POINT.value, _POINT.invalid, _POINT.epoch, _POINT.timestamp,
                  _POINT.context)
        .join(MetricSeries.__table__, _SERIES.id == _POINT.series_id)
        .where(_SERIES.experiment_id == experiment_id)
    )
    stmt = stmt.where(_SERIES.name == name) if name is not None else stmt
    rows = session.execute(stmt.order_by(_SERIES.name, _POINT.step, _POINT.id)).all()
    return [{"name": n, "value": encode_value(value) if invalid else value, "step": step, "epoch": epoch,
             "timestamp": ts, "context": ctx} for n, step, value, invalid, epoch, ts, ctx in rows]


def summaries(session: Session, experiment_ids: list[int], names: list[str] | None = None) -> list[MetricSeries]:
    """The metric summaries of many experiments in one query, ordered by experiment and name."""
    if not experiment_ids:
        return []
    stmt = select(MetricSeries).where(MetricSeries.experiment_id.in_(experiment_ids))
    if names is not None:
        stmt = stmt.where(MetricSeries.name.in_(names))
    return list(session.exec(stmt.order_by(MetricSeries.experiment_id, MetricSeries.name)).all())


def summary_dict(s: MetricSeries) -> dict:
    """A summary as the REST API returns it (a NULL last value of a non-empty series is NaN)."""
    return {
        "name": s.name,
        "last": encode_value(s.last_value) if s.count else None,
        "min": encode_value(s.min_value) if s.min_value is not None else None,
        "max": encode_value(s.max_value) if s.max_value is not None else None,
        "min_step": s.min_step,
        "max_step": s.max_step,
        "count": s.count,
        "first_step": s.first_step,
        "last_step": s.last_step,
        "invalid_count": s.invalid_count,
        "first_timestamp": s.first_timestamp,
        "last_timestamp": s.last_timestamp,
    }
