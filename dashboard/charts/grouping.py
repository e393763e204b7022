"""Grouping experiments (e.g. runs that differ only by seed) into one line per group with a band.

Series of a group rarely share the same x values (different lengths, downsampled
differently), so each is linearly interpolated onto a common grid within its own x range;
outside its range a series does not count towards the group.
"""
from __future__ import annotations

import numpy as np

STATS = ("mean", "median", "min", "max")
BANDS = ("none", "minmax", "std", "sem")
NO_VALUE = "(none)"


def group_label(exp: dict, by: str, name: str | None) -> str:
    """The group an experiment belongs to: the value of parameter ``name``, or its tags, or
    (``by="table"``) its group in the experiment table, read beforehand into ``exp["group"]``."""
    if by == "table":
        return exp.get("group") or NO_VALUE
    if by == "tag":
        tags = sorted(exp.get("tags") or [])
        if name:
            return name if name in tags else f"not {name}"
        return ", ".join(tags) or "(no tags)"
    value = (exp.get("params") or {}).get(name)
    return NO_VALUE if value is None or value == "" else str(value)


def common_grid(xs: list[np.ndarray], n_max: int = 2000) -> np.ndarray:
    """The union of the x values, or ``n_max`` evenly spaced points when that is larger."""
    xs = [np.asarray(x, dtype=np.float64) for x in xs if len(x)]
    if not xs:
        return np.array([], dtype=np.float64)
    grid = np.unique(np.concatenate(xs))
    if grid.size > n_max:
        grid = np.linspace(grid[0], grid[-1], n_max)
    return grid


def stack_on_grid(grid: np.ndarray, series: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """A (n_series, len(grid)) matrix of interpolated values, NaN outside each series' range."""
    out = np.full((len(series), grid.size), np.nan)
    for i, (x, y) in enumerate(series):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        mask = np.isfinite(x) & np.isfinite(y)
        x, y = x[mask], y[mask]
        if x.size == 0:
            continue
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
        inside = (grid >= x[0]) & (grid <= x[-1])
        out[i, inside] = np.interp(grid[inside], x, y)
    return out


def group_stats(series: list[tuple[np.ndarray, np.ndarray]], stat: str = "mean", band: str = "minmax",
                n_max: int = 2000) -> dict:
    """The center line and band of a group of series.

    Returns ``{"x", "y", "lower", "upper", "n"}`` (arrays over the common grid; ``n`` is the
    number of series present at each x). ``band="none"`` gives lower = upper = None.
    """
    if stat not in STATS or band not in BANDS:
        raise ValueError(f"unknown group statistic {stat!r} or band {band!r}")
    grid = common_grid([s[0] for s in series], n_max)
    values = stack_on_grid(grid, series)
    n = np.sum(np.isfinite(values), axis=0)
    keep = n > 0
    grid, values, n = grid[keep], values[:, keep], n[keep]
    with np.errstate(invalid="ignore"):
        center = {"mean": np.nanmean, "median": np.nanmedian, "min": np.nanmin, "max": np.nanmax}[stat](
            values, axis=0) if values.size else np.array([])
        lower = upper = None
        if band == "minmax" and values.size:
            lower, upper = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        elif band in ("std", "sem") and values.size:
            mean = np.nanmean(values, axis=0)
            spread = np.nanstd(values, axis=0)
            if band == "sem":
                spread = spread / np.sqrt(n)
            lower, upper = mean - spread, mean + spread
    return {"x": grid, "y": center, "lower": lower, "upper": upper, "n": n}
