"""Metric ingest throughput: Halley's SDK into a real ``halley serve`` vs MLflow into SQLite.

The workload is N runs x M metrics x S steps (default 200 x 5 x 500 = 500,000 points, the
peer measurement in DESIGN.md). Halley: a fresh server on a temporary HALLEY_HOME and a
free port, a user made through the service layer, runs logged through
``dashboard.sdk.Experiment`` (``log_metric`` per point, the SDK batches in the background),
timed from the first run's creation to the last ``end()`` returning (``end()`` waits until
the server has committed every point), after a few untimed runs of the same shape (in another
project) that warm the server's workers; then the stored counts are read back and checked.
Measured twice, each on a fresh server: one run at a time in this process, and ``--parallel``
client processes each logging their share of the runs one after another (several training
scripts logging at once). The server's peak RSS (process tree) is sampled throughout.
MLflow (when importable): the same points through ``MlflowClient.log_batch`` into a
temporary ``sqlite:///`` store, and plain ``log_metric`` on a few runs (how most scripts log),
extrapolated per point. Finally both read back the full history of one metric over all runs.

    .venv/bin/python benchmarks/ingest.py [--runs 200 --metrics 5 --steps 500 --parallel 4]
"""
from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HALLEY = str(Path(sys.executable).parent / "halley")
# Metrics only, as in the MLflow runs: no code, output, environment, git or system sampling.
QUIET = dict(log_code=False, parse_args=False, auto_output_logging=False, log_env_details=False,
             log_git_metadata=False, log_git_patch=False, log_env_cpu=False, log_env_gpu=False)


@dataclass
class Result:
    label: str
    points: int
    seconds: float
    read_seconds: float | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.points / self.seconds if self.seconds else math.inf


def value(run: int, metric: int, step: int) -> float:
    """A deterministic, non-trivial value (so no store can compress it to a constant)."""
    return math.exp(-step / 150) * (1 + metric) + 0.01 * math.sin(step * 0.7 + run)


# --- Halley -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PeakRss:
    """Samples the summed RSS of a process and its children every 50 ms in a thread. The
    process tree is listed again once a second (listing it scans every process on the
    machine, which would otherwise cost the measured client a millisecond every sample)."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        procs, listed = [], 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - listed > 1.0:
                    procs, listed = [self.root, *self.root.children(recursive=True)], time.monotonic()
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.NoSuchProcess:
                        listed = 0.0
                self.peak = max(self.peak, total)
            except psutil.NoSuchProcess:
                return
            self._stop.wait(0.05)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class HalleyServer:
    def __init__(self, home: Path, workers: int):
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict:
        return {**os.environ, "HALLEY_HOME": str(self.home), "HALLEY_PORT": str(self.port),
                "HALLEY_HOST": "127.0.0.1"}

    def create_user(self) -> tuple[str, str]:
        """A user and their API key, made through the service layer on the server's database."""
        from dashboard.auth import Actor
        from dashboard.db import Database, migrate
        from dashboard.services import accounts, workspaces

        url = f"sqlite:///{self.home / 'halley.db'}"
        migrate(url)
        with Database(url).session() as s:
            u = accounts.create_user(s, "bench", "bench@example.org", "bench-password")
            ws = workspaces.find_by_name(s, "bench")
            key = workspaces.generate_api_key(s, Actor(user_id=u.id, username=u.username), ws.id)
        return "bench", key

    def start(self) -> None:
        log = open(self.home / "server.log", "ab")
        self.proc = subprocess.Popen([HALLEY, "serve", "--workers", str(self.workers)], env=self.env(),
                                     cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit("halley serve exited:\n" + (self.home / "server.log").read_text()[-3000:])
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        sys.exit("halley serve did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


def log_runs(url: str, api_key: str, workspace: str, runs: range, args) -> list[str]:
    """Logs the given runs one after another, the way a training script does; returns their keys."""
    from dashboard.sdk import Experiment

    names = [f"metric_{m}" for m in range(args.metrics)]
    keys = []
    for run in runs:
        exp = Experiment(api_key=api_key, workspace=workspace, project_name="bench", url=url, **QUIET)
        log_metric = exp.log_metric
        for step in range(args.steps):
            for m, name in enumerate(names):
                log_metric(name, value(run, m, step), step=step)
        exp.end()  # waits until every point is acknowledged (committed) by the server
        keys.append(exp.get_key())
    return keys


def warm_up(url: str, api_key: str, workspace: str, runs: int, metrics: int = 1, steps: int = 1) -> None:
    """A few runs of the workload's shape, untimed, in their own project, so the server's
    workers have compiled and prepared the statements a full batch uses (a server in use is
    warm; MLflow's client likewise migrates its store before the clock)."""
    from dashboard.sdk import Experiment

    for _ in range(runs):
        exp = Experiment(api_key=api_key, workspace=workspace, project_name="warm-up", url=url, **QUIET)
        for step in range(steps):
            for m in range(metrics):
                exp.log_metric(f"warm_up_{m}", 0.0, step=step)
        exp.end()


def _client(conn, barrier, url: str, api_key: str, workspace: str, runs: range, args) -> None:
    """One client process of the parallel workload: imports first, then waits for the start."""
    import dashboard.sdk  # noqa: F401

    barrier.wait()
    conn.send(log_runs(url, api_key, workspace, runs, args))
    conn.close()


def bench_halley(args, home: Path, parallel: int) -> tuple[Result, int]:
    """A fresh server; ``parallel`` client processes each log their share of the runs one after
    another (1 = every run in this process, one at a time). Timed from the start of the first
    run to the last ``end()`` returning."""
    server = HalleyServer(home, args.workers)
    workspace, api_key = server.create_user()
    server.start()
    try:
        warm_up(server.url, api_key, workspace, 4 * args.workers, args.metrics, args.steps)
        with PeakRss(server.proc.pid) as rss:
            if parallel == 1:
                started = time.perf_counter()
                keys = log_runs(server.url, api_key, workspace, range(args.runs), args)
                seconds = time.perf_counter() - started
            else:
                ctx = multiprocessing.get_context("spawn")
                barrier = ctx.Barrier(parallel + 1)
                clients, pipes = [], []
                for worker in range(parallel):
                    receive, send = ctx.Pipe(duplex=False)
                    runs = range(worker, args.runs, parallel)
                    proc = ctx.Process(target=_client, args=(send, barrier, server.url, api_key, workspace, runs, args))
                    proc.start()
                    clients.append(proc)
                    pipes.append(receive)
                barrier.wait(timeout=120)
                started = time.perf_counter()
                keys = [key for pipe in pipes for key in pipe.recv()]
                seconds = time.perf_counter() - started
                for proc in clients:
                    proc.join()
        check_halley_counts(server.url, api_key, keys, args)
        read_seconds = read_halley(server.url, api_key, keys, "metric_0", args.steps)
        points = args.runs * args.metrics * args.steps
        how = "1 run at a time" if parallel == 1 else f"{parallel} runs at once"
        return Result(f"Halley SDK, {how}", points, seconds, read_seconds,
                      f"HTTP, {args.workers} server workers, {parallel} client process(es)"), rss.peak
    finally:
        server.stop()


def check_halley_counts(url: str, api_key: str, keys: list[str], args) -> None:
    """Every acknowledged point must be stored: the summaries must add up to the workload."""
    s = requests.Session()
    s.headers["Authorization"] = api_key
    total = 0
    for key in keys:
        r = s.get(f"{url}/api/v1/experiments/{key}/metrics/summary", timeout=60)
        r.raise_for_status()
        total += sum(m["count"] for m in r.json()["metrics"])
    expected = args.runs * args.metrics * args.steps
    if total != expected:
        sys.exit(f"Halley stored {total} points, expected {expected}")


def read_halley(url: str, api_key: str, keys: list[str], name: str, steps: int) -> float:
    """The full history of one metric over every run, through the REST API."""
    s = requests.Session()
    s.headers["Authorization"] = api_key
    started = time.perf_counter()
    for key in keys:
        r = s.get(f"{url}/api/v1/experiments/{key}/metrics", params={"name": name}, timeout=60)
        r.raise_for_status()
        if len(r.json()["metrics"]) != steps:
            sys.exit(f"Halley returned {len(r.json()['metrics'])} points for {key}/{name}, expected {steps}")
    return time.perf_counter() - started


# --- MLflow -------------------------------------------------------------------------------

def mlflow_client(tmp: Path, label: str):
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # no per-store migration chatter

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp / (label + '.db')}")
    experiment_id = client.create_experiment(label, artifact_location=str(tmp / (label + "-artifacts")))
    return client, experiment_id


def bench_mlflow_batch(args, tmp: Path) -> Result:
    from mlflow.entities import Metric

    client, experiment_id = mlflow_client(tmp, "batch")  # creating the store migrates it: not timed
    names = [f"metric_{m}" for m in range(args.metrics)]
    run_ids = []
    started = time.perf_counter()
    for run in range(args.runs):
        run_id = client.create_run(experiment_id).info.run_id
        pending = []
        for step in range(args.steps):
            ts = int(time.time() * 1000)
            for m, name in enumerate(names):
                pending.append(Metric(name, value(run, m, step), ts, step))
                if len(pending) == 1000:  # MLflow's limit per log_batch call
                    client.log_batch(run_id, metrics=pending)
                    pending = []
        if pending:
            client.log_batch(run_id, metrics=pending)
        client.set_terminated(run_id)
        run_ids.append(run_id)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    for run_id in run_ids:
        history = client.get_metric_history(run_id, names[0])
        if len(history) != args.steps:
            sys.exit(f"MLflow returned {len(history)} points for {run_id}, expected {args.steps}")
    read_seconds = time.perf_counter() - started
    return Result("MLflow log_batch (SQLite)", args.runs * args.metrics * args.steps, seconds, read_seconds)


def bench_mlflow_plain(args, tmp: Path) -> Result:
    """One transaction per point is slow, so this logs only the first points of the workload."""
    client, experiment_id = mlflow_client(tmp, "plain")
    points = 0
    started = time.perf_counter()
    for run in range(args.runs):
        run_id = client.create_run(experiment_id).info.run_id
        for step in range(args.steps):
            for m in range(args.metrics):
                client.log_metric(run_id, f"metric_{m}", value(run, m, step), step=step)
            points += args.metrics
            if points >= args.mlflow_plain_points:
                break
        client.set_terminated(run_id)
        if points >= args.mlflow_plain_points:
            break
    seconds = time.perf_counter() - started
    return Result("MLflow log_metric (SQLite)", points, seconds, note=f"first {points:,} points only")


# --- report -------------------------------------------------------------------------------

def print_table(results: list[Result], peak_rss: dict[str, int], args) -> None:
    total = args.runs * args.metrics * args.steps
    print(f"\nworkload: {args.runs} runs x {args.metrics} metrics x {args.steps} steps = {total:,} points"
          f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"{'':30} {'points/s':>10} {'seconds':>9} {'read 1 metric, all runs':>24}  notes")
    for r in results:
        read = f"{r.read_seconds:.2f} s" if r.read_seconds is not None else "-"
        print(f"{r.label:30} {r.rate:>10,.0f} {r.seconds:>9.1f} {read:>24}  {r.note}")
    halleys = [r for r in results if r.label in peak_rss]
    for halley in halleys:
        for peer in (r for r in results if r.label not in peak_rss):
            line = f"{halley.label} vs {peer.label}: ingest {halley.rate / peer.rate:.1f}x"
            if peer.read_seconds and halley.read_seconds:
                line += f", read {peer.read_seconds / halley.read_seconds:.1f}x"
            print(line + " (above 1 = Halley is faster)")
    for label, peak in peak_rss.items():
        print(f"{label}: server peak RSS (process tree) {peak / 2**20:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="experiments (N)")
    parser.add_argument("--metrics", type=int, default=5, help="metrics per experiment (M)")
    parser.add_argument("--steps", type=int, default=500, help="steps per metric (S)")
    parser.add_argument("--workers", type=int, default=2, help="halley serve worker processes")
    parser.add_argument("--parallel", type=int, default=4,
                        help="client processes logging runs at once, measured besides one run at a time (1: only that)")
    parser.add_argument("--mlflow-plain-points", type=int, default=1000,
                        help="points logged with plain MLflow log_metric, one call each (0 skips it: it is slow)")
    parser.add_argument("--no-mlflow", action="store_true", help="measure Halley only")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="halley-bench-"))
    try:
        results, peak_rss = [], {}
        for parallel in dict.fromkeys((1, max(1, args.parallel))):
            home = tmp / f"halley-home-{parallel}"
            home.mkdir()
            print(f"Halley: logging {args.runs} runs through the SDK, {parallel} at a time ...", flush=True)
            halley, peak = bench_halley(args, home, parallel)
            results.append(halley)
            peak_rss[halley.label] = peak
        if not args.no_mlflow:
            try:
                import mlflow  # noqa: F401
            except ImportError:
                print("MLflow is not installed (pip install -e '.[bench]'); skipping the comparison")
            else:
                print("MLflow: log_batch into SQLite ...", flush=True)
                results.append(bench_mlflow_batch(args, tmp))
                if args.mlflow_plain_points > 0:
                    print("MLflow: log_metric into SQLite ...", flush=True)
                    results.append(bench_mlflow_plain(args, tmp))
        print_table(results, peak_rss, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
