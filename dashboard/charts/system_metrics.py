"""CPU, GPU and memory charts from the ``sys.*`` metrics the SDK logs, one chart per unit."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.charts.line import line_figure
from dashboard.charts.numbers import D3, binary_unit

BYTE_GROUPS = ("memory", "gpu_memory")

GROUPS = [
    ("cpu", "CPU utilization (%)"),
    ("load", "CPU load"),
    ("gpu", "GPU utilization (%)"),
    ("gpu_memory", "GPU memory"),
    ("memory_percent", "Memory used (%)"),
    ("memory", "Memory"),
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
        if percent:
            return "gpu"
        return "gpu_memory" if "memory" in name else "other"  # power (W) and temperature have units of their own
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


def in_binary_unit(lines: list[dict]) -> tuple[list[dict], str]:
    """Byte series scaled to the binary unit (B, KiB, MiB, GiB, ...) of their largest value."""
    ys = [np.asarray(s["y"], dtype=float) for s in lines]
    largest = max((float(np.abs(y[np.isfinite(y)]).max()) for y in ys if np.isfinite(y).any()), default=0.0)
    divisor, unit = binary_unit(largest)
    return [{**s, "y": y / divisor} for s, y in zip(lines, ys)], unit


def figures(series: list[dict]) -> list[tuple[str, go.Figure]]:
    """One chart per non-empty group of ``experiment_page.system_series`` (x: wall time)."""
    out = []
    by_name = {s["metric"]: s for s in series}
    groups = group_names(list(by_name))
    for key, title in GROUPS:
        names = groups.get(key)
        if not names:
            continue
        lines = [by_name[n] for n in names]
        unit = None
        if key in BYTE_GROUPS:
            lines, unit = in_binary_unit(lines)
            title = f"{title} ({unit})"
        fig = line_figure(lines, title=title, x_axis="wall", per_metric=True,
                          show_legend="show" if len(names) > 1 else "hide")
        if unit is not None:
            # Plotly's SI ticks would read 25 GB as "25B": the data is in ``unit`` instead.
            fig.update_yaxes(title_text=unit, tickformat=D3, exponentformat="none")
            fig.update_traces(hovertemplate=f"%{{y:{D3}}} {unit}")
        fig.update_layout(height=260, xaxis_title=None, showlegend=len(names) > 1,
                          legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
                          margin={"t": 60, "b": 30})
        out.append((key, fig))
    return out
