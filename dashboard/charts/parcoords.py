"""Parallel coordinates: parameters and metrics as axes, the right-most the target variable.

Lines are colored by the target. Categorical (non-numeric) parameters become integer codes
with their names as tick labels. ``brushed_keys`` maps the axes' constraint ranges (sent by
Plotly when the user brushes) back to experiment keys.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.charts.style import base_layout, empty_figure, note_invalid
from dashboard.charts.text import plotly_text

MAX_TICKS = 30


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


def build_dimensions(rows: list[dict], axes: list[str]) -> tuple[list[dict], np.ndarray, int]:
    """Turn per-experiment values into Plotly dimensions.

    ``rows``: ``[{"exp": {...}, "values": {axis: number | str | None}}]``. An experiment is
    kept only when it has a value on every axis; a NaN/Inf value drops it and counts as invalid.
    Returns (dimensions, indices of the kept rows, invalid count). Each dimension dict has
    ``label``, ``values`` and, for categorical axes, ``tickvals``/``ticktext`` and ``categories``.
    """
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
            dims.append({"label": axis, "values": nums[idx]})
            continue
        texts = [str(raw[i]) for i in idx]
        cats = sorted(set(texts), key=lambda c: (_as_number(c) is None, _as_number(c) or 0, c))
        code = {c: k for k, c in enumerate(cats)}
        dim = {"label": axis, "values": np.array([code[t] for t in texts], dtype=np.float64), "categories": cats}
        if len(cats) <= MAX_TICKS:
            dim.update(tickvals=list(range(len(cats))), ticktext=cats)
        dims.append(dim)
    return dims, idx, invalid


def parcoords_figure(rows: list[dict], axes: list[str], *, title: str = "", constraints: dict | None = None,
                     invalid: int = 0, colorscale: str = "Viridis", labels: dict | None = None) -> go.Figure:
    """``axes`` in display order; the last one is the target that colors the lines.
    ``constraints`` maps an axis name to its constraint range (kept when the figure is rebuilt);
    ``labels`` gives axes a display name. Axis labels are user text, so they go through
    ``plotly_text``; category tick labels don't: parcoords draws them as plain text, where an
    entity would show as typed."""
    labels = labels or {}
    if len(axes) < 2:
        return empty_figure("Choose at least two axes")
    dims, idx, bad = build_dimensions(rows, axes)
    invalid += bad
    if idx.size == 0:
        return note_invalid(empty_figure("No experiment has a value on every axis"), invalid)
    target = dims[-1]["values"]
    plotly_dims = []
    for d in dims:
        pd = {"label": plotly_text(labels.get(d["label"], d["label"])), "values": d["values"]}
        if "tickvals" in d:
            pd.update(tickvals=d["tickvals"], ticktext=d["ticktext"])  # drawn as plain text by Plotly
        if constraints and constraints.get(d["label"]) is not None:
            pd["constraintrange"] = constraints[d["label"]]
        plotly_dims.append(pd)
    # Many axes leave each label little room: slant the labels so neighbours don't overlap.
    slanted = len(axes) > 4
    fig = go.Figure(go.Parcoords(
        line={"color": target, "colorscale": colorscale, "showscale": True,
              "colorbar": {"title": {"text": plotly_text(labels.get(axes[-1], axes[-1])), "side": "right"},
                           "thickness": 12}},
        dimensions=plotly_dims, labelangle=-25 if slanted else 0, labelside="top",
    ))
    base_layout(fig, title, showlegend=False)
    top = 50 + (40 if slanted else 0) + (10 if title else 0)
    fig.update_layout(margin={"l": 60, "r": 70, "t": top, "b": 30})
    return note_invalid(fig, invalid)


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
    """Keys of the experiments inside every axis' constraint range (axes by name)."""
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


def constraint_updates(restyle, axes: list[str]) -> dict:
    """{axis id: range or None} from a parcoords restyle event."""
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
            out[axes[i]] = value if value else None
    return out
