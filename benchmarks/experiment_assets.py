"""Experiment page benchmark: the Assets and Graphics tabs of one experiment with many assets,
in headless Chromium.

    .venv/bin/python benchmarks/experiment_assets.py [--home DIR] [--assets 10000] [--images 2000] [--repeat 5]

Data (written through the ingest service, reused with ``--home``): one experiment with
``--assets`` assets, of which ``--images`` are images (half the user's images over 40 steps,
half confusion-matrix example images named as ``log_confusion_matrix(images=...)`` names them)
and the rest small files.

Measured against a real ``halley serve`` (2 workers), median of ``--repeat`` fresh page loads
after a warm-up:
- Assets: navigation start until the grid shows its first rows and the count;
- Assets, last block: from there until the grid has scrolled to the last row and drawn it;
- Graphics: navigation start until the first page of image cards is shown with every image
  loaded, and the count.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import chromium  # noqa: E402  (benchmarks/chromium.py: the browser, signed in)

from dashboard.auth import Actor  # noqa: E402
from dashboard.config import Settings  # noqa: E402
from dashboard.db import Database, migrate  # noqa: E402
from dashboard.services import accounts, ingest  # noqa: E402

USER, PASSWORD, PROJECT = "bench", "bench-password", "assets"
TIMEOUT = 120_000  # ms


def tiny_png() -> bytes:
    import numpy as np

    from dashboard.sdk import formats

    return formats.array_to_png(np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8))


def prepare(home: Path, n_assets: int, n_images: int) -> str:
    """The experiment's key, stored in ``home`` unless it is there already."""
    url = f"sqlite:///{home / 'halley.db'}"
    os.environ["HALLEY_HOME"] = str(home)
    migrate(url)
    db = Database(url)
    settings = Settings.from_env(home=str(home), database_url=url)
    with db.session() as s:
        user = accounts.find_user(s, USER) or accounts.create_user(s, USER, f"{USER}@example.org", PASSWORD)
        actor = Actor(user_id=user.id, username=user.username)
    key_file = home / "assets-experiment.key"
    if key_file.exists():
        return key_file.read_text().strip()
    t0 = time.perf_counter()
    image = tiny_png()
    with db.session() as s:
        exp, _ = ingest.start_experiment(s, actor, USER, PROJECT, name="many-assets")
        key = exp.key
    with db.session() as s:
        for i in range(n_assets):
            if i < n_images // 2:
                data, type_, name, step = image, "image", f"sample_{i % 25}.png", i // 25
            elif i < n_images:
                data, type_, name, step = image, "image", f"confusion-matrix-{i:05d}.png", 1
            else:
                data, type_, name, step = b"x" * (i % 5000), "file", f"checkpoints/file_{i:05d}.bin", None
            ingest.store_asset(s, actor, key, data=data, type=type_, name=name, step=step, settings=settings)
    with db.session() as s:
        ingest.end_experiment(s, actor, key, "finished")
    key_file.write_text(key)
    print(f"stored {n_assets:,} assets ({n_images:,} images) in {time.perf_counter() - t0:.1f} s", flush=True)
    return key


def round_once(page, base: str) -> dict:
    t0 = time.perf_counter()
    page.goto(base + "?tab=assets")
    page.wait_for_selector("#experiment-assets-grid .ag-center-cols-container .ag-row", timeout=TIMEOUT)
    page.wait_for_function("/\\d assets?$/.test((document.querySelector('#experiment-assets-count') || {})"
                           ".textContent || '')", timeout=TIMEOUT)
    assets = time.perf_counter() - t0
    t1 = time.perf_counter()
    page.wait_for_function("""() => { const a = dash_ag_grid.getApi('experiment-assets-grid');
        if (!a) return false; const last = a.getDisplayedRowCount() - 1; a.ensureIndexVisible(last);
        const row = document.querySelector(`#experiment-assets-grid .ag-row[row-index='${last}']`);
        return !!row && row.textContent.trim().length > 0; }""", timeout=TIMEOUT)
    last_block = time.perf_counter() - t1
    t2 = time.perf_counter()
    page.goto(base + "?tab=graphics")
    page.wait_for_function("""() => { const imgs = [...document.querySelectorAll('.experiment-image')];
        const count = document.querySelector('#experiment-graphics-count');
        return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)
            && count && /images/.test(count.textContent); }""", timeout=TIMEOUT)
    graphics = time.perf_counter() - t2
    cards = page.locator(".experiment-image-card").count()
    return {"assets": assets, "last_block": last_block, "graphics": graphics, "cards": cards}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, help="reuse this directory's store (created when missing)")
    ap.add_argument("--assets", type=int, default=10_000)
    ap.add_argument("--images", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=5, help="measured rounds after a warm-up (default 5)")
    ap.add_argument("--screenshot", type=Path, help="save screenshots of both tabs as PATH-assets.png, PATH-graphics.png")
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="halley-assets-"))
    home.mkdir(parents=True, exist_ok=True)
    print(f"home {home}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    key = prepare(home, args.assets, args.images)

    from playwright.sync_api import sync_playwright

    from tests.conftest import LiveServer

    server = LiveServer(home).start(workers=2)
    try:
        with sync_playwright() as pw:
            browser = chromium.launch(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            chromium.sign_in(page, server.url, USER, PASSWORD)
            base = f"{server.url}/{USER}/{PROJECT}/{key}"
            rounds = []
            for r in range(args.repeat + 1):  # the first round warms the server and is not counted
                res = round_once(page, base)
                print(f"  round {r}{' (warm-up)' if r == 0 else ''}: Assets {res['assets']:.2f} s, "
                      f"last block {res['last_block']:.2f} s, Graphics {res['graphics']:.2f} s "
                      f"({res['cards']} cards); load avg {os.getloadavg()[0]:.1f}", flush=True)
                rounds.append(res)
            if args.screenshot:
                page.goto(base + "?tab=assets")
                page.wait_for_selector("#experiment-assets-grid .ag-row", timeout=TIMEOUT)
                page.screenshot(path=f"{args.screenshot}-assets.png")
                page.goto(base + "?tab=graphics")
                page.wait_for_selector(".experiment-image-card", timeout=TIMEOUT)
                page.screenshot(path=f"{args.screenshot}-graphics.png")
            browser.close()
    finally:
        server.stop()
    measured = rounds[1:] or rounds
    print(f"\nExperiment with {args.assets:,} assets ({args.images:,} images, half of them confusion-matrix "
          f"examples); median of {len(measured)} rounds after a warm-up, headless Chromium, 1400 x 1000 px")
    for label, k in (("Assets tab: grid rows + count shown", "assets"),
                     ("Assets tab: scrolled to the last row, drawn", "last_block"),
                     ("Graphics tab: first page of images loaded + count", "graphics")):
        print(f"  {label:<52}{statistics.median(r[k] for r in measured):7.2f} s")


if __name__ == "__main__":
    main()
