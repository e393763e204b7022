"""Look and feel shared by the project panels: experiment colors, layout, the invalid-values note."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from dashboard.charts.text import plotly_text

# Run colors, handed out by each experiment's order in its project (``Experiment.color_index``).
# A Glasbey-style pick in CIELAB: the first five are the familiar plotly/tab10 ones, each next
# one the farthest (CIEDE2000) from those before and from white, among colors with 2.5:1
# contrast on white. Any two differ by a CIEDE2000 of 19 or more (tab20's light/dark pairs: ~10).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#4b3c00", "#780046", "#00b4b4",
           "#006455", "#b9a000", "#0500cd", "#c8969b", "#f50a87", "#917355", "#692814", "#464164",
           "#376400", "#8ca0eb", "#8c5f6e", "#ff64f5")
INVALID_NOTE = "Some invalid values were ignored"

# How many points a chart draws as SVG before it switches to WebGL. SVG draws a line trace as one
# path, so even 400,000 points draw in about 0.4 s, where WebGL costs seconds to set up on a
# browser without a GPU and a page keeps only 16 WebGL contexts (older charts go blank beyond).
# Markers are one SVG node each, so WebGL pays off sooner for them.
SVG_LINE_POINTS = 400_000
SVG_MARKER_POINTS = 5_000


def scatter_type(points: int, *, markers: bool = False) -> type[go.Scatter] | type[go.Scattergl]:
    """``go.Scatter`` (SVG) for a chart of ``points`` points in all, ``go.Scattergl`` above the budget."""
    return go.Scattergl if points > (SVG_MARKER_POINTS if markers else SVG_LINE_POINTS) else go.Scatter


def palette_color(index: int) -> str:
    """The palette's color for the ``index``-th experiment of a project (it wraps after 20)."""
    return PALETTE[index % len(PALETTE)]


def experiment_color(exp: Mapping[str, Any] | Any) -> str:
    """What color an experiment is drawn in, everywhere: the color a user picked, else the
    palette color of its order in its project, else (a row from before it had an order) one
    derived from its key. ``exp`` is a dict or an object with ``color``, ``color_index``, ``key``."""
    get = exp.get if isinstance(exp, Mapping) else (lambda name: getattr(exp, name, None))
    if get("color"):
        return get("color")
    index = get("color_index")
    if isinstance(index, int) and not isinstance(index, bool) and index >= 0:
        return palette_color(index)
    digest = hashlib.sha1(str(get("key") or "").encode()).digest()
    return palette_color(digest[0])


def base_layout(fig: go.Figure, title: str | None = None, *, showlegend: bool = True) -> go.Figure:
    """Shared layout; ``title`` is user text (a panel or metric name) and is shown literally."""
    fig.update_layout(
        title={"text": plotly_text(title or ""), "x": 0.01, "font": {"size": 14}},
        # room for the usual tick labels and axis titles: Plotly's automargin, finding them wider
        # than the margins, draws the whole chart a second time (that doubles a panel's cost)
        margin={"l": 60, "r": 20, "t": 40 if title else 28, "b": 56},
        template="plotly_white",
        showlegend=showlegend,
        legend={"font": {"size": 10}},
        hovermode="closest",
        uirevision=plotly_text(title) if title else "panel",
    )
    return fig


def note_invalid(fig: go.Figure, invalid: int) -> go.Figure:
    """Add the "Some invalid values were ignored" note when any value was skipped."""
    if invalid:
        fig.add_annotation(text=INVALID_NOTE, xref="paper", yref="paper", x=0, y=1.01, xanchor="left",
                           yanchor="bottom", showarrow=False, font={"size": 11, "color": "#b35c00"},
                           name="invalid-note")
    return fig


def empty_figure(message: str) -> go.Figure:
    """A blank figure with ``message`` in the middle (shown literally; it may hold a metric name)."""
    fig = go.Figure()
    fig.add_annotation(text=plotly_text(message), xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font={"size": 13, "color": "#6c757d"})
    fig.update_layout(template="plotly_white", xaxis={"visible": False}, yaxis={"visible": False},
                      margin={"l": 20, "r": 20, "t": 20, "b": 20})
    return fig
