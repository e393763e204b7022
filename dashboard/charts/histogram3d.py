"""Comet's histogram JSON (sparse v2 bins) and the 3D time-series chart of one histogram name.

A histogram file holds ``index_values``: ``[bin_index, count]`` pairs over bin edges that are
rebuilt from ``offset``, ``start``, ``stop`` and ``step`` exactly as comet_ml's
``Histogram.create_bin_values()`` does (a geometric ladder mirrored around ``offset``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go

from dashboard.charts.numbers import D3
from dashboard.charts.text import plotly_text

MAX_DISPLAY_STEPS = 60
DISPLAY_BINS = 40


@lru_cache(maxsize=32)
def bin_edges(offset: float = 0.0, start: float = 1e-12, stop: float = 1e20, step: float = 1.1) -> tuple:
    """The edges [-inf, ..., offset, ..., +inf]; bin i covers [edges[i], edges[i+1])."""
    if not (start > 0 and step > 1 and stop > start):
        raise ValueError("histogram needs start > 0, step > 1 and stop > start")
    below, above = [], []
    v = start
    while offset + v <= stop:
        below.append(offset - v)
        above.append(offset + v)
        v *= step
    return tuple([-math.inf] + below[::-1] + [offset] + above + [math.inf])


@dataclass
class Histogram:
    step: int | None
    centers: np.ndarray  # finite bin centres with a non-zero count
    counts: np.ndarray


def decode(doc: dict, step: int | None = None) -> Histogram:
    """One histogram file -> the non-empty bins (centre, count). Accepts dense ``values`` too."""
    edges = bin_edges(float(doc.get("offset", 0.0)), float(doc.get("start", 1e-12)),
                      float(doc.get("stop", 1e20)), float(doc.get("step", 1.1)))
    n_bins = len(edges) - 1
    if doc.get("index_values") is not None:
        pairs = [(int(i), float(c)) for i, c in doc["index_values"] if 0 <= int(i) < n_bins and c]
    elif doc.get("values") is not None:
        pairs = [(i, float(c)) for i, c in enumerate(doc["values"][:n_bins]) if c]
    else:
        pairs = []
    centers, counts = [], []
    for i, c in pairs:
        lo, hi = edges[i], edges[i + 1]
        if math.isinf(lo):
            lo = hi
        if math.isinf(hi):
            hi = lo
        centers.append((lo + hi) / 2.0)
        counts.append(c)
    order = np.argsort(centers) if centers else []
    return Histogram(step, np.asarray(centers, dtype=float)[order], np.asarray(counts, dtype=float)[order])


def pick_steps(histograms: list[Histogram], limit: int = MAX_DISPLAY_STEPS) -> list[Histogram]:
    """At most ``limit`` histograms spread evenly over the steps, always keeping first and last."""
    items = sorted(histograms, key=lambda h: (h.step is None, h.step or 0))
    if len(items) <= limit:
        return items
    idx = np.unique(np.linspace(0, len(items) - 1, limit).round().astype(int))
    return [items[i] for i in idx]


def rebin(histograms: list[Histogram], n_bins: int = DISPLAY_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Common display bins over the range every histogram covers: (centres, counts[step, bin])."""
    nonempty = [h for h in histograms if h.centers.size]
    if not nonempty:
        return np.zeros(0), np.zeros((len(histograms), 0))
    lo = min(float(h.centers.min()) for h in nonempty)
    hi = max(float(h.centers.max()) for h in nonempty)
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, n_bins + 1)
    grid = np.zeros((len(histograms), n_bins))
    for row, h in enumerate(histograms):
        if h.centers.size:
            idx = np.clip(np.searchsorted(edges, h.centers, side="right") - 1, 0, n_bins - 1)
            np.add.at(grid[row], idx, h.counts)
    return (edges[:-1] + edges[1:]) / 2.0, grid


def figure(name: str, histograms: list[Histogram], height: int = 380, show_title: bool = True) -> go.Figure:
    """One 3D chart: a filled-looking line per step, the earliest step at the back."""
    shown = pick_steps(histograms)
    centers, grid = rebin(shown)
    xs, ys, zs, colors = [], [], [], []
    for row, h in enumerate(shown):
        step = h.step if h.step is not None else row
        xs += list(centers) + [None]
        ys += [step] * len(centers) + [None]
        zs += list(grid[row]) + [None]
        colors += [step] * len(centers) + [step]
    fig = go.Figure(go.Scatter3d(
        x=xs, y=ys, z=zs, mode="lines", connectgaps=False,
        line={"color": colors, "colorscale": "Viridis", "width": 3},
        # trimmed: a count of 31 reads "31", not "31.00"
        hovertemplate=f"value %{{x:{D3}}}<br>step %{{y}}<br>count %{{z:{D3}}}<extra></extra>",
    ))
    fig.update_layout(
        title={"text": plotly_text(name) if show_title else "", "font": {"size": 14}}, height=height,
        margin={"l": 0, "r": 0, "t": 36 if show_title else 0, "b": 0},
        scene={"xaxis": {"title": "value"}, "yaxis": {"title": "step"},
               "zaxis": {"title": "count"}, "camera": {"eye": {"x": 1.6, "y": 1.6, "z": 0.9}}},
        showlegend=False,
    )
    return fig
