"""The metric rollup: every series cut into blocks of ``BLOCK`` consecutive points (arrival
order), each block keeping its lowest and highest valid point (``MetricRollup`` rows).

Why: a line panel over 100 runs x 100,000 steps would otherwise read 10 million points (or
make the database scan them in a GROUP BY) on every cold request. The blocks are written at
ingest, in the batch's transaction, so reading a long series costs ``count / BLOCK`` rows and
still shows every spike: a block's extremes are real points with their own step, epoch and
timestamp. A batch that starts inside a block merges into that block's row with one UPDATE
whose CASE expressions keep the lower minimum and the higher maximum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Float, Integer, and_, bindparam, case, cast, or_, select, update
from sqlmodel import Session

from dashboard.db import bulk_insert_columns, fetch_array, split_by_key
from models import MetricRollup

BLOCK = 64
_T = MetricRollup.__table__
_C = _T.c
_EXTREMES = ("value", "step", "epoch", "timestamp")


@dataclass
class SeriesPoints:
    """Points of one or more series laid end to end (each series in arrival order), as float
    arrays (NaN = missing)."""

    steps: np.ndarray
    values: np.ndarray
    invalid: np.ndarray  # bool: NaN or +/-Inf
    epochs: np.ndarray
    stamps: np.ndarray


def driver_values(x: np.ndarray, cast=int) -> list:
    """Float array -> driver values (NaN -> None)."""
    return [None if v != v else cast(v) for v in x.tolist()]


def blocks(first_ordinals: list[int], lengths: list[int], p: SeriesPoints) -> dict[str, list]:
    """Rollup rows, column by column, for series laid end to end in ``p`` (``lengths`` points
    each, numbered from their ``first_ordinals``), plus "series": the index of each row's
    series. A series' first row may continue a block that already exists
    (``first_ordinal % BLOCK != 0``)."""
    n = len(p.values)
    if not n:
        return {}
    series = np.repeat(np.arange(len(lengths)), lengths)
    starts_of_series = np.cumsum(lengths) - lengths
    block_of = (np.asarray(first_ordinals)[series] + np.arange(n) - starts_of_series[series]) // BLOCK
    new_row = np.ones(n, dtype=bool)
    new_row[1:] = (series[1:] != series[:-1]) | (block_of[1:] != block_of[:-1])
    starts = np.flatnonzero(new_row)
    ends = np.r_[starts[1:], n]
    low = np.where(p.invalid, np.inf, p.values)
    high = np.where(p.invalid, -np.inf, p.values)
    # rows are sorted by (series, block), so sorting by (series, block, value) puts each row's
    # extreme at its start
    lo_idx = np.lexsort((low, block_of, series))[starts]
    hi_idx = np.lexsort((-high, block_of, series))[starts]
    out = {"series": series[starts].tolist(), "block": block_of[starts].tolist(), "count": (ends - starts).tolist(),
           "first_step": driver_values(p.steps[starts]), "last_step": driver_values(p.steps[ends - 1])}
    for prefix, idx, valid in (("min", lo_idx, np.isfinite(low[lo_idx])), ("max", hi_idx, np.isfinite(high[hi_idx]))):
        def pick(x: np.ndarray) -> np.ndarray:
            return np.where(valid, x[idx], np.nan)
        out[f"{prefix}_value"] = driver_values(pick(p.values), float)
        out[f"{prefix}_step"] = driver_values(pick(p.steps))
        out[f"{prefix}_epoch"] = driver_values(pick(p.epochs))
        out[f"{prefix}_timestamp"] = driver_values(pick(p.stamps), float)
    return out


def _merge_statement():
    """UPDATE of an existing (partial) block with a batch's continuation of it. The new
    values are CAST: a NULL parameter has no type of its own, and PostgreSQL must know one
    in ``? IS NOT NULL`` and CASE branches."""
    def param(name: str, type_):
        return cast(bindparam(name, type_=type_), type_)

    def keep(prefix: str, better) -> dict:
        new = param(f"n_{prefix}_value", Float)
        takes = and_(new.isnot(None), or_(_C[f"{prefix}_value"].is_(None), better(new, _C[f"{prefix}_value"])))
        return {_C[f"{prefix}_{f}"]: case((takes, param(f"n_{prefix}_{f}", _C[f"{prefix}_{f}"].type)),
                                          else_=_C[f"{prefix}_{f}"])
                for f in _EXTREMES}

    values = {_C.count: _C.count + param("n_count", Integer), _C.last_step: param("n_last_step", _C.last_step.type)}
    values.update(keep("min", lambda new, old: new < old))
    values.update(keep("max", lambda new, old: new > old))
    return (update(_T).where(_C.series_id == bindparam("b_series_id"), _C.block == bindparam("b_block"))
            .values(values))


_MERGE = _merge_statement()


def write(session: Session, series_ids: list[int], before: list[int], lengths: list[int],
          points: SeriesPoints) -> None:
    """Store the rollup of a batch: the series ``series_ids`` (which had ``before`` points
    each) gain ``lengths`` points each, laid end to end in ``points``."""
    cols = blocks(before, lengths, points)
    if not cols:
        return
    series = cols.pop("series")
    merges, keep = [], []
    for row, s in enumerate(series):
        if before[s] % BLOCK and (row == 0 or series[row - 1] != s):  # continues an existing row
            merges.append({"b_series_id": series_ids[s], "b_block": cols["block"][row],
                           **{f"n_{k}": v[row] for k, v in cols.items() if k not in ("block", "first_step")}})
        else:
            keep.append(row)
    if merges:
        session.connection().execute(_MERGE, merges)
    if keep:
        columns = {"series_id": [series_ids[series[row]] for row in keep]}
        columns.update((k, v if len(keep) == len(series) else [v[row] for row in keep]) for k, v in cols.items())
        bulk_insert_columns(session, _T, columns, len(keep))


def backfill(connection, point_table, series_ids: list[int] | None = None) -> int:
    """Build the rollup of existing series (all, or ``series_ids``, which have none yet) from
    their points (the migrations that introduced or reshaped it): one pass over the points in
    (series, arrival) order, a chunk of series at a time. Returns the number of blocks written."""
    c = point_table.c
    some = series_ids is not None
    if not some:
        series_ids = [r[0] for r in connection.execute(select(c.series_id).distinct().order_by(c.series_id))]
    series_ids = sorted(series_ids)
    written = 0
    for i in range(0, len(series_ids), 500):
        chunk = series_ids[i:i + 500]
        data = np.array(connection.execute(
            select(c.series_id, c.step, c.value, c.invalid, c.epoch, c.timestamp)
            .where(c.series_id.in_(chunk) if some else c.series_id.between(chunk[0], chunk[-1]))
            .order_by(c.series_id, c.id)
        ).all(), dtype=float).reshape(-1, 6)
        spans = list(split_by_key(data[:, 0]))
        cols = blocks([0] * len(spans), [b - a for _, a, b in spans],
                      SeriesPoints(data[:, 1], data[:, 2], data[:, 3] > 0, data[:, 4], data[:, 5]))
        rows = []
        if cols:
            ids, series = [sid for sid, _, _ in spans], cols.pop("series")
            rows = [{"series_id": ids[s], **dict(zip(cols, r))} for s, r in zip(series, zip(*cols.values()))]
        if rows:
            connection.execute(_T.insert(), rows)
            written += len(rows)
    return written


def read(session: Session, series_ids: list[int], lo: float | None = None, hi: float | None = None) \
        -> dict[int, dict[str, np.ndarray]]:
    """Each series' block extremes (two points per block, lowest and highest, in step order),
    limited to steps in [lo, hi] when given: ``{series_id: {"step", "value", "epoch",
    "timestamp"}}`` as float arrays."""
    cols = [_C.series_id, _C.min_step, _C.min_value, _C.min_epoch, _C.min_timestamp,
            _C.max_step, _C.max_value, _C.max_epoch, _C.max_timestamp]
    stmt = select(*cols).where(_C.series_id.in_(series_ids), _C.min_value.isnot(None))
    if lo is not None:
        stmt = stmt.where(or_(_C.last_step.is_(None), _C.last_step >= lo),
                          or_(_C.first_step.is_(None), _C.first_step <= hi))
    data = fetch_array(session, stmt.order_by(_C.series_id, _C.block), len(cols))
    out: dict[int, dict[str, np.ndarray]] = {}
    for sid, a, b in split_by_key(data[:, 0]):
        d = data[a:b]
        low, high = d[:, 1:5], d[:, 5:9]
        # per block: the extreme with the smaller step first; one point when both are the same
        swap = np.nan_to_num(low[:, 0], nan=0.0) > np.nan_to_num(high[:, 0], nan=0.0)
        first = np.where(swap[:, None], high, low)
        second = np.where(swap[:, None], low, high)
        same = (low[:, 0] == high[:, 0]) | (np.isnan(low[:, 0]) & np.isnan(high[:, 0]))
        same &= low[:, 1] == high[:, 1]
        pts = np.stack([first, second], axis=1).reshape(-1, 4)
        keep = np.ones(len(pts), dtype=bool)
        keep[1::2] = ~same
        pts = pts[keep]
        if lo is not None:
            pts = pts[(pts[:, 0] >= lo) & (pts[:, 0] <= hi)]
        if len(pts) > 1 and np.any(np.diff(pts[:, 0]) < 0):
            pts = pts[np.argsort(pts[:, 0], kind="stable")]
        out[sid] = {"step": pts[:, 0], "value": pts[:, 1], "epoch": pts[:, 2], "timestamp": pts[:, 3]}
    return out
