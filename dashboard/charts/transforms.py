"""Series transforms and aggregations shared by every chart.

All functions take numpy arrays and skip invalid values (NaN, +/-Inf) instead of failing;
the ones that drop values report how many, so a panel can say "Some invalid values were
ignored".
"""
from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

AGGREGATIONS = ("count", "sum", "average", "median", "mode", "rms", "std")
REDUCTIONS = ("first", "last", "min", "max")
AXIS_TRANSFORMS = ("none", "smoothing", "moving_average", "log", "first", "last", "min", "max")


def as_float(values) -> np.ndarray:
    """A float64 array; None becomes NaN."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        return values.astype(np.float64, copy=False)
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def finite(values) -> tuple[np.ndarray, int]:
    """The finite values and how many were NaN or +/-Inf."""
    arr = as_float(values)
    mask = np.isfinite(arr)
    return arr[mask], int(arr.size - mask.sum())


def finite_xy(x, y) -> tuple[np.ndarray, np.ndarray, int]:
    """Points whose y (and numeric x) are finite, and how many were dropped."""
    x = np.asarray(x)
    y = as_float(y)
    mask = np.isfinite(y)
    if x.dtype.kind == "f":
        mask &= np.isfinite(x)
    return x[mask], y[mask], int(y.size - mask.sum())


def ema(values, weight: float) -> np.ndarray:
    """Exponential moving average with TensorBoard's debiasing (as Comet smooths).

    ``s_i = w * s_{i-1} + (1 - w) * v_i`` starting from 0, divided by ``1 - w**(i+1)`` so the
    first points are not pulled towards zero. ``weight`` is in [0, 1); 0 returns the input.
    Invalid values must be removed first (see ``finite``).
    """
    v = as_float(values)
    w = float(weight)
    if not 0 <= w < 1:
        raise ValueError("smoothing weight must be in [0, 1)")
    if w == 0 or v.size == 0:
        return v.copy()
    raw = lfilter([1.0 - w], [1.0, -w], v)
    debias = 1.0 - w ** np.arange(1, v.size + 1)
    return raw / debias


def moving_average(values, window: int) -> np.ndarray:
    """Trailing mean over ``window`` points; the first points average what is available."""
    v = as_float(values)
    window = max(1, int(window))
    if v.size == 0 or window == 1:
        return v.copy()
    csum = np.cumsum(np.concatenate(([0.0], v)))
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(idx - window, 0)
    return (csum[idx] - csum[lo]) / (idx - lo)


def for_log_axis(x, y) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop the points a log axis cannot show (y <= 0) and say how many were dropped."""
    x = np.asarray(x)
    y = as_float(y)
    mask = y > 0
    return x[mask], y[mask], int(y.size - mask.sum())


def reduce(values, how: str, steps=None) -> float:
    """first / last / min / max of the finite values (NaN when there are none).

    With ``steps`` the first and last are by step order, else by position.
    """
    v = as_float(values)
    mask = np.isfinite(v)
    if not mask.any():
        return float("nan")
    if how in ("first", "last"):
        v = v[mask]
        if steps is not None:
            order = np.argsort(np.asarray(steps)[mask], kind="stable")
            v = v[order]
        return float(v[0] if how == "first" else v[-1])
    if how == "min":
        return float(v[mask].min())
    if how == "max":
        return float(v[mask].max())
    raise ValueError(f"unknown reduction {how!r}")


def mode(values) -> float:
    """The most frequent value; ties go to the smallest."""
    uniq, counts = np.unique(values, return_counts=True)
    return float(uniq[np.argmax(counts)])


def aggregate(values, how: str) -> tuple[float, int]:
    """Aggregate the finite values; returns (result, number of invalid values skipped).

    ``std`` is the population standard deviation (ddof=0). An empty input gives NaN, except
    ``count`` and ``sum`` which give 0.
    """
    v, bad = finite(values)
    if how == "count":
        return float(v.size), bad
    if how == "sum":
        return float(v.sum()), bad
    if v.size == 0:
        return float("nan"), bad
    if how == "average":
        return float(v.mean()), bad
    if how == "median":
        return float(np.median(v)), bad
    if how == "mode":
        return mode(v), bad
    if how == "rms":
        return float(np.sqrt(np.mean(v * v))), bad
    if how == "std":
        return float(v.std()), bad
    raise ValueError(f"unknown aggregation {how!r}")


def axis_value(steps, values, transform: str = "last", *, smoothing: float = 0.0, window: int = 1) -> float:
    """One number for a scatter axis from a series: min/max/first/last, or the final value
    of the smoothed or moving-averaged series. ``log`` and ``none`` take the last value (the
    log is applied by the axis)."""
    steps = np.asarray(steps) if steps is not None else None
    v = as_float(values)
    mask = np.isfinite(v)
    if steps is not None and steps.size == v.size:
        order = np.argsort(steps[mask], kind="stable")
        v = v[mask][order]
    else:
        v = v[mask]
    if v.size == 0:
        return float("nan")
    if transform in ("first", "min", "max"):
        return reduce(v, transform)
    if transform == "smoothing":
        return float(ema(v, smoothing)[-1])
    if transform == "moving_average":
        return float(moving_average(v, window)[-1])
    return float(v[-1])


def experiment_label(exp: dict, legend: str = "name") -> str:
    """The legend / hover text of an experiment: its name (falling back to the key) or key."""
    if legend == "key":
        return exp["key"]
    return exp.get("name") or exp["key"]
