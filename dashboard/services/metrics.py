"""Metric points and their per-(experiment, metric) summaries: the hot path.

Writes: ``record_points`` inserts a batch of points with one executemany and updates the
affected ``MetricSeries`` summaries in bulk (read once, computed with numpy, written back).
Reads: ``series`` / ``series_many`` return numpy arrays from one indexed query;
``summaries`` reads the summaries of many experiments at once.

NaN is stored as a NULL value with ``invalid`` set; +/-Inf as floats with ``invalid`` set.
Over JSON they travel as the strings "NaN", "Infinity" and "-Infinity".
"""
from __future__ import annotations

import math
from typing import NamedTuple

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

def _series_ids(session: Session, experiment_id: int, names: set[str]) -> dict[str, MetricSeries]:
    """The experiment's series for these names, creating missing ones (one insert)."""
    found = {s.name: s for s in session.exec(
        select(MetricSeries).where(MetricSeries.experiment_id == experiment_id, MetricSeries.name.in_(names))
    ).all()}
    missing = sorted(names - found.keys())
    if missing:
        session.execute(insert(MetricSeries.__table__),
                        [{"experiment_id": experiment_id, "name": n, "count": 0, "invalid_count": 0} for n in missing])
        for s in session.exec(
            select(MetricSeries).where(MetricSeries.experiment_id == experiment_id, MetricSeries.name.in_(missing))
        ).all():
            found[s.name] = s
    return found


def record_points(session: Session, experiment_id: int, points: list[dict], now: float) -> int:
    """Store validated metric points (dicts with name, value and optional step, epoch,
    timestamp, context) and update their series summaries. Returns the number stored."""
    if not points:
        return 0
    series = _series_ids(session, experiment_id, {p["name"] for p in points})
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
    bulk_insert(session, MetricPoint.__table__, POINT_COLUMNS, rows)
    _update_summaries(session, series, rows)
    return len(rows)


def _num(value) -> float | None:
    value = float(value)
    return None if value != value else value


def _int(value) -> int | None:
    return None if value != value else int(value)


def _update_summaries(session: Session, series: dict[str, MetricSeries], rows: list[tuple]) -> None:
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
    by_id = {s.id: s for s in series.values()}
    for start, end in zip(starts, ends):
        idx = order[start:end]
        _merge(by_id[int(sorted_ids[start])], steps[idx], values[idx], invalid[idx], stamps[idx])
    session.flush()


def _merge(s: MetricSeries, steps: np.ndarray, values: np.ndarray, invalid: np.ndarray,
           stamps: np.ndarray) -> None:
    """Fold one batch of a series into its summary. "Last" is the point with the highest
    step (the latest-arriving one among equals, or simply the latest when steps are absent)."""
    had_points = s.count > 0
    s.count = s.count + len(values)
    s.invalid_count = s.invalid_count + int(invalid.sum())
    has_step = ~np.isnan(steps)
    if has_step.any():
        top = np.nanmax(steps)
        last = int(np.flatnonzero(steps == top)[-1])
        low = float(np.nanmin(steps))
        if s.first_step is None or low < s.first_step:
            s.first_step = int(low)
    else:
        last = len(values) - 1
    last_step = _int(steps[last])
    if not had_points or last_step is None or s.last_step is None or last_step >= s.last_step:
        s.last_value = _num(values[last])
        s.last_step = last_step
    finite = ~invalid
    if finite.any():
        fin_idx = np.flatnonzero(finite)
        lo = int(fin_idx[np.argmin(values[fin_idx])])
        hi = int(fin_idx[np.argmax(values[fin_idx])])
        if s.min_value is None or values[lo] < s.min_value:
            s.min_value, s.min_step = float(values[lo]), _int(steps[lo])
        if s.max_value is None or values[hi] > s.max_value:
            s.max_value, s.max_step = float(values[hi]), _int(steps[hi])
    if not np.isnan(stamps).all():
        first_ts, last_ts = float(np.nanmin(stamps)), float(np.nanmax(stamps))
        if s.first_timestamp is None or first_ts < s.first_timestamp:
            s.first_timestamp = first_ts
        if s.last_timestamp is None or last_ts > s.last_timestamp:
            s.last_timestamp = last_ts


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
