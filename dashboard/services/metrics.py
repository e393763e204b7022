"""Metric points and their per-(experiment, metric) summaries: the hot path.

Writes: ``prepare_points`` turns a batch's points (rows and/or column-form entries) into insert
columns and each series' summary delta with numpy (before the write lock); ``store_points``
inserts them in bulk and folds the deltas into the affected ``MetricSeries`` (read once,
written back together).
Reads: ``series`` / ``series_many`` return numpy arrays from one indexed query (points
without a step first, on every database);
``summaries`` reads the summaries of many experiments at once.

NaN is stored as a NULL value with ``invalid`` set; +/-Inf as floats with ``invalid`` set.
Over JSON they travel as the strings "NaN", "Infinity" and "-Infinity".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain
from typing import Callable, NamedTuple

import numpy as np
from sqlalchemy import bindparam, insert, select as sa_select, update
from sqlmodel import Session, select

from dashboard import observability
from dashboard.db import bulk_insert_columns, insert_skipping_duplicates, split_by_key
from dashboard.services import metric_rollup
from models import MetricPoint, MetricSeries

SPECIAL_VALUES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


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
                before_create: Callable[[], None] | None = None,
                probably_new: bool = False) -> tuple[dict[str, int], set[int]]:
    """The ids of the experiment's series for these names, creating missing ones (one insert),
    and the ids created here: their summaries are still empty until this transaction ends.
    ``probably_new`` (a run's first batch, under its lock): insert first, skipping names that
    exist, and look up only those."""
    table = MetricSeries.__table__

    def create(statement, new_names: set[str]) -> dict[str, int]:
        rows = [{"experiment_id": experiment_id, "name": n, "count": 0, "invalid_count": 0} for n in sorted(new_names)]
        return dict(session.execute(statement.returning(table.c.name, table.c.id), rows).all())

    created: dict[str, int] = {}
    if probably_new:
        statement = insert_skipping_duplicates(session, table)
        if statement is not None:
            created = create(statement, names)
            names = names - created.keys()
            if not names:
                return created, set(created.values())
    found = dict(session.execute(
        sa_select(table.c.name, table.c.id).where(table.c.experiment_id == experiment_id, table.c.name.in_(names))
    ).all())
    missing = names - found.keys()
    if missing and before_create is not None:
        before_create()
        return _series_ids(session, experiment_id, names)  # read again under the caller's lock
    if missing:
        created.update(create(insert(table), missing))
    return found | created, set(created.values())


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


_OPTIONAL = ("step", "epoch", "timestamp", "context")


@dataclass
class PreparedPoints:
    experiment_id: int
    count: int
    columns: dict[str, list | int]  # MetricPoint columns for ``bulk_insert_columns``
    stats: dict[int, BatchStats]  # by series id, in the order their points are laid out
    points: metric_rollup.SeriesPoints | None = None  # every series' points end to end (rollup)
    created: set[int] = frozenset()  # series made by this batch (empty summaries)


MAX_SERIES_NAME = 300  # MetricSeries.name


def series_name(name: str, context: str | None) -> str:
    """The series a point logged under a context belongs to, named as Comet names it:
    ``{context}_{name}``. comet_ml sends the bare name and the context apart, but a client may
    have prefixed the name itself: the prefix is added once, never ``train_train_loss``."""
    if not context:
        return name
    prefix = context + "_"
    return name if name.startswith(prefix) else prefix + name


def points_to_columns(points: list[dict]) -> list[dict]:
    """Row-form points -> one column-form entry per series (name and context, see
    ``series_name``), in arrival order."""
    groups: dict[str, tuple[list, ...]] = {}
    for p in points:
        context = p.get("context")
        key = series_name(p["name"], context) if context else p["name"]
        g = groups.get(key)
        if g is None:
            g = groups[key] = ([], [], [], [], [])
        g[0].append(p["value"])
        g[1].append(p.get("step"))
        g[2].append(p.get("epoch"))
        g[3].append(p.get("timestamp"))
        g[4].append(context)
    return [{"name": name, "value": v, **{c: (col if any(x is not None for x in col) else None)
                                          for c, col in zip(_OPTIONAL, rest)}}
            for name, (v, *rest) in groups.items()]


def _by_series(entry: dict) -> list[dict]:
    """A column-form entry split by its points' contexts into one entry per series."""
    contexts = entry.get("context")
    if not contexts:
        return [entry]
    first = contexts[0]
    if all(c == first for c in contexts):
        return [entry if not first else {**entry, "name": series_name(entry["name"], first)}]
    at: dict[str | None, list[int]] = {}
    for i, c in enumerate(contexts):
        at.setdefault(c or None, []).append(i)
    fields = ("value", *_OPTIONAL)
    return [{"name": series_name(entry["name"], c),
             **{f: None if entry.get(f) is None else [entry[f][i] for i in idx] for f in fields}}
            for c, idx in at.items()]


def _float_values(values: list) -> np.ndarray:
    """Validated metric values (numbers or "NaN"/"Infinity"/"-Infinity") as float64."""
    try:
        return np.array(values, dtype=float)  # numpy parses the three special strings itself
    except OverflowError:  # an integer beyond float range counts as +/-Inf
        return np.array([v if v.__class__ is str else float(v) if abs(v) < 2**1023 else math.inf if v > 0 else -math.inf
                         for v in values], dtype=float)


def prepare_points(session: Session, experiment_id: int, points: list[dict], now: float,
                   before_create: Callable[[], None] | None = None, columns: list[dict] = (),
                   probably_new: bool = False) -> PreparedPoints:
    """The CPU work of storing validated metric points: insert columns and per-series summary
    deltas. Points come as rows (dicts with name, value and optional step, epoch, timestamp,
    context) and/or as column-form entries (name plus equally long lists per field; a field
    left out or null is null for every point). Done before the batch takes its write lock, so
    concurrent batches overlap it. Missing series are created here (once per metric), after
    calling ``before_create`` (the caller's lock); ``probably_new`` says they likely all are.
    A point logged with a context goes to its own series, ``series_name(name, context)``.
    The batch's series are laid end to end and worked on together (one set of numpy calls
    per batch, not per metric: a batch often carries many metrics with a few points each)."""
    by_name: dict[str, list[dict]] = {}
    for entry in [*points_to_columns(points), *(part for e in columns for part in _by_series(e))]:
        if entry["value"]:
            by_name.setdefault(entry["name"], []).append(entry)
    if not by_name:
        return PreparedPoints(experiment_id, 0, {}, {})
    series, created = _series_ids(session, experiment_id, set(by_name), before_create, probably_new)
    entries = [e for group in by_name.values() for e in group]
    sids = [series[name] for name in by_name]
    lengths = [sum(len(e["value"]) for e in group) for group in by_name.values()]
    raw = _concat([e["value"] for e in entries])
    count = len(raw)
    optional = {}
    for c in _OPTIONAL:  # a field no entry gives stays out (NULL)
        if any(e.get(c) is not None for e in entries):
            optional[c] = _concat([e[c] if e.get(c) is not None else [None] * len(e["value"]) for e in entries])
    values = _float_values(raw)
    invalid = ~np.isfinite(values)
    stored = values.tolist()
    for i in np.flatnonzero(np.isnan(values)).tolist():
        stored[i] = None
    steps, epochs = (np.array(optional[c], dtype=float) if c in optional else np.full(count, np.nan)
                     for c in ("step", "epoch"))
    stamps = np.array(optional["timestamp"], dtype=float) if "timestamp" in optional else np.full(count, now)
    stamps[np.isnan(stamps)] = now
    out: dict[str, list | int] = {"series_id": np.repeat(sids, lengths).tolist(), "value": stored,
                                  "invalid": invalid.tolist() if invalid.any() else False,
                                  "timestamp": stamps.tolist()}
    out.update((c, optional[c]) for c in ("step", "epoch", "context") if c in optional)
    stats = dict(zip(sids, _stats(steps, values, invalid, stamps, lengths)))
    return PreparedPoints(experiment_id, count, out, stats,
                          metric_rollup.SeriesPoints(steps, values, invalid, epochs, stamps), created)


def _concat(parts: list[list]) -> list:
    return parts[0] if len(parts) == 1 else list(chain.from_iterable(parts))


def store_points(session: Session, prepared: PreparedPoints) -> int:
    """Insert prepared points (multi-row inserts), extend the series' rollup, and fold their
    deltas into the summaries (one executemany UPDATE). Summaries are read afresh here, since
    another batch may have changed them meanwhile, except those of series this batch created,
    which are still empty; their point counts number the new points for the rollup."""
    if not prepared.count:
        return 0
    bulk_insert_columns(session, MetricPoint.__table__, prepared.columns, prepared.count)
    current = {sid: _EMPTY_SUMMARY for sid in prepared.created}
    changed = [sid for sid in prepared.stats if sid not in prepared.created]
    if changed:
        current.update((row[0], row[1:]) for row in session.execute(
            sa_select(_SERIES.id, *(_SERIES[f] for f in _SUMMARY_FIELDS)).where(_SERIES.id.in_(changed))))
    metric_rollup.write(session, list(prepared.stats), [current[sid][0] for sid in prepared.stats],
                        [b.count for b in prepared.stats.values()], prepared.points)
    session.connection().execute(_UPDATE_SUMMARY, [
        {"b_id": sid, **_fold(dict(zip(_SUMMARY_FIELDS, summary)), prepared.stats[sid])}
        for sid, summary in current.items()])
    observability.points_stored(prepared.count)
    return prepared.count


def _stats(steps: np.ndarray, values: np.ndarray, invalid: np.ndarray, stamps: np.ndarray,
           lengths: list[int]) -> list[BatchStats]:
    """Each series' share of a batch, for series laid end to end (``lengths`` points each).
    A series' "last" point is the one with the highest step (the latest-arriving among
    equals), or simply the latest when it has no steps; its lowest and highest valid values
    are the first to arrive among equals."""
    starts = np.cumsum(lengths) - lengths
    series = np.repeat(np.arange(len(lengths)), lengths)
    arrival = np.arange(len(values))
    last = np.lexsort((arrival, np.where(np.isnan(steps), -np.inf, steps), series))[starts + lengths - 1]
    low = np.lexsort((np.where(invalid, np.inf, values), series))[starts]
    high = np.lexsort((-np.where(invalid, -np.inf, values), series))[starts]
    column = metric_rollup.driver_values

    def extreme(idx: np.ndarray) -> list:
        return [None if bad else (value, step) for bad, value, step
                in zip(invalid[idx].tolist(), values[idx].tolist(), column(steps[idx]))]

    return [BatchStats(*fields) for fields in zip(
        lengths, np.add.reduceat(invalid, starts, dtype=np.int64).tolist(),
        column(np.fmin.reduceat(steps, starts)), column(steps[last]), column(values[last], float),
        extreme(low), extreme(high), np.fmin.reduceat(stamps, starts).tolist(), np.fmax.reduceat(stamps, starts).tolist())]


_SUMMARY_FIELDS = ("count", "invalid_count", "first_step", "last_step", "last_value", "min_value", "min_step",
                   "max_value", "max_step", "first_timestamp", "last_timestamp")
_EMPTY_SUMMARY = (0, 0) + (None,) * (len(_SUMMARY_FIELDS) - 2)
_UPDATE_SUMMARY = (update(MetricSeries.__table__).where(MetricSeries.__table__.c.id == bindparam("b_id"))
                   .values({f: bindparam(f) for f in _SUMMARY_FIELDS}))


def _fold(s: dict, b: BatchStats) -> dict:
    """Merge a batch's stats into a series summary (a dict of ``_SUMMARY_FIELDS``); returns it."""
    had_points = s["count"] > 0
    s["count"] += b.count
    s["invalid_count"] += b.invalid
    if b.first_step is not None and (s["first_step"] is None or b.first_step < s["first_step"]):
        s["first_step"] = b.first_step
    if not had_points or b.last_step is None or s["last_step"] is None or b.last_step >= s["last_step"]:
        s["last_value"], s["last_step"] = b.last_value, b.last_step
    if b.low is not None and (s["min_value"] is None or b.low[0] < s["min_value"]):
        s["min_value"], s["min_step"] = b.low
    if b.high is not None and (s["max_value"] is None or b.high[0] > s["max_value"]):
        s["max_value"], s["max_step"] = b.high
    if b.first_ts is not None and (s["first_timestamp"] is None or b.first_ts < s["first_timestamp"]):
        s["first_timestamp"] = b.first_ts
    if b.last_ts is not None and (s["last_timestamp"] is None or b.last_ts > s["last_timestamp"]):
        s["last_timestamp"] = b.last_ts
    return s


def rebuild(connection, series_ids: list[int]) -> None:
    """Recompute the summaries and rollup of these series from their stored points, after
    points moved between series (a migration); a series left without points gets an empty
    summary."""
    ids = sorted(set(series_ids))
    rollup = metric_rollup._T
    for i in range(0, len(ids), 500):
        connection.execute(rollup.delete().where(rollup.c.series_id.in_(ids[i:i + 500])))
    metric_rollup.backfill(connection, MetricPoint.__table__, ids)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        data = np.array(connection.execute(
            sa_select(_POINT.series_id, _POINT.step, _POINT.value, _POINT.invalid, _POINT.timestamp)
            .where(_POINT.series_id.in_(chunk)).order_by(_POINT.series_id, _POINT.id)
        ).all(), dtype=float).reshape(-1, 5)
        summaries = {sid: dict(zip(_SUMMARY_FIELDS, _EMPTY_SUMMARY)) for sid in chunk}
        spans = list(split_by_key(data[:, 0]))
        if spans:
            stats = _stats(data[:, 1], data[:, 2], data[:, 3] > 0, data[:, 4], [b - a for _, a, b in spans])
            for (sid, _, _), s in zip(spans, stats):
                _fold(summaries[int(sid)], s)
        connection.execute(_UPDATE_SUMMARY, [{"b_id": sid, **s} for sid, s in summaries.items()])


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
        .order_by(_POINT.step.nulls_first(), _POINT.id)
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
        .order_by(_SERIES.experiment_id, _POINT.step.nulls_first(), _POINT.id)
    ).all()
    if not rows:
        return {}
    exp_ids, steps, values, epochs, stamps = _columns(rows, 5)
    return {eid: Series(steps[a:b], values[a:b], epochs[a:b], stamps[a:b]) for eid, a, b in split_by_key(exp_ids)}


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
    rows = session.execute(stmt.order_by(_SERIES.name, _POINT.step.nulls_first(), _POINT.id)).all()
    return [{"name": n, "value": encode_value(value) if invalid else value, "step": step, "epoch": epoch,
             "timestamp": ts, "context": ctx} for n, step, value, invalid, epoch, ts, ctx in rows]


def display_order(names) -> list[str]:
    """Metric names sorted for people: their own metrics first, system metrics (sys.*) after."""
    return sorted(set(names), key=lambda n: (n.startswith("sys."), n))


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
        # a series' points may have been purged (halley retention): its last value stays
        "last": encode_value(s.last_value) if s.count or s.last_value is not None else None,
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
