"""Experiment page benchmark: one experiment with many long metrics in headless Chromium.

    .venv/bin/python benchmarks/experiment_page.py [--home DIR] [--metrics 60] [--steps 100000] [--repeat 5]
        [--assets 10000] [--images 2000] [--output 100000]
    .venv/bin/python benchmarks/experiment_page.py --quick        # 10,000 steps, 1,000 assets, 3 rounds

Data: one experiment holding ``--metrics`` metrics x ``--steps`` steps (default 60 x 100,000 =
6 million points), ``--assets`` assets (default 10,000) of which ``--images`` are images
(2,000: half the user's images over 40 steps, half confusion-matrix example images named as
``log_confusion_matrix(images=...)`` names them; the rest small files), ``--output`` output
lines (100,000), a few system metrics and parameters. Everything is written through the
ingest service (the write path of the REST API and the SDK, rollups included) into a fresh
store, or reused with ``--home``.

Measured against a real ``halley serve`` (2 workers), median of ``--repeat`` fresh page loads
(after one warm-up round):
- first paint: navigation start until the browser's first contentful paint;
- charts: navigation start (``?tab=charts``) until every chart card in the window is drawn
  (its Plotly SVG holds its line); charts below the fold draw when scrolled to;
- each other tab: its click until its content is shown and no callback is pending (Assets:
  the grid shows rows and the count; Graphics: the first page of images has loaded, with the
  count);
- Assets, last row: the grid scrolled to its last row until that row is drawn.
Then the Charts tab is scrolled from top to bottom, each chart waited for until drawn: how
many of the charts drew and how long the scroll took. Also printed: how many charts were
drawn with WebGL, and whether the browser warned about too many WebGL contexts.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import chromium  # noqa: E402  (benchmarks/chromium.py: the browser, signed in)

USER, PASSWORD, PROJECT = "bench", "bench-password-1", "long-runs"
TIMEOUT = 120_000
TABS = ("metrics", "hyperparameters", "output", "system", "assets", "graphics")

# True when every chart card that intersects the window has drawn its line as SVG.
IN_VIEW_DRAWN_JS = """
() => {
  const cards = Array.from(document.querySelectorAll('.experiment-chart'));
  if (!cards.length) { return false; }
  const h = window.innerHeight;
  return cards.every(c => {
    const r = c.getBoundingClientRect();
    if (r.bottom < 0 || r.top > h) { return true; }
    return !!c.querySelector('.scatterlayer .trace path.js-line, canvas.gl-canvas');
  });
}
"""

# The tab's content is there and Dash has no callback in flight.
TAB_READY_JS = """
(tab) => {
  const content = document.querySelector('#experiment-tab-content');
  if (!content || !content.firstElementChild || content.dataset.benchOld === content.innerHTML.length + '') {
    return false;
  }
  if (document.querySelector('[data-dash-is-loading="true"]')) { return false; }
  if (tab === 'assets') {
    return !!document.querySelector('#experiment-assets-grid .ag-center-cols-container .ag-row')
      && /\d assets?$/.test((document.querySelector('#experiment-assets-count') || {}).textContent || '');
  }
  if (tab === 'graphics') {
    const imgs = [...document.querySelectorAll('.experiment-image')];
    const count = document.querySelector('#experiment-graphics-count');
    return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)
      && !!count && /images/.test(count.textContent);
  }
  const marker = {metrics: '#experiment-metrics-grid .ag-row', hyperparameters: '#experiment-params-grid .ag-row',
                  output: '#experiment-output-lines span', system: '#experiment-system-details'}[tab];
  return !!document.querySelector(marker);
}
"""

# The Assets grid scrolled to its last row, and that row drawn.
ASSETS_LAST_ROW_JS = """
() => {
  const a = dash_ag_grid.getApi('experiment-assets-grid');
  if (!a) { return false; }
  const last = a.getDisplayedRowCount() - 1;
  a.ensureIndexVisible(last);
  const row = document.querySelector(`#experiment-assets-grid .ag-row[row-index='${last}']`);
  return !!row && row.textContent.trim().length > 0;
}
"""


def tiny_png() -> bytes:
    from dashboard.sdk import formats

    return formats.array_to_png(np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8))


def prepare(home: Path, n_metrics: int, steps: int, n_assets: int, n_images: int, n_output: int) -> str:
    """The experiment's key (stored on first use of ``home``)."""
    from dashboard.auth import Actor
    from dashboard.config import Settings
    from dashboard.db import Database, migrate
    from dashboard.services import accounts, ingest, workspaces

    marker = home / "experiment-key.txt"
    if marker.exists():
        return marker.read_text().strip()
    os.environ["HALLEY_HOME"] = str(home)
    settings = Settings.from_env(home=str(home))
    migrate(settings.database_url)
    db = Database(settings.database_url)
    with db.session() as s:
        user = accounts.create_user(s, USER, f"{USER}@example.org", PASSWORD)
        actor = Actor(user_id=user.id, username=USER)
        workspaces.find_by_name(s, USER)
    with db.session() as s:
        exp, _ = ingest.start_experiment(s, actor, USER, PROJECT, name="sixty-metrics")
        key = exp.key
    started = time.time()
    x = np.arange(steps)
    chunk = max(1, 200_000 // steps) if steps < 200_000 else 1
    for first in range(0, n_metrics, chunk):
        columns = []
        for m in range(first, min(n_metrics, first + chunk)):
            y = np.exp(-x / (steps / (2 + m % 5))) + 0.05 * np.sin(x / (7 + m)) + 0.01 * (m % 3)
            columns.append({"name": f"metric_{m:02d}", "value": y.tolist(), "step": x.tolist(),
                            "timestamp": (1.7e9 + x * 0.01).tolist()})
        with db.session() as s:
            ingest.apply_batch(s, actor, key, {"batch_id": uuid.uuid4().hex, "metric_columns": columns})
        print(f"  stored {min(n_metrics, first + chunk)}/{n_metrics} metrics ({time.time() - started:.0f} s)",
              flush=True)
    sys_steps = np.arange(200)
    with db.session() as s:
        ingest.apply_batch(s, actor, key, {
            "batch_id": uuid.uuid4().hex,
            "metric_columns": [{"name": name, "value": (50 + 20 * np.sin(sys_steps / 9 + i)).tolist(),
                                "step": sys_steps.tolist(), "timestamp": (1.7e9 + sys_steps * 30.0).tolist()}
                               for i, name in enumerate(("sys.cpu.percent.avg", "sys.ram.percent.used"))],
            "parameters": [{"name": f"p{i}", "value": str(i)} for i in range(20)],
        })
    for first in range(0, n_output, 10_000):
        with db.session() as s:
            ingest.apply_batch(s, actor, key, {
                "batch_id": uuid.uuid4().hex,
                "output": [{"text": f"step {i}: loss {1 / (i + 1):.4f}\n", "offset": i}
                           for i in range(first, min(n_output, first + 10_000))]})
    print(f"  stored {n_output:,} output lines ({time.time() - started:.0f} s)", flush=True)
    image = tiny_png()
    with db.session() as s:
        for i in range(n_assets):
            if i < n_images // 2:
                data, type_, name, step = image, "image", f"sample_{i % 25}.png", i // 25
            elif i < n_images:
                data, type_, name, step = image, "image", f"confusion-matrix-{i:05d}.png", 1
            else:
                data, type_, name, step = b"x" * (i % 5000), "file", f"checkpoints/file_{i:05d}.bin", None
            ingest.store_asset(s, actor, key, data=data, type=type_, name=name, step=step, settings=settings)
    print(f"  stored {n_assets:,} assets ({n_images:,} images) ({time.time() - started:.0f} s)", flush=True)
    with db.session() as s:
        ingest.end_experiment(s, actor, key, "finished")
    marker.write_text(key)
    print(f"stored {n_metrics} x {steps:,} points, {n_output:,} output lines and {n_assets:,} assets "
          f"in {time.time() - started:.0f} s", flush=True)
    return key


def one_round(page, url: str, messages: list[str]) -> dict:
    messages.clear()
    page.goto("about:blank")
    page.goto(url + "?tab=charts")
    page.wait_for_function(IN_VIEW_DRAWN_JS, timeout=TIMEOUT)
    charts = page.evaluate("performance.now()") / 1000
    paint = page.evaluate("""() => { const p = performance.getEntriesByName('first-contentful-paint')[0];
                                     return p ? p.startTime : null; }""")
    out = {"paint": (paint or 0) / 1000, "charts": charts,
           "n_charts": page.locator(".experiment-chart").count(),
           "webgl": page.locator(".experiment-chart canvas.gl-canvas").count()}
    for tab in TABS:
        page.evaluate("() => { const c = document.querySelector('#experiment-tab-content');"
                      " c.dataset.benchOld = c.innerHTML.length + ''; }")
        t0 = page.evaluate("performance.now()")
        page.click(f"#experiment-tab-{tab}")
        page.wait_for_function(TAB_READY_JS, arg=tab, timeout=TIMEOUT)
        out[tab] = (page.evaluate("performance.now()") - t0) / 1000
        if tab == "assets":
            t1 = page.evaluate("performance.now()")
            page.wait_for_function(ASSETS_LAST_ROW_JS, timeout=TIMEOUT)
            out["assets_last_row"] = (page.evaluate("performance.now()") - t1) / 1000
            page.evaluate("() => { const c = document.querySelector('#experiment-tab-content');"
                          " c.dataset.benchOld = c.innerHTML.length + ''; }")
        if tab == "graphics":
            out["image_cards"] = page.locator(".experiment-image-card").count()
    out["webgl_warnings"] = sum("Too many active WebGL contexts" in m for m in messages)
    return out


def all_charts_drawn(page, url: str) -> tuple[int, float]:
    """Scroll the Charts tab from top to bottom; how many charts drew and how long it took."""
    page.goto(url + "?tab=charts")
    page.wait_for_function(IN_VIEW_DRAWN_JS, timeout=TIMEOUT)
    t0 = time.perf_counter()
    charts = page.locator(".experiment-chart")
    for i in range(charts.count()):
        charts.nth(i).scroll_into_view_if_needed()
        page.wait_for_function(IN_VIEW_DRAWN_JS, timeout=TIMEOUT)
    drawn = page.evaluate("() => document.querySelectorAll('.experiment-chart .scatterlayer .trace path.js-line,"
                          " .experiment-chart canvas.gl-canvas').length")
    return drawn, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, help="reuse this directory's store (created when missing)")
    ap.add_argument("--metrics", type=int, default=60)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--assets", type=int, default=10_000)
    ap.add_argument("--images", type=int, default=2_000, help="how many of the assets are images")
    ap.add_argument("--output", type=int, default=100_000, help="output lines")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="10,000 steps, 1,000 assets (200 images), 3 rounds")
    ap.add_argument("--screenshot", type=Path, help="save a screenshot of the Charts tab here")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.repeat = min(args.steps, 10_000), min(args.repeat, 3)
        args.assets, args.images = min(args.assets, 1_000), min(args.images, 200)
    home = args.home or Path(tempfile.mkdtemp(prefix="halley-exp-page-"))
    home.mkdir(parents=True, exist_ok=True)
    print(f"home {home}; {args.metrics} metrics x {args.steps:,} steps, {args.assets:,} assets "
          f"({args.images:,} images), {args.output:,} output lines; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    key = prepare(home, args.metrics, args.steps, args.assets, args.images, args.output)

    from playwright.sync_api import sync_playwright

    from tests.conftest import LiveServer

    server = LiveServer(home).start(workers=2)
    try:
        with sync_playwright() as pw:
            browser = chromium.launch(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            messages: list[str] = []
            page.on("console", lambda m: messages.append(m.text))
            chromium.sign_in(page, server.url, USER, PASSWORD)
            url = f"{server.url}/{USER}/{PROJECT}/{key}"
            rounds = []
            for r in range(args.repeat + 1):  # the first round warms the server and is not counted
                res = one_round(page, url, messages)
                print(f"  round {r}{' (warm-up)' if r == 0 else ''}: paint {res['paint']:.2f} s, "
                      f"charts {res['charts']:.2f} s, "
                      + ", ".join(f"{t} {res[t]:.2f} s" for t in TABS)
                      + f"; load avg {os.getloadavg()[0]:.1f}", flush=True)
                rounds.append(res)
            rounds = rounds[1:]
            drawn, scroll_s = all_charts_drawn(page, url)
            if args.screenshot:
                page.goto(url + "?tab=charts")
                page.wait_for_function(IN_VIEW_DRAWN_JS, timeout=TIMEOUT)
                page.screenshot(path=str(args.screenshot))
            browser.close()
    finally:
        server.stop()

    def med(k):
        return statistics.median(r[k] for r in rounds)

    print(f"\nExperiment page, {args.metrics} metrics x {args.steps:,} steps, {args.assets:,} assets "
          f"({args.images:,} images), {args.output:,} output lines; median of {len(rounds)} rounds "
          "(after a warm-up), headless Chromium, 1400 x 1000 px")
    print(f"{'first contentful paint':<48}{med('paint'):7.2f} s")
    print(f"{'Charts tab: every chart in view drawn':<48}{med('charts'):7.2f} s")
    for tab in TABS:
        print(f"{'tab ' + tab:<48}{med(tab):7.2f} s")
        if tab == "assets":
            print(f"{'  Assets grid: scrolled to the last row, drawn':<48}{med('assets_last_row'):7.2f} s")
    print(f"image cards on the Graphics tab's first page: {rounds[0]['image_cards']}")
    print(f"charts on the page: {rounds[0]['n_charts']}; drawn with WebGL: {rounds[0]['webgl']}; "
          f"'Too many active WebGL contexts' warnings: {sum(r['webgl_warnings'] for r in rounds)}")
    print(f"scrolled through the Charts tab: {drawn} of {rounds[0]['n_charts']} charts drawn in {scroll_s:.1f} s")
    print(f"1-minute load average {os.getloadavg()[0]:.2f}; cores {os.cpu_count()}")


if __name__ == "__main__":
    main()
