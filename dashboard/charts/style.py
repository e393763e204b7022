"""Look and feel shared by the project panels: experiment colors, layout, the invalid-values note."""
from __future__ import annotations

import hashlib

import plotly.graph_objects as go

from dashboard.charts.text import plotly_text

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#3366cc", "#dc3912", "#109618", "#990099", "#0099c6", "#dd4477")
INVALID_NOTE = "Some invalid values were ignored"


def experiment_color(exp: dict) -> str:
    """The experiment's own color, else a stable palette color derived from its key."""
    if exp.get("color"):
        return exp["color"]
    digest = hashlib.sha1(exp["key"].encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def base_layout(fig: go.Figure, title: str | None = None, *, showlegend: bool = True) -> go.Figure:
    """Shared layout; ``title`` is user text (a panel or metric name) and is shown literally."""
    fig.update_layout(
        title={"text": plotly_text(title or ""), "x": 0.01, "font": {"size": 14}},
        margin={"l": 50, "r": 20, "t": 40 if title else 28, "b": 40},
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
