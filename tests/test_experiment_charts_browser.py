"""The experiment page's Charts tab in headless Chromium: every chart of a many-metric run draws
(as SVG, when scrolled to), and a running experiment's charts and status update on their own."""
import re
import threading

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.conftest import sign_in
from tests.experiment_fixtures import Logger

pytestmark = pytest.mark.browser

WEBGL_WARNING = "Too many active WebGL contexts"
METRICS = 60


@pytest.fixture
def console_messages(page):
    """Every console message (warnings too)."""
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    page.on("pageerror", lambda e: messages.append(str(e)))
    return messages


def chart_drawn(page, index: int) -> bool:
    """Whether chart ``index`` has drawn its line as a Plotly SVG trace."""
    return page.evaluate("""i => {
        const chart = document.querySelectorAll('.experiment-chart')[i];
        const plot = chart && chart.querySelector('.js-plotly-plot');
        return !!(plot && plot.data && plot.data.length && chart.querySelector('.scatterlayer .trace path.js-line'));
    }""", index)


def test_a_sixty_metric_run_draws_every_chart(server, accounts, page, console_messages):
    owner = accounts.create("many")
    log = Logger(server.home, server.database_url, owner.username)
    key = log.start("many", name="sixty")
    steps = np.arange(1000)
    log.batch(key, metrics=[{"name": f"metric_{m:02d}", "value": float(np.sin(s / (m + 5))), "step": int(s)}
                            for m in range(METRICS) for s in steps])
    log.end(key)
    sign_in(page, server, owner, f"/{owner.workspace}/many/{key}?tab=charts")
    charts = page.locator(".experiment-chart")
    expect(charts).to_have_count(METRICS)
    page.wait_for_function("() => document.querySelector('.experiment-chart .scatterlayer .trace')")
    # charts far below the fold wait until scrolled to
    assert not chart_drawn(page, METRICS - 1)
    for i in range(METRICS):
        page.evaluate("i => document.querySelectorAll('.experiment-chart')[i].scrollIntoView({block: 'center'})", i)
        page.wait_for_function("""i => {
            const chart = document.querySelectorAll('.experiment-chart')[i];
            return !!(chart && chart.querySelector('.scatterlayer .trace path.js-line'));
        }""", arg=i)
    assert all(chart_drawn(page, i) for i in range(METRICS))
    assert page.locator(".experiment-chart canvas.gl-canvas").count() == 0  # SVG, no WebGL context
    assert page.locator(".experiment-chart .gtitle, .experiment-chart .ytitle").first.is_visible()
    assert [m for m in console_messages if WEBGL_WARNING in m] == []
    page.screenshot(path=str(server.home / "sixty-metrics.png"))


def last_step(page) -> float | None:
    return page.evaluate("""() => {
        const p = document.querySelector('.experiment-chart .js-plotly-plot');
        if (!p || !p._fullData || !p._fullData.length) { return null; }
        const x = Array.from(p._fullData[0].x);
        return x.length ? x[x.length - 1] : null;
    }""")


def test_a_running_experiments_chart_output_and_status_update_without_reload(server, accounts, page, console_messages):
    owner = accounts.create("livechart")
    log = Logger(server.home, server.database_url, owner.username)
    key = log.start("live", name="running")
    log.batch(key, metrics=[{"name": "loss", "value": 1.0 / (s + 1), "step": s} for s in range(20)],
              output=[{"text": f"step {s}\n", "offset": s} for s in range(20)])
    stop = threading.Event()
    logged = {"step": 20}

    def keep_logging():
        while not stop.wait(0.5):
            s = logged["step"]
            log.batch(key, metrics=[{"name": "loss", "value": 1.0 / (s + 1), "step": s}],
                      output=[{"text": f"step {s}\n", "offset": s}])
            logged["step"] = s + 1

    sign_in(page, server, owner, f"/{owner.workspace}/live/{key}?tab=charts")
    expect(page.locator("#experiment-status")).to_have_text("running")
    page.wait_for_function("() => { const p = document.querySelector('.experiment-chart .js-plotly-plot');"
                           " return p && p.data && p.data.length; }")
    first = last_step(page)
    worker = threading.Thread(target=keep_logging, daemon=True)
    worker.start()
    try:
        page.wait_for_function(f"""() => {{
            const p = document.querySelector('.experiment-chart .js-plotly-plot');
            if (!p || !p._fullData || !p._fullData.length) {{ return false; }}
            const x = Array.from(p._fullData[0].x);
            return x[x.length - 1] > {first};
        }}""", timeout=30_000)
        # the output follows too
        page.click("#experiment-tab-output")
        label = page.locator("#experiment-output-range")
        expect(label).to_have_text(re.compile(r"Lines 1-\d+ of \d+"))
        shown = label.inner_text()
        expect(label).not_to_have_text(shown, timeout=30_000)
        page.click("#experiment-tab-charts")
    finally:
        stop.set()
        worker.join()
    log.end(key)
    expect(page.locator("#experiment-status")).to_have_text("finished", timeout=30_000)
    # once it ended, the chart shows every logged step
    page.wait_for_function(f"""() => {{
        const p = document.querySelector('.experiment-chart .js-plotly-plot');
        const x = p && p._fullData && p._fullData.length ? Array.from(p._fullData[0].x) : [];
        return x[x.length - 1] === {logged['step'] - 1};
    }}""", timeout=30_000)
    assert [m for m in console_messages if "rror" in m] == []
