"""A 3D scene (log_points_3d): its points, colored as logged, and its boxes as outlines."""
from __future__ import annotations

import plotly.graph_objects as go

from dashboard.charts.style import PALETTE, base_layout
from dashboard.charts.text import plotly_text


def _rgb(values, fallback: str) -> str:
    try:
        r, g, b = (max(0, min(255, int(v))) for v in values[:3])
    except (TypeError, ValueError):
        return fallback
    return f"rgb({r},{g},{b})"


def figure(points: list, boxes: list, *, points_cut: bool = False) -> go.Figure:
    fig = go.Figure()
    if points:
        colored = all(len(p) >= 6 for p in points)
        fig.add_trace(go.Scatter3d(
            x=[p[0] for p in points], y=[p[1] for p in points], z=[p[2] for p in points], mode="markers",
            name=f"{len(points):,} points", hoverinfo="x+y+z",
            marker={"size": 2, "color": [_rgb(p[3:6], PALETTE[0]) for p in points] if colored else PALETTE[0]}))
    for i, box in enumerate(boxes):
        xs, ys, zs = [], [], []
        for segment in box.get("segments") or []:
            try:
                (x0, y0, z0), (x1, y1, z1) = segment[0][:3], segment[1][:3]
            except (TypeError, ValueError, IndexError):
                continue
            xs += [x0, x1, None]
            ys += [y0, y1, None]
            zs += [z0, z1, None]
        label = box.get("name") or box.get("label") or f"box {i + 1}"
        fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", name=plotly_text(str(label)[:80]),
                                   line={"color": _rgb(box.get("color") or [], PALETTE[3]), "width": 4},
                                   hoverinfo="name"))
    base_layout(fig, showlegend=bool(boxes))
    fig.update_layout(height=560, margin={"l": 0, "r": 0, "t": 30, "b": 0},
                      scene={"aspectmode": "data", "xaxis_title": "x", "yaxis_title": "y", "zaxis_title": "z"})
    if points_cut:
        fig.add_annotation(text=f"The first {len(points):,} points are drawn (a random sample: they are logged shuffled)",
                           xref="paper", yref="paper", x=0, y=1.04, showarrow=False, font={"size": 11})
    return fig
