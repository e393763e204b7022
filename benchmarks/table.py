"""Experiment table benchmark: the project page's server-side table at 10,000 experiments.

    .venv/bin/python benchmarks/table.py [--home DIR] [--experiments 10000] [--params 50] [--metrics 20]
    .venv/bin/python benchmarks/table.py --postgres               # on a throwaway PostgreSQL cluster
    .venv/bin/python benchmarks/table.py --database-url postgresql://USER@HOST/DB

Generates one project of ``--experiments`` runs, each with ``--params`` parameters (numbers,
plus a text optimizer) and ``--metrics`` metrics of 3 points, a tag on every tenth run, all
written through the ingest service. Then it prints the server time (the service calls a
table callback makes, with their own session, median of 5 after one cold call) of:

- the first page (100 rows, default columns, count included),
- the first page sorted by a metric column (with 5 parameter + 5 metric columns shown),
- a 3-filter query (parameter range AND metric bound AND tag),
- group-by counts on a parameter and on a metric,
- the attribute catalogue, the constant-column check and the full CSV export (once),

and the time until the page is interactive in headless Chromium (navigation start until the
grid shows its first rows and the row count) against a real ``halley serve``.
With ``--home`` pointing at an existing database (or ``--database-url`` at one) the data is reused.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import chromium  # noqa: E402  (benchmarks/chromium.py: the browser, signed in)
import database  # noqa: E402  (benchmarks/database.py: SQLite, --postgres or --database-url)

from dashboard.auth import Actor  # noqa: E402
from dashboard.db import Database, migrate  # noqa: E402
from dashboard.services import accounts, experiment_table as table, ingest, projects, workspaces  # noqa: E402

USER, PASSWORD, PROJECT = "bench", "bench-password", "table"


def trials(n: int, n_params: int, n_metrics: int):
    """``(i, batch)`` of every experiment of the store, the same on every call."""
    rng = np.random.default_rng(3)
    optimizers = ["sgd", "adam", "adamw", "rmsprop"]
    for i in range(n):
        params = [{"name": f"p{j:02d}", "value": float(rng.uniform(0, 10 ** (j % 4)))} for j in range(n_params - 1)]
        params.append({"name": "optimizer", "value": optimizers[i % 4]})
        metrics = [{"name": f"m{j:02d}", "value": float(rng.normal(j, 1)), "step": s}
                   for j in range(n_metrics) for s in range(3)]
        yield i, {"batch_id": f"table{i}", "parameters": params, "metrics": metrics,
                  "tags": ["milestone"] if i % 10 == 0 else [],
                  "details": {"host": f"node{i % 8}", "file_name": "train.py"}}


def populate(db: Database, actor: Actor, n: int, n_params: int, n_metrics: int) -> None:
    t0 = time.perf_counter()
    for i, batch in trials(n, n_params, n_metrics):
        with db.session() as s:
            exp, _ = ingest.start_experiment(s, actor, USER, PROJECT, name=f"trial-{i}")
            ingest.apply_batch(s, actor, exp.key, batch)
            ingest.end_experiment(s, actor, exp.key, "finished")
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1} experiments ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"populated {n} experiments x {n_params} parameters x {n_metrics} metrics in "
          f"{time.perf_counter() - t0:.0f} s")


def timed(fn, repeat: int = 5) -> tuple[float, float]:
    """(cold, median of ``repeat`` warm) wall times in ms."""
    t0 = time.perf_counter()
    fn()
    cold = (time.perf_counter() - t0) * 1000
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        warm.append((time.perf_counter() - t0) * 1000)
    return cold, statistics.median(warm)


def server_steps(db: Database, actor: Actor) -> None:
    def with_project(fn):
        def run():
            with db.session() as s:
                p = projects.get_readable(s, actor, USER, PROJECT)
                return fn(s, p)
        return run

    default = table.default_state()
    wide = table.default_state()
    wide["columns"] += [f"param:p{j:02d}" for j in range(5)] + [f"metric:last:m{j:02d}" for j in range(5)]
    filtered = table.default_state()
    filtered["filters"] = {"op": "and", "rules": [
        {"attr": "param:p01", "operator": "between", "value": 2, "value2": 8},
        {"attr": "metric:last:m03", "operator": "lt", "value": 3.5},
        {"attr": "tags", "operator": "has", "value": "milestone"},
    ]}
    by_param = dict(default, groupBy="param:optimizer")
    by_metric = dict(default, groupBy="metric:max:m00")

    steps = [
        ("first page (100 rows + count)", lambda s, p: table.fetch_rows(s, p, default, 0, 100)),
        ("sort by metric m02 (last), 15 columns", lambda s, p: table.fetch_rows(
            s, p, wide, 0, 100, [{"colId": "metric:last:m02", "sort": "desc"}])),
        ("page 50 of that sort (rows 5000-5100)", lambda s, p: table.fetch_rows(
            s, p, wide, 5000, 5100, [{"colId": "metric:last:m02", "sort": "desc"}])),
        ("3-filter query (param AND metric AND tag)", lambda s, p: table.fetch_rows(s, p, filtered, 0, 100)),
        ("group-by counts: parameter optimizer", lambda s, p: table.group_counts(s, p, by_param)),
        ("group-by counts: metric m00 (max)", lambda s, p: table.group_counts(s, p, by_metric)),
        ("constant columns of 15 shown", lambda s, p: table.constant_columns(s, p, wide)),
        ("attribute catalogue (columns/filters)", lambda s, p: table.attributes(s, p)),
    ]
    print(f"\n{'server step':45s} {'cold ms':>9s} {'median ms':>10s}")
    for label, fn in steps:
        cold, warm = timed(with_project(fn))
        print(f"{label:45s} {cold:9.1f} {warm:10.1f}")
    rows, total = with_project(lambda s, p: table.fetch_rows(s, p, filtered, 0, 100))()
    print(f"(3-filter query matches {total} experiments)")
    t0 = time.perf_counter()
    size = sum(len(chunk) for chunk in with_project(lambda s, p: list(table.iter_csv(s, p, wide)))())
    print(f"{'CSV export, all rows, 15 columns (once)':45s} {(time.perf_counter() - t0) * 1000:9.1f}"
          f"   ({size / 1e6:.1f} MB)")


def page_interactive(home: Path, url: str) -> None:
    from playwright.sync_api import sync_playwright

    server = database.live_server(home, url).start(workers=2)
    try:
        with sync_playwright() as pw:
            browser = chromium.launch(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            chromium.sign_in(page, server.url, USER, PASSWORD)
            times = []
            for _ in range(4):
                t0 = time.perf_counter()
                page.goto(server.url + f"/{USER}/{PROJECT}")
                page.wait_for_selector("#project-grid .ag-center-cols-container .ag-row", timeout=60_000)
                page.wait_for_function("document.querySelector('#project-count') && "
                                       "/experiments/.test(document.querySelector('#project-count').textContent)")
                times.append(time.perf_counter() - t0)
            browser.close()
        print(f"\npage interactive in headless Chromium (grid rows + count shown): first {times[0]:.2f} s, "
              f"median of next {len(times) - 1}: {statistics.median(times[1:]):.2f} s")
    finally:
        server.stop()


def open_store(home: Path, url: str, experiments: int, params: int, metrics: int) -> tuple[Database, Actor]:
    """The store at ``url`` (files in ``home``, HALLEY_HOME is set to it), its user, and the
    project filled with ``experiments`` runs unless it is there already."""
    os.environ["HALLEY_HOME"] = str(home)
    migrate(url)
    db = Database(url)
    with db.session() as s:
        user = accounts.find_user(s, USER)
        if user is None:
            user = accounts.create_user(s, USER, f"{USER}@example.org", PASSWORD)
        actor = Actor(user_id=user.id, username=user.username)
        ws = workspaces.find_by_name(s, USER)
        exists = projects.find(s, ws.id, PROJECT) is not None
    if not exists:
        populate(db, actor, experiments, params, metrics)
    return db, actor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path)
    parser.add_argument("--experiments", type=int, default=10_000)
    parser.add_argument("--params", type=int, default=50)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true")
    database.add_arguments(parser)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="halley-table-"))
    home.mkdir(parents=True, exist_ok=True)
    url = database.database_url(args, home)
    db, actor = open_store(home, url, args.experiments, args.params, args.metrics)
    print(f"database: {database.describe(url)}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    server_steps(db, actor)
    if not args.no_browser:
        page_interactive(home, url)


if __name__ == "__main__":
    main()
