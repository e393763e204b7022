"""Line panel: metric(s) against step, epoch, duration, wall time or another metric.

Input series are already downsampled by the service; this module cleans them (invalid
values skipped and counted), applies the transforms, optionally groups experiments, and
builds the figure. Each trace carries its experiment key in ``meta``. Names, titles and group
labels are user text and go into the figure through ``plotly_text``. Wall time is sent as
epoch milliseconds on a date axis (numbers travel as compact typed arrays, dates would not).
"""
from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import plotly.graph_objects as go

from dashboard.charts import downsample, grouping, transforms
from dashboard.charts.numbers import D3
from dashboard.charts.style import PALETTE, base_layout, empty_figure, experiment_color, note_invalid, scatter_type
from dashboard.charts.text import plotly_text

X_AXES = {"step": "Step", "epoch": "Epoch", "duration": "Duration (s)", "wall": "Wall time"}
DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
X_TRANSFORMS = ("none", "smoothing", "moving_average")  # with log X: the x transforms of Comet's line panel
LEGEND_MAX = 10  # more legend entries than this and "auto" hides the legend (hover names each line)
LEGENDS = ("auto", "show", "hide")
# Points one figure draws at most, shared by its lines: 100 lines of 1,000 steps in a panel a
# few hundred pixels wide are drawn from 500 points each (MinMaxLTTB keeps every spike), half
# the drawing and half the bytes; a zoom reads its range again at full resolution.
POINT_BUDGET = 50_000
MIN_SHARE = 250


def prepare(x, y, *, smoothing: float = 0.0, window: int = 1, log_y: bool = False, x_transform: str = "none",
            log_x: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """Clean one series and apply its transforms; returns (x, y, number of values dropped as invalid).

    ``x_transform`` smooths ("smoothing", with the same weight as y) or averages
    ("moving_average", same window) the x values too. Points a log axis can't show (<= 0) are
    dropped without counting as invalid.
    """
    x, y, bad = transforms.finite_xy(x, y)
    if smoothing:
        y = transforms.ema(y, smoothing)
    if window and window > 1:
        y = transforms.moving_average(y, window)
    if x_transform == "smoothing" and smoothing:
        x = transforms.ema(x, smoothing)
    elif x_transform == "moving_average" and window and window > 1:
        x = transforms.moving_average(x, window)
    if log_y:
        x, y, _ = transforms.for_log_axis(x, y)
    if log_x:
        y, x, _ = transforms.for_log_axis(y, x)
    return x, y, bad


def thin(series: list[dict]) -> list[dict]:
    """``series`` (with ``x`` and ``y``) within ``POINT_BUDGET`` points in all: a series longer
    than its share (at least ``MIN_SHARE``) is downsampled to it, when its x never goes back (an x
    of another metric may: cutting those would redraw a different path)."""
    if sum(len(s["y"]) for s in series) <= POINT_BUDGET:
        return series
    share = max(MIN_SHARE, POINT_BUDGET // len(series))
    out = []
    for s in series:
        x = np.asarray(s["x"])
        if len(s["y"]) > share and x.dtype.kind in "iuf" and np.all(np.diff(x) >= 0):
            x, y = downsample.downsample(x, s["y"], share)
            s = {**s, "x": x, "y": y}
        out.append(s)
    return out


def legend_layout(entries: int, mode: str = "auto") -> dict:
    """Where the legend goes: "show" keeps it at the side (it scrolls), "hide" leaves it out;
    "auto" puts up to ``LEGEND_MAX`` entries in rows under the plot, so the plot keeps its
    width, and hides a longer one (hover and the experiment table's colors tell the lines apart)."""
    if mode == "hide" or (mode != "show" and entries > LEGEND_MAX):
        return {"showlegend": False}
    if mode == "show":
        return {"showlegend": True, "legend": {"orientation": "v", "font": {"size": 10}}}
    # at the bottom of the figure (under the axis title), at most 30% of its height (it scrolls)
    return {"showlegend": True, "legend": {"orientation": "h", "x": 0, "xanchor": "left", "yref": "container", "y": 0,
                                           "yanchor": "bottom", "maxheight": 0.3, "font": {"size": 10}}}


def compact(x: np.ndarray) -> np.ndarray:
    """Whole-number x values (steps, epochs) as int32 to halve what goes to the browser."""
    x = np.asarray(x)
    if x.dtype.kind == "f" and x.size and np.all(np.isfinite(x)) and np.all(x == np.round(x)) \
            and np.abs(x).max() < 2 ** 31:
        return x.astype(np.int32)
    return x


def outlier_range(ys: list[np.ndarray], log: bool = False) -> list[float] | None:
    """A y range that leaves out outliers: the 1st to 99th percentile, padded by 5%."""
    values = np.concatenate([y for y in ys if len(y)]) if ys else np.array([])
    if values.size < 10:
        return None
    if log:
        values = np.log10(values[values > 0])
        if values.size < 10:
            return None
    lo, hi = np.percentile(values, [1, 99])
    pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 1.0
    return [float(lo - pad), float(hi + pad)]


def line_figure(series: list[dict], *, title: str = "", x_axis: str = "step", x_label: str | None = None,
                legend: str = "name", smoothing: float = 0.0, window: int = 1, log_y: bool = False,
                log_x: bool = False, outliers: str = "show", group: dict | None = None,
                invalid: int = 0, x_transform: str = "none", show_legend: str = "auto",
                per_metric: bool = False) -> go.Figure:
    """Build the figure.

    ``series``: ``[{"exp": {"key", "name", "color", ...}, "metric": str, "x": array, "y": array}]``.
    ``group``: ``{"by": "param"|"tag"|"table", "name": str, "stat": "mean"|..., "band": "minmax"|...}``.
    ``invalid``: invalid values already skipped upstream (they add to the note).
    ``show_legend``: "auto", "show" or "hide" (see ``legend_layout``). Wall time takes no x transform.
    ``per_metric``: one experiment's metrics (the experiment page): each line is named after its
    metric and drawn solid in its series' ``exp["color"]``.
    """
    if x_axis == "wall":
        x_transform, log_x = "none", False
    if not series:
        return empty_figure("No data for the visible experiments")
    metrics = list(dict.fromkeys(s["metric"] for s in series))
    prepared = []
    for s in series:
        x, y, bad = prepare(s["x"], s["y"], smoothing=smoothing, window=window, log_y=log_y,
                            x_transform=x_transform, log_x=log_x)
        invalid += bad
        prepared.append({**s, "x": x, "y": y})
    fig = go.Figure()
    if group and (group.get("name") or group.get("by") in ("tag", "table")):
        _add_groups(fig, prepared, group, metrics, scatter_type(sum(len(s["y"]) for s in prepared)), x_axis)
    else:
        drawn = thin(prepared)
        scatter = scatter_type(sum(len(s["y"]) for s in drawn))
        for s in drawn:
            label = s["metric"] if per_metric else transforms.experiment_label(s["exp"], legend)
            name = label if len(metrics) == 1 or per_metric else f"{label} · {s['metric']}"
            dash = "solid" if per_metric else DASHES[metrics.index(s["metric"]) % len(DASHES)]
            fig.add_trace(scatter(
                x=compact(s["x"]), y=s["y"].astype(np.float32), mode="lines" if len(s["y"]) > 1 else "markers",
                name=plotly_text(name), meta=s["exp"]["key"], marker={"color": experiment_color(s["exp"]), "size": 7},
                line={"color": experiment_color(s["exp"]), "width": 1.5, "dash": dash},
                hovertemplate=f"<b>{plotly_text(label)}</b><br>{plotly_text(s['metric'])}: %{{y:{D3}}}<br>"
                              f"{plotly_text(X_AXES.get(x_axis, x_label or x_axis))}: {_x_hover(x_axis)}"
                              "<extra></extra>",
            ))
    base_layout(fig, title)
    fig.update_layout(**legend_layout(sum(1 for t in fig.data if t.showlegend is not False), show_legend))
    fig.update_xaxes(title=plotly_text(x_label or X_AXES.get(x_axis, x_axis)),
                     type="date" if x_axis == "wall" else ("log" if log_x else None))
    fig.update_yaxes(title=plotly_text(metrics[0]) if len(metrics) == 1 else None, type="log" if log_y else None)
    if outliers == "ignore":
        rng = outlier_range([s["y"] for s in prepared], log=log_y)
        if rng:
            fig.update_yaxes(range=rng)
    return note_invalid(fig, invalid)


def _x_hover(x_axis: str) -> str:
    """The x of a hover label: dates as Plotly writes them, steps and epochs whole, the rest to 4 digits."""
    if x_axis == "wall":
        return "%{x}"
    return "%{x}" if x_axis in ("step", "epoch") else f"%{{x:{D3}}}"


def _add_groups(fig: go.Figure, prepared: list[dict], group: dict, metrics: list[str], scatter,
                x_axis: str = "step") -> None:
    buckets: dict[tuple[str, str], list[dict]] = {}
    for s in prepared:
        label = grouping.group_label(s["exp"], group.get("by", "param"), group.get("name"))
        buckets.setdefault((label, s["metric"]), []).append(s)
    stat, band = group.get("stat", "mean"), group.get("band", "minmax")
    for i, ((label, metric), members) in enumerate(sorted(buckets.items())):
        result = grouping.group_stats([(m["x"], m["y"]) for m in members], stat, band)
        color = experiment_color(members[0]["exp"]) if len(buckets) == 1 else _group_color(i)
        name = plotly_text(f"{label} ({len(members)})" if len(metrics) == 1 else f"{label} · {metric} ({len(members)})")
        if result["lower"] is not None and len(result["x"]):
            fig.add_trace(scatter(
                x=np.concatenate([result["x"], result["x"][::-1]]),
                y=np.concatenate([result["upper"], result["lower"][::-1]]),
                fill="toself", fillcolor=_rgba(color, 0.18), line={"width": 0}, hoverinfo="skip",
                showlegend=False, legendgroup=name, name=f"{name} band",
            ))
        fig.add_trace(scatter(
            x=result["x"], y=result["y"], mode="lines", name=name, legendgroup=name,
            line={"color": color, "width": 2, "dash": DASHES[metrics.index(metric) % len(DASHES)]},
            hovertemplate=f"<b>{plotly_text(label)}</b> ({stat} of {len(members)})<br>%{{y:{D3}}}<br>"
                          f"{_x_hover(x_axis)}<extra></extra>",
        ))


def _group_color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _rgba(color: str, alpha: float) -> str:
    c = color.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    if len(c) != 6:
        return f"rgba(100,100,100,{alpha})"
    r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def zoom_range(relayout, log_x: bool = False) -> list[float] | None:
    """The zoomed x range of a relayout event in data units, or None for the full range.
    Date axes report their range as date strings (read as UTC, returned as epoch ms, the
    unit of the wall-time axis); a log axis reports log10 of the range."""
    if not isinstance(relayout, dict) or relayout.get("xaxis.autorange"):
        return None
    lo, hi = relayout.get("xaxis.range[0]"), relayout.get("xaxis.range[1]")
    if lo is None and isinstance(relayout.get("xaxis.range"), list) and len(relayout["xaxis.range"]) == 2:
        lo, hi = relayout["xaxis.range"]
    lo, hi = _axis_number(lo), _axis_number(hi)
    if lo is None or hi is None or not lo < hi:
        return None
    if log_x:
        try:
            return [10.0 ** lo, 10.0 ** hi]
        except OverflowError:
            return None
    return [lo, hi]


def _axis_number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when.timestamp() * 1000.0
    return None
