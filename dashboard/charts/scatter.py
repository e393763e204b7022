"""Scatter panel: one point per experiment, a metric or parameter (numeric or categorical) against another."""
from __future__ import annotations

import hashlib

import numpy as np
import plotly.graph_objects as go

from dashboard.charts import transforms
from dashboard.charts.numbers import D3, fmt
from dashboard.charts.parcoords import category_ticks
from dashboard.charts.style import base_layout, empty_figure, experiment_color, note_invalid, scatter_type
from dashboard.charts.text import plotly_text

JITTER = 0.3  # how far (in category widths, each side) points of one category spread
TRANSFORM_LABELS = {"none": "last", "last": "last", "first": "first", "min": "min", "max": "max",
                    "smoothing": "smoothed", "moving_average": "moving average", "log": "last"}


def axis_title(name: str, transform: str, is_param: bool) -> str:
    return name if is_param else f"{name} ({TRANSFORM_LABELS.get(transform, transform)})"


def _is_text(value) -> bool:
    return isinstance(value, str)


def _numbers_where_all_are(rows: list[dict]) -> list[dict]:
    """Rows with the text values of an axis read as numbers when every value there is one
    (parameters logged as "0.1"), so only a truly categorical axis becomes one."""
    out = rows
    for k in ("x", "y"):
        texts = [r.get(k) for r in out if _is_text(r.get(k)) and r.get(k) != ""]
        if not texts:
            continue
        try:
            [float(t) for t in texts]
        except ValueError:
            continue
        out = [{**r, k: float(r[k])} if _is_text(r.get(k)) and r.get(k) != "" else r for r in out]
    return out


def _category_order(names: set[str]) -> list[str]:
    """Numbers-as-text by value first, then the rest alphabetically (as parallel coordinates)."""
    def key(c):
        try:
            return (0, float(c), c)
        except ValueError:
            return (1, 0.0, c)
    return sorted(names, key=key)


def jitter(key: str, width: float = JITTER) -> float:
    """A stable offset in [-width, width] from the experiment key, so points of one category
    spread out the same way on every redraw."""
    digest = hashlib.sha1(key.encode()).digest()
    return (int.from_bytes(digest[:4], "big") / 0xFFFFFFFF * 2 - 1) * width


def _name(value) -> str:
    return value if isinstance(value, str) else fmt(float(value))


def scatter_figure(rows: list[dict], *, x_title: str, y_title: str, title: str = "", legend: str = "name",
                   log_x: bool = False, log_y: bool = False, outliers: str = "show",
                   invalid: int = 0) -> go.Figure:
    """``rows``: ``[{"exp": {...}, "x": float | str, "y": float | str}]``. Each point's customdata is
    its experiment key, then its category names on categorical axes. Points with a non-finite
    coordinate are skipped and counted as invalid; points a log axis can't show are left out.
    An axis with text values (a categorical parameter) places each category at an integer,
    spreads its points by a small jitter and names the categories as ticks (numbers on that
    axis become category names too)."""
    rows = _numbers_where_all_are(rows)
    kept = []
    for r in rows:
        x, y = r.get("x"), r.get("y")
        if x is None or y is None or x == "" or y == "":
            continue
        if not all(_is_text(v) or np.isfinite(v) for v in (x, y)):
            invalid += 1
            continue
        if (log_x and not _is_text(x) and x <= 0) or (log_y and not _is_text(y) and y <= 0):
            continue
        kept.append(r)
    if not kept:
        return empty_figure("No experiments have both values")
    categorical = {k: any(_is_text(r[k]) for r in kept) for k in ("x", "y")}
    coords, cats = {}, {}
    for k in ("x", "y"):
        if categorical[k]:
            cats[k] = _category_order({_name(r[k]) for r in kept})
            code = {c: i for i, c in enumerate(cats[k])}
            coords[k] = np.array([code[_name(r[k])] + jitter(r["exp"]["key"] + k) for r in kept], dtype=np.float64)
        else:
            coords[k] = np.array([r[k] for r in kept], dtype=np.float64)
    # One trace per color: a trace draws its points in one color, where a color per point is
    # parsed point by point in the browser (a fifth of a 10,000-point chart's drawing). The
    # largest groups are drawn first, so the few runs in a color of their own (one a user
    # picked to make it stand out) stay on top.
    by_color: dict[str, list[int]] = {}
    for i, r in enumerate(kept):
        by_color.setdefault(experiment_color(r["exp"]), []).append(i)
    by_color = dict(sorted(by_color.items(), key=lambda item: -len(item[1])))
    trace = scatter_type(len(kept), markers=True)
    named = [k for k in ("x", "y") if categorical[k]]  # axes whose hover shows the category's name
    hover = "<b>%{hovertext}</b>" + "".join(
        f"<br>{plotly_text(t)}: " + (f"%{{customdata[{1 + named.index(k)}]}}" if k in named else f"%{{{k}:{D3}}}")
        for k, t in (("x", x_title), ("y", y_title)))
    fig = go.Figure()
    for color, idx in by_color.items():
        fig.add_trace(trace(
            x=coords["x"][idx], y=coords["y"][idx], mode="markers", showlegend=False,
            marker={"color": color, "size": 9, "line": {"width": 0.5, "color": "#333"}},
            customdata=[[kept[i]["exp"]["key"], *(plotly_text(_name(kept[i][k])) for k in named)] for i in idx],
            hovertext=[plotly_text(transforms.experiment_label(kept[i]["exp"], legend)) for i in idx],
            hovertemplate=hover + "<extra></extra>",
        ))
    base_layout(fig, title, showlegend=False)
    for axis, k, log, axis_title in (("x", "x", log_x, x_title), ("y", "y", log_y, y_title)):
        update = getattr(fig, f"update_{axis}axes")
        if categorical[k]:
            tickvals, ticktext = category_ticks(cats[k])
            update(title=plotly_text(axis_title), tickmode="array", tickvals=tickvals,
                   ticktext=[plotly_text(t) for t in ticktext], range=[-0.5, len(cats[k]) - 0.5], zeroline=False)
        else:
            update(title=plotly_text(axis_title), type="log" if log else None)
    if outliers == "ignore" and len(kept) >= 10:
        for axis, key, log in (("x", "x", log_x), ("y", "y", log_y)):
            if categorical[key]:
                continue
            vals = coords[key]
            vals = np.log10(vals) if log else vals
            lo, hi = np.percentile(vals, [1, 99])
            pad = (hi - lo) * 0.05 or 1.0
            getattr(fig, f"update_{axis}axes")(range=[lo - pad, hi + pad])
    return note_invalid(fig, invalid)
