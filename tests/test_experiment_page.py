"""The single-experiment page in headless Chromium, on a demo-like experiment logged through
the ingest services: header, Reproduce, and every tab as a user sees it."""
import json
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError, expect

from tests.conftest import sign_in
from tests.experiment_fixtures import Logger, rich_experiment

pytestmark = pytest.mark.browser


SANDBOX_NOTICE = "Blocked script execution in 'about:srcdoc'"


@pytest.fixture(scope="module")
def rich(server, accounts):
    owner = accounts.create("exp")
    log = Logger(server.home, server.database_url, owner.username)
    key = rich_experiment(log)
    return {"owner": owner, "key": key, "log": log, "path": f"/{owner.workspace}/demo/{key}"}


def open_tab(page, server, rich, tab):
    page.goto(f"{server.url}{rich['path']}?tab={tab}")
    expect(page.locator("#experiment-tab-content > *").first).to_be_visible(timeout=20_000)


def chart_line_counts(page):
    page.wait_for_function("""() => { const charts = document.querySelectorAll('.experiment-chart');
        return [...charts].every(c => { const p = c.querySelector('.js-plotly-plot'); return p && p.data && p.data.length; }); }""")
    return page.locator(".experiment-chart").evaluate_all(
        "els => els.map(e => (e.querySelector('.js-plotly-plot') || {data: []}).data.length)")


def real_errors(errors):
    return [e for e in errors if SANDBOX_NOTICE not in e]


def test_header_rename_tags_and_reproduce(server, rich, page, console_errors):
    sign_in(page, server, rich["owner"], rich["path"])
    expect(page.locator("#experiment-name")).to_have_text("resnet-baseline")
    expect(page.locator("#experiment-key")).to_have_text(rich["key"])
    expect(page.locator("#experiment-status")).to_have_text("finished")
    expect(page.locator("#experiment-crumb-project")).to_have_text("demo")
    expect(page.locator("#experiment-stop-open")).to_have_count(0)  # not running

    page.click("#experiment-rename-open")
    page.fill("#experiment-rename-input", "resnet <b>v2</b>")
    page.click("#experiment-rename-save")
    expect(page.locator("#experiment-name")).to_have_text("resnet <b>v2</b>")
    page.reload()
    expect(page.locator("#experiment-name")).to_have_text("resnet <b>v2</b>")

    page.fill("#experiment-tag-input", "promising")
    page.press("#experiment-tag-input", "Enter")
    expect(page.locator("#experiment-tags")).to_contain_text("promising")
    page.locator("#experiment-tags .experiment-tag", has_text="baseline").locator("button").click()
    expect(page.locator("#experiment-tags")).not_to_contain_text("baseline")
    page.reload()
    expect(page.locator("#experiment-tags")).to_contain_text("promising")
    expect(page.locator("#experiment-tags")).not_to_contain_text("baseline")

    page.click("#experiment-reproduce-open")
    modal = page.locator("#experiment-reproduce-modal")
    expect(modal).to_contain_text("10.0.0.7")
    expect(modal).to_contain_text("gpu-box-1")
    link = page.locator("#experiment-reproduce-commit-link")
    expect(link).to_have_attribute("href", "https://github.com/" + "ada/proj/commit/b2628a10b7e678392ab378e07defdcabb54ab9dc")
    restore = page.locator("#experiment-reproduce-restore").inner_text()
    assert "git checkout main" in restore and "git checkout b2628a10b7e678392ab378e07defdcabb54ab9dc" in restore
    assert f'curl -H "Authorization: $HALLEY_API_KEY" {server.url}/api/v1/experiments/{rich["key"]}/assets/' in restore
    assert "unzip patch.zip" in restore and "git apply git_diff.patch" in restore
    expect(page.locator("#experiment-reproduce-run")).to_have_text("/usr/bin/python3 train.py --epochs 5")
    expect(page.locator("#experiment-reproduce-patch")).to_have_attribute("href", re.compile(r"/assets/[0-9a-f]+$"))
    expect(page.locator("#experiment-reproduce-notebook")).to_have_text("Download notebook (.ipynb)")
    assert real_errors(console_errors) == []


def test_tabs_shown_only_with_data(server, rich, accounts, page):
    owner = rich["owner"]
    bare = rich["log"].start("empty-project", name="bare")
    rich["log"].end(bare)
    sign_in(page, server, owner, f"/{owner.workspace}/empty-project/{bare}")
    tabs = page.locator("#experiment-tabs .nav-link")
    expect(tabs).to_have_text(["Charts", "Metrics", "Notes"])
    expect(page.locator("#experiment-charts-empty")).to_be_visible()


def choose_option(page, dropdown: str, name: str, multi: bool = False) -> None:
    """Pick an option of a dcc.Dropdown in a dialog; a click during the dialog's fade-in may
    not open the list, so open it again until the option shows. A multi-select list stays
    open after a pick and is closed with Escape."""
    box = page.locator(dropdown)
    expect(box).to_be_visible()
    option = page.get_by_role("option", name=name, exact=True)
    for _attempt in range(3):
        box.click()
        try:
            option.wait_for(timeout=3000)
            break
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    option.click()
    if multi:
        page.keyboard.press("Escape")


def test_charts_tab_lines_add_delete_color_and_saved_view(server, rich, page, console_errors):
    sign_in(page, server, rich["owner"], rich["path"])
    open_tab(page, server, rich, "charts")
    expect(page.locator(".experiment-chart")).to_have_count(2)  # one per metric (sys.* are in System Metrics)
    assert chart_line_counts(page) == [1, 1]
    expect(page.locator(".experiment-chart-card").nth(1)).to_contain_text("Some invalid values were ignored")

    first_y = "() => { const p = document.querySelector('.experiment-chart .js-plotly-plot'); return p && p._fullData && Array.from(p._fullData[0].y); }"
    raw = page.evaluate(first_y)
    page.locator("#experiment-charts-smoothing [role=slider]").first.focus()
    page.keyboard.press("End")  # heaviest smoothing: the curve lags far behind the raw accuracy
    page.wait_for_function(f"() => {{ const y = ({first_y})(); return y && y[20] < {raw[20]} - 0.1; }}")
    page.keyboard.press("Home")
    page.wait_for_function(f"() => {{ const y = ({first_y})(); return y && Math.abs(y[20] - {raw[20]}) < 1e-9; }}")

    page.click("#experiment-charts-add-open")
    for metric in ("loss", "accuracy"):
        choose_option(page, "#experiment-charts-add-metrics", metric, multi=True)
    expect(page.locator("#experiment-charts-add-metrics")).to_contain_text("accuracy")
    page.click("#experiment-charts-add")
    expect(page.locator(".experiment-chart")).to_have_count(3)
    page.wait_for_function("document.querySelectorAll('.experiment-chart .js-plotly-plot').length === 3")
    assert chart_line_counts(page) == [1, 1, 2]

    page.locator(".experiment-chart-card").first.locator("button[title='Delete chart']").click()
    expect(page.locator(".experiment-chart")).to_have_count(2)

    page.click("#experiment-charts-colors-open")
    choose_option(page, "#experiment-charts-color-metric", "loss")
    page.fill("#experiment-charts-color-value", "#ff0000")
    page.click("#experiment-charts-color-apply")
    page.wait_for_function("""() => {
        const plots = document.querySelectorAll('.experiment-chart .js-plotly-plot');
        return plots.length === 2 && plots[0].data[0].line.color === '#ff0000';
    }""")

    page.click("#experiment-charts-xaxis")
    page.get_by_role("option", name="Wall time").click()
    page.wait_for_function("""() => {
        const p = document.querySelector('.experiment-chart .js-plotly-plot');
        return p && p.layout.xaxis.title.text === 'Wall time';
    }""")

    page.click("#experiment-charts-save")
    expect(page.locator("#experiment-charts-saved")).to_be_visible()
    page.reload()
    open_tab(page, server, rich, "charts")
    expect(page.locator(".experiment-chart")).to_have_count(2)
    page.wait_for_function("document.querySelectorAll('.experiment-chart .js-plotly-plot').length === 2")
    assert chart_line_counts(page) == [1, 2]
    with rich["log"].db.session() as s:
        from dashboard.services import experiment_page, experiments

        exp = experiments.find_by_key(s, rich["key"])
        state = experiment_page.chart_view(s, exp.project_id)
    assert state["x_axis"] == "wall" and state["colors"] == {"loss": "#ff0000"}
    assert real_errors(console_errors) == []


def test_add_chart_dialog_opens_empty_each_time(server, rich, page, console_errors):
    sign_in(page, server, rich["owner"], rich["path"])
    open_tab(page, server, rich, "charts")
    cards = page.locator(".experiment-chart-card")
    expect(cards.first).to_be_visible()
    before = cards.count()
    dropdown = page.locator("#experiment-charts-add-metrics")
    page.click("#experiment-charts-add-open")
    for metric in ("loss", "accuracy"):
        choose_option(page, "#experiment-charts-add-metrics", metric, multi=True)
    expect(dropdown).to_contain_text("accuracy")
    page.click("#experiment-charts-add")
    expect(cards).to_have_count(before + 1)
    expect(cards.last.locator(".fw-semibold")).to_have_text("loss, accuracy")

    page.click("#experiment-charts-add-open")
    expect(dropdown).to_be_visible()
    expect(dropdown).not_to_contain_text("loss")
    expect(dropdown).not_to_contain_text("accuracy")
    choose_option(page, "#experiment-charts-add-metrics", "accuracy", multi=True)
    page.click("#experiment-charts-add")
    expect(cards).to_have_count(before + 2)
    expect(cards.last.locator(".fw-semibold")).to_have_text("accuracy")  # not the previous chart's metrics too
    assert real_errors(console_errors) == []


def test_metrics_and_hyperparameters(server, rich, page):
    sign_in(page, server, rich["owner"], rich["path"])
    open_tab(page, server, rich, "metrics")
    grid = page.locator("#experiment-metrics-grid")
    expect(grid.locator(".ag-row")).to_have_count(4)
    expect(grid).to_contain_text("sys.ram.used")
    page.fill("#experiment-metrics-search", "loss")
    expect(grid.locator(".ag-row")).to_have_count(1)
    row = grid.locator(".ag-row").first
    expect(row.locator("[col-id=min]")).to_have_text("0.126267")
    expect(row.locator("[col-id=max]")).to_have_text("2.05")

    open_tab(page, server, rich, "hyperparameters")
    grid = page.locator("#experiment-params-grid")
    expect(grid.locator(".ag-row")).to_have_count(3)
    lr = grid.locator(".ag-row[row-id=lr]")
    expect(lr.locator("[col-id=value]")).to_have_text("0.01")  # the last value logged
    lr.locator("[col-id=name]").click()
    table = page.locator("#experiment-params-history-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").first).to_contain_text("0.1")
    page.fill("#experiment-params-search", "batch")
    expect(grid.locator(".ag-row")).to_have_count(1)


def test_output_system_packages_graph_code_text(server, rich, page, console_errors):
    sign_in(page, server, rich["owner"], rich["path"])
    open_tab(page, server, rich, "output")
    expect(page.locator("#experiment-output-range")).to_have_text("Lines 1-31 of 31")
    expect(page.locator("#experiment-output-lines .text-danger")).to_have_text("warning: slow dataloader\n")
    page.fill("#experiment-output-search", "step 2")
    page.press("#experiment-output-search", "Enter")
    expect(page.locator("#experiment-output-range")).to_have_text("Lines 1-11 of 11 matching")

    open_tab(page, server, rich, "system")
    details = page.locator("#experiment-system-details")
    for text in ("ada", "Linux", "3.11.7", "10.0.0.7", "gpu-box-1"):
        expect(details).to_contain_text(text)
    expect(page.locator("#experiment-system-cpu")).to_be_visible()
    expect(page.locator("#experiment-system-memory")).to_be_visible()
    # ~1 GB of RAM reads in MiB (binary units), not Plotly's SI "1B"
    page.wait_for_function("() => { const g = document.querySelector('#experiment-system-memory .js-plotly-plot');"
                           " return g && g.layout.yaxis.title.text === 'MiB'; }")
    ticks = page.locator("#experiment-system-memory .ytick text").all_text_contents()
    assert ticks and all(re.fullmatch(r"[0-9.,]+", t) for t in ticks), ticks

    open_tab(page, server, rich, "packages")
    expect(page.locator("#experiment-packages")).to_have_text("numpy==1.26.4\ntorch==2.3.0\nrequests==2.32.3")
    expect(page.locator("#experiment-packages-copy")).to_be_visible()

    open_tab(page, server, rich, "graph")
    expect(page.locator("#experiment-graph")).to_contain_text("Linear(784, 64)")

    open_tab(page, server, rich, "code")
    code = page.locator(".experiment-code-file", has_text="train.py")
    expect(code).to_contain_text("lr = 0.01  # learning rate")
    expect(code.locator("pre code")).to_have_count(1)
    expect(page.locator("#experiment-code")).to_contain_text("In [2]:")
    expect(page.locator("#experiment-code")).to_contain_text("print(x.sum())")
    download = page.locator("#experiment-code-notebook-download").get_attribute("href")
    nb = page.request.get(server.url + download)
    assert nb.status == 200 and json.loads(nb.body())["cells"][1]["source"] == "print(x.sum())"

    open_tab(page, server, rich, "text")
    grid = page.locator("#experiment-text-grid")
    expect(grid.locator(".ag-row")).to_have_count(3)
    expect(grid.locator(".ag-header-cell-text")).to_contain_text(["Text", "Step", "Context", "label", "score"])
    expect(grid.locator(".ag-row", has_text="a dog barked").locator("[col-id='meta.label']")).to_have_text("dog")
    assert real_errors(console_errors) == []


def test_html_is_sandboxed_notes_are_safe_and_assets_preview(server, rich, page):
    sign_in(page, server, rich["owner"], rich["path"])
    open_tab(page, server, rich, "html")
    frame_el = page.locator("#experiment-html-frame")
    expect(frame_el).to_have_attribute("sandbox", "allow-popups")
    frame = page.frame_locator("#experiment-html-frame")
    expect(frame.locator("#logged-heading")).to_have_text("Report")
    assert page.evaluate("document.body.dataset.reached") is None
    assert page.title() != "pwned"

    open_tab(page, server, rich, "notes")
    page.fill("#experiment-notes-editor", "# Findings\n\n**lr 0.01** works <script>window.hacked=1</script>")
    page.click("#experiment-notes-save")
    expect(page.locator("#experiment-notes-saved")).to_be_visible()
    rendered = page.locator("#experiment-notes-rendered")
    expect(rendered.locator("strong")).to_have_text("lr 0.01")
    expect(rendered.locator("script")).to_have_count(0)
    expect(rendered).to_contain_text("<script>")
    page.reload()
    open_tab(page, server, rich, "notes")
    expect(page.locator("#experiment-notes-rendered h1")).to_have_text("Findings")

    open_tab(page, server, rich, "assets")
    grid = page.locator("#experiment-assets-grid")
    row = grid.locator(".ag-row", has_text="config.json")
    expect(row).to_contain_text("40 B")
    href = row.get_by_role("link", name="Download").get_attribute("href")
    assert re.fullmatch(rf"/api/v1/experiments/{rich['key']}/assets/[0-9a-f]+", href)
    row.locator("[col-id=preview]").click()
    expect(page.locator("#experiment-asset-preview-body")).to_have_text('{"epochs": 5, "name": "<b>not bold</b>"}')
    expect(page.locator("#experiment-asset-preview-body b")).to_have_count(0)
    page.keyboard.press("Escape")
    # the image row has no preview (not a text type)
    expect(grid.locator(".ag-row", has_text="sample_a.png").first.locator("[col-id=preview]")).to_have_text("")


def test_graphics_filter_sort_and_step_player(server, rich, page, console_errors):
    sign_in(page, server, rich["owner"], rich["path"])
    open_tab(page, server, rich, "graphics")
    cards = page.locator(".experiment-image-card")
    expect(cards).to_have_count(12)
    expect(page.locator("#experiment-graphics-count")).to_have_text("12 of 12 images")
    page.wait_for_function("() => [...document.querySelectorAll('.experiment-image')].every(i => i.naturalWidth > 0)")

    # click to enlarge: the lightbox steps through the same name's steps and across the images
    cards.first.locator("img").click()
    title, where = page.locator("#experiment-graphics-lightbox-title"), page.locator("#experiment-graphics-lightbox-step")
    expect(title).to_have_text("sample_a.png")
    expect(where).to_have_text("step 0 · 1 of 6 with this name")
    expect(page.locator("#experiment-graphics-lightbox-prev-step")).to_be_disabled()
    page.wait_for_function("() => document.querySelector('#experiment-graphics-lightbox-img').naturalWidth > 0")
    page.click("#experiment-graphics-lightbox-next-step")
    expect(where).to_have_text("step 1 · 2 of 6 with this name")
    page.click("#experiment-graphics-lightbox-next")
    expect(where).to_have_text("step 2 · 3 of 6 with this name")
    for step in (3, 4, 5, 0):  # one click at a time: each moves from where the last one landed
        page.click("#experiment-graphics-lightbox-next")
        expect(where).to_contain_text(f"step {step} ·")
    expect(title).to_have_text("sample_b.png")
    expect(where).to_have_text("step 0 · 1 of 6 with this name")
    page.click("#experiment-graphics-lightbox-prev")
    expect(title).to_have_text("sample_a.png")
    src = page.locator("#experiment-graphics-lightbox-img").get_attribute("src")
    assert src.startswith(f"/api/v1/experiments/{rich['key']}/media/")
    page.keyboard.press("Escape")
    expect(page.locator("#experiment-graphics-lightbox-modal")).to_have_count(0)

    page.fill("#experiment-graphics-filter", "SAMPLE_A")  # substring, any case
    page.press("#experiment-graphics-filter", "Enter")
    expect(cards).to_have_count(6)
    page.select_option("#experiment-graphics-filter-mode", "exact")  # the whole name, as typed
    expect(page.locator("#experiment-graphics-count")).to_have_text("0 of 12 images")
    page.fill("#experiment-graphics-filter", "sample_a.png")
    page.press("#experiment-graphics-filter", "Enter")
    expect(cards).to_have_count(6)
    page.select_option("#experiment-graphics-filter-mode", "regex")
    page.fill("#experiment-graphics-filter", "sample_[ab")
    page.press("#experiment-graphics-filter", "Enter")
    expect(page.locator("#experiment-graphics-error")).to_contain_text("Invalid regular expression")
    page.fill("#experiment-graphics-filter", r"_b\.png$")
    page.press("#experiment-graphics-filter", "Enter")
    expect(cards).to_have_count(6)
    expect(cards.first).to_contain_text("sample_b.png")

    page.select_option("#experiment-graphics-sort", "step")
    page.select_option("#experiment-graphics-order", "desc")
    expect(cards.first).to_contain_text("step 5")

    page.click("#experiment-graphics-next")
    expect(page.locator("#experiment-graphics-step")).to_have_value("0")
    expect(cards).to_have_count(1)
    page.click("#experiment-graphics-next")
    expect(cards.first).to_contain_text("step 1")
    page.click("#experiment-graphics-prev")
    expect(cards.first).to_contain_text("step 0")
    page.click("#experiment-graphics-play")
    expect(page.locator("#experiment-graphics-step")).to_have_value("2", timeout=10_000)
    page.click("#experiment-graphics-play")
    assert real_errors(console_errors) == []


def test_audio_waveforms_group_filter_and_seek(server, rich, page, console_errors):
    sign_in(page, server, rich["owner"], rich["path"])
    open_tab(page, server, rich, "audio")
    cards = page.locator(".experiment-audio-card")
    expect(cards).to_have_count(3)
    expect(cards.first).to_contain_text("tone_high.wav")
    expect(page.locator(".experiment-audio-wave")).to_have_count(3)

    page.select_option("#experiment-audio-group", "context")
    expect(page.locator(".experiment-audio-group")).to_have_text(["Context: eval", "Context: train"])
    page.select_option("#experiment-audio-filter-mode", "regex")
    page.fill("#experiment-audio-filter", "^tone_(low|mid)")
    page.press("#experiment-audio-filter", "Enter")
    expect(cards).to_have_count(2)
    page.select_option("#experiment-audio-step", "2")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("tone_mid.wav")

    wave = cards.first.locator(".experiment-audio-wave .nsewdrag").first
    box = wave.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    audio = cards.first.locator("audio")
    page.wait_for_function("el => el.currentTime > 0.2", arg=audio.element_handle())
    assert real_errors(console_errors) == []


def test_confusion_matrix_modes_and_example_windows(server, rich, page, console_errors):
    sign_in(page, server, rich["owner"], rich["path"])
    open_tab(page, server, rich, "confusion")
    page.click("#experiment-cm-select")
    page.get_by_role("option", name=re.compile("confusion-matrix.json")).click()
    graph = page.locator("#experiment-cm-graph")
    page.wait_for_function("() => { const g = document.querySelector('#experiment-cm-graph .js-plotly-plot');"
                           " return g && g.data[0].x.length === 3 && g.data[0].x[0] === 'cat'; }")
    page.click("label[for='_dash-radio-item-row']") if page.locator("label[for='_dash-radio-item-row']").count() else \
        page.get_by_label("% by row").check()
    page.wait_for_function("() => document.querySelector('#experiment-cm-graph .js-plotly-plot')"
                           ".layout.title.text.includes('% of row')")

    def click_cell(row, col, n=3):
        box = graph.locator(".nsewdrag").first.bounding_box()
        page.mouse.click(box["x"] + box["width"] * (col + 0.5) / n, box["y"] + box["height"] * (row + 0.5) / n)

    click_cell(2, 0)  # actual bird, predicted cat: one example with an image
    views = page.locator(".experiment-cm-example-view")
    expect(views).to_have_count(1)
    expect(views.first).to_contain_text("Actual bird → predicted cat")
    expect(views.first.locator("img")).to_have_count(1)
    expect(views.first).to_contain_text("#5")
    page.wait_for_function("() => document.querySelector('.experiment-cm-example-img').naturalWidth > 0")
    click_cell(0, 0)
    expect(views).to_have_count(2)
    views.first.locator("button[title=Close]").click()
    expect(views).to_have_count(1)
    click_cell(1, 1)
    expect(views).to_have_count(2)
    page.click("#experiment-cm-close-all")
    expect(views).to_have_count(0)
    assert real_errors(console_errors) == []


def test_histograms_delete_and_add_back(server, rich, page, console_errors):
    sign_in(page, server, rich["owner"], rich["path"])
    open_tab(page, server, rich, "histograms")
    cards = page.locator(".experiment-hist-card")
    expect(cards).to_have_count(2)
    expect(page.locator("#experiment-hist-add button.dropdown-toggle")).to_be_disabled()
    cards.first.locator(".dropdown button").first.click()
    page.get_by_text("Delete chart").first.click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("weights/layer2")
    add = page.locator("#experiment-hist-add button.dropdown-toggle")
    expect(add).to_be_enabled()
    add.click()
    page.get_by_text("weights/layer1", exact=True).click()
    expect(cards).to_have_count(2)
    expect(page.locator("#experiment-hist-add button.dropdown-toggle")).to_be_disabled()
    assert real_errors(console_errors) == []


def test_access_public_viewer_and_private(server, rich, accounts, page):
    """A stranger can't see a private experiment; once the project is public they can read it
    (tabs included) but get no write controls."""
    stranger = accounts.create("stranger")
    sign_in(page, server, stranger, "/workspaces")
    page.goto(server.url + rich["path"])
    expect(page.locator("#not-found")).to_be_visible()
    r = page.request.get(f"{server.url}/api/v1/experiments/{rich['key']}/media/whatever")
    assert r.status == 404

    from dashboard.services import projects

    log = rich["log"]
    with log.db.session() as s:
        project = projects.get_readable(s, log.actor, rich["owner"].workspace, "demo")
        projects.update(s, log.actor, project.id, is_public=True)
    try:
        page.goto(server.url + rich["path"] + "?tab=metrics")
        expect(page.locator("#experiment-metrics-grid .ag-row")).to_have_count(4)
        expect(page.locator("#experiment-rename-open")).to_have_count(0)
        expect(page.locator("#experiment-tag-input")).to_have_count(0)
        page.context.clear_cookies()
        page.goto(server.url + rich["path"] + "?tab=graphics")
        expect(page.locator(".experiment-image-card")).to_have_count(12)
        page.click("#experiment-graphics-next")
        expect(page.locator(".experiment-image-card")).to_have_count(2)
        src = page.locator(".experiment-image").first.get_attribute("src")
        r = page.request.get(server.url + src)
        assert r.status == 200 and r.headers["content-type"] == "image/png"
        assert r.headers["x-content-type-options"] == "nosniff"
        page.goto(server.url + rich["path"] + "?tab=charts")
        expect(page.locator(".experiment-chart")).to_have_count(2)
        page.locator(".experiment-chart-card").first.locator("button[title='Delete chart']").click()
        expect(page.locator(".experiment-chart")).to_have_count(1)
        expect(page.locator("#experiment-charts-save")).to_have_count(0)
    finally:
        with log.db.session() as s:
            project = projects.get_readable(s, log.actor, rich["owner"].workspace, "demo")
            projects.update(s, log.actor, project.id, is_public=False)
    page.goto(server.url + rich["path"])
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_share_link_visitor_reads_the_experiment(server, rich, page, console_errors):
    from dashboard.services import projects, sharing

    log = rich["log"]
    with log.db.session() as s:
        project = projects.get_readable(s, log.actor, rich["owner"].workspace, "demo")
        token = sharing.create_link(s, log.actor, project.id)
    try:
        page.goto(f"{server.url}/shared/{token}")
        page.goto(f"{server.url}{rich['path']}?tab=hyperparameters")
        expect(page.locator("#experiment-params-grid .ag-row")).to_have_count(3)
        expect(page.locator("#experiment-rename-open")).to_have_count(0)
        page.click("#experiment-tab-confusion")
        expect(page.locator("#experiment-cm-graph .js-plotly-plot")).to_be_visible()
        expect(page).to_have_url(re.compile(r"\?tab=confusion$"))
    finally:
        with log.db.session() as s:
            sharing.delete_link(s, log.actor, project.id)
    page.goto(f"{server.url}{rich['path']}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert real_errors(console_errors) == []
