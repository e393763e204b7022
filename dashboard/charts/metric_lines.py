"""Line charts of metric series: smoothing, downsampling, outlier handling and colors.

Series arrive as numpy arrays; a chart never ships more than ``MAX_POINTS`` points per line
(MinMaxLTTB keeps each bucket's extremes). NaN/Inf points are dropped from the line and
reported through ``invalid_count`` so the UI can say "Some invalid values were ignored".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from dashboard.charts import transforms
from dashboard.charts.downsample import MAX_POINTS, downsample
from dashboard.charts.line import outlier_range
from dashboard.charts.text import plotly_text

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]
X_AXES = {"step": "Step", "epoch": "Epoch", "duration": "Duration (s)", "wall": "Wall time"}


@dataclass
class Series:
    name: str
    x: np.ndarray
    y: np.ndarray


def smooth(y: np.ndarray, weight: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's smoothing); weight clipped to [0, 0.999]."""
    return transforms.ema(y, float(min(max(weight or 0.0, 0.0), 0.999)))


def finite(series: Series) -> tuple[Series, int]:
    ok = np.isfinite(series.y.astype(float))
    if series.x.dtype.kind == "f":
        ok &= np.isfinite(series.x)
    return Series(series.name, series.x[ok], series.y[ok]), int((~ok).sum())


def color_for(name: str, index: int, colors: dict | None) -> str:
    return (colors or {}).get(name) or PALETTE[index % len(PALETTE)]


def figure(series: list[Series], *, title: str = "", x_axis: str = "step", smoothing: float = 0.0,
           ignore_outliers: bool = False, colors: dict | None = None, color_index: dict | None = None,
           height: int = 300) -> tuple[go.Figure, int]:
    """The chart and how many invalid (NaN/Inf) points were left out."""
    fig = go.Figure()
    invalid = 0
    shown_y = []
    for i, raw in enumerate(series):
        s, bad = finite(raw)
        invalid += bad
        y = smooth(s.y.astype(float), smoothing)
        x, y = downsample(s.x, y)
        shown_y.append(y)
        idx = (color_index or {}).get(s.name, i)
        color = color_for(s.name, idx, colors)
        # A single point has no line to draw: show it as a marker.
        fig.add_trace(go.Scattergl(x=x, y=y, mode="lines" if len(x) > 1 else "markers",
                                   name=plotly_text(s.name),
                                   line={"color": color, "width": 2}, marker={"color": color, "size": 8}))
    fig.update_layout(
        title={"text": plotly_text(title), "font": {"size": 14}}, height=height, margin={"l": 50, "r": 10, "t": 40, "b": 40},
        xaxis={"title": X_AXES.get(x_axis, "Step")}, legend={"orientation": "h", "y": -0.25},
        showlegend=len(series) > 1, hovermode="x unified", template="plotly_white",
    )
    if ignore_outliers:
        rng = outlier_range(shown_y)
        if rng:
            fig.update_yaxes(range=rng)
    return fig, invalid
