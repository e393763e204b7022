"""Project panel benchmark: server time, payload and memory of line, bar, scatter and
parallel-coordinates panels at scale.

    .venv/bin/python benchmarks/panels.py [--home DIR] [--runs 100] [--steps 100000] [--sweep 10000]

Workloads (written through the ingest service's batch path, one batch per run):
- line: ``--runs`` experiments x ``--steps`` steps of one metric, each with one spike;
- parallel coordinates: ``--sweep`` experiments x 15 axes (10 parameters, 5 metrics);
- bar (sum and median) and scatter over the same ``--sweep`` experiments.
"Cold" is the first request with an empty panel cache, "cached" the same request again,
"zoom" a 2,000-step range re-read at full resolution. Times include building the figure and
serialising it to JSON; payload is that JSON's size. Peak memory is the Python allocations'
peak during a cold request (tracemalloc, measured in a separate untimed run).
With ``--home`` pointing at an existing database the data is reused.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import plotly.utils

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.auth import Actor  # noqa: E402
from dashboard.db import Database, migrate  # noqa: E402
from dashboard.services import accounts, ingest, panels, projects, workspaces  # noqa: E402

USER = "bench"


def populate_line(db: Database, actor: Actor, runs: int, steps: int) -> None:
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    for r in range(runs):
        values = np.exp(-np.arange(steps) / (steps / 5)) + rng.normal(0, 0.02, steps)
        values[rng.integers(steps)] = 5.0  # one spike per run
        stamps = 1.7e9 + np.arange(steps) * 0.01
        batch = {"batch_id": f"line{r}", "metrics": [
            {"name": "loss", "value": v, "step": s, "epoch": s // 1000, "timestamp": t}
            for s, v, t in zip(range(steps), values.tolist(), stamps.tolist())]}
        with db.session() as s:
            exp, _ = ingest.start_experiment(s, actor, USER, "line", name=f"run-{r}")
            ingest.apply_batch(s, actor, exp.key, batch)
    print(f"populated line: {runs} x {steps} points in {time.perf_counter() - t0:.1f} s")


def populate_sweep(db: Database, actor: Actor, n: int) -> None:
    rng = np.random.default_rng(2)
    t0 = time.perf_counter()
    optimizers = ["sgd", "adam", "adamw", "rmsprop"]
    for i in range(n):
        params = [{"name": f"p{j}", "value": float(rng.uniform(0, 10 ** (j % 4)))} for j in range(9)]
        params.append({"name": "optimizer", "value": optimizers[i % 4]})
        metrics = [{"name": f"m{j}", "value": float(rng.normal(j, 1)), "step": 0} for j in range(4)]
        metrics += [{"name": "loss", "value": float(v), "step": s} for s, v in enumerate(rng.exponential(1, 10))]
        with db.session() as s:
            exp, _ = ingest.start_experiment(s, actor, USER, "sweep", name=f"trial-{i}")
            ingest.apply_batch(s, actor, exp.key, {"batch_id": f"sweep{i}", "parameters": params, "metrics": metrics})
    print(f"populated sweep: {n} experiments x 15 values in {time.perf_counter() - t0:.1f} s")


def measure(db: Database, actor: Actor, project_name: str, panel: dict, cache, *, x_range=None) -> tuple[float, int]:
    t0 = time.perf_counter()
    with db.session() as s:
        project = projects.get_readable(s, actor, USER, project_name)
        fig = panels.panel_figure(s, actor, project, None, panel, x_range=x_range, cache=cache)
        payload = json.dumps(fig.to_plotly_json(), cls=plotly.utils.PlotlyJSONEncoder)
    return time.perf_counter() - t0, len(payload)


def peak_memory(db, actor, project_name, panel, cache_dir, x_range=None) -> float:
    shutil.rmtree(cache_dir / "panels", ignore_errors=True)
    panels._caches.clear()
    cache = panels.open_cache(cache_dir)
    tracemalloc.start()
    measure(db, actor, project_name, panel, cache, x_range=x_range)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2 ** 20


def report(label: str, db, actor, project_name: str, panel: dict, cache_dir: Path, x_range=None) -> None:
    shutil.rmtree(cache_dir / "panels", ignore_errors=True)
    panels._caches.clear()
    cache = panels.open_cache(cache_dir)
    cold, size = measure(db, actor, project_name, panel, cache, x_range=x_range)
    cached = min(measure(db, actor, project_name, panel, cache, x_range=x_range)[0] for _ in range(3))
    peak = peak_memory(db, actor, project_name, panel, cache_dir, x_range)
    print(f"{label:<44} cold {cold * 1000:8.0f} ms   cached {cached * 1000:6.0f} ms   "
          f"payload {size / 1024:8.0f} KiB   peak {peak:6.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--sweep", type=int, default=10_000)
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="halley-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{home / 'halley.db'}"
    migrate(url)
    db = Database(url)
    with db.session() as s:
        ws = workspaces.find_by_name(s, USER)
        if ws is None:
            accounts.create_user(s, USER, "bench@example.org", "bench-password")
        user = accounts.authenticate(s, USER, "bench-password")
        actor = Actor(user_id=user.id, username=user.username)
        fresh = ws is None
    if fresh:
        populate_line(db, actor, args.runs, args.steps)
        populate_sweep(db, actor, args.sweep)
    cache_dir = home / "cache"
    cache_dir.mkdir(exist_ok=True)
    print(f"home {home}")
    line_panel = {"type": "line", "metrics": ["loss"], "x": "step"}
    report(f"line {args.runs} runs x {args.steps} steps", db, actor, "line", line_panel, cache_dir)
    mid = args.steps // 2
    report("line zoomed to 2,000 steps", db, actor, "line", line_panel, cache_dir, x_range=[mid, mid + 2000])
    report("line, smoothing 0.8, x = wall time", db, actor, "line",
           {**line_panel, "smoothing": 0.8, "x": "wall"}, cache_dir)
    axes = [f"param:p{j}" for j in range(9)] + ["param:optimizer"] + [f"metric:m{j}" for j in range(4)] + ["metric:loss"]
    report(f"parallel coordinates {args.sweep} x {len(axes)} axes", db, actor, "sweep",
           {"type": "parcoords", "axes": axes}, cache_dir)
    report(f"bar sum over {args.sweep} experiments", db, actor, "sweep",
           {"type": "bar", "metric": "loss", "aggregation": "sum"}, cache_dir)
    report(f"bar median over {args.sweep} experiments", db, actor, "sweep",
           {"type": "bar", "metric": "loss", "aggregation": "median"}, cache_dir)
    report(f"scatter over {args.sweep} experiments", db, actor, "sweep",
           {"type": "scatter", "xAxis": {"source": "param", "name": "p1"},
            "yAxis": {"source": "metric", "name": "loss", "transform": "min"}}, cache_dir)
    with db.session() as s:
        project = projects.get_readable(s, actor, USER, "line")
        fig = panels.panel_figure(s, actor, project, None, line_panel, cache=panels.open_cache(cache_dir))
        spikes = sum(1 for t in fig.data if np.max(t.y) == 5.0)
        print(f"line traces with their spike kept after downsampling: {spikes}/{len(fig.data)}; "
              f"points per trace <= {max(len(t.y) for t in fig.data)}")


if __name__ == "__main__":
    main()
