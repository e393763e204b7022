"""Project panels in headless Chromium: the gallery, the editor, saved views, export, zoom and
the parallel-coordinates brush narrowing the experiment table. WebGL and Plotly are slow
under software rendering, so waits are generous."""
import json
import os
import re
import tempfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from playwright.sync_api import expect

from dashboard.auth import Actor
from dashboard.db import Database
from dashboard.services import accounts as account_service, experiment_bulk, ingest, project_views, projects
from tests.conftest import PARCOORDS_DRAWN, brush_parcoords, drag_on_parcoords_axis, sign_in, wait_parcoords_axes

pytestmark = pytest.mark.browser
SLOW = 30_000
LRS = [0.1, 0.03, 0.01, 0.003, 0.001, 0.0003]
SHOTS = Path(os.environ.get("HALLEY_SCREENSHOTS", tempfile.gettempdir()))


@pytest.fixture(scope="module")
def panel_project(server, accounts):
    """Six runs with loss/acc curves and lr/optimizer parameters; the last one is hidden."""
    owner = accounts.create("pan")
    db = Database(server.database_url)
    rng = np.random.default_rng(0)
    with db.session() as s:
        user = account_service.find_user(s, owner.username)
        actor = Actor(user_id=user.id, username=user.username)
        keys = []
        for i in range(6):
            exp, _ = ingest.start_experiment(s, actor, owner.workspace, "panels", name=f"run-{i}")
            metrics = [{"name": "loss", "value": float(np.exp(-st / 80) * (1 + i / 10) + rng.normal(0, 0.02)),
                        "step": st} for st in range(300)]
            metrics += [{"name": "acc", "value": float(1 - np.exp(-st / 60) * (1 + i / 10)), "step": st}
                        for st in range(300)]
            if i == 0:
                metrics.append({"name": "loss", "value": "NaN", "step": 300})
            ingest.apply_batch(s, actor, exp.key, {
                "batch_id": f"panels-{owner.username}-{i}", "metrics": metrics,
                "parameters": [{"name": "lr", "value": LRS[i]}, {"name": "optimizer", "value": ["sgd", "adam"][i % 2]}]})
            # finished: a running one would turn "crashed" once its heartbeat is missed, and the
            # page's live poll would redraw every panel in the middle of a test
            ingest.end_experiment(s, actor, exp.key, "finished")
            keys.append(exp.key)
        project = projects.get_readable(s, actor, owner.workspace, "panels")
        experiment_bulk.set_visible(s, actor, project, [keys[5]], False)
    return {"owner": owner, "path": f"/{owner.workspace}/panels", "keys": keys, "db": db, "actor": actor}


def _view_with_panels(panel_project, name: str, panels: list[dict]) -> str:
    with panel_project["db"].session() as s:
        project = projects.get_readable(s, panel_project["actor"], panel_project["owner"].workspace, "panels")
        view = project_views.create_view(s, panel_project["actor"], project, name, {"panels": panels})
    return f"{panel_project['path']}?view={view.id}"


def _card(page, kind: str):
    return page.locator(f'.project-panel[data-panel-type="{kind}"]')


def _menu_item(page, kind: str, label: str):
    card = _card(page, kind)
    card.locator(".project-panel-menu-toggle").click()
    return card.locator(".dropdown-menu").get_by_text(label, exact=True)


DRAWN = {"line": ".scatterlayer .trace", "bar": ".barlayer .trace", "scatter": ".scatterlayer .trace",
         "parcoords": PARCOORDS_DRAWN}


def test_add_each_panel_type_edit_save_view_and_reload(server, page, panel_project, console_errors):
    sign_in(page, server, panel_project["owner"], panel_project["path"])
    expect(page.locator("#project-panels-add")).to_be_visible(timeout=SLOW)
    for kind in ("line", "bar", "scatter", "parcoords"):
        page.click("#project-panels-add")
        expect(page.locator("#project-panels-gallery")).to_contain_text("Built-in")
        page.locator(f'[id*="builtin:{kind}"]').click()
        preview = page.locator("#project-editor-preview")
        expect(preview.locator(DRAWN[kind]).first).to_be_attached(timeout=SLOW)  # the live preview
        if kind == "line":
            page.fill("#project-editor-name", "Loss curves")
        page.click("#project-editor-done")
        expect(page.locator("#project-panels-editor")).not_to_be_visible()
        expect(_card(page, kind).locator(DRAWN[kind]).first).to_be_attached(timeout=SLOW)

    # Only the visible experiments are drawn, each in its color, named in the legend.
    line = _card(page, "line")
    expect(line.locator(".scatterlayer .trace")).to_have_count(5, timeout=SLOW)
    expect(line.locator(".legend")).to_contain_text("run-4")
    expect(line.locator(".legend")).not_to_contain_text("run-5")
    wait_parcoords_axes(_card(page, "parcoords"), ["lr", "optimizer", "acc"])
    # run-0 logged a NaN: the panels reading its last value say so.
    expect(_card(page, "scatter")).to_contain_text("Some invalid values were ignored", timeout=SLOW)

    # Edit: rename, legend by key.
    _menu_item(page, "line", "Edit Panel").click()
    expect(page.locator("#project-editor-name")).to_have_value("Loss curves", timeout=SLOW)
    page.fill("#project-editor-name", "Loss (edited)")
    page.locator("#project-editor-legend").get_by_text("Experiment keys").click()
    page.click("#project-editor-done")
    expect(line.locator(".project-panel-title")).to_have_text("Loss (edited)")
    expect(line.locator(".legend")).to_contain_text(panel_project["keys"][0][:8], timeout=SLOW)

    # Delete one, then save the view and find the panels after a reload.
    _menu_item(page, "bar", "Delete").click()
    expect(_card(page, "bar")).to_have_count(0)
    page.click("#project-view-save-open")
    page.fill("#project-view-name", "Panels view")
    page.click("#project-view-save")
    page.wait_for_url(re.compile(r"\?view=\d+"), timeout=SLOW)
    page.reload()
    expect(page.locator(".project-panel")).to_have_count(3, timeout=SLOW)
    expect(_card(page, "line").locator(".project-panel-title")).to_have_text("Loss (edited)")
    expect(_card(page, "line").locator(".scatterlayer .trace")).to_have_count(5, timeout=SLOW)
    wait_parcoords_axes(_card(page, "parcoords"), ["lr", "optimizer", "acc"])
    page.screenshot(path="/tmp/shots/panels_saved_view.png", full_page=True)
    assert console_errors == []


def test_export_svg_and_jpeg_and_zoom_rereads_the_range(server, page, panel_project, console_errors, tmp_path):
    url = _view_with_panels(panel_project, "Export view", [{"type": "line", "name": "Accuracy", "metrics": ["acc"]}])
    sign_in(page, server, panel_project["owner"], url)
    card = _card(page, "line")
    expect(card.locator(".scatterlayer .trace")).to_have_count(5, timeout=SLOW)

    for label, fmt in (("Export as SVG", "svg"), ("Export as JPEG", "jpeg")):
        with page.expect_download(timeout=SLOW) as info:
            _menu_item(page, "line", label).click()
        download = info.value
        assert download.suggested_filename == f"Accuracy.{fmt}"
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        data = path.read_bytes()
        if fmt == "svg":
            assert data.lstrip().startswith(b"<svg") and b"run-1" in data
        else:
            assert data[:3] == b"\xff\xd8\xff" and len(data) > 5_000

    # Zooming asks the server for the visible steps only; Reset zoom brings back everything.
    pid = card.get_attribute("data-panel-id")
    graph = f"#project-panel-{pid} .js-plotly-plot"
    page.evaluate(f"Plotly.relayout(document.querySelector('{graph}'), {{'xaxis.range': [100, 150]}})")
    page.wait_for_function(f"""() => {{ const xs = Array.from(document.querySelector('{graph}')._fullData[0].x);
        return xs.length === 51 && xs[0] === 100 && xs[50] === 150; }}""", timeout=SLOW)
    _menu_item(page, "line", "Reset zoom").click()
    page.wait_for_function(f"() => document.querySelector('{graph}')._fullData[0].x.length === 300", timeout=SLOW)
    assert console_errors == []


def test_zoom_on_a_metric_x_axis_is_read_again(server, page, panel_project, console_errors):
    """Zooms on x axes other than the step go to the server too (mapped to each run's steps)."""
    url = _view_with_panels(panel_project, "Loss vs accuracy",
                            [{"type": "line", "name": "Loss by accuracy", "metrics": ["loss"], "x": "metric:acc"}])
    sign_in(page, server, panel_project["owner"], url)
    card = _card(page, "line")
    expect(card.locator(".scatterlayer .trace")).to_have_count(5, timeout=SLOW)
    graph = f"#project-panel-{card.get_attribute('data-panel-id')} .js-plotly-plot"
    page.wait_for_load_state("networkidle")  # the first draw's requests are answered
    page.evaluate(f"Plotly.relayout(document.querySelector('{graph}'), {{'xaxis.range': [0.5, 0.7]}})")

    def zoomed(lo, hi):
        return f"""() => {{ const d = document.querySelector('{graph}')._fullData;
            return d.length === 5 && d.every(t => {{ const xs = Array.from(t.x);
                return xs.length > 3 && xs.every(x => x >= {lo} && x <= {hi}); }}); }}"""
    page.wait_for_function(zoomed(0.5, 0.7), timeout=SLOW)

    # A resize (Plotly's autosize event) and a y-only zoom keep the x zoom and read nothing;
    # the next x zoom is read again.
    reads = []
    page.on("request", lambda r: reads.append(r.url) if "_dash-update-component" in r.url
            and "project-panel-line" in (r.post_data or "") else None)
    page.set_viewport_size({"width": 1200, "height": 900})
    for change in ("{autosize: true}", "{'yaxis.range': [0, 1]}", "{'xaxis.range': [0.55, 0.65]}"):
        page.evaluate(f"Plotly.relayout(document.querySelector('{graph}'), {change})")
        page.wait_for_timeout(400)  # each its own event: the page would ask at once
    page.wait_for_function(zoomed(0.55, 0.65), timeout=SLOW)
    assert len(reads) == 1
    assert console_errors == []


def test_brush_parallel_coordinates_narrows_table_and_saves_query(server, page, panel_project, console_errors):
    url = _view_with_panels(panel_project, "Sweep view", [
        {"type": "parcoords", "name": "Sweep", "axes": ["param:lr", "param:optimizer", "metric:acc"]}])
    sign_in(page, server, panel_project["owner"], url)
    card = _card(page, "parcoords")
    wait_parcoords_axes(card, ["lr", "optimizer", "acc"])
    expect(page.locator("#project-count")).to_have_text("6 experiments", timeout=SLOW)

    # A drag with the mouse along the lr axis brushes it: the table narrows to what it selects.
    drag_on_parcoords_axis(page, card, 0, 3, 0.3, 0.7)
    expect(page.locator("#project-panels-brush-count")).to_contain_text("lr between", timeout=SLOW)
    expect(page.locator("#project-count")).not_to_have_text("6 experiments", timeout=SLOW)

    # lr spans more than two decades: a log axis, so the brush is sent in log10 units
    # (log10 0.005 .. log10 0.2); the count, the table and the saved query use the real values.
    brush_parcoords(card, 0, float(np.log10(0.005)), float(np.log10(0.2)))
    expect(page.locator("#project-panels-brush-count")).to_contain_text("3 experiments", timeout=SLOW)
    expect(page.locator("#project-panels-brush-count")).to_contain_text("lr between 0.005 and 0.2")
    expect(page.locator("#project-count")).to_have_text("3 experiments", timeout=SLOW)
    names = page.locator(".ag-center-cols-container .ag-row")
    expect(names).to_have_count(3, timeout=SLOW)
    page.screenshot(path="/tmp/shots/panels_brush.png", full_page=True)

    page.click("#project-panels-brush-save")
    expect(page.locator("#project-toast")).to_contain_text("Saved the query", timeout=SLOW)
    expect(page.locator("#project-filter-chips")).to_contain_text("between", timeout=SLOW)
    expect(page.locator("#project-count")).to_have_text("3 experiments", timeout=SLOW)
    with panel_project["db"].session() as s:
        project = projects.get_readable(s, panel_project["actor"], panel_project["owner"].workspace, "panels")
        saved = [q for q in project_views.list_queries(s, panel_project["actor"], project) if q.name.startswith("Brush")]
    assert len(saved) == 1
    rules = json.loads(saved[0].filters_json)["rules"]
    assert rules == [{"attr": "param:lr", "operator": "between", "value": 0.005, "value2": 0.2}]
    assert console_errors == []


def test_parallel_coordinates_export_and_reset(server, page, panel_project, console_errors, tmp_path):
    """Export draws the chart with its frame; Reset zoom clears the brush (the table widens again)."""
    url = _view_with_panels(panel_project, "Sweep export", [
        {"type": "parcoords", "name": "Sweep", "axes": ["param:lr", "param:optimizer", "metric:acc"]}])
    sign_in(page, server, panel_project["owner"], url)
    card = _card(page, "parcoords")
    wait_parcoords_axes(card, ["lr", "optimizer", "acc"])
    for fmt, label in (("svg", "Export as SVG"), ("png", "Export as PNG")):
        with page.expect_download() as info:
            _menu_item(page, "parcoords", label).click()
        path = tmp_path / info.value.suggested_filename
        assert path.name == f"Sweep.{fmt}"
        info.value.save_as(path)
        data = path.read_bytes()
        if fmt == "svg":  # the frame's svg holding the chart's (well-formed: a PNG is drawn from it)
            assert data.lstrip().startswith(b"<svg") and data.count(b"<svg") == 2
            ElementTree.fromstring(data)
            assert b">optimizer<" in data and b">adam<" in data
        else:
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000

    brush_parcoords(card, 0, float(np.log10(0.005)), float(np.log10(0.2)))
    expect(page.locator("#project-count")).to_have_text("3 experiments", timeout=SLOW)
    _menu_item(page, "parcoords", "Reset zoom").click()
    expect(page.locator("#project-count")).to_have_text("6 experiments", timeout=SLOW)
    expect(page.locator("#project-panels-brush-count")).to_have_count(0, timeout=SLOW)
    assert console_errors == []


def test_parallel_coordinates_show_names_as_text(server, page, panel_project, console_errors):
    """Axis names and category ticks are user text: the renderer shows them as typed (Plotly's
    escaping undone, nothing parsed as markup)."""
    sign_in(page, server, panel_project["owner"], panel_project["path"])
    expect(page.locator("#project-panels-add")).to_be_visible(timeout=SLOW)
    name = '<img src=x onerror="window.__pwned=1">&amp; 5%'
    escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("%", "&#37;")
    page.evaluate("""([label, category]) => {
        const graph = document.createElement('div');
        graph.id = 'parcoords-text-check';
        graph.style.cssText = 'width: 500px; height: 320px';
        document.body.appendChild(graph);
        window.halleyParcoords.draw({data: [{type: 'parcoords', visible: false, meta: {renderer: 'halley-parcoords', log: [false, false]},
            dimensions: [{label: label, values: [0, 1], tickvals: [0, 1], ticktext: [category, 'b']},
                         {label: 'loss', values: [0.5, 0.7]}], line: {color: [0.5, 0.7]}}],
            layout: {margin: {l: 60, r: 100, t: 60, b: 30}}}, 'parcoords-text-check');
    }""", [escaped, name])
    drawn = page.locator(f"#parcoords-text-check {PARCOORDS_DRAWN}")
    expect(drawn).to_contain_text(name, timeout=SLOW)
    assert drawn.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None

    # Mounted again (a new element with the same id, no call back, as Dash may do): drawn again,
    # and the chart of the element taken out is disposed of.
    page.evaluate("""() => {
        const old = document.getElementById('parcoords-text-check');
        window.__oldHost = old.querySelector('.halley-parcoords');
        const graph = document.createElement('div');
        graph.id = old.id;
        graph.style.cssText = old.style.cssText;
        old.replaceWith(graph);
    }""")
    expect(drawn).to_contain_text(name, timeout=SLOW)
    assert page.evaluate("!window.echarts.getInstanceByDom(window.__oldHost)")
    assert console_errors == []


def test_anonymous_visitor_sees_panels_of_a_public_project(server, page, panel_project, console_errors):
    owner, actor = panel_project["owner"], panel_project["actor"]
    with panel_project["db"].session() as s:
        for i in range(2):
            exp, _ = ingest.start_experiment(s, actor, owner.workspace, "open", name=f"open-{i}")
            ingest.apply_batch(s, actor, exp.key, {"batch_id": f"open-{owner.username}-{i}", "metrics": [
                {"name": "loss", "value": 1.0 / (st + 1 + i), "step": st} for st in range(50)]})
        project = projects.get_readable(s, actor, owner.workspace, "open")
        projects.update(s, actor, project.id, is_public=True)
        view = project_views.create_view(s, actor, project, "Public panels", {"panels": [
            {"type": "line", "metrics": ["loss"]}, {"type": "bar", "metric": "loss", "aggregation": "average"}]})
        project_views.set_default(s, actor, project, view.id)
    page.goto(server.url + f"/{owner.workspace}/open")
    expect(_card(page, "line").locator(".scatterlayer .trace")).to_have_count(2, timeout=SLOW)
    expect(_card(page, "bar").locator(".barlayer .point")).to_have_count(2, timeout=SLOW)
    assert console_errors == []


SIX_PANELS = [{"type": "line", "name": "Loss", "metrics": ["loss"]},
              {"type": "line", "name": "Acc", "metrics": ["acc"]},
              {"type": "bar", "metric": "acc", "aggregation": "average"},
              {"type": "bar", "metric": "loss", "aggregation": "median"},
              {"type": "scatter", "xAxis": {"source": "param", "name": "lr"},
               "yAxis": {"source": "metric", "name": "loss"}},
              {"type": "parcoords", "axes": ["param:lr", "metric:acc"]}]
# How many experiments a panel's figure shows, read from the graph in the page.
SHOWN_JS = """(el) => {
    const d = el._fullData || [];
    if (!d.length) return -1;
    if (d[0].type === 'bar') return d[0].x.length;
    if (d[0].type === 'parcoords') {  // drawn by assets/parcoords.js: the lines it drew
        const host = el.parentElement.querySelector('.halley-parcoords[data-drawn]');
        const chart = host && window.echarts && window.echarts.getInstanceByDom(host);
        return chart ? chart.getOption().series[0].data.length : -1;
    }
    if (d[0].type === 'scatter' && d[0].mode === 'markers') return d.reduce((n, t) => n + t.x.length, 0);
    return d.length;
}"""


# Marks each panel's graph element; a graph the browser mounted again since (and so drew again
# from scratch) is a new element.
MARK_GRAPHS_JS = """() => document.querySelectorAll('.project-panel .js-plotly-plot').forEach(gd => { gd.__kept = true; })"""
KEPT_GRAPHS_JS = """() => Array.from(document.querySelectorAll('.project-panel'))
    .filter(c => { const gd = c.querySelector('.js-plotly-plot'); return gd && gd.__kept === true; })
    .map(c => c.dataset.panelId)"""


def _panel_draws(page) -> list[str]:
    """The panel ids of every figure the server draws for the page from now on (a graph that
    already shows what it is asked for is answered "no update", 204)."""
    drawn: list[str] = []

    def record(response):
        request = response.request
        if "/_dash-update-component" in request.url and request.method == "POST" and response.status == 200:
            outputs = json.loads(request.post_data or "{}").get("outputs")
            first = outputs[0] if isinstance(outputs, list) and outputs else None
            if isinstance(first, dict) and isinstance(first.get("id"), dict) \
                    and first["id"].get("type") in ("project-panel-line", "project-panel-agg"):
                drawn.append(first["id"]["index"])

    page.on("response", record)
    return drawn


def test_six_panels_survive_fifty_quick_filter_changes(server, page, panel_project, console_errors):
    """Switching the query 51 times as fast as the page takes it: no server error, and every panel
    ends drawn for the last query (lr < 0.02 leaves run-2, run-3 and run-4 of the visible runs)."""
    owner = panel_project["owner"]
    with panel_project["db"].session() as s:
        project = projects.get_readable(s, panel_project["actor"], owner.workspace, "panels")
        project_views.create_query(s, panel_project["actor"], project, "small lr", {"op": "and", "rules": [
            {"attr": "param:lr", "operator": "lt", "value": 0.02}]})
    url = _view_with_panels(panel_project, "Six panels", SIX_PANELS)
    failures = []
    page.on("response", lambda r: failures.append((r.url, r.status)) if r.status >= 500 else None)
    sign_in(page, server, owner, url)
    graphs = page.locator(".project-panel .js-plotly-plot")
    expect(graphs).to_have_count(6, timeout=SLOW)
    for i in range(51):
        label = "small lr" if i % 2 == 0 else "All experiments"
        page.click("#project-query-select")
        page.locator(".dash-dropdown-content .dash-dropdown-option").filter(
            has_text=re.compile("^" + re.escape(label) + "$")).first.click()
    expect(page.locator("#project-query-select")).to_contain_text("small lr")
    for n in range(6):
        page.wait_for_function(f"() => ({SHOWN_JS})(document.querySelectorAll('.project-panel .js-plotly-plot')[{n}])"
                               " === 3", timeout=SLOW)
    page.screenshot(path="/tmp/shots/panels_after_quick_filters.png", full_page=True)
    assert failures == []
    assert console_errors == []


def test_adding_or_editing_a_panel_draws_only_that_panel(server, page, panel_project, console_errors):
    url = _view_with_panels(panel_project, "Draw one", SIX_PANELS[:3])
    sign_in(page, server, panel_project["owner"], url)
    expect(page.locator(".project-panel .js-plotly-plot")).to_have_count(3, timeout=SLOW)
    for n in range(3):
        page.wait_for_function(f"() => ({SHOWN_JS})(document.querySelectorAll('.project-panel .js-plotly-plot')[{n}])"
                               " === 5", timeout=SLOW)
    before = [c.get_attribute("data-panel-id") for c in page.locator(".project-panel").all()]
    asked = _panel_draws(page)
    # the graphs drawn now: the browser neither mounts nor draws them again for another panel
    page.evaluate(MARK_GRAPHS_JS)

    page.click("#project-panels-add")
    page.locator('[id*="builtin:scatter"]').click()
    expect(page.locator("#project-editor-preview .scatterlayer .trace").first).to_be_attached(timeout=SLOW)
    page.click("#project-editor-done")
    expect(page.locator(".project-panel")).to_have_count(4, timeout=SLOW)
    expect(_card(page, "scatter").locator(DRAWN["scatter"]).first).to_be_attached(timeout=SLOW)
    added = _card(page, "scatter").get_attribute("data-panel-id")
    assert asked == [added]
    assert page.evaluate(KEPT_GRAPHS_JS) == before

    asked.clear()
    _menu_item(page, "bar", "Edit Panel").click()
    expect(page.locator("#project-editor-name")).to_be_visible(timeout=SLOW)
    # the editor is filled from the panel by the server: type once it has been
    expect(page.locator("#project-editor-title")).to_have_text("Edit Bar Chart", timeout=SLOW)
    page.fill("#project-editor-name", "Best accuracy")
    page.click("#project-editor-done")
    expect(_card(page, "bar").locator(".project-panel-title")).to_have_text("Best accuracy", timeout=SLOW)
    page.wait_for_function("() => document.querySelectorAll('.project-panel .js-plotly-plot').length === 4")
    expect(_card(page, "bar").locator(DRAWN["bar"]).first).to_be_attached(timeout=SLOW)
    assert asked == [before[2]]
    assert page.evaluate(KEPT_GRAPHS_JS) == before[:2]  # the edited one is drawn anew, the others kept

    asked.clear()
    _menu_item(page, "bar", "Delete").click()
    expect(page.locator(".project-panel")).to_have_count(3, timeout=SLOW)
    expect(_card(page, "scatter").locator(DRAWN["scatter"]).first).to_be_attached()
    assert asked == []


def test_line_panel_follows_the_table_grouping(server, page, panel_project, console_errors):
    """A line panel set to follow the table's grouping draws a mean line and band per table group."""
    with panel_project["db"].session() as s:
        project = projects.get_readable(s, panel_project["actor"], panel_project["owner"].workspace, "panels")
        view = project_views.create_view(s, panel_project["actor"], project, "Grouped", {
            "groupBy": ["param:optimizer"],
            "panels": [{"type": "line", "name": "Loss by group", "metrics": ["loss"], "group": {"by": "table"}}]})
    sign_in(page, server, panel_project["owner"], f"{panel_project['path']}?view={view.id}")
    card = _card(page, "line")
    expect(card.locator(".legendtext")).to_have_count(2, timeout=SLOW)  # the hidden run is left out
    expect(card.locator(".legendtext").nth(0)).to_have_text("adam (2)")
    expect(card.locator(".legendtext").nth(1)).to_have_text("sgd (3)")
    expect(page.locator("#project-grid .halley-group-toggle")).to_have_count(2)
    card.screenshot(path=str(SHOTS / "line-panel-follows-table-grouping.png"))


@pytest.fixture(scope="module")
def hundred_runs(server, accounts):
    """100 runs with long names, a loss curve, lr from 1e-5 to 0.1 and an optimizer."""
    owner = accounts.create("many")
    db = Database(server.database_url)
    with db.session() as s:
        user = account_service.find_user(s, owner.username)
        actor = Actor(user_id=user.id, username=user.username)
        for i in range(100):
            exp, _ = ingest.start_experiment(s, actor, owner.workspace, "sweep",
                                             name=f"sweep-{i:03d}-a-rather-long-descriptive-run-name")
            lr = 10.0 ** (-5 + 4 * i / 99)
            ingest.apply_batch(s, actor, exp.key, {
                "batch_id": f"many-{owner.username}-{i}",
                "metrics": [{"name": "loss", "value": float(np.exp(-st / 10) + lr * 3), "step": st}
                            for st in range(20)],
                "parameters": [{"name": "lr", "value": lr}, {"name": "optimizer", "value": ["sgd", "adam"][i % 2]}]})
        project = projects.get_readable(s, actor, owner.workspace, "sweep")
        view = project_views.create_view(s, actor, project, "Sweep panels", {"panels": [
            {"type": "line", "name": "Loss", "metrics": ["loss"]},
            {"type": "parcoords", "name": "Sweep", "axes": ["param:lr", "param:optimizer", "metric:loss"]},
            {"type": "scatter", "name": "Loss by optimizer", "xAxis": {"source": "param", "name": "optimizer"},
             "yAxis": {"source": "metric", "name": "loss", "transform": "last"}}]})
    return {"owner": owner, "url": f"/{owner.workspace}/sweep?view={view.id}"}


def test_a_hundred_runs_keep_the_plot_wide_and_log_axes_readable(server, page, hundred_runs, console_errors):
    sign_in(page, server, hundred_runs["owner"], hundred_runs["url"])
    line = _card(page, "line")
    expect(line.locator(".scatterlayer .trace")).to_have_count(100, timeout=SLOW)
    # The legend doesn't take the panel over: the plot area keeps most of the graph's width.
    widths = line.evaluate("""card => ({plot: card.querySelector('.nsewdrag').getBoundingClientRect().width,
                                         graph: card.querySelector('.main-svg').getBoundingClientRect().width})""")
    assert widths["plot"] >= 0.8 * widths["graph"], widths
    expect(line.locator(".legend")).to_have_count(0)

    # The panel's own legend setting still shows it when asked; log X switches the x axis.
    _menu_item(page, "line", "Edit Panel").click()
    page.locator("#project-editor-legend-show").get_by_text("Show", exact=True).click()
    page.locator("#project-editor-logy").get_by_text("Log scale (X)").click()
    expect(page.locator("#project-editor-preview .legend")).to_have_count(1, timeout=SLOW)
    page.screenshot(path="/tmp/shots/panels_editor_line.png")
    page.click("#project-editor-done")
    expect(page.locator("#project-panels-editor")).not_to_be_visible()
    expect(line.locator(".legend")).to_have_count(1, timeout=SLOW)
    expect(line.locator(".legend")).to_contain_text("sweep-099")
    graph = f"#project-panel-{line.get_attribute('data-panel-id')} .js-plotly-plot"
    page.wait_for_function(f"() => document.querySelector('{graph}')._fullLayout.xaxis.type === 'log'",
                           timeout=SLOW)

    # The lr axis is logarithmic and its ticks name real values.
    coords = _card(page, "parcoords")
    wait_parcoords_axes(coords, ["lr", "optimizer", "loss"])
    texts = coords.locator(".halley-parcoords text").all_text_contents()
    assert {"0.00001", "0.0001", "0.001", "0.01", "0.1"} <= set(texts), texts
    # The categorical parameter's axis names its categories; so does the scatter's x axis.
    assert {"adam", "sgd"} <= set(texts), texts
    scatter = _card(page, "scatter")
    expect(scatter.locator(".scatterlayer .point")).to_have_count(100, timeout=SLOW)
    expect(scatter.locator(".xtick")).to_have_text(["adam", "sgd"])
    page.screenshot(path="/tmp/shots/panels_hundred_runs.png", full_page=True)

    # The editor switches the lr axis to linear: its ticks no longer step by decades.
    _menu_item(page, "parcoords", "Edit Panel").click()
    # (no other axis of this chart has a tick 0.001: loss is linear from about 0.1, optimizer has names)
    preview_lr = page.locator(f"#project-editor-preview {PARCOORDS_DRAWN}")
    expect(preview_lr).to_contain_text("0.001", timeout=SLOW)
    page.click("#project-editor-scales")
    page.locator(".dash-dropdown-content .dash-dropdown-search").fill("lr: linear")
    page.locator(".dash-dropdown-content .dash-dropdown-option").filter(
        has_text=re.compile("^Parameter: lr: linear$")).first.click()
    expect(preview_lr).not_to_contain_text("0.001", timeout=SLOW)
    page.screenshot(path="/tmp/shots/panels_editor_scales.png")
    page.keyboard.press("Escape")
    page.click("#project-editor-done")
    expect(page.locator("#project-panels-editor")).not_to_be_visible()
    wait_parcoords_axes(coords, ["lr", "optimizer", "loss"])
    expect(coords.locator(PARCOORDS_DRAWN)).not_to_contain_text("0.001", timeout=SLOW)
    assert console_errors == []
