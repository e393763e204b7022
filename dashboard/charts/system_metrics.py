"""CPU, GPU and memory charts from the ``sys.*`` metrics the SDK logs, one chart per unit."""
from __future__ import annotations

import plotly.graph_objects as go

from dashboard.charts.line import line_figure

GROUPS = [
    ("cpu", "CPU utilization (%)"),
    ("load", "CPU load"),
    ("gpu", "GPU utilization (%)"),
    ("gpu_memory", "GPU memory"),
    ("memory_percent", "Memory used (%)"),
    ("memory", "Memory (bytes)"),
    ("other", "Other system metrics"),
]


def group_of(name: str) -> str | None:
    if not name.startswith("sys."):
        return None
    percent = "percent" in name or "util" in name
    if name.startswith("sys.cpu"):
        return "cpu"
    if name.startswith("sys.load"):
        return "load"
    if name.startswith("sys.gpu"):
        return "gpu" if percent else "gpu_memory"
    if name.startswith(("sys.ram", "sys.memory")):
        return "memory_percent" if percent else "memory"
    return "other"


def group_names(names: list[str]) -> dict[str, list[str]]:
    """The sys.* metric names per chart (same unit in one chart)."""
    out: dict[str, list[str]] = {}
    for name in sorted(names):
        group = group_of(name)
        if group:
            out.setdefault(group, []).append(name)
    return out


def figures(series: list[dict]) -> list[tuple[str, go.Figure]]:
    """One chart per non-empty group of ``experiment_page.system_series`` (x: wall time)."""
    out = []
    by_name = {s["metric"]: s for s in series}
    groups = group_names(list(by_name))
    for key, title in GROUPS:
        names = groups.get(key)
        if not names:
            continue
        fig = line_figure([by_name[n] for n in names], title=title, x_axis="wall", per_metric=True,
                          show_legend="show" if len(names) > 1 else "hide")
        fig.update_layout(height=260, xaxis_title=None, showlegend=len(names) > 1,
                          legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
                          margin={"t": 60, "b": 30})
        out.append((key, fig))
    return out
