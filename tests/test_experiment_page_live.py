"""The experiment page against live and large runs: the Stop button ending a real SDK run in a
subprocess, and an experiment with 100,000 output lines, 1,000 histogram steps and 2,000 images."""
import os
import subprocess
import sys
import textwrap

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT, sign_in
from tests.experiment_fixtures import Logger, large_experiment

pytestmark = pytest.mark.browser


RUN_SCRIPT = textwrap.dedent("""
    import sys, time
    from dashboard.sdk import Experiment, InterruptedExperiment

    exp = Experiment(project_name="live", workspace=sys.argv[1])
    print(exp.get_key(), flush=True)
    try:
        for step in range(3000):
            exp.log_metric("loss", 1.0 / (step + 1), step=step)
            time.sleep(0.1)
        print("FINISHED WITHOUT STOP", flush=True)
    except InterruptedExperiment as exc:
        print("INTERRUPTED:", exc, flush=True)
    exp.end()
""")


def test_stop_button_interrupts_a_running_sdk_script(server, accounts, page, tmp_path, console_errors):
    owner = accounts.create("stopper")
    env = dict(os.environ, HALLEY_API_KEY=owner.api_key, HALLEY_URL=server.url,
               HALLEY_SPOOL_DIR=str(tmp_path / "spool"), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", RUN_SCRIPT, owner.workspace], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        key = proc.stdout.readline().strip()
        assert len(key) == 32, key
        sign_in(page, server, owner, f"/{owner.workspace}/live/{key}")
        expect(page.locator("#experiment-status")).to_have_text("running")
        page.click("#experiment-stop-open")
        page.click("#experiment-stop-confirm")
        expect(page.locator("#experiment-stop-requested")).to_be_visible()
        expect(page.locator("#experiment-stop-open")).to_be_disabled()
        out, _ = proc.communicate(timeout=60)
        assert "INTERRUPTED: The experiment has been stopped by user " + owner.username in out
        assert proc.returncode == 0
        # The page notices the end by itself (status poll) and shows "stopped".
        expect(page.locator("#experiment-status")).to_have_text("stopped", timeout=20_000)
        # ... and the "Stop requested" banner turns into the outcome on that same status read.
        expect(page.locator("#experiment-stop-outcome")).to_have_text("Stopped: the script has ended.")
        expect(page.locator("#experiment-stop-requested")).to_have_count(0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert console_errors == []


@pytest.fixture(scope="module")
def large(server, accounts):
    owner = accounts.create("large")
    key = large_experiment(Logger(server.home, server.database_url, owner.username))
    return owner, f"/{owner.workspace}/big/{key}"


def test_large_output_pages_and_searches(server, large, page, console_errors):
    owner, path = large
    sign_in(page, server, owner, path + "?tab=output")
    rng = page.locator("#experiment-output-range")
    expect(rng).to_have_text("Lines 1-1,000 of 100,000", timeout=20_000)
    expect(page.locator("#experiment-output-lines span")).to_have_count(1000)
    page.click("#experiment-output-next")
    expect(rng).to_have_text("Lines 1,001-2,000 of 100,000")
    expect(page.locator("#experiment-output-lines span").first).to_have_text("line 1000 hay\n")
    page.fill("#experiment-output-search", "needle")
    page.press("#experiment-output-search", "Enter")
    expect(rng).to_have_text("Lines 1-10 of 10 matching")
    expect(page.locator("#experiment-output-lines span").last).to_have_text("line 90007 needle\n")
    assert console_errors == []


def test_large_graphics_and_histograms(server, large, page, console_errors):
    owner, path = large
    sign_in(page, server, owner, path + "?tab=graphics")
    count = page.locator("#experiment-graphics-count")
    expect(count).to_have_text("2,000 of 2,000 images · page 1 of 34", timeout=20_000)
    expect(page.locator(".experiment-image-card")).to_have_count(60)
    page.click("#experiment-graphics-page-next")
    expect(count).to_have_text("2,000 of 2,000 images · page 2 of 34")
    page.select_option("#experiment-graphics-filter-mode", "regex")
    page.fill("#experiment-graphics-filter", r"^cat_\d+\.png$")
    page.press("#experiment-graphics-filter", "Enter")
    expect(count).to_have_text("500 of 2,000 images · page 1 of 9")
    page.select_option("#experiment-graphics-step", "39")
    expect(count).to_have_text("12 of 2,000 images")
    expect(page.locator(".experiment-image-card")).to_have_count(12)

    page.goto(server.url + path + "?tab=histograms")
    expect(page.locator(".experiment-hist-card")).to_have_count(1, timeout=30_000)
    page.wait_for_function("() => { const g = document.querySelector('.experiment-hist-card .js-plotly-plot');"
                           " if (!g) return false; const ys = g.data[0].y.filter(v => v !== null);"
                           " return Math.min(...ys) === 0 && Math.max(...ys) === 999; }", timeout=30_000)
    assert console_errors == []
