"""Server-side downsampling: charts never ship more than about 2,000 points per series.

``downsample`` uses tsdownsample's MinMaxLTTB (Rust, numpy in and out): it first keeps the
min and max of ``minmax_ratio * n_out`` buckets, then picks ``n_out`` of those with LTTB,
so a single spike survives. ``lttb`` alone serves data the database already reduced to
bucket minima and maxima (see dashboard.services.panels).
"""
from __future__ import annotations

import numpy as np
from tsdownsample import LTTBDownsampler, MinMaxLTTBDownsampler

MAX_POINTS = 2000


def _sorted_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x)
    y = np.asarray(y, dtype=np.float64)
    if x.size > 1 and np.any(np.diff(x) < 0):
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    return x, y


def _x_for_rust(x: np.ndarray) -> np.ndarray:
    if x.dtype.kind in "iuf":
        return np.ascontiguousarray(x)
    if x.dtype.kind == "M":
        return np.ascontiguousarray(x.astype("datetime64[ns]").astype(np.int64))
    return np.ascontiguousarray(x.astype(np.float64))


def indices(x, y, n_out: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``n_out`` points of (x, y) chosen by MinMaxLTTB (x sorted ascending)."""
    y = np.asarray(y, dtype=np.float64)
    if y.size <= n_out:
        return np.arange(y.size)
    return MinMaxLTTBDownsampler().downsample(_x_for_rust(np.asarray(x)), np.ascontiguousarray(y),
                                              n_out=max(n_out, 4))


def lttb_indices(x, y, n_out: int = MAX_POINTS) -> np.ndarray:
    """Indices chosen by plain LTTB (x sorted ascending)."""
    y = np.asarray(y, dtype=np.float64)
    if y.size <= n_out:
        return np.arange(y.size)
    return LTTBDownsampler().downsample(_x_for_rust(np.asarray(x)), np.ascontiguousarray(y), n_out=max(n_out, 3))


def downsample(x, y, n_out: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``n_out`` points of (x, y), sorted by x, keeping the visual extremes.

    Invalid y values must be removed first (``transforms.finite_xy``).
    """
    x, y = _sorted_xy(x, y)
    if y.size <= n_out:
        return x, y
    idx = indices(x, y, n_out)
    return x[idx], y[idx]


def lttb(x, y, n_out: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Plain LTTB, for points that were already reduced to bucket minima and maxima."""
    x, y = _sorted_xy(x, y)
    if y.size <= n_out:
        return x, y
    idx = lttb_indices(x, y, n_out)
    return x[idx], y[idx]
