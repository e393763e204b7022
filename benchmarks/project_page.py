"""Project page benchmark: the Experiments page with six panels in headless Chromium, against
MLflow's UI on the same runs.

    .venv/bin/python benchmarks/project_page.py [--home DIR] [--experiments 10000] [--repeat 5] [--no-mlflow]
        [--postgres | --database-url URL]      # PostgreSQL instead of SQLite in HOME/halley.db
    .venv/bin/python benchmarks/project_page.py --quick          # 2,000 experiments, 3 repeats

Data: the store of ``benchmarks/table.py`` (``--experiments`` x 50 parameters x 20 metrics of 3
steps, a "milestone" tag on every tenth; reused with ``--home``), plus a ``curve`` metric of
``--curve-steps`` steps on the 100 most recent experiments, a saved query "Milestones" and a
saved view with six panels (opened with ``?view=``): a line of ``curve`` (100 runs), two bars (sum of m00,
median of m01), a scatter (m02 against p01), parallel coordinates over 10 axes (9 parameters
and m03) and the line of ``curve`` grouped by the ``optimizer`` parameter.

Measured against a real ``halley serve`` (2 workers), median of ``--repeat`` fresh page loads:

(a) load: navigation start until every panel is drawn and the table shows rows and its count;
(b) filter: picking the saved query in ``#project-query-select`` until the table's count and
    first row changed and every panel is drawn again for the new filter;
(c) group-by: picking "optimizer" in ``#project-groupby`` until the table shows its group rows;
(d) add a panel (a bar from the gallery): the editor's "Done" click until the new panel is
    drawn, and how many of the other panels' figure requests were answered with a figure (200)
    rather than "no update" (204), and how many of their graphs the browser mounted (and so drew)
    again: both should be 0.

"Drawn" for a panel: the answer to its latest figure request (sent after the action) has
arrived, Plotly has replaced the graph's ``_fullData`` since the action, with as many traces as
the answer holds, and the graph's SVG is in the page; for parallel coordinates, also
``assets/parcoords.js`` has drawn the chart after the answer came. Requests are observed by wrapping
``window.fetch`` in the page (an init script), so nothing of the page itself is changed.

MLflow (the ``bench`` extra; ``--no-mlflow`` skips it): the same runs (parameters, metric
histories, latest metrics, tags) in an MLflow SQLite store, ``HOME/mlflow-project.db``: runs
created with ``MlflowClient``, their rows bulk-inserted as ``benchmarks/panels.py`` does. A real
``mlflow server`` on a free port, the same browser, median of ``--repeat``:
- runs table: navigation start until the experiment's runs table shows rows;
- chart view (``compareRunsMode=CHART``): navigation start until the charts in view are drawn.
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import chromium  # noqa: E402  (benchmarks/chromium.py: the browser, signed in)

import database  # noqa: E402  (benchmarks/database.py: which database to measure)
import table  # noqa: E402  (benchmarks/table.py: its store and data)
from dashboard.services import ingest, panels, project_views, projects  # noqa: E402

USER, PASSWORD, PROJECT = table.USER, table.PASSWORD, table.PROJECT
CURVE_RUNS = 100
QUERY_NAME = "Milestones"
VIEW_NAME = "Six panels"
TIMEOUT = 180_000  # ms; a loaded 2-core machine draws six panels over 10,000 experiments slowly

# Records the figure requests of the project's panels: the latest answer per panel (request
# order), how many were answered with a figure (200) and how many with "no update" (204).
FETCH_SPY_JS = """
(() => {
  const rec = window.__bench = {seq: 0, figs: {}, drawn: {}, skipped: {}};
  const fetch0 = window.fetch;
  window.fetch = async function (input, init) {
    const url = typeof input === 'string' ? input : (input && input.url) || '';
    let id = null;
    if (url.includes('_dash-update-component') && init && typeof init.body === 'string') {
      try {
        const outs = JSON.parse(init.body).outputs;
        const first = Array.isArray(outs) ? outs[0] : outs;
        if (first && first.id && typeof first.id === 'object'
            && ['project-panel-line', 'project-panel-agg'].includes(first.id.type)) { id = first.id; }
      } catch (e) { id = null; }
    }
    if (!id) { return fetch0.apply(this, arguments); }
    const seq = ++rec.seq;
    const res = await fetch0.apply(this, arguments);
    const at = performance.now();  // ms since navigation start
    if (res.status === 200) {
      rec.drawn[id.index] = (rec.drawn[id.index] || 0) + 1;
      const body = await res.clone().json();
      let traces = null;
      for (const v of Object.values(body.response || {})) {
        if (v && v.figure) { traces = (v.figure.data || []).length; }
      }
      const prev = rec.figs[id.index];
      if (!prev || prev.seq < seq) { rec.figs[id.index] = {seq, traces, at}; }
    } else {
      rec.skipped[id.index] = (rec.skipped[id.index] || 0) + 1;
    }
    return res;
  };
})();
"""

# True when every panel in ``pids`` (all cards when null) is drawn from an answer sent after
# request number ``mark``, and Plotly has drawn it since the graphs were marked.
DRAWN_JS = """
({pids, mark, count}) => {
  const rec = window.__bench;
  const cards = Array.from(document.querySelectorAll('.project-panel'));
  if (count !== null && cards.length !== count) { return false; }
  for (const card of cards) {
    const pid = card.dataset.panelId;
    if (pids !== null && !pids.includes(pid)) { continue; }
    const f = rec.figs[pid];
    if (!f || f.seq <= mark || f.traces === null) { return false; }
    const gd = card.querySelector('.js-plotly-plot');
    if (!gd || !gd.data || !gd._fullData || gd._fullData === gd.__benchOld) { return false; }
    if (gd.data.length !== f.traces || gd._fullData.length !== f.traces) { return false; }
    if (!gd.querySelector('.main-svg')) { return false; }
    // parallel coordinates: drawn over the blank graph by assets/parcoords.js, after the figure came
    if (card.dataset.panelType === 'parcoords' && !(window.halleyParcoords.isDrawn(card) >= f.at)) { return false; }
  }
  return true;
}
"""

MARK_JS = """
() => {
  for (const gd of document.querySelectorAll('.project-panel .js-plotly-plot')) { gd.__benchOld = gd._fullData; }
  return window.__bench.seq;
}
"""


# The other panels' graphs when a panel is added: a graph the browser mounts again is drawn again
# from scratch even when its figure request is answered "no update".
KEEP_JS = "() => document.querySelectorAll('.project-panel .js-plotly-plot').forEach(gd => { gd.__kept = true; })"
KEPT_JS = "() => Array.from(document.querySelectorAll('.project-panel .js-plotly-plot')).filter(gd => gd.__kept).length"


def six_panels() -> list[dict]:
    axes = [f"param:p{j:02d}" for j in range(9)] + ["metric:m03"]
    return [
        {"type": "line", "name": "curve, 100 runs", "metrics": ["curve"], "x": "step"},
        {"type": "bar", "name": "sum of m00", "metric": "m00", "aggregation": "sum"},
        {"type": "bar", "name": "median of m01", "metric": "m01", "aggregation": "median"},
        {"type": "scatter", "name": "m02 by p01", "xAxis": {"source": "param", "name": "p01"},
         "yAxis": {"source": "metric", "name": "m02"}},
        {"type": "parcoords", "name": "sweep, 10 axes", "axes": axes},
        {"type": "line", "name": "curve by optimizer", "metrics": ["curve"], "x": "step",
         "group": {"by": "param", "name": "optimizer", "stat": "mean", "band": "minmax"}},
    ]


def curve(i: int, steps: int) -> np.ndarray:
    rng = np.random.default_rng(1000 + i)
    return np.exp(-np.arange(steps) / (steps / 4)) * (1 + (i % 4) / 4) + rng.normal(0, 0.02, steps)


# --- Halley's data -------------------------------------------------------------------------

def prepare_halley(home: Path, url: str, n: int, curve_steps: int) -> int:
    """The store, its curves, saved query and view; returns the view's id (opened with ``?view=``,
    so the project's default view, which ``benchmarks/table.py`` loads, stays as it is)."""
    db, actor = table.open_store(home, url, n, 50, 20)
    with db.session() as s:
        project = projects.get_readable(s, actor, USER, PROJECT)
        has_curves = "curve" in (panels.catalogue(s, actor, project).get("metrics") or [])
        recent = panels.panel_experiments(s, actor, project, None, limit=CURVE_RUNS)
    if not has_curves:
        t0 = time.perf_counter()
        for e in recent:
            i = int(e["name"].rsplit("-", 1)[1])
            batch = {"batch_id": f"curve{i}", "metrics": [{"name": "curve", "value": float(v), "step": st}
                                                          for st, v in enumerate(curve(i, curve_steps))]}
            with db.session() as s:
                ingest.apply_batch(s, actor, e["key"], batch)
        print(f"logged curve ({curve_steps} steps) on {len(recent)} experiments in {time.perf_counter() - t0:.0f} s")
    with db.session() as s:
        project = projects.get_readable(s, actor, USER, PROJECT)
        if not any(q.name == QUERY_NAME for q in project_views.list_queries(s, actor, project)):
            project_views.create_query(s, actor, project, QUERY_NAME, {"op": "and", "rules": [
                {"attr": "tags", "operator": "has", "value": "milestone"}]})
        view = next((v for v in project_views.list_views(s, actor, project) if v.name == VIEW_NAME), None)
        if view is None:
            view = project_views.create_view(s, actor, project, VIEW_NAME, {"panels": six_panels()})
        else:
            project_views.update_view(s, actor, project, view.id, {"panels": six_panels()})
        return view.id


# --- Halley in the browser -----------------------------------------------------------------

def pick(page, dropdown_id: str, text: str) -> float:
    """Open a dcc.Dropdown, search ``text`` and click that option; the click's time."""
    page.click(f"#{dropdown_id}")
    page.locator(".dash-dropdown-content .dash-dropdown-search").fill(text)
    option = page.locator(".dash-dropdown-content .dash-dropdown-option").filter(
        has_text=re.compile("^" + re.escape(text) + "$")).first
    option.wait_for()
    t0 = time.perf_counter()
    option.click()
    return t0


def wait_drawn(page, mark: int, pids=None, count=None) -> None:
    page.wait_for_function(DRAWN_JS, arg={"pids": pids, "mark": mark, "count": count}, timeout=TIMEOUT)


def settle(page) -> None:
    page.wait_for_function("!document.querySelector('[data-dash-is-loading]')", timeout=TIMEOUT)


def table_state(page) -> dict:
    return page.evaluate("""() => ({
        count: (document.querySelector('#project-count') || {}).textContent || '',
        first: ((document.querySelector('#project-grid .ag-center-cols-container .ag-row[row-index="0"]')
                 || {}).textContent) || ''})""")


def halley_round(page, url: str, screenshot: Path | None) -> dict:
    """One fresh page load of the view and the three changes on it; times in s."""
    page.goto("about:blank")
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("#project-grid .ag-center-cols-container .ag-row", timeout=TIMEOUT)
    page.wait_for_function("/experiments/.test((document.querySelector('#project-count') || {}).textContent)",
                           timeout=TIMEOUT)
    out = {"load_table": time.perf_counter() - t0}
    wait_drawn(page, 0, count=6)
    out["load"] = time.perf_counter() - t0
    # when each panel's figure arrived, in s since navigation start
    out["answers"] = page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll('.project-panel'))
        .map(c => [c.dataset.panelTitle, Math.round(window.__bench.figs[c.dataset.panelId].at) / 1000]))""")
    settle(page)
    if screenshot:
        page.screenshot(path=str(screenshot.with_name(screenshot.stem + "-load.png")), full_page=True)

    before = table_state(page)
    mark = page.evaluate(MARK_JS)
    t0 = pick(page, "project-query-select", QUERY_NAME)
    page.wait_for_function("""(b) => {
        const c = (document.querySelector('#project-count') || {}).textContent || '';
        const r = document.querySelector('#project-grid .ag-center-cols-container .ag-row[row-index="0"]');
        return /experiments/.test(c) && c !== b.count && r && r.textContent !== b.first;
    }""", arg=before, timeout=TIMEOUT)
    wait_drawn(page, mark, count=6)
    out["filter"] = time.perf_counter() - t0
    settle(page)

    t0 = pick(page, "project-groupby", "Parameters: optimizer")
    page.wait_for_function("document.querySelectorAll('#project-grid .halley-group-toggle').length > 0",
                           timeout=TIMEOUT)
    out["groupby"] = time.perf_counter() - t0
    settle(page)

    old = page.eval_on_selector_all(".project-panel", "cs => cs.map(c => c.dataset.panelId)")
    page.click("#project-panels-add")
    page.locator('[id*="builtin:bar"]').click()
    page.locator("#project-editor-preview .barlayer .trace").first.wait_for(state="attached", timeout=TIMEOUT)
    settle(page)
    mark = page.evaluate(MARK_JS)
    counts = page.evaluate("() => ({drawn: {...window.__bench.drawn}, skipped: {...window.__bench.skipped}})")
    page.evaluate(KEEP_JS)
    t0 = time.perf_counter()
    page.click("#project-editor-done")
    page.wait_for_function("(n) => document.querySelectorAll('.project-panel').length === n", arg=len(old) + 1,
                           timeout=TIMEOUT)
    new = [p for p in page.eval_on_selector_all(".project-panel", "cs => cs.map(c => c.dataset.panelId)")
           if p not in old]
    wait_drawn(page, mark, pids=new)
    out["add"] = time.perf_counter() - t0
    settle(page)
    after = page.evaluate("() => ({drawn: {...window.__bench.drawn}, skipped: {...window.__bench.skipped}})")
    out["others_redrawn"] = sum(after["drawn"].get(p, 0) - counts["drawn"].get(p, 0) for p in old)
    out["others_204"] = sum(after["skipped"].get(p, 0) - counts["skipped"].get(p, 0) for p in old)
    out["new_drawn"] = sum(after["drawn"].get(p, 0) for p in new)
    out["others_remounted"] = len(old) - page.evaluate(KEPT_JS)
    if screenshot:
        page.screenshot(path=str(screenshot.with_name(screenshot.stem + "-added.png")), full_page=True)
    return out


def bench_halley(browser, home: Path, url: str, view_id: int, repeat: int, screenshot: Path | None) -> list[dict]:
    server = database.live_server(home, url).start(workers=2)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(FETCH_SPY_JS)
        page = context.new_page()
        chromium.sign_in(page, server.url, USER, PASSWORD)
        page_url = f"{server.url}/{USER}/{PROJECT}?view={view_id}"
        rounds = []
        for r in range(repeat + 1):  # the first round warms the server's caches and is not counted
            res = halley_round(page, page_url, screenshot if r == 1 else None)
            print(f"  halley round {r}{' (warm-up)' if r == 0 else ''}: "
                  + ", ".join(f"{k} {v:.2f} s" if isinstance(v, float) else f"{k} {v}" for k, v in res.items()
                              if k != "answers")
                  + "; figures arrived at " + ", ".join(f"{k}: {v:.1f} s" for k, v in res["answers"].items())
                  + f"; load avg {os.getloadavg()[0]:.1f}", flush=True)
            rounds.append(res)
        context.close()
        return rounds[1:] if repeat else rounds
    finally:
        server.stop()


# --- MLflow --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_mlflow(home: Path, n: int, curve_steps: int) -> tuple[Path, str]:
    """The same runs in an MLflow SQLite store (reused when its tags record the same workload):
    runs created with ``MlflowClient``, then their parameters, metrics, latest metrics and tags
    bulk-inserted into MLflow's own tables in one transaction, as ``benchmarks/panels.py`` does;
    checked back through ``MlflowClient``. Returns the store and the experiment id."""
    import logging

    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    path = home / "mlflow-project.db"
    want = {"bench.experiments": str(n), "bench.curve_steps": str(curve_steps)}
    if path.exists():
        exp = MlflowClient(tracking_uri=f"sqlite:///{path}").get_experiment_by_name(PROJECT)
        if exp is not None and all(exp.tags.get(k) == v for k, v in want.items()):
            return path, exp.experiment_id
        print(f"{path} holds another workload: loading it again")
        path.unlink()
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    t0 = time.perf_counter()
    client = MlflowClient(tracking_uri=f"sqlite:///{partial}")
    exp_id = client.create_experiment(PROJECT, artifact_location=(home / "mlflow-artifacts").as_uri())
    start = 1_700_000_000_000
    run_ids = [client.create_run(exp_id, run_name=f"trial-{i}", start_time=start + i * 1000).info.run_id
               for i in range(n)]
    t1 = time.perf_counter()
    insert_metric = ("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                     "VALUES (?, ?, ?, ?, ?, 0)")
    insert_latest = ("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
                     "VALUES (?, ?, ?, ?, 0, ?)")
    curves = set(range(max(0, n - CURVE_RUNS), n))
    con = sqlite3.connect(partial)
    with con:
        for (i, batch), run_id in zip(table.trials(n, 50, 20), run_ids):
            ts = start + i * 1000
            con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                            ((p["name"], str(p["value"]), run_id) for p in batch["parameters"]))
            rows = [(m["name"], m["value"], ts + m["step"], run_id, m["step"]) for m in batch["metrics"]]
            if i in curves:
                rows += [("curve", float(v), ts + st, run_id, st) for st, v in enumerate(curve(i, curve_steps))]
            con.executemany(insert_metric, rows)
            latest = {}
            for row in rows:  # in step order per key: the last one wins
                latest[row[0]] = row
            con.executemany(insert_latest, ((k, v, t, st, rid) for k, v, t, rid, st in latest.values()))
            con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                            ((tag, "true", run_id) for tag in batch["tags"]))
        con.execute("UPDATE runs SET status = 'FINISHED', end_time = start_time + 1000 WHERE experiment_id = ?",
                    (int(exp_id),))
    con.close()
    t2 = time.perf_counter()
    check = client.get_run(run_ids[-1])
    if len(check.data.params) != 50 or len(check.data.metrics) != 21 or check.info.status != "FINISHED" \
            or check.data.params["optimizer"] != ["sgd", "adam", "adamw", "rmsprop"][(n - 1) % 4]:
        sys.exit(f"MLflow's run {run_ids[-1]} does not hold the data loaded")
    history = client.get_metric_history(run_ids[-1], "curve")
    if len(history) != curve_steps:
        sys.exit(f"MLflow's curve history has {len(history)} points, expected {curve_steps}")
    # a "model training" experiment: MLflow 3 opens the others on its GenAI overview
    client.set_experiment_tag(exp_id, "mlflow.experimentKind", "custom_model_development")
    for k, v in want.items():
        client.set_experiment_tag(exp_id, k, v)
    partial.rename(path)
    print(f"MLflow store loaded: {n} runs created with MlflowClient in {t1 - t0:.0f} s, their rows "
          f"bulk-inserted in {t2 - t1:.0f} s", flush=True)
    return path, exp_id


class MLflowServer:
    def __init__(self, store: Path, home: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(home / "mlflow-server.log", "ab")
        exe = Path(sys.executable).with_name("mlflow")
        self.proc = subprocess.Popen(
            [str(exe), "server", "--backend-store-uri", f"sqlite:///{store}", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "2",
             "--default-artifact-root", (home / "mlflow-artifacts").as_uri()],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited, see {home / 'mlflow-server.log'}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("mlflow server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


# MLflow's chart view draws the chart cards in view (lazily, as they scroll in): this many at
# 1400 x 1000 px, each with a trace per visible run (the first 10 runs by default).
MLFLOW_CARDS, MLFLOW_RUNS_SHOWN = 6, 10
MLFLOW_CHARTS_JS = """
([cards, runs]) => {
  const gds = Array.from(document.querySelectorAll(
      '[data-testid="experiment-view-compare-runs-card"] .js-plotly-plot')).slice(0, cards);
  return gds.length === cards && gds.every(gd => gd._fullData && gd.querySelector('.main-svg')
      && gd._fullData.filter(t => t.x && t.x.length > 0).length >= runs);
}
"""


def bench_mlflow(browser, home: Path, n: int, curve_steps: int, repeat: int, screenshot: Path | None) -> list[dict]:
    store, exp_id = load_mlflow(home, n, curve_steps)
    server = MLflowServer(store, home)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        runs_url = f"{server.url}/#/experiments/{exp_id}/runs"
        chart_url = runs_url + "?compareRunsMode=CHART"
        rounds = []
        for r in range(repeat + 1):  # the first round is a warm-up, as for Halley
            out = {}
            page.goto("about:blank")
            t0 = time.perf_counter()
            page.goto(runs_url)
            page.wait_for_function("""() => Array.from(document.querySelectorAll('.ag-row'))
                .some(r => /trial-/.test(r.textContent))""", timeout=TIMEOUT)
            out["table"] = time.perf_counter() - t0
            if screenshot and r == 1:
                page.screenshot(path=str(screenshot.with_name(screenshot.stem + "-mlflow-table.png")))
            page.goto("about:blank")
            t0 = time.perf_counter()
            page.goto(chart_url)
            page.wait_for_function(MLFLOW_CHARTS_JS, arg=[MLFLOW_CARDS, min(MLFLOW_RUNS_SHOWN, n)], timeout=TIMEOUT)
            out["charts"] = time.perf_counter() - t0
            if screenshot and r == 1:
                page.screenshot(path=str(screenshot.with_name(screenshot.stem + "-mlflow-charts.png")))
            print(f"  mlflow round {r}{' (warm-up)' if r == 0 else ''}: "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in out.items()) + f"; load avg {os.getloadavg()[0]:.1f}",
                  flush=True)
            rounds.append(out)
        context.close()
        return rounds[1:] if repeat else rounds
    finally:
        server.stop()


# --- main ----------------------------------------------------------------------------------

def median(rounds: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, help="reuse this directory's stores (created when missing)")
    ap.add_argument("--experiments", type=int, default=10_000)
    ap.add_argument("--curve-steps", type=int, default=1000, help="steps of the 'curve' metric of the 100 latest")
    ap.add_argument("--repeat", type=int, default=5, help="measured rounds after a warm-up (default 5)")
    ap.add_argument("--quick", action="store_true", help="2,000 experiments and 3 rounds")
    ap.add_argument("--no-mlflow", action="store_true", help="measure Halley only")
    database.add_arguments(ap)
    ap.add_argument("--screenshot", type=Path, help="save screenshots of the pages as PATH-*.png")
    args = ap.parse_args()
    if args.quick:
        args.experiments, args.repeat = min(args.experiments, 2000), min(args.repeat, 3)
    home = args.home or Path(tempfile.mkdtemp(prefix="halley-page-"))
    home.mkdir(parents=True, exist_ok=True)
    print(f"home {home}; {args.experiments} experiments; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    db_url = database.database_url(args, home)
    view_id = prepare_halley(home, db_url, args.experiments, args.curve_steps)
    print(f"database: {database.describe(db_url)}", flush=True)
    mlflow_ok = not args.no_mlflow
    if mlflow_ok:
        try:
            import mlflow
        except ImportError:
            print("MLflow is not installed (pip install -e '.[bench]'); measuring Halley only")
            mlflow_ok = False

    from playwright.sync_api import sync_playwright

    loads = [os.getloadavg()[0]]
    with sync_playwright() as pw:
        browser = chromium.launch(pw)
        h = bench_halley(browser, home, db_url, view_id, args.repeat, args.screenshot)
        loads.append(os.getloadavg()[0])
        m = bench_mlflow(browser, home, args.experiments, args.curve_steps, args.repeat, args.screenshot) \
            if mlflow_ok else None
        loads.append(os.getloadavg()[0])
        browser.close()

    print(f"\nProject page, {args.experiments:,} experiments, six panels; median of {len(h)} rounds "
          f"(after a warm-up), headless Chromium, 1400 x 1000 px")
    rows = [("(a) page load until the table shows rows + count", median(h, "load_table"), "runs table: rows shown",
             median(m, "table") if m else None),
            ("(a) page load until also the 6 panels are drawn", median(h, "load"),
             f"chart view: first {MLFLOW_CARDS} charts drawn", median(m, "charts") if m else None),
            ("(b) saved query picked: table + 6 panels updated", median(h, "filter"), "", None),
            ("(c) group-by picked: group rows shown", median(h, "groupby"), "", None),
            ("(d) panel added: new panel drawn", median(h, "add"), "", None)]
    version = f"MLflow {mlflow.__version__}" if m else "MLflow"
    print(f"{'Halley':<56}{'s':>7}   {version:<38}{'s':>7}   {'Halley / MLflow':>15}")
    for label, hv, mlabel, mv in rows:
        ratio = f"{hv / mv:.1f}" if mv else ""
        mtxt = f"{mv:7.2f}" if mv else f"{'':>7}"
        print(f"{label:<56}{hv:7.2f}   {mlabel:<38}{mtxt}   {ratio:>15}")
    print("(a) when each panel's figure arrived, s after navigation start (median): " + ", ".join(
        f"{k} {statistics.median(r['answers'][k] for r in h):.1f}" for k in h[0]["answers"]))
    redrawn = [r["others_redrawn"] for r in h]
    print(f"(d) other panels' figure requests answered with a figure (200) per add: {redrawn} "
          f"(\"no update\" 204: {[r['others_204'] for r in h]}); other panels mounted and drawn again in the "
          f"browser: {[r['others_remounted'] for r in h]}; new panel drawn {[r['new_drawn'] for r in h]} time(s)")
    print("1-minute load average: start {:.2f}, after Halley {:.2f}, after MLflow {:.2f}; cores: {}".format(
        *loads, os.cpu_count()))


if __name__ == "__main__":
    main()
