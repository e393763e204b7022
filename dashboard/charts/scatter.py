"""Scatter panel: one point per experiment, a metric or parameter against another."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.charts import transforms
from dashboard.charts.style import base_layout, empty_figure, experiment_color, note_invalid
from dashboard.charts.text import plotly_text

TRANSFORM_LABELS = {"none": "last", "last": "last", "first": "first", "min": "min", "max": "max",
                    "smoothing": "smoothed", "moving_average": "moving average", "log": "last"}


def axis_title(name: str, transform: str, is_param: bool) -> str:
    return name if is_param else f"{name} ({TRANSFORM_LABELS.get(transform, transform)})"


def scatter_figure(rows: list[dict], *, x_title: str, y_title: str, title: str = "", legend: str = "name",
                   log_x: bool = False, log_y: bool = False, outliers: str = "show",
                   invalid: int = 0) -> go.Figure:
    """``rows``: ``[{"exp": {...}, "x": float, "y": float}]``. Points with a non-finite
    coordinate are skipped and counted as invalid; points a log axis can't show are left out."""
    kept = []
    for r in rows:
        x, y = r.get("x"), r.get("y")
        if x is None or y is None:
            continue
        if not (np.isfinite(x) and np.isfinite(y)):
            invalid += 1
            continue
        if (log_x and x <= 0) or (log_y and y <= 0):
            continue
        kept.append(r)
    if not kept:
        return empty_figure("No experiments have both values")
    labels = [plotly_text(transforms.experiment_label(r["exp"], legend)) for r in kept]
    fig = go.Figure(go.Scatter(
        x=np.array([r["x"] for r in kept], dtype=np.float64), y=np.array([r["y"] for r in kept], dtype=np.float64),
        mode="markers", marker={"color": [experiment_color(r["exp"]) for r in kept], "size": 9,
                                "line": {"width": 0.5, "color": "#333"}},
        customdata=[r["exp"]["key"] for r in kept], hovertext=labels,
        hovertemplate="<b>%{hovertext}</b><br>x: %{x}<br>y: %{y}<extra></extra>",
    ))
    base_layout(fig, title, showlegend=False)
    fig.update_xaxes(title=plotly_text(x_title), type="log" if log_x else None)
    fig.update_yaxes(title=plotly_text(y_title), type="log" if log_y else None)
    if outliers == "ignore" and len(kept) >= 10:
        for axis, key, log in (("x", "x", log_x), ("y", "y", log_y)):
            vals = np.array([r[key] for r in kept])
            vals = np.log10(vals) if log else vals
            lo, hi = np.percentile(vals, [1, 99])
            pad = (hi - lo) * 0.05 or 1.0
            getattr(fig, f"update_{axis}axes")(range=[lo - pad, hi + pad])
    return note_invalid(fig, invalid)
