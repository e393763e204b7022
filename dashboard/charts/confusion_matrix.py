"""Comet's confusion-matrix JSON -> a heatmap (counts, % by row or % by column).

Rows are the actual categories, columns the predicted ones. ``selected`` (a list of labels or
indices) restricts the categories; otherwise a matrix with more than 25 categories shows the
25 most confused ones (largest off-diagonal totals).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from dashboard.charts.text import plotly_text

MAX_CATEGORIES = 25
CELL_MODES = {"counts": ("Blues", "count"), "row": ("Greens", "% of row"), "column": ("YlOrBr", "% of column")}


@dataclass
class ConfusionMatrix:
    title: str
    labels: list[str]
    matrix: np.ndarray  # counts, rows = actual, columns = predicted
    row_label: str
    column_label: str
    samples: list | None  # sampleMatrix restricted like labels, or None
    example_type: str | None
    indices: list[int]  # positions of the shown categories in the logged matrix


def parse(doc: dict) -> ConfusionMatrix:
    matrix = np.asarray(doc.get("matrix") or [], dtype=float)
    n = matrix.shape[0] if matrix.ndim == 2 else 0
    if n == 0 or matrix.shape != (n, n):
        raise ValueError("confusion matrix must be a non-empty square matrix")
    labels = [str(x) for x in (doc.get("labels") or range(n))]
    if len(labels) != n:
        labels = [str(i) for i in range(n)]
    return ConfusionMatrix(str(doc.get("title") or "Confusion Matrix"), labels, matrix,
                           str(doc.get("rowLabel") or "Actual Category"),
                           str(doc.get("columnLabel") or "Predicted Category"),
                           doc.get("sampleMatrix"), doc.get("type"), list(range(n)))


def most_confused(matrix: np.ndarray, limit: int = MAX_CATEGORIES) -> list[int]:
    """Indices of the ``limit`` categories with the most off-diagonal counts (kept in order)."""
    off = matrix.sum(axis=0) + matrix.sum(axis=1) - 2 * np.diag(matrix)
    top = np.argsort(-off, kind="stable")[:limit]
    return sorted(int(i) for i in top)


def restrict(cm: ConfusionMatrix, selected: list | None = None, limit: int = MAX_CATEGORIES) -> ConfusionMatrix:
    """The matrix on the chosen categories: ``selected`` if given, else the most confused."""
    if selected:
        by_label = {label: i for i, label in enumerate(cm.labels)}
        idx = []
        for item in selected:
            if isinstance(item, int) and 0 <= item < len(cm.labels):
                idx.append(item)
            elif str(item) in by_label:
                idx.append(by_label[str(item)])
        idx = sorted(set(idx))[:limit] or list(range(min(limit, len(cm.labels))))
    elif len(cm.labels) > limit:
        idx = most_confused(cm.matrix, limit)
    else:
        return cm
    samples = None
    if cm.samples:
        try:
            samples = [[cm.samples[r][c] for c in idx] for r in idx]
        except (IndexError, TypeError):
            samples = None
    return ConfusionMatrix(cm.title, [cm.labels[i] for i in idx], cm.matrix[np.ix_(idx, idx)], cm.row_label,
                           cm.column_label, samples, cm.example_type, [cm.indices[i] for i in idx])


def percentages(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(% of each row, % of each column), 0 where the row/column is empty."""
    rows = matrix.sum(axis=1, keepdims=True)
    cols = matrix.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        by_row = np.where(rows > 0, matrix / rows * 100.0, 0.0)
        by_col = np.where(cols > 0, matrix / cols * 100.0, 0.0)
    return by_row, by_col


def display_labels(cm: ConfusionMatrix) -> list[str]:
    """The category labels as the heatmap shows them (and as click events report them)."""
    return [plotly_text(label) for label in cm.labels]


def figure(cm: ConfusionMatrix, mode: str = "counts") -> go.Figure:
    colorscale, label = CELL_MODES.get(mode, CELL_MODES["counts"])
    by_row, by_col = percentages(cm.matrix)
    z = {"counts": cm.matrix, "row": by_row, "column": by_col}.get(mode, cm.matrix)
    text = [[(f"{v:g}" if mode == "counts" else f"{v:.1f}%") for v in row] for row in z]
    custom = np.dstack([cm.matrix, by_row, by_col])
    n = len(cm.labels)
    labels = display_labels(cm)
    row_label, column_label = plotly_text(cm.row_label), plotly_text(cm.column_label)
    fig = go.Figure(go.Heatmap(
        z=z, x=labels, y=labels, colorscale=colorscale, customdata=custom, text=text,
        texttemplate="%{text}" if n <= 25 else None, showscale=False, xgap=1, ygap=1,
        hovertemplate=(f"{row_label}: %{{y}}<br>{column_label}: %{{x}}<br>count %{{customdata[0]:d}}"
                       "<br>%{customdata[1]:.1f}% of row<br>%{customdata[2]:.1f}% of column<extra></extra>"),
    ))
    fig.update_layout(
        title={"text": f"{plotly_text(cm.title)} ({label})", "font": {"size": 14}},
        xaxis={"title": column_label, "type": "category", "side": "top", "tickangle": -45 if n > 10 else 0},
        yaxis={"title": row_label, "type": "category", "autorange": "reversed"},
        margin={"l": 80, "r": 20, "t": 90, "b": 20}, height=max(360, min(900, 60 + 28 * n)),
    )
    return fig


def cell_examples(cm: ConfusionMatrix, row: int, col: int) -> list[dict]:
    """The examples logged for one cell: dicts with index, sample and assetId (may be empty)."""
    if not cm.samples:
        return []
    try:
        cell = cm.samples[row][col]
    except (IndexError, TypeError):
        return []
    out = []
    for ex in cell or []:
        if isinstance(ex, dict):
            out.append({"index": ex.get("index"), "sample": ex.get("sample"), "assetId": ex.get("assetId")})
        elif isinstance(ex, (int, float, str)):
            out.append({"index": ex, "sample": str(ex), "assetId": None})
    return out
