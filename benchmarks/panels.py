"""Project panel benchmark: server time, payload and memory of line, bar, scatter and
parallel-coordinates panels at scale, compared with MLflow on the same data.

    .venv/bin/python benchmarks/panels.py [--home DIR] [--runs 100] [--steps 100000] [--sweep 10000] [--no-mlflow]
    .venv/bin/python benchmarks/panels.py --postgres --no-mlflow   # Halley on a throwaway PostgreSQL cluster
    .venv/bin/python benchmarks/panels.py --database-url postgresql://USER@HOST/DB --no-mlflow

Workloads (written through the ingest service's batch path, one batch per run):
- line: ``--runs`` experiments x ``--steps`` steps of one metric, each with one spike;
- parallel coordinates: ``--sweep`` experiments x 15 axes (10 parameters, 5 metrics);
- bar (sum and median) and scatter over the same ``--sweep`` experiments.
"Cold" is the first request with an empty panel cache, "cached" the same request again,
"zoom" a 2,000-step range re-read at full resolution. Times include building the figure and
serialising it to JSON; payload is that JSON's size. Peak memory is the Python allocations'
peak during a cold request (tracemalloc, measured in a separate untimed run).
With ``--home`` pointing at an existing database (or ``--database-url`` at one) the data is reused.
MLflow's store stays SQLite whichever database Halley is measured on.

MLflow (when importable, MLflow 3 from the ``bench`` extra; ``--no-mlflow`` skips it): the
same points and sweep in an MLflow SQLite store (``HOME/mlflow.db``, reused with ``--home``).
Runs and experiments are created with ``MlflowClient``; their metric, latest-metric and
parameter rows are then bulk-inserted into MLflow's own tables in one transaction (logging
10 M points through ``log_batch`` takes about 15 minutes) and checked back through
``MlflowClient``. Measured in this process, as Halley is:
- the handler of ``GET /ajax-api/2.0/mlflow/metrics/get-history-bulk-interval``, which
  MLflow's UI calls to draw a metric chart over runs (server-side sampling to ``max_results``
  points per run, at most 100 runs a request), JSON response included: at 2,000 points per
  run like Halley's line, and over the zoomed step range;
- ``MlflowClient.get_metric_history`` per run (the full history, no sampling), timed on
  ``--mlflow-history-runs`` runs and scaled to all of them;
- the handler of ``POST /ajax-api/2.0/mlflow/runs/search`` for the sweep's runs (parameters
  and latest metrics, what MLflow's parallel-coordinates, scatter and bar charts draw from).
``--mlflow-full`` adds the UI's default of 320 points per run and times every run's history.
MLflow caches no results, so its "repeat" is the same request recomputed on a warm store;
its sampled read over 10 M points takes minutes, so it is repeated once and its peak memory
is not traced.
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import tracemalloc
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.utils

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import database  # noqa: E402  (benchmarks/database.py: SQLite, --postgres or --database-url)

from dashboard.auth import Actor  # noqa: E402
from dashboard.db import Database, migrate  # noqa: E402
from dashboard.services import accounts, ingest, panels, projects, workspaces  # noqa: E402

USER = "bench"
OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop"]
SWEEP_T0 = 1_700_000_000_000  # MLflow timestamp (ms) of the sweep's points


@dataclass
class Timing:
    label: str
    cold: float
    warm: float
    payload: int | None = None
    peak: float | None = None
    load: float = 0.0


# --- data ----------------------------------------------------------------------------------

def line_series(runs: int, steps: int):
    """``(run, values, timestamps in s)`` of the line workload, the same on every call."""
    rng = np.random.default_rng(1)
    for r in range(runs):
        values = np.exp(-np.arange(steps) / (steps / 5)) + rng.normal(0, 0.02, steps)
        values[rng.integers(steps)] = 5.0  # one spike per run
        stamps = 1.7e9 + np.arange(steps) * 0.01
        yield r, values, stamps


def sweep_trials(n: int):
    """``(trial, parameters, metrics)`` of the sweep workload, the same on every call."""
    rng = np.random.default_rng(2)
    for i in range(n):
        params = [{"name": f"p{j}", "value": float(rng.uniform(0, 10 ** (j % 4)))} for j in range(9)]
        params.append({"name": "optimizer", "value": OPTIMIZERS[i % 4]})
        metrics = [{"name": f"m{j}", "value": float(rng.normal(j, 1)), "step": 0} for j in range(4)]
        metrics += [{"name": "loss", "value": float(v), "step": s} for s, v in enumerate(rng.exponential(1, 10))]
        yield i, params, metrics


def populate_line(db: Database, actor: Actor, runs: int, steps: int) -> None:
    t0 = time.perf_counter()
    for r, values, stamps in line_series(runs, steps):
        batch = {"batch_id": f"line{r}", "metrics": [
            {"name": "loss", "value": v, "step": s, "epoch": s // 1000, "timestamp": t}
            for s, v, t in zip(range(steps), values.tolist(), stamps.tolist())]}
        with db.session() as s:
            exp, _ = ingest.start_experiment(s, actor, USER, "line", name=f"run-{r}")
            ingest.apply_batch(s, actor, exp.key, batch)
    print(f"populated line: {runs} x {steps} points in {time.perf_counter() - t0:.1f} s")


def populate_sweep(db: Database, actor: Actor, n: int) -> None:
    t0 = time.perf_counter()
    for i, params, metrics in sweep_trials(n):
        with db.session() as s:
            exp, _ = ingest.start_experiment(s, actor, USER, "sweep", name=f"trial-{i}")
            ingest.apply_batch(s, actor, exp.key, {"batch_id": f"sweep{i}", "parameters": params, "metrics": metrics})
    print(f"populated sweep: {n} experiments x 15 values in {time.perf_counter() - t0:.1f} s")


# --- Halley --------------------------------------------------------------------------------

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


def print_timing(t: Timing, warm_label: str) -> None:
    payload = f"{t.payload / 1024:8.0f} KiB" if t.payload is not None else f"{'n/a':>12}"
    peak = f"{t.peak:6.0f} MiB" if t.peak is not None else f"{'n/a':>10}"
    print(f"{t.label:<58} cold {t.cold * 1000:8.0f} ms   {warm_label} {t.warm * 1000:7.0f} ms   "
          f"payload {payload}   peak {peak}", flush=True)


def report(label: str, db, actor, project_name: str, panel: dict, cache_dir: Path, x_range=None) -> Timing:
    load = os.getloadavg()[0]
    shutil.rmtree(cache_dir / "panels", ignore_errors=True)
    panels._caches.clear()
    cache = panels.open_cache(cache_dir)
    cold, size = measure(db, actor, project_name, panel, cache, x_range=x_range)
    cached = min(measure(db, actor, project_name, panel, cache, x_range=x_range)[0] for _ in range(3))
    peak = peak_memory(db, actor, project_name, panel, cache_dir, x_range)
    t = Timing(label, cold, cached, size, peak, load)
    print_timing(t, "cached")
    return t


# --- MLflow --------------------------------------------------------------------------------

class MLflowStore:
    """The benchmark's data in an MLflow SQLite store under the benchmark home."""

    def __init__(self, home: Path, runs: int, steps: int, sweep: int):
        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)  # no migration chatter
        self.path = home / "mlflow.db"
        self.artifacts = (home / "mlflow-artifacts").as_uri()
        self.runs, self.steps, self.sweep = runs, steps, sweep
        if self.path.exists() and not self._matches():
            print(f"{self.path} holds another workload: loading it again")
            self.path.unlink()
        if not self.path.exists():
            self._populate()
        self.uri = f"sqlite:///{self.path}"
        client = MlflowClient(tracking_uri=self.uri)
        self.line_ids = self._run_ids(client, "line")
        self.sweep_id = client.get_experiment_by_name("sweep").experiment_id

    def _matches(self) -> bool:
        from mlflow.tracking import MlflowClient

        exp = MlflowClient(tracking_uri=f"sqlite:///{self.path}").get_experiment_by_name("line")
        want = {"bench.runs": str(self.runs), "bench.steps": str(self.steps), "bench.sweep": str(self.sweep)}
        return exp is not None and all(exp.tags.get(k) == v for k, v in want.items())

    @staticmethod
    def _run_ids(client, experiment: str) -> list[str]:
        """The experiment's run ids in creation order (run-0, run-1, ...)."""
        from mlflow.entities import ViewType

        exp = client.get_experiment_by_name(experiment)
        runs, token = [], None
        while True:
            page = client.search_runs([exp.experiment_id], run_view_type=ViewType.ACTIVE_ONLY,
                                      max_results=1000, order_by=["attributes.start_time ASC"], page_token=token)
            runs += page
            token = page.token
            if not token:
                break
        return [r.info.run_id for r in runs]

    def _populate(self) -> None:
        """Create the runs with ``MlflowClient``, bulk-insert their rows, check them, then move
        the store into place (an interrupted load leaves no half-filled ``mlflow.db``)."""
        from mlflow.tracking import MlflowClient

        partial = self.path.with_name("mlflow.db.partial")
        partial.unlink(missing_ok=True)
        t0 = time.perf_counter()
        client = MlflowClient(tracking_uri=f"sqlite:///{partial}")
        line_exp = client.create_experiment("line", artifact_location=f"{self.artifacts}/line")
        sweep_exp = client.create_experiment("sweep", artifact_location=f"{self.artifacts}/sweep")
        start = SWEEP_T0 - 10 ** 7  # distinct, increasing start times keep creation order
        line_ids = [client.create_run(line_exp, run_name=f"run-{r}", start_time=start + r).info.run_id
                    for r in range(self.runs)]
        sweep_ids = [client.create_run(sweep_exp, run_name=f"trial-{i}", start_time=start + i).info.run_id
                     for i in range(self.sweep)]
        t1 = time.perf_counter()
        checks = {0, self.runs // 2, self.runs - 1}
        expected_line, expected_sweep = {}, None
        con = sqlite3.connect(partial)
        con.execute("PRAGMA cache_size = -1000000")  # 1 GB of page cache for the index inserts
        insert_metric = "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0)"
        insert_latest = ("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
                         "VALUES (?, ?, ?, ?, 0, ?)")
        with con:  # one transaction
            for (r, values, stamps), run_id in zip(line_series(self.runs, self.steps), line_ids):
                assert np.isfinite(values).all()
                ms = (stamps * 1000).round().astype(np.int64).tolist()
                vals = values.tolist()
                con.executemany(insert_metric, (("loss", v, t, run_id, s) for s, (v, t) in enumerate(zip(vals, ms))))
                # the latest metric is the point with the highest (step, timestamp, value): the last step
                con.execute(insert_latest, ("loss", vals[-1], ms[-1], self.steps - 1, run_id))
                if r in checks:
                    expected_line[run_id] = values
            for (i, params, metrics), run_id in zip(sweep_trials(self.sweep), sweep_ids):
                con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                                ((p["name"], str(p["value"]), run_id) for p in params))
                rows = [(m["name"], m["value"], SWEEP_T0 + i * 1000 + m["step"], run_id, m["step"]) for m in metrics]
                con.executemany(insert_metric, rows)
                latest = {}
                for row in rows:  # rows are in step order: the last one of each key wins
                    latest[row[0]] = row
                con.executemany(insert_latest, ((k, v, t, s, rid) for k, v, t, rid, s in latest.values()))
                if i == self.sweep - 1:
                    expected_sweep = run_id, params, metrics
            end = SWEEP_T0
            con.execute("UPDATE runs SET status = 'FINISHED', end_time = ? "
                        "WHERE experiment_id IN (?, ?)", (end, int(line_exp), int(sweep_exp)))
        con.close()
        t2 = time.perf_counter()
        self._check(client, expected_line, expected_sweep)
        for key, value in (("bench.runs", self.runs), ("bench.steps", self.steps), ("bench.sweep", self.sweep)):
            client.set_experiment_tag(line_exp, key, str(value))
        partial.rename(self.path)
        print(f"MLflow store loaded: {self.runs} + {self.sweep} runs created with MlflowClient in {t1 - t0:.1f} s, "
              f"{self.runs * self.steps + self.sweep * 14:,} metric rows bulk-inserted in {t2 - t1:.1f} s, "
              f"checked through MlflowClient in {time.perf_counter() - t2:.1f} s", flush=True)

    def _check(self, client, expected_line: dict, expected_sweep) -> None:
        for run_id, values in expected_line.items():
            history = sorted(client.get_metric_history(run_id, "loss"), key=lambda m: m.step)
            got = np.array([m.value for m in history])
            if len(history) != self.steps or [m.step for m in history] != list(range(self.steps)) \
                    or not np.array_equal(got, values):
                sys.exit(f"MLflow's history of run {run_id} does not match the data loaded")
            run = client.get_run(run_id)
            if run.data.metrics != {"loss": values[-1]} or run.info.status != "FINISHED":
                sys.exit(f"MLflow's latest metrics or status of run {run_id} do not match the data loaded")
        run_id, params, metrics = expected_sweep
        run = client.get_run(run_id)
        want_latest = {m["name"]: m["value"] for m in metrics}  # metrics are in step order
        if run.data.params != {p["name"]: str(p["value"]) for p in params} or run.data.metrics != want_latest:
            sys.exit(f"MLflow's parameters or metrics of run {run_id} do not match the data loaded")
        loss = [m.value for m in sorted(client.get_metric_history(run_id, "loss"), key=lambda m: m.step)]
        if loss != [m["value"] for m in metrics if m["name"] == "loss"]:
            sys.exit(f"MLflow's loss history of run {run_id} does not match the data loaded")


class MLflowBench:
    """MLflow's read paths, called in this process through its server handlers and client."""

    def __init__(self, store: MLflowStore):
        from flask import Flask
        from mlflow.server import handlers
        from mlflow.tracking import MlflowClient

        self.store, self.handlers = store, handlers
        handlers._get_tracking_store(store.uri, store.artifacts)  # opening the store: not timed
        self.client = MlflowClient(tracking_uri=store.uri)
        self.app = Flask("mlflow-bench")
        with warnings.catch_warnings():  # imported by runs/search: keep its deprecation notices out of the table
            warnings.simplefilter("ignore")
            try:
                importlib.import_module("mlflow.server.auth")
            except ImportError:
                pass

    def bulk_interval(self, max_results: int, start_step: int | None = None, end_step: int | None = None
                      ) -> list[bytes]:
        """The UI's chart request, the run ids in chunks of 100 (the endpoint's limit) as the UI sends them."""
        out = []
        ids = self.store.line_ids
        for i in range(0, len(ids), 100):
            query = [("run_ids", r) for r in ids[i:i + 100]]
            query += [("metric_key", "loss"), ("max_results", str(max_results))]
            if start_step is not None:
                query += [("start_step", str(start_step)), ("end_step", str(end_step))]
            with self.app.test_request_context("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
                                               method="GET", query_string=query):
                response = self.handlers.get_metric_history_bulk_interval_handler()
                if response.status_code != 200:
                    sys.exit(f"get-history-bulk-interval failed: {response.get_data(as_text=True)[:500]}")
                out.append(response.get_data())
        return out

    def search_runs(self) -> list[bytes]:
        out, token = [], None
        while True:
            body = {"experiment_ids": [self.store.sweep_id], "max_results": 50000}
            if token:
                body["page_token"] = token
            with self.app.test_request_context("/ajax-api/2.0/mlflow/runs/search", method="POST", json=body):
                response = self.handlers._search_runs()
                if response.status_code != 200:
                    sys.exit(f"runs/search failed: {response.get_data(as_text=True)[:500]}")
                data = response.get_data()
            out.append(data)
            token = json.loads(data).get("next_page_token")
            if not token:
                return out

    def histories(self, run_ids: list[str]) -> int:
        return sum(len(self.client.get_metric_history(run_id, "loss")) for run_id in run_ids)

    def report(self, label: str, call, *, repeats: int = 3, peak: bool = True, scale: float = 1.0
               ) -> tuple[Timing, object]:
        """Time ``call`` cold and ``repeats`` times again (times multiplied by ``scale`` when it ran
        on a sample); its payload is the JSON it returned."""
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        result = call()
        cold = time.perf_counter() - t0
        warm = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            call()
            warm.append(time.perf_counter() - t0)
        peak_mib = None
        if peak:
            tracemalloc.start()
            call()
            peak_mib = tracemalloc.get_traced_memory()[1] / 2 ** 20
            tracemalloc.stop()
        payload = sum(map(len, result)) if isinstance(result, list) else None
        t = Timing(label, cold * scale, min(warm) * scale, payload, peak_mib, load)
        print_timing(t, "repeat")
        return t, result


def spikes_kept(payloads: list[bytes]) -> tuple[int, int, int]:
    """Runs whose 5.0 spike survived MLflow's sampling, runs, and the most points of one run."""
    by_run: dict[str, list[float]] = {}
    for part in payloads:
        for m in json.loads(part).get("metrics", []):
            by_run.setdefault(m["run_id"], []).append(m["value"])
    return (sum(1 for v in by_run.values() if max(v) == 5.0), len(by_run),
            max((len(v) for v in by_run.values()), default=0))


def fmt_time(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"


def ratio(halley: float, mlflow: float) -> str:
    r = mlflow / halley
    if r >= 1:
        return f"{r:.0f}x faster" if r >= 10 else f"{r:.1f}x faster"
    return f"{1 / r:.0f}x slower" if r <= 0.1 else f"{1 / r:.1f}x slower"


def print_comparison(groups: list[tuple[Timing, list[Timing]]]) -> None:
    import mlflow

    print(f"\nHalley vs MLflow {mlflow.__version__} on the same data, in this process. Halley: cold = empty panel "
          f"cache, cached = the same request again.\nMLflow caches no results: repeat = the same request again "
          f"(fastest of the repeats). Ratios: how much faster or slower Halley is.")
    head = (f"{'workload: Halley panel / MLflow call':<62}{'Halley cold':>12}{'cached':>9}{'MLflow cold':>13}"
            f"{'repeat':>9}   {'cold vs cold':<15}{'cached vs repeat':<18}{'load':>5}")
    print(head)
    print("-" * len(head))
    for h, ms in groups:
        print(f"{h.label:<62}{fmt_time(h.cold):>12}{fmt_time(h.warm):>9}{'':>13}{'':>9}   {'':<15}{'':<18}"
              f"{h.load:5.2f}")
        for m in ms:
            print(f"{'  MLflow ' + m.label:<62}{'':>12}{'':>9}{fmt_time(m.cold):>13}{fmt_time(m.warm):>9}   "
                  f"{ratio(h.cold, m.cold):<15}{ratio(h.warm, m.warm):<18}{m.load:5.2f}")


# --- main ----------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--sweep", type=int, default=10_000)
    ap.add_argument("--no-mlflow", action="store_true", help="measure Halley only")
    ap.add_argument("--mlflow-history-runs", type=int, default=5,
                    help="runs whose full MLflow history is read and timed, scaled to all runs (default 5)")
    ap.add_argument("--mlflow-full", action="store_true",
                    help="also MLflow's chart at the UI's 320 points per run, and get_metric_history timed over "
                         "every run (adds about 15 minutes)")
    database.add_arguments(ap)
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="halley-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    print(f"home {home}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    url = database.database_url(args, home)
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
    print(f"database: {database.describe(url)}", flush=True)
    cache_dir = home / "cache"
    cache_dir.mkdir(exist_ok=True)
    line_panel = {"type": "line", "metrics": ["loss"], "x": "step"}
    mid = args.steps // 2
    zoom = [mid, mid + 2000]
    axes = [f"param:p{j}" for j in range(9)] + ["param:optimizer"] + [f"metric:m{j}" for j in range(4)] + ["metric:loss"]

    h_line = report(f"line {args.runs} runs x {args.steps:,} steps", db, actor, "line", line_panel, cache_dir)
    h_zoom = report("line zoomed to 2,000 steps", db, actor, "line", line_panel, cache_dir, x_range=zoom)
    report("line, smoothing 0.8, x = wall time", db, actor, "line",
           {**line_panel, "smoothing": 0.8, "x": "wall"}, cache_dir)
    h_par = report(f"parallel coordinates {args.sweep:,} x {len(axes)} axes", db, actor, "sweep",
                   {"type": "parcoords", "axes": axes}, cache_dir)
    report(f"bar sum over {args.sweep:,} experiments", db, actor, "sweep",
           {"type": "bar", "metric": "loss", "aggregation": "sum"}, cache_dir)
    report(f"bar median over {args.sweep:,} experiments", db, actor, "sweep",
           {"type": "bar", "metric": "loss", "aggregation": "median"}, cache_dir)
    report(f"scatter over {args.sweep:,} experiments", db, actor, "sweep",
           {"type": "scatter", "xAxis": {"source": "param", "name": "p1"},
            "yAxis": {"source": "metric", "name": "loss", "transform": "min"}}, cache_dir)
    with db.session() as s:
        project = projects.get_readable(s, actor, USER, "line")
        fig = panels.panel_figure(s, actor, project, None, line_panel, cache=panels.open_cache(cache_dir))
        spikes = sum(1 for t in fig.data if np.max(t.y) == 5.0)
        print(f"Halley line traces with their spike kept after downsampling: {spikes}/{len(fig.data)}; "
              f"points per trace <= {max(len(t.y) for t in fig.data)}")

    if args.no_mlflow:
        return
    try:
        import mlflow
    except ImportError:
        print("MLflow is not installed (pip install -e '.[bench]'); skipping the comparison")
        return
    print(f"\nMLflow {mlflow.__version__}: the same data in {home / 'mlflow.db'}", flush=True)
    bench = MLflowBench(MLflowStore(home, args.runs, args.steps, args.sweep))
    n = len(bench.store.line_ids)
    # MLflow's sampled read costs minutes over 10 M points: one repeat, and its peak memory is not traced
    m_line, payload = bench.report(f"get-history-bulk-interval, {n} runs, max_results=2000",
                                   lambda: bench.bulk_interval(2000), repeats=1, peak=False)
    kept, total, most = spikes_kept(payload)
    line_rows = [m_line]
    if args.mlflow_full:
        m_ui, payload_ui = bench.report(f"get-history-bulk-interval, {n} runs, max_results=320 (UI)",
                                        lambda: bench.bulk_interval(320), repeats=1, peak=False)
        kept_ui, _, most_ui = spikes_kept(payload_ui)
        line_rows.append(m_ui)
    sample = n if args.mlflow_full else min(n, args.mlflow_history_runs)
    ids = bench.store.line_ids[:sample]
    m_hist, count = bench.report(
        f"get_metric_history, {n} runs" + (f" ({sample} timed, x{n / sample:g})" if sample < n else ""),
        lambda: bench.histories(ids), repeats=1, peak=False, scale=n / sample)
    if count != sample * args.steps:
        sys.exit(f"MLflow returned {count:,} points for {sample} runs, expected {sample * args.steps:,}")
    line_rows.append(m_hist)
    m_zoom, _ = bench.report(f"get-history-bulk-interval zoom {zoom[0]:,}-{zoom[1]:,}, max 2500",
                             lambda: bench.bulk_interval(2500, *zoom))
    m_search, _ = bench.report(f"runs/search, {args.sweep:,} runs (params + latest metrics)", bench.search_runs,
                               repeats=2)
    print(f"MLflow runs with their spike kept by get-history-bulk-interval: {kept}/{total} at max_results=2000 "
          f"(<= {most} points per run)" + (f", {kept_ui}/{total} at 320 (<= {most_ui})" if args.mlflow_full else "")
          + f"; get_metric_history returned {count:,} points for {sample} runs")
    print_comparison([(h_line, line_rows), (h_zoom, [m_zoom]), (h_par, [m_search])])
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
