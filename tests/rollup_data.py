"""Metric data for rollup tests, shared by the SQLite and PostgreSQL suites."""
from __future__ import annotations

import uuid

import numpy as np

from dashboard.auth import Actor
from dashboard.db import Database
from dashboard.services import ingest


def values_with_specials(n: int, seed: int = 3) -> list:
    """Random values with NaN, +/-Inf, a block (128..191) without a valid point and a spike
    of 50.0 at index 300 (n > 300)."""
    rng = np.random.default_rng(seed)
    vals: list = rng.normal(0, 1, n).round(6).tolist()
    vals[5] = "NaN"
    vals[70] = "Infinity"
    vals[71] = "-Infinity"
    vals[130:200] = ["NaN"] * 70
    vals[300] = 50.0
    return vals


def log_batches(db: Database, actor: Actor, key: str | None, sizes: list[int], values: list) -> str:
    """Logs ``values`` of metric "loss" (step = index) in batches of the given sizes, to a new
    experiment of project "rollup" when ``key`` is None; returns the experiment key."""
    with db.session() as s:
        if key is None:
            key = ingest.start_experiment(s, actor, None, "rollup")[0].key
    at = 0
    for size in sizes:
        chunk = values[at:at + size]
        with db.session() as s:
            ingest.apply_batch(s, actor, key, {"batch_id": uuid.uuid4().hex, "metric_columns": [
                {"name": "loss", "value": chunk, "step": list(range(at, at + len(chunk))),
                 "epoch": [i // 100 for i in range(at, at + len(chunk))],
                 "timestamp": [1.7e9 + i for i in range(at, at + len(chunk))]}]})
        at += len(chunk)
    return key
