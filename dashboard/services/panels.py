"""Data for the project panels (line, bar, scatter, parallel coordinates).

A panel is a JSON config (see ``normalize_panel``) kept in the project view state's
``panels`` list, or in ``PanelTemplate`` for a user's own collection. ``panel_figure`` is
the entry point: it checks access, takes the experiments that match the view's filters and
are visible, reads what the panel needs in a few set-based queries and builds the figure.

Line series are read for all experiments in one indexed query. Small ranges come back
raw and are downsampled with MinMaxLTTB. Long series (16,000+ points in range) come from
their rollup (each block of 64 points' lowest and highest point, kept at ingest, see
``metric_rollup``); medium ones are reduced by the database to each step bucket's min and
max (one GROUP BY query); either way LTTB picks the final points, so no more than ~2,000
points per series ever leave the server and a single spike survives.
A zoom passes the visible step range, which is read again at full resolution.
Downsampled series are cached per series in diskcache, keyed by the series id, its point
count and last step (new points change the key) and the range.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import plotly.io as pio
from sqlalchemy import case, func, select
from sqlmodel import Session

from dashboard.auth import Actor
from dashboard.charts import downsample, parcoords, transforms
from dashboard.charts.style import empty_figure, experiment_color, palette_color
from dashboard.db import fetch_array, split_by_key
from dashboard.panel_types import REGISTRY
from dashboard.services import experiment_table, metric_rollup, metrics
from dashboard.services.panel_configs import (  # noqa: F401  (re-exported for callers)
    PANEL_TYPES, X_AXES, default_panel, delete_template, featured_panels, find_panel, is_complete, is_panel_id,
    list_templates, normalize_panel, normalize_panels, panel_title, save_template,
)
from models import Experiment, ExperimentTag, MetricPoint, MetricSeries, Parameter, Project

X_TIME = ("epoch", "duration", "wall")  # x axes read from each point's epoch or timestamp
MAX_LINE_EXPERIMENTS = 200
MAX_EXPERIMENTS = 20_000
RAW_POINTS_LIMIT = 300_000  # above this many points in range, the database pre-reduces them
BUCKETS = 4 * downsample.MAX_POINTS
# from this many points in range on, a series is drawn from its rollup (>= 500 points)
ROLLUP_MIN_POINTS = metric_rollup.BLOCK * downsample.MAX_POINTS // 8


def code_version(files) -> str:
    """A digest of ``files``' contents."""
    digest = hashlib.sha1()
    for path in sorted(Path(f) for f in files):
        digest.update(f"{path.parent.name}/{path.name}".encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


# Part of every cache key: the code that shapes cached figures and series (charts, panel types,
# services), so a server running other code (an upgrade) never serves what the old code cached.
_DASHBOARD = Path(__file__).resolve().parents[1]
CACHE_VERSION = code_version(f for folder in ("charts", "panel_types", "services")
                             for f in (_DASHBOARD / folder).glob("*.py"))

_POINT = MetricPoint.__table__.c
_SERIES = MetricSeries.__table__.c


# --- experiments and catalogue -------------------------------------------------------------

def panel_experiments(session: Session, actor: Actor, project: Project, filters, limit: int = MAX_EXPERIMENTS,
                      params: list[str] = (), with_tags: bool = False) -> list[dict]:
    """The visible experiments matching ``filters`` (access checked), most recent first:
    ``[{"id", "key", "name", "color", "params": {...}, "tags": [...]}]``."""
    ids = experiment_table.matching_ids(session, actor, project, filters)
    # plain DBAPI rows: "updated" only tells a change apart (part of the summary cache key), so
    # its text is read as the database gives it, not made a datetime 20,000 times
    rows = _raw_rows(session, select(Experiment.id, Experiment.key, Experiment.name, Experiment.color,
                                     Experiment.color_index, Experiment.updated_at)
                     .where(Experiment.id.in_(ids), Experiment.visible == True)  # noqa: E712
                     .order_by(Experiment.start_time.desc(), Experiment.id.desc()).limit(limit))
    # "color" is the one the experiment is drawn in (the table's too), settled here once.
    exps = [{"id": r[0], "key": r[1], "name": r[2], "updated": str(r[5]),
             "color": r[3] or (palette_color(r[4]) if type(r[4]) is int and r[4] >= 0
                               else experiment_color({"key": r[1], "color": r[3], "color_index": r[4]}))}
            for r in rows]
    by_id = {e["id"]: e for e in exps}
    if params and exps:
        for e in exps:
            e["params"] = {}
        for eid, name, text in session.execute(
            select(Parameter.experiment_id, Parameter.name, Parameter.value_text)
            .where(Parameter.experiment_id.in_(list(by_id)), Parameter.name.in_(list(params)))
        ):
            by_id[eid]["params"][name] = text
    if with_tags and exps:
        for e in exps:
            e["tags"] = []
        for eid, name in session.execute(
            select(ExperimentTag.experiment_id, ExperimentTag.name).where(ExperimentTag.experiment_id.in_(list(by_id)))
        ):
            by_id[eid]["tags"].append(name)
    return exps


def catalogue(session: Session, actor: Actor, project: Project) -> dict:
    """Metric names, parameter names and tags of the project, for the panel editor."""
    experiment_table.matching_ids(session, actor, project, None)  # access check
    attrs = experiment_table.attributes(session, project)
    metric_names = metrics.display_order(a["id"].split(":", 2)[2] for a in attrs if a["id"].startswith("metric:"))
    params = [a["id"][6:] for a in attrs if a["id"].startswith("param:")]
    return {"metrics": metric_names, "params": params, "tags": experiment_table.project_tags(session, project)}


# --- line series -------------------------------------------------------------------------

def _series_meta(session: Session, exp_ids: list[int], name: str) -> list[tuple]:
    return session.execute(
        select(_SERIES.id, _SERIES.experiment_id, _SERIES.count, _SERIES.last_step, _SERIES.first_step,
               _SERIES.first_timestamp, _SERIES.invalid_count)
        .where(_SERIES.experiment_id.in_(exp_ids), _SERIES.name == name, _SERIES.count > 0)
    ).all()


def _estimate(meta: tuple, lo: float | None, hi: float | None) -> float:
    _, _, count, last_step, first_step, _, _ = meta
    if lo is None or first_step is None or last_step is None or last_step <= first_step:
        return count
    overlap = max(0.0, min(hi, last_step) - max(lo, first_step))
    return count * min(1.0, (overlap + 1) / (last_step - first_step + 1))


def _raw_rows(session: Session, stmt) -> list[tuple]:
    """Plain tuples from the DBAPI cursor, for reads of many small rows (same reason as above)."""
    result = session.connection().execute(stmt)  # a Core result: its DBAPI cursor is reachable
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _read_raw(session: Session, sids: list[int], step_range) -> dict[int, dict]:
    good = case((_POINT.invalid == True, None), else_=_POINT.value)  # noqa: E712
    stmt = select(_POINT.series_id, _POINT.step, good, _POINT.epoch, _POINT.timestamp) \
        .where(_POINT.series_id.in_(sids))
    if step_range:
        stmt = stmt.where(_POINT.step.between(step_range[0], step_range[1]))
    data = fetch_array(session, stmt.order_by(_POINT.series_id, _POINT.step.nulls_first(), _POINT.id), 5)
    out: dict[int, dict] = {}
    if not len(data):
        return out
    for sid, a, b in split_by_key(data[:, 0]):
        steps, values, epochs, stamps = data[a:b, 1], data[a:b, 2], data[a:b, 3], data[a:b, 4]
        ok = np.isfinite(values)  # invalid points were turned into NULL by the query
        invalid = int((~ok).sum())
        steps, values, epochs, stamps = steps[ok], values[ok], epochs[ok], stamps[ok]
        idx = downsample.indices(np.nan_to_num(steps, nan=0.0), values)
        out[sid] = {"step": steps[idx], "value": values[idx], "epoch": epochs[idx],
                            "timestamp": stamps[idx], "invalid": invalid}
    return out


def _read_buckets(session: Session, metas: list[tuple], lo: int, hi: int, with_time: bool) -> dict[int, dict]:
    """Each series reduced by the database to the min and max of ``BUCKETS`` step buckets.

    Epochs and timestamps are aggregated only when the x axis needs them (each extra column
    costs the scan about a quarter more). Invalid points are left out by the WHERE clause and
    counted from the series summary.
    """
    width = max(1, math.ceil((hi - lo + 1) / BUCKETS))
    bucket = ((_POINT.step - lo) // width).label("bucket")
    cols = [_POINT.series_id, bucket, func.min(_POINT.step), func.max(_POINT.step), func.min(_POINT.value),
            func.max(_POINT.value)]
    if with_time:
        cols += [func.min(_POINT.epoch), func.max(_POINT.epoch), func.min(_POINT.timestamp), func.max(_POINT.timestamp)]
    stmt = (select(*cols)
            .where(_POINT.series_id.in_([m[0] for m in metas]), _POINT.step.between(lo, hi),
                   _POINT.invalid == False)  # noqa: E712
            .group_by(_POINT.series_id, bucket).order_by(_POINT.series_id, bucket))
    data = fetch_array(session, stmt, len(cols))
    invalid = {m[0]: m[6] or 0 for m in metas}
    out: dict[int, dict] = {}
    if not len(data):
        return out
    for sid, a, b in split_by_key(data[:, 0]):
        d = data[a:b]
        d = d[np.isfinite(d[:, 4])]

        def pairs(i):  # two points per bucket: its min at the first step, its max at the last step
            return np.column_stack([d[:, i], d[:, i + 1]]).ravel()

        keep = ~np.repeat(d[:, 2] == d[:, 3], 2)
        keep[::2] = True  # a one-step bucket keeps one point
        steps, values = pairs(2)[keep], pairs(4)[keep]
        if with_time:
            epochs, stamps = pairs(6)[keep], pairs(8)[keep]
        else:
            epochs = stamps = np.full(steps.size, np.nan)
        idx = downsample.lttb_indices(steps, values)
        out[sid] = {"step": steps[idx], "value": values[idx], "epoch": epochs[idx],
                            "timestamp": stamps[idx], "invalid": int(invalid.get(sid, 0))}
    return out


def _read_rollup(session: Session, metas: list[tuple], lo: float | None, hi: float | None) -> dict[int, dict]:
    """Long series from their rollup (each block's lowest and highest point), then LTTB."""
    out: dict[int, dict] = {}
    for sid, pts in metric_rollup.read(session, [m[0] for m in metas], lo, hi).items():
        idx = downsample.lttb_indices(np.nan_to_num(pts["step"], nan=0.0), pts["value"])
        out[sid] = {k: v[idx] for k, v in pts.items()}
    for m in metas:
        if m[0] in out:
            out[m[0]]["invalid"] = int(m[6] or 0)
    return out


def read_series(session: Session, exp_ids: list[int], name: str, step_range=None, cache=None,
                with_time: bool = True) -> dict[int, dict]:
    """Downsampled series of one metric for many experiments: ``{experiment_id: {"step",
    "value", "epoch", "timestamp", "invalid", "first_timestamp"}}``. ``step_range`` = (lo, hi)
    limits the read to a zoomed range (read at full resolution, up to the point budget)."""
    meta = _series_meta(session, exp_ids, name)
    lo, hi = (float(step_range[0]), float(step_range[1])) if step_range else (None, None)
    result: dict[int, dict] = {}
    todo = []
    for m in meta:
        key = f"p{CACHE_VERSION}:{m[0]}:{m[2]}:{m[3]}:{lo}:{hi}:{int(with_time)}"
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            result[m[0]] = hit
        else:
            todo.append((m, key))
    if todo:
        raw_ids = [m[0] for m, _ in todo if _estimate(m, lo, hi) <= 4 * downsample.MAX_POINTS]
        big = [m for m, _ in todo if m[0] not in set(raw_ids)]
        fetched: dict[int, dict] = {}
        budget = sum(_estimate(m, lo, hi) for m, _ in todo)
        if budget <= RAW_POINTS_LIMIT:
            fetched.update(_read_raw(session, [m[0] for m, _ in todo], (lo, hi) if lo is not None else None))
        else:
            if raw_ids:
                fetched.update(_read_raw(session, raw_ids, (lo, hi) if lo is not None else None))
            rolled = [m for m in big if _estimate(m, lo, hi) >= ROLLUP_MIN_POINTS]
            if rolled:
                fetched.update(_read_rollup(session, rolled, lo, hi))
            big = [m for m in big if _estimate(m, lo, hi) < ROLLUP_MIN_POINTS]
            if big:
                b_lo = int(math.floor(lo)) if lo is not None else min(m[4] for m in big if m[4] is not None)
                b_hi = int(math.ceil(hi)) if hi is not None else max(m[3] for m in big if m[3] is not None)
                fetched.update(_read_buckets(session, big, b_lo, b_hi, with_time))
        for m, key in todo:
            entry = fetched.get(m[0]) or {"step": np.array([]), "value": np.array([]), "epoch": np.array([]),
                                          "timestamp": np.array([]), "invalid": 0}
            if cache is not None:
                cache.set(key, entry, expire=7 * 24 * 3600)
            result[m[0]] = entry
    by_sid = {m[0]: m for m in meta}
    return {by_sid[sid][1]: {**entry, "first_timestamp": by_sid[sid][5]} for sid, entry in result.items()}


def _x_values(entry: dict, x_axis: str) -> np.ndarray:
    if x_axis == "epoch":
        return entry["epoch"]
    if x_axis == "duration":
        first = entry.get("first_timestamp")
        return entry["timestamp"] - (first if first is not None else np.nanmin(entry["timestamp"], initial=0))
    if x_axis == "wall":
        return entry["timestamp"] * 1000.0  # epoch ms, drawn on a date axis
    steps = entry["step"]
    if len(steps) and np.isnan(steps).all():  # logged without steps: drawn in the order logged
        return np.arange(len(steps), dtype=np.float64)
    return steps


def _entry_xy(entry: dict, x_axis: str, other: dict | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A series' x, y and steps for the panel's x axis (``other``: the x metric's series)."""
    if not x_axis.startswith("metric:"):
        return _x_values(entry, x_axis), entry["value"], entry["step"]
    if other is None or not len(other["step"]):
        return None
    inside = (entry["step"] >= other["step"][0]) & (entry["step"] <= other["step"][-1])
    steps = entry["step"][inside]
    return np.interp(steps, other["step"], other["value"]), entry["value"][inside], steps


def _steps_for(x: np.ndarray, steps: np.ndarray, x_range) -> tuple[float, float] | None:
    """The step range that holds a zoomed x range, from a series' drawn points: the points
    inside plus one neighbour on each side (the points between them are not drawn yet)."""
    ok = np.isfinite(x) & np.isfinite(steps)
    x, steps = x[ok], steps[ok]
    if not len(x):
        return None
    inside = np.flatnonzero((x >= x_range[0]) & (x <= x_range[1]))
    if len(inside):
        a, b = inside[0], inside[-1]
    else:  # zoomed in between two drawn points
        a = b = int(np.searchsorted(x, x_range[0])) if np.all(np.diff(x) >= 0) else -1
        if a < 0:
            return None
    lo, hi = max(a - 1, 0), min(b + 1, len(x) - 1)
    return float(steps[lo:hi + 1].min()), float(steps[lo:hi + 1].max())


def line_series(session: Session, exps: list[dict], panel: dict, x_range=None, cache=None) -> tuple[list[dict], int]:
    """The series a line panel draws and the number of invalid values skipped.

    A zoom (``x_range`` on the panel's x axis) is read again at full resolution: directly as
    a step range on the step axis; on other axes each series' drawn points tell which steps
    the range covers, and that step range is read again."""
    exps = exps[:MAX_LINE_EXPERIMENTS]
    ids = [e["id"] for e in exps]
    by_id = {e["id"]: e for e in exps}
    x_axis = panel.get("x", "step")
    with_time = x_axis in X_TIME
    step_range = x_range if x_axis == "step" and x_range else None
    x_metric = read_series(session, ids, x_axis[7:], cache=cache) if x_axis.startswith("metric:") else {}
    out, invalid = [], 0
    for name in panel.get("metrics") or []:
        entries = read_series(session, ids, name, step_range, cache, with_time=with_time)
        for eid, entry in entries.items():
            xy = _entry_xy(entry, x_axis, x_metric.get(eid))
            if xy is None:
                continue
            if x_range and x_axis != "step":
                steps = _steps_for(xy[0], xy[2], x_range)
                if steps is None:
                    continue
                entry = read_series(session, [eid], name, steps, cache, with_time=with_time).get(eid, entry)
                xy = _entry_xy(entry, x_axis, x_metric.get(eid))
                if xy is None:
                    continue
                keep = (xy[0] >= x_range[0]) & (xy[0] <= x_range[1])
                xy = xy[0][keep], xy[1][keep], xy[2][keep]
            invalid += entry["invalid"]
            out.append({"exp": by_id[eid], "metric": name, "x": xy[0], "y": xy[1]})
    return out, invalid


# --- bar, scatter, parallel coordinates -----------------------------------------------------

def bar_values(session: Session, exps: list[dict], metric: str, aggregation: str) -> tuple[list[dict], int]:
    """One aggregated value per experiment (one query) and the number of invalid values skipped."""
    ids = [e["id"] for e in exps]
    by_id = {e["id"]: e for e in exps}
    if not ids:
        return [], 0
    good = case((_POINT.invalid == True, None), else_=_POINT.value)  # noqa: E712
    base = (_SERIES.experiment_id.in_(ids), _SERIES.name == metric)
    rows, invalid = [], 0
    if aggregation in ("median", "mode"):
        for eid, (_, values) in _values_by_experiment(session, ids, metric).items():
            value, bad = transforms.aggregate(values, aggregation)
            invalid += bad
            rows.append({"exp": by_id[eid], "value": value})
    else:
        stmt = (select(_SERIES.experiment_id, func.count(good), func.sum(good), func.sum(good * good),
                       _SERIES.invalid_count)
                .join(MetricPoint.__table__, _POINT.series_id == _SERIES.id).where(*base)
                .group_by(_SERIES.id, _SERIES.experiment_id, _SERIES.invalid_count))
        for eid, n, total, squares, bad in session.execute(stmt):
            invalid += bad or 0
            n = n or 0
            total = total or 0.0
            if aggregation == "count":
                value = float(n)
            elif aggregation == "sum":
                value = float(total)
            elif n == 0:
                value = float("nan")
            elif aggregation == "average":
                value = total / n
            elif aggregation == "rms":
                value = math.sqrt(squares / n)
            else:
                value = math.sqrt(max(squares / n - (total / n) ** 2, 0.0))
            rows.append({"exp": by_id[eid], "value": value})
    order = {e["id"]: i for i, e in enumerate(exps)}
    rows.sort(key=lambda r: order[r["exp"]["id"]])
    return rows, invalid


def _values_by_experiment(session: Session, ids: list[int], name: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Every (step, value) of one metric for many experiments in one query; invalid values are NaN."""
    good = case((_POINT.invalid == True, None), else_=_POINT.value)  # noqa: E712
    data = fetch_array(session, select(_SERIES.experiment_id, _POINT.step, good)
                        .join(MetricPoint.__table__, _POINT.series_id == _SERIES.id)
                        .where(_SERIES.experiment_id.in_(ids), _SERIES.name == name)
                        .order_by(_SERIES.experiment_id, _POINT.step, _POINT.id), 3)
    if not len(data):
        return {}
    return {eid: (data[a:b, 1], data[a:b, 2]) for eid, a, b in split_by_key(data[:, 0])}


def _param_values(session: Session, ids: list[int], names: list[str]) -> dict[tuple[int, str], object]:
    out = {}
    for eid, name, num, text in _raw_rows(session, select(
            Parameter.experiment_id, Parameter.name, Parameter.value_num, Parameter.value_text)
            .where(Parameter.experiment_id.in_(ids), Parameter.name.in_(names))):
        out[(eid, name)] = num if num is not None else text
    return out


def _metric_summaries(session: Session, ids: list[int], names: list[str]) -> dict[tuple[int, str], tuple]:
    out = {}
    for eid, name, count, last, lo, hi in _raw_rows(session, select(
            _SERIES.experiment_id, _SERIES.name, _SERIES.count, _SERIES.last_value, _SERIES.min_value,
            _SERIES.max_value).where(_SERIES.experiment_id.in_(ids), _SERIES.name.in_(names))):
        nan = float("nan")
        out[(eid, name)] = (nan if last is None and count else last, nan if lo is None and count else lo,
                            nan if hi is None and count else hi)
    return out


def _first_values(session: Session, ids: list[int], name: str) -> dict[int, float]:
    rows = session.execute(
        select(_SERIES.experiment_id, _POINT.value, _POINT.invalid)
        .join(MetricPoint.__table__, (_POINT.series_id == _SERIES.id) & (_POINT.step == _SERIES.first_step))
        .where(_SERIES.experiment_id.in_(ids), _SERIES.name == name).order_by(_POINT.id.desc())
    ).all()
    return {eid: (float("nan") if bad or value is None else value) for eid, value, bad in rows}


def axis_values(session: Session, exps: list[dict], axis: dict) -> dict[int, float | None]:
    """One value per experiment for a scatter axis: a number, or the text of a categorical parameter."""
    ids = [e["id"] for e in exps]
    if not ids:
        return {}
    name, transform = axis["name"], axis["transform"]
    if axis["source"] == "param":
        values = _param_values(session, ids, [name])
        return {eid: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else (v or None)
                for (eid, _), v in values.items() if isinstance(v, (int, float, str))}
    if transform in ("smoothing", "moving_average"):
        data = _values_by_experiment(session, ids, name)
        return {eid: transforms.axis_value(steps, values, transform, smoothing=axis["smoothing"],
                                           window=axis["window"]) for eid, (steps, values) in data.items()}
    if transform == "first":
        return _first_values(session, ids, name)
    pick = {"min": 1, "max": 2}.get(transform, 0)
    return {eid: v[pick] for (eid, _), v in _metric_summaries(session, ids, [name]).items()}


def parcoords_rows(session: Session, exps: list[dict], axes: list[str]) -> list[dict]:
    """``[{"exp", "values": {axis: value}}]`` with parameters (number or text) and last metric values."""
    ids = [e["id"] for e in exps]
    params = [a[6:] for a in axes if a.startswith("param:")]
    metric_names = [a[7:] for a in axes if a.startswith("metric:")]
    pvals = _param_values(session, ids, params) if params and ids else {}
    mvals = _metric_summaries(session, ids, metric_names) if metric_names and ids else {}
    rows = []
    for e in exps:
        values = {}
        for a in axes:
            if a.startswith("param:"):
                values[a] = pvals.get((e["id"], a[6:]))
            else:
                v = mvals.get((e["id"], a[7:]))
                values[a] = v[0] if v else None
        rows.append({"exp": e, "values": values})
    return rows


# --- figures -------------------------------------------------------------------------------

def panel_figure(session: Session, actor: Actor, project: Project, filters, panel: dict, *, x_range=None,
                 cache=None, constraints: dict | None = None, table_group_by: list[str] | None = None,
                 as_json: bool = False):
    """The figure of one panel over the visible experiments matching ``filters``; a line panel
    that follows the table's grouping groups by ``table_group_by`` (no grouping without it).

    ``as_json``: a bar, scatter or parallel-coordinates figure comes as its plain JSON dict
    (what the page is sent), cached as JSON text: reading it back costs a JSON parse, where a
    cached figure object is validated again, property by property (a 10,000-point scatter: a
    quarter of a second)."""
    panel = normalize_panel(panel)
    if not is_complete(panel):
        return empty_figure("Edit this panel to choose what it shows")
    title = ""  # the panel card shows the title
    ptype = REGISTRY[panel["type"]]
    if ptype.figure is not None:
        if not as_json or cache is None:
            return ptype.figure(session, actor, project, filters, panel, title=title, x_range=x_range, cache=cache,
                                table_group_by=table_group_by)
        # the figure as JSON, cached by the experiments it may show (logging, renaming, coloring
        # touch ``updated``), the values it groups them by, the zoom and the table's grouping
        group = panel.get("group") or {}
        exps = panel_experiments(session, actor, project, filters, MAX_LINE_EXPERIMENTS,
                                 params=[group["name"]] if group.get("by") == "param" else (),
                                 with_tags=group.get("by") == "tag")
        groups = [(e.get("params"), sorted(e.get("tags") or [])) for e in exps]
        key = "j" + _summary_key({**panel, "xRange": x_range, "tableGroupBy": table_group_by, "groups": groups}, exps)
        text = cache.get(key)
        if text is None:
            text = pio.to_json(ptype.figure(session, actor, project, filters, panel, title=title, x_range=x_range,
                                            cache=cache, table_group_by=table_group_by), validate=False)
            cache.set(key, text, expire=24 * 3600)
        return json.loads(text)
    exps = panel_experiments(session, actor, project, filters)
    key = _summary_key({**panel, "constraints": constraints}, exps) if cache is not None else None
    if as_json:
        key = key and "j" + key
        text = cache.get(key) if key else None
        if text is None:
            text = pio.to_json(_summary_figure(session, panel, exps, title, constraints), validate=False)
            if key:
                cache.set(key, text, expire=24 * 3600)
        return json.loads(text)
    cached = cache.get(key) if key else None
    if cached is not None:
        return cached
    fig = _summary_figure(session, panel, exps, title, constraints)
    if key:
        cache.set(key, fig, expire=24 * 3600)
    return fig


def _summary_key(panel: dict, exps: list[dict]) -> str:
    """Changes whenever the panel, the experiments shown, their names, colors or data change
    (logging touches ``Experiment.updated_at``)."""
    digest = hashlib.sha1(json.dumps(panel, sort_keys=True).encode())
    for e in exps:
        digest.update(f"{e['id']}|{e['name']}|{e['color']}|{e['updated']}\n".encode())
    return f"s{CACHE_VERSION}:{digest.hexdigest()}"


def _summary_figure(session: Session, panel: dict, exps: list[dict], title: str, constraints):
    return REGISTRY[panel["type"]].summary_figure(session, panel, exps, title, constraints)


def brush_updates(session: Session, actor: Actor, project: Project, filters, panel: dict, restyle) -> dict:
    """The constraint ranges a parallel-coordinates restyle event sets, in real values: an axis
    drawn as log10 (see ``parcoords.build_dimensions``) sends log10 ranges."""
    panel = normalize_panel(panel)
    axes = panel.get("axes") or []
    updates = parcoords.constraint_updates(restyle, axes)
    if not updates or not REGISTRY[panel["type"]].brushable:
        return updates
    rows = parcoords_rows(session, panel_experiments(session, actor, project, filters), axes)
    dims, _, _ = parcoords.build_dimensions(rows, axes, panel["scales"])
    return parcoords.constraint_updates(restyle, axes, parcoords.log_axes(dims))


def featured_that_render(session: Session, actor: Actor, project: Project, cat: dict, cache=None) -> list[dict]:
    """The gallery's Featured panels, without the summary panels that would draw nothing here
    (e.g. a scatter of a parameter no experiment with the metric has)."""
    out = []
    for panel in featured_panels(cat):
        summary = REGISTRY[panel["type"]].summary_figure is not None
        if summary and not panel_figure(session, actor, project, None, panel, cache=cache).data:
            continue
        out.append(panel)
    return out


def brush(session: Session, actor: Actor, project: Project, filters, panel: dict, constraints: dict) -> dict:
    """What a parallel-coordinates brush selects: ``{"keys": [...], "filters": filter model}``.

    ``constraints`` maps axis ids (``param:lr``) to a [lo, hi] range or a list of them. The
    filter model adds one rule per brushed axis ("between" for numbers; "equals" alternatives
    for categories) to the current filters, so it can be saved as a query.
    """
    panel = normalize_panel(panel)
    axes = panel.get("axes") or []
    constraints = {a: r for a, r in (constraints or {}).items() if a in axes and _valid_range(r)}
    exps = panel_experiments(session, actor, project, filters)
    rows = parcoords_rows(session, exps, axes)
    keys = parcoords.brushed_keys(rows, axes, constraints)
    dims, _, _ = parcoords.build_dimensions(rows, axes)
    rules = []
    for f in parcoords.constraints_to_filters(dims, constraints):
        attr = f["axis"] if f["axis"].startswith("param:") else "metric:last:" + f["axis"][7:]
        if "values" in f:
            alternatives = [{"attr": attr, "operator": "equals", "value": v} for v in f["values"]]
            rules.append({"op": "or", "rules": alternatives} if len(alternatives) != 1 else alternatives[0])
        else:
            rules.append({"attr": attr, "operator": "between", "value": f["low"], "value2": f["high"]})
    base = filters if isinstance(filters, dict) and filters.get("rules") else None
    model = {"op": "and", "rules": ([base] if base else []) + rules}
    from dashboard.query import validate_filters

    return {"keys": keys, "filters": validate_filters(model), "rules": rules}


def narrow_filters(filters, rules) -> dict:
    """``filters`` with a brush's rules added (AND); the experiment table uses it while a
    parallel-coordinates brush is active."""
    from dashboard.query import validate_filters

    base = validate_filters(filters or None)
    if not rules:
        return base
    if base.get("op", "and") == "and":
        return validate_filters({"op": "and", "rules": list(base.get("rules") or []) + list(rules)})
    return validate_filters({"op": "and", "rules": [base] + list(rules)})


def _valid_range(r) -> bool:
    ranges = r if isinstance(r, list) and r and isinstance(r[0], list) else [r]
    return all(isinstance(x, list) and len(x) == 2 and all(isinstance(v, (int, float)) and math.isfinite(v)
                                                           for v in x) for x in ranges) and len(ranges) <= 20


def open_cache(cache_dir: Path):
    """The panel cache under ``Settings.cache_dir`` (one per process and directory)."""
    import diskcache

    path = str(Path(cache_dir) / "panels")
    cache = _caches.get(path)
    if cache is None:
        cache = _caches[path] = diskcache.Cache(path, size_limit=2 ** 30)
    return cache


_caches: dict = {}
