"""CPU, GPU and memory charts from the ``sys.*`` metrics the SDK logs."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.charts.metric_lines import Series, figure

GROUPS = [
    ("cpu", "CPU utilization (%)", ("sys.cpu",)),
    ("gpu", "GPU", ("sys.gpu",)),
    ("memory", "Memory", ("sys.ram", "sys.memory", "sys.load", "sys.proc")),
]


def group_names(names: list[str]) -> dict[str, list[str]]:
    """The sys.* metric names per chart group; unknown sys.* names go to the memory/other group."""
    out: dict[str, list[str]] = {key: [] for key, _t, _p in GROUPS}
    for name in sorted(names):
        if not name.startswith("sys."):
            continue
        for key, _title, prefixes in GROUPS:
            if name.startswith(prefixes):
                out[key].append(name)
                break
        else:
            out["memory"].append(name)
    return {k: v for k, v in out.items() if v}


def figures(series: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[tuple[str, go.Figure]]:
    """One chart per non-empty group; x is wall time (epoch seconds -> datetime)."""
    out = []
    groups = group_names(list(series))
    for key, title, _prefixes in GROUPS:
        names = groups.get(key)
        if not names:
            continue
        lines = []
        for name in names:
            x, y = series[name]
            lines.append(Series(name, np.asarray(x, dtype="datetime64[s]") if x.dtype.kind == "f" else x, y))
        fig, _invalid = figure(lines, title=title, x_axis="wall", height=280)
        out.append((key, fig))
    return out
