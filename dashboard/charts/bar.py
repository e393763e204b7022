"""Bar panel: one bar per experiment, the height an aggregation of a metric's values."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.charts import transforms
from dashboard.charts.numbers import D3
from dashboard.charts.style import base_layout, empty_figure, experiment_color, note_invalid
from dashboard.charts.text import plotly_text

MAX_NAMED_BARS = 12
# Bars drawn at most: 10,000 bars are 0.06 px each in a panel and take seconds to draw, so a
# panel over more experiments shows the first ones (the most recent) and says so.
MAX_BARS = 500
AGGREGATION_LABELS = {"count": "Count", "sum": "Sum", "average": "Average", "median": "Median", "mode": "Mode",
                      "rms": "RMS", "std": "Standard deviation"}


def bar_figure(rows: list[dict], *, metric: str, aggregation: str = "sum", title: str = "", legend: str = "name",
               invalid: int = 0, total: int | None = None) -> go.Figure:
    """``rows``: ``[{"exp": {...}, "value": float}]`` (already aggregated by the service, which
    counts invalid values skipped into ``invalid``) for at most ``MAX_BARS`` experiments of
    ``total`` visible ones. Experiments without a finite value are left out."""
    rows = [r for r in rows if r["value"] is not None and np.isfinite(r["value"])]
    if not rows:
        return empty_figure(f"No values of {metric} for the visible experiments")
    labels = [plotly_text(transforms.experiment_label(r["exp"], legend)) for r in rows]
    fig = go.Figure(go.Bar(
        x=[r["exp"]["key"] for r in rows], y=np.array([r["value"] for r in rows], dtype=np.float64),
        marker={"color": [experiment_color(r["exp"]) for r in rows]},
        customdata=[r["exp"]["key"] for r in rows], hovertext=labels,
        hovertemplate=f"<b>%{{hovertext}}</b><br>%{{y:{D3}}}<extra></extra>",
    ))
    base_layout(fig, title, showlegend=False)
    # Names fit under a dozen bars; beyond that they would hide the chart, so hover tells them.
    named = len(rows) <= MAX_NAMED_BARS
    if total is not None and total > MAX_BARS:
        shown = f"Latest {MAX_BARS:,} of {total:,} experiments"
    else:
        shown = "Experiment" if named else f"{len(rows)} experiments (hover for names)"
    fig.update_xaxes(title=shown,
                     tickmode="array", tickvals=[r["exp"]["key"] for r in rows], ticktext=labels, type="category",
                     showticklabels=named)
    fig.update_yaxes(title=plotly_text(f"{AGGREGATION_LABELS.get(aggregation, aggregation)} of {metric}"))
    return note_invalid(fig, invalid)
