"""Parallel coordinates: parameters and metrics as axes, the right-most the target variable.

The figure is a Plotly figure whose one trace, a parcoords trace, is the chart's spec: the
server code, the brush protocol (a parcoords ``restyleData``) and the tests speak Plotly's
format. Plotly does not draw it (the trace is ``visible: False``; Plotly draws the frame: title
and notes): ``assets/parcoords.js`` draws it with Apache ECharts, in SVG. Plotly's parcoords is
WebGL only, and on a browser without a GPU each one costs about 0.7 s of the page's main
thread to set up and draw, where ECharts draws 1,000 lines in about 40 ms.

Lines are colored by the target. Categorical (non-numeric) parameters become integer codes
with their names as tick labels. Positive values spanning two decades or more (or an axis
set to "log") are drawn as log10 with ticks that name the real values: Plotly's parcoords has
no log axis. ``brushed_keys`` maps the axes' constraint ranges back to experiment keys; the
ranges kept and queried are always in real values (``constraint_updates`` converts what
Plotly sends for a log axis, ``parcoords_figure`` converts back when drawing).
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from dashboard.charts.numbers import D3, fmt, tidy
from dashboard.charts.style import base_layout, empty_figure, note_invalid
from dashboard.charts.text import plotly_text

MAX_TICKS = 30
LOG_DECADES = 2  # positive values spanning this many decades get a log axis automatically
SCALES = ("auto", "log", "linear")
# Lines drawn at most: above this an even sample is drawn (10,000 lines take about 0.25 s to
# draw and make a solid block), on axes that span every experiment, and a brush still selects
# among all of them (``brushed_keys`` reads every row).
MAX_LINES = 1_000
RENDERER = "halley-parcoords"  # the trace's meta.renderer: assets/parcoords.js draws the trace


def _as_number(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _numeric_column(raw: list) -> np.ndarray | None:
    """The column as floats (None/"" -> NaN), or None when some value is text."""
    try:
        return np.array([np.nan if v is None or v == "" else v for v in raw], dtype=np.float64)
    except (TypeError, ValueError):
        return None


def wants_log(values: np.ndarray, scale: str = "auto") -> bool:
    """A log axis: asked for ("log"), or automatic for positive values spanning >= 2 decades.
    Values a log axis can't show (<= 0) keep the axis linear."""
    if scale == "linear" or values.size == 0 or not np.all(values > 0):
        return False
    return scale == "log" or math.log10(float(values.max()) / float(values.min())) >= LOG_DECADES


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Tick positions (log10 units) and labels (real values) for a log axis from ``lo`` to ``hi``
    (real values): each decade, with 2 and 5 in between when there are few decades."""
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    steps = (1, 2, 5) if b - a <= 3 else (1,)
    if b - a > 8:  # no more than ~8 labels on a short axis
        stride = math.ceil((b - a) / 8)
        decades = range(a, b + 1, stride)
    else:
        decades = range(a, b + 1)
    vals, text = [], []
    for d in decades:
        for m in steps:
            v = m * 10.0 ** d
            if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9):
                vals.append(math.log10(v))
                text.append(fmt(tidy(v)))
    if len(vals) < 2:  # a range inside one decade step: label its ends
        vals, text = [math.log10(lo), math.log10(hi)], [fmt(lo), fmt(hi)]
    return vals, text


def category_ticks(cats: list[str]) -> tuple[list[int], list[str]]:
    """Every category named when they fit, else an evenly spaced subset (hover can't tell them here)."""
    if len(cats) <= MAX_TICKS:
        return list(range(len(cats))), cats
    picks = np.unique(np.linspace(0, len(cats) - 1, MAX_TICKS).round().astype(int))
    return [int(i) for i in picks], [cats[i] for i in picks]


def build_dimensions(rows: list[dict], axes: list[str],
                     scales: dict | None = None) -> tuple[list[dict], np.ndarray, int]:
    """Turn per-experiment values into Plotly dimensions.

    ``rows``: ``[{"exp": {...}, "values": {axis: number | str | None}}]``. An experiment is
    kept only when it has a value on every axis; a NaN/Inf value drops it and counts as invalid.
    ``scales`` maps an axis to "log" or "linear" (else automatic, see ``wants_log``).
    Returns (dimensions, indices of the kept rows, invalid count). Each dimension dict has
    ``label``, ``values`` (real values), ``log`` and, for categorical axes, ``tickvals``/
    ``ticktext`` and ``categories``.
    """
    scales = scales or {}
    keep = np.ones(len(rows), dtype=bool)
    bad = np.zeros(len(rows), dtype=bool)
    columns = []
    for axis in axes:
        raw = [r["values"].get(axis) for r in rows]
        keep &= np.array([v is not None and v != "" for v in raw], dtype=bool)
        columns.append((axis, raw, _numeric_column(raw)))
    for _, raw, nums in columns:
        if nums is not None:
            bad |= np.array([v is not None and v != "" for v in raw], dtype=bool) & ~np.isfinite(nums)
    invalid = int((keep & bad).sum())
    keep &= ~bad
    idx = np.flatnonzero(keep)
    dims = []
    for axis, raw, nums in columns:
        if nums is not None:
            values = nums[idx]
            dims.append({"label": axis, "values": values, "log": wants_log(values, scales.get(axis, "auto"))})
            continue
        texts = [str(raw[i]) for i in idx]
        cats = sorted(set(texts), key=lambda c: (_as_number(c) is None, _as_number(c) or 0, c))
        code = {c: k for k, c in enumerate(cats)}
        tickvals, ticktext = category_ticks(cats)
        dims.append({"label": axis, "values": np.array([code[t] for t in texts], dtype=np.float64),
                     "categories": cats, "log": False, "tickvals": tickvals, "ticktext": ticktext})
    return dims, idx, invalid


def label_room(length: int, many: bool) -> int:
    """The height slanted axis labels of ``length`` characters need above the chart: the room the
    longest label allowed takes (60 px at -40 degrees, 40 at -25), scaled by the height of a
    slanted line of text, so short names such as ``p00`` leave no empty band."""
    limit, room, size, angle = (14, 60, 10, 40) if many else (22, 40, 12, 25)
    def height(n):  # a line of n characters (0.6 em wide each) slanted by angle, plus its own height
        return n * 0.6 * size * math.sin(math.radians(angle)) + size * math.cos(math.radians(angle))
    return math.ceil(room * height(min(length, limit)) / height(limit))


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[:limit - 1] + "…"


def is_range(rng) -> bool:
    """A constraint range: [lo, hi] or a list of them, finite numbers (it may come from the browser)."""
    if not isinstance(rng, list) or not rng:
        return False
    ranges = rng if isinstance(rng[0], list) else [rng]
    return len(ranges) <= 20 and all(
        isinstance(r, list) and len(r) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                     and math.isfinite(v) for v in r) for r in ranges)


def _to_log_range(rng, lowest: float):
    """A real-valued constraint range (or list of them) in log10 units; values a log axis can't
    hold (<= 0) become its lowest value."""
    ranges = rng if rng and isinstance(rng[0], (list, tuple)) else [rng]
    out = [[math.log10(max(float(lo), lowest)), math.log10(max(float(hi), lowest))] for lo, hi in ranges]
    return out if ranges is rng else out[0]


def parcoords_figure(rows: list[dict], axes: list[str], *, title: str = "", constraints: dict | None = None,
                     invalid: int = 0, colorscale: str = "Viridis", labels: dict | None = None,
                     scales: dict | None = None) -> go.Figure:
    """``axes`` in display order; the last one is the target that colors the lines.
    ``constraints`` maps an axis name to its constraint range in real values (kept when the
    figure is rebuilt); ``labels`` gives axes a display name; ``scales`` an axis' scale (see
    ``build_dimensions``). Axis labels are user text, so they go through ``plotly_text``;
    category tick labels don't: parcoords draws them as plain text, where an entity would show
    as typed."""
    labels = labels or {}
    if len(axes) < 2:
        return empty_figure("Choose at least two axes")
    dims, idx, bad = build_dimensions(rows, axes, scales)
    invalid += bad
    if idx.size == 0:
        return note_invalid(empty_figure("No experiment has a value on every axis"), invalid)
    drawn = sample_lines(idx.size)
    # Many axes leave each label little room: slant them, and shorten long ones, so neighbours don't overlap.
    many = len(axes) > 8
    slanted = len(axes) > 4
    limit = 14 if many else (22 if slanted else 40)
    plotly_dims = []
    names = [_short(labels.get(d["label"], d["label"]), limit) for d in dims]  # as shown (before escaping)
    for d, name in zip(dims, names):
        values = d["values"]
        lo, hi = float(values.min()), float(values.max())
        pd = {"label": plotly_text(name), "values": values[drawn]}
        if d["log"]:
            tickvals, ticktext = log_ticks(lo, hi)
            pd.update(values=np.log10(values[drawn]), tickvals=tickvals, ticktext=ticktext,
                      range=[math.log10(lo), math.log10(hi)])
        elif "tickvals" in d:
            pd.update(tickvals=d["tickvals"], ticktext=d["ticktext"],  # drawn as plain text by Plotly
                      range=[0, max(len(d["categories"]) - 1, 1)])
        else:
            pd["tickformat"] = D3
            if hi > lo:
                pd["range"] = [lo, hi]
        rng = constraints.get(d["label"]) if isinstance(constraints, dict) else None
        if is_range(rng):
            pd["constraintrange"] = _to_log_range(rng, float(d["values"].min())) if d["log"] else rng
        plotly_dims.append(pd)
    target = plotly_dims[-1]
    colorbar = {"title": {"text": plotly_text(_short(labels.get(axes[-1], axes[-1]), 40)), "side": "right"},
                "thickness": 12}
    if dims[-1]["log"] or "ticktext" in target:
        colorbar.update(tickvals=target["tickvals"], ticktext=target["ticktext"], tickmode="array")
    else:
        colorbar["tickformat"] = D3
    fig = go.Figure(go.Parcoords(
        line={"color": target["values"], "colorscale": get_colorscale(colorscale), "showscale": True,
              "colorbar": colorbar,
              "cmin": target.get("range", [None])[0], "cmax": target.get("range", [None, None])[1]},
        dimensions=plotly_dims, labelangle=(-40 if many else -25) if slanted else 0, labelside="top",
        tickfont={"size": 9 if many else 10}, labelfont={"size": 10 if many else 12},
        visible=False, meta={"renderer": RENDERER, "log": [bool(d["log"]) for d in dims]},
    ))
    base_layout(fig, title, showlegend=False)
    fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False})
    top = 50 + (label_room(max(map(len, names)), many) if slanted else 0) + (10 if title else 0)
    fig.update_layout(margin={"l": 60, "r": 100, "t": top, "b": 30 if drawn.size == idx.size else 44})
    if drawn.size < idx.size:
        fig.add_annotation(text=f"{drawn.size:,} of {idx.size:,} lines drawn; brushing covers all", xref="paper", yref="paper", x=0, y=0,
                           yshift=-26, xanchor="left", yanchor="top", showarrow=False,
                           font={"size": 10, "color": "#6c757d"}, name="sample-note")
    return note_invalid(fig, invalid)


def sample_lines(n: int) -> np.ndarray:
    """Which of ``n`` lines to draw: all of them, or ``MAX_LINES`` evenly spread (the same ones
    every time, so a redraw doesn't shuffle the picture)."""
    if n <= MAX_LINES:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_LINES).round().astype(np.int64))


def _in_ranges(values: np.ndarray, rng) -> np.ndarray:
    """Plotly sends one [lo, hi] or a list of them."""
    if rng is None:
        return np.ones(values.size, dtype=bool)
    ranges = rng if rng and isinstance(rng[0], (list, tuple)) else [rng]
    mask = np.zeros(values.size, dtype=bool)
    for lo, hi in ranges:
        mask |= (values >= lo) & (values <= hi)
    return mask


def brushed_keys(rows: list[dict], axes: list[str], constraints: dict) -> list[str]:
    """Keys of the experiments inside every axis' constraint range (axes by name, real values)."""
    dims, idx, _ = build_dimensions(rows, axes)
    mask = np.ones(idx.size, dtype=bool)
    for d in dims:
        if constraints.get(d["label"]) is not None:
            mask &= _in_ranges(d["values"], constraints[d["label"]])
    return [rows[i]["exp"]["key"] for i in idx[mask]]


def constraints_to_filters(dims: list[dict], constraints: dict) -> list[dict]:
    """Per brushed axis, the value range as ``{"axis", "low", "high"}`` for numeric axes or
    ``{"axis", "values"}`` (the categories inside) for categorical ones."""
    out = []
    for d in dims:
        rng = constraints.get(d["label"])
        if rng is None:
            continue
        ranges = rng if rng and isinstance(rng[0], (list, tuple)) else [rng]
        if "categories" in d:
            codes = np.arange(len(d["categories"]), dtype=np.float64)
            inside = _in_ranges(codes, ranges)
            out.append({"axis": d["label"], "values": [c for c, ok in zip(d["categories"], inside) if ok]})
        else:
            out.append({"axis": d["label"], "low": float(min(r[0] for r in ranges)),
                        "high": float(max(r[1] for r in ranges))})
    return out


def real_range(value):
    """A constraint range (or list of them) Plotly sent for a log axis, back in real values."""
    ranges = value if value and isinstance(value[0], (list, tuple)) else [value]
    try:
        out = [[tidy(10.0 ** float(lo)), tidy(10.0 ** float(hi))] for lo, hi in ranges]
    except (TypeError, ValueError, OverflowError):
        return None
    return out if ranges is value else out[0]


def log_axes(dims: list[dict]) -> set[str]:
    """The axes ``build_dimensions`` drew in log10 units."""
    return {d["label"] for d in dims if d.get("log")}


def constraint_updates(restyle, axes: list[str], logs=()) -> dict:
    """{axis id: range or None} from a parcoords restyle event, in real values: ranges of the
    axes in ``logs`` (drawn as log10) are converted back."""
    out = {}
    if not isinstance(restyle, list) or not restyle or not isinstance(restyle[0], dict):
        return out
    for key, value in restyle[0].items():
        if not key.startswith("dimensions[") or not key.endswith("].constraintrange"):
            continue
        try:
            i = int(key[len("dimensions["):key.index("]")])
        except ValueError:
            continue
        if 0 <= i < len(axes):
            if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list) and value[0] \
                    and isinstance(value[0][0], list):
                value = value[0]  # restyle wraps per-trace values in a list
            if value and isinstance(value, list) and axes[i] in logs:
                value = real_range(value)
            out[axes[i]] = value if value else None
    return out
