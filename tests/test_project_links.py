"""The project page as a link and as a live view, in headless Chromium against a real server:
a view link opens exactly the view its sender saw (every time, in any tab), a change made in
one part of the page shows in all of it at once, and running experiments update on their own."""
from __future__ import annotations

import re
import uuid
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from dashboard.services.experiment_table import decode_state, default_state, encode_state
from dashboard.services.project_live import next_interval
from tests.conftest import api, sign_in
from tests.test_experiment_table import add_filter, settle, wait_url_state

pytestmark = pytest.mark.browser
SLOW = 30_000
LRS = (0.1, 0.01, 0.001)


def start_experiment(client, url, workspace, project, name) -> str:
    r = client.post(url + "/api/v1/experiments", json={"workspace": workspace, "project": project, "name": name})
    assert r.status_code in (200, 201), r.text
    return r.json()["experiment_key"]


def log(client, url, key, **body):
    body.setdefault("batch_id", uuid.uuid4().hex)
    r = client.post(f"{url}/api/v1/experiments/{key}/batch", json=body)
    assert r.status_code == 200, r.text


def end_experiment(client, url, key, status="finished"):
    r = client.post(f"{url}/api/v1/experiments/{key}/end", json={"status": status})
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def owner(accounts):
    return accounts.create("lnk")


@pytest.fixture(scope="module")
def finished_project(server, owner):
    """Three finished runs with a loss curve and an lr parameter, logged through the REST API."""
    client = api(server, owner.api_key)
    for i, lr in enumerate(LRS):
        key = start_experiment(client, server.url, owner.workspace, "links", f"run-{i}")
        log(client, server.url, key, parameters=[{"name": "lr", "value": lr}],
            metrics=[{"name": "loss", "value": (i + 1) / (step + 1), "step": step} for step in range(20)])
        end_experiment(client, server.url, key)
    return f"/{owner.workspace}/links"


def _url_state(page) -> dict | None:
    return decode_state(urlparse(page.url).fragment)


def _sees_the_view(page, url: str, expected: dict) -> None:
    """``url`` opened in ``page`` shows the two panels, the filter and the rows it narrows to,
    and keeps that state in its URL once every callback has answered."""
    page.goto(url)
    expect(page.locator(".project-panel")).to_have_count(2, timeout=SLOW)
    expect(page.locator('.project-panel[data-panel-type="line"]')).to_have_count(1)
    expect(page.locator('.project-panel[data-panel-type="bar"]')).to_have_count(1)
    expect(page.locator(".project-filter-chip")).to_have_count(1, timeout=SLOW)
    expect(page.locator(".project-filter-chip")).to_contain_text("lr")
    expect(page.locator("#project-count")).to_have_text("2 experiments", timeout=SLOW)
    expect(page.locator("#project-view-dirty")).to_be_visible()
    settle(page)
    expect(page.locator(".project-panel")).to_have_count(2)
    expect(page.locator(".project-filter-chip")).to_have_count(1)
    state = _url_state(page)
    assert state is not None and state["panels"] == expected["panels"] and state["filters"] == expected["filters"]


def test_a_view_link_opened_in_a_tab_already_showing_the_project_shows_that_view(server, owner, finished_project,
                                                                                   page, console_errors):
    """The browser moves to a link that differs only in its #hash: no new page by itself."""
    sign_in(page, server, owner, finished_project)
    expect(page.locator("#project-count")).to_have_text("3 experiments", timeout=SLOW)
    settle(page)
    state = default_state()
    state["filters"] = {"op": "and", "rules": [{"attr": "param:lr", "operator": "lt", "value": 0.05}]}
    state["panels"] = [{"type": "line", "name": "Loss", "metrics": ["loss"]},
                       {"type": "bar", "name": "Loss bars", "metric": "loss"}]
    expected = decode_state(encode_state(state))
    _sees_the_view(page, server.url + finished_project + "#" + encode_state(state), expected)
    assert console_errors == []


@pytest.mark.timeout(900)  # twenty-three page loads, also while other work keeps the cores busy
def test_a_view_link_opens_that_view_every_time(server, owner, finished_project, page, browser, console_errors):
    sign_in(page, server, owner, finished_project)
    expect(page.locator("#project-panels-add")).to_be_visible(timeout=SLOW)
    add_filter(page, "Parameters: lr", "<", "0.05")
    expect(page.locator("#project-count")).to_have_text("2 experiments", timeout=SLOW)
    for kind in ("line", "bar"):
        page.click("#project-panels-add")
        expect(page.locator("#project-panels-gallery")).to_contain_text("Built-in")
        page.locator(f'[id*="builtin:{kind}"]').click()
        expect(page.locator("#project-editor-preview .main-svg").first).to_be_attached(timeout=SLOW)
        page.click("#project-editor-done")
        expect(page.locator("#project-panels-editor")).not_to_be_visible()
        expect(page.locator(f'.project-panel[data-panel-type="{kind}"]')).to_have_count(1, timeout=SLOW)
    expected = wait_url_state(page, lambda st: len(st["panels"]) == 2 and len(st["filters"]["rules"]) == 1)
    # the Share dialog offers the link to what the page shows
    page.click("#project-header-share-open")
    expect(page.locator("#project-header-share-view")).to_have_value(page.url, timeout=SLOW)
    url = page.locator("#project-header-share-view").input_value()
    page.keyboard.press("Escape")

    # Tabs of the same session.
    for _ in range(20):
        tab = page.context.new_page()
        _sees_the_view(tab, url, expected)
        tab.close()
    # A browser that never saw the project.
    other = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        sign_in(other.new_page(), server, owner, finished_project)
        for _ in range(3):
            tab = other.new_page()
            _sees_the_view(tab, url, expected)
            for kind, drawn in (("line", ".scatterlayer .trace"), ("bar", ".barlayer .trace")):
                expect(tab.locator(f'.project-panel[data-panel-type="{kind}"] {drawn}').first).to_be_attached(
                    timeout=SLOW)
            tab.close()
    finally:
        other.close()
    assert console_errors == []


def test_a_change_in_manage_shows_in_the_header_at_once(server, owner, finished_project, page, console_errors):
    sign_in(page, server, owner, finished_project + "/manage")
    page.goto(server.url + finished_project + "/manage")
    badge = page.locator("#project-header-visibility")
    expect(badge).to_have_text("private", timeout=SLOW)
    page.evaluate("window.halleyNoReload = true")

    page.locator("#project-manage-visibility").get_by_text("Public", exact=True).click()
    expect(page.locator("#project-manage-visibility-ok")).to_be_visible(timeout=SLOW)
    expect(badge).to_have_text("public")

    page.click("#project-header-share-open")
    expect(page.locator("#project-header-share-none")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#project-header-share-modal")).not_to_be_visible()
    page.click("#project-manage-share-create")
    link = page.locator("#project-manage-share-url")
    expect(link).to_have_value(re.compile(r"/shared/.+"), timeout=SLOW)
    page.click("#project-header-share-open")
    expect(page.locator("#project-header-share-link")).to_have_value(link.input_value())
    page.screenshot(path="/tmp/shots/project_manage_share.png", full_page=True)
    page.keyboard.press("Escape")
    expect(page.locator("#project-header-share-modal")).not_to_be_visible()

    page.click("#project-manage-share-delete")
    expect(page.locator("#project-manage-share-deleted")).to_be_visible(timeout=SLOW)
    page.click("#project-header-share-open")
    expect(page.locator("#project-header-share-none")).to_be_visible()
    expect(page.locator("#project-header-share-link")).to_have_count(0)
    page.keyboard.press("Escape")
    page.locator("#project-manage-visibility").get_by_text("Private", exact=True).click()
    expect(badge).to_have_text("private", timeout=SLOW)
    assert page.evaluate("window.halleyNoReload") is True
    assert console_errors == []


def test_share_dialog_reads_the_project_when_it_opens(server, owner, accounts, finished_project, page, console_errors):
    """A change made elsewhere (another tab, another person) shows the next time the dialog opens."""
    sign_in(page, server, owner, finished_project)
    expect(page.locator("#project-header-visibility")).to_have_text("private", timeout=SLOW)
    from dashboard.auth import Actor
    from dashboard.services import accounts as account_service, projects, sharing

    with accounts.db.session() as s:
        user = account_service.find_user(s, owner.username)
        actor = Actor(user_id=user.id, username=user.username)
        project = projects.get_readable(s, actor, owner.workspace, "links")
        token = sharing.create_link(s, actor, project.id)
    try:
        page.click("#project-header-share-open")
        expect(page.locator("#project-header-share-link")).to_have_value(re.compile(re.escape(token) + "$"),
                                                                          timeout=SLOW)
    finally:
        with accounts.db.session() as s:
            sharing.delete_link(s, actor, project.id)
    assert console_errors == []


POLL = "window.dash_component_api.getLayout('project-live-poll').props"


def _points(page, trace_name: str) -> int:
    """How many points the line panel draws for one experiment."""
    return page.evaluate("""(name) => {
        const gd = document.querySelector('.project-panel[data-panel-type="line"] .js-plotly-plot');
        if (!gd || !gd.calcdata) { return -1; }
        const i = (gd.data || []).findIndex(t => t.name === name);
        return i < 0 ? -1 : gd.calcdata[i].length;
    }""", trace_name)


def test_running_experiments_update_without_a_reload(server, owner, page, console_errors):
    client = api(server, owner.api_key)
    done = start_experiment(client, server.url, owner.workspace, "live", "done")
    log(client, server.url, done, metrics=[{"name": "loss", "value": 0.5, "step": s} for s in range(3)])
    end_experiment(client, server.url, done)
    training = start_experiment(client, server.url, owner.workspace, "live", "training")
    log(client, server.url, training, metrics=[{"name": "loss", "value": 0.875, "step": 0}])
    doomed = start_experiment(client, server.url, owner.workspace, "live", "doomed")
    state = default_state()
    state["columns"].append("metric:last:loss")
    state["panels"] = [{"type": "line", "name": "Loss", "metrics": ["loss"]}]
    path = f"/{owner.workspace}/live"
    sign_in(page, server, owner, path)
    page.goto(server.url + path + "#" + encode_state(state))

    def row(key):
        return page.locator(f"#project-grid .ag-center-cols-container .ag-row[row-id='{key}']")

    def status(key, value):
        return row(key).locator(f".halley-status[data-status='{value}']")

    loss = row(training).locator(".ag-cell[col-id='metric:last:loss']")
    expect(status(training, "running")).to_be_visible(timeout=SLOW)
    expect(loss).to_have_text("0.875", timeout=SLOW)
    page.wait_for_function("() => { const gd = document.querySelector("
                           "'.project-panel[data-panel-type=\"line\"] .js-plotly-plot'); return gd && gd.calcdata; }",
                           timeout=SLOW)
    assert _points(page, "training") == 1
    page.evaluate("window.halleyNoReload = true")
    # nothing changes: the poll asks less often
    page.wait_for_function(f"{POLL}.interval > 5000", timeout=SLOW)

    log(client, server.url, training, metrics=[{"name": "loss", "value": v, "step": s}
                                               for s, v in ((1, 0.5), (2, 0.375), (3, 0.25))])
    expect(loss).to_have_text("0.25", timeout=SLOW)
    page.wait_for_function("(() => { const gd = document.querySelector("
                           "'.project-panel[data-panel-type=\"line\"] .js-plotly-plot');"
                           " const i = gd.data.findIndex(t => t.name === 'training');"
                           " return i >= 0 && gd.calcdata[i].length === 4; })()", timeout=SLOW)
    page.screenshot(path="/tmp/shots/project_live_running.png", full_page=True)

    end_experiment(client, server.url, doomed, "crashed")
    expect(status(doomed, "crashed")).to_be_visible(timeout=SLOW)
    assert page.evaluate(f"{POLL}.disabled") is not True  # "training" still runs
    end_experiment(client, server.url, training, "stopped")
    expect(status(training, "stopped")).to_be_visible(timeout=SLOW)
    # no experiment runs any more: the poll stops
    page.wait_for_function(f"{POLL}.disabled === true", timeout=SLOW)
    assert page.evaluate("window.halleyNoReload") is True
    page.screenshot(path="/tmp/shots/project_live_ended.png", full_page=True)
    assert console_errors == []


def test_no_poll_while_nothing_runs(server, owner, finished_project, page, console_errors):
    sign_in(page, server, owner, finished_project)
    expect(page.locator("#project-count")).to_have_text("3 experiments", timeout=SLOW)
    assert page.evaluate(f"{POLL}.disabled") is True
    assert console_errors == []


def test_the_poll_backs_off_while_nothing_changes():
    assert [next_interval(i) for i in range(6)] == [5000, 10000, 20000, 30000, 30000, 30000]


def test_rename_and_color_show_in_the_table_and_the_panels(server, owner, page, console_errors):
    client = api(server, owner.api_key)
    key = start_experiment(client, server.url, owner.workspace, "cells", "before")
    log(client, server.url, key, metrics=[{"name": "loss", "value": 1 / (s + 1), "step": s} for s in range(3)])
    end_experiment(client, server.url, key)
    state = default_state()
    state["panels"] = [{"type": "line", "name": "Loss", "metrics": ["loss"]}]
    path = f"/{owner.workspace}/cells"
    sign_in(page, server, owner, path)
    page.goto(server.url + path + "#" + encode_state(state))
    row = page.locator(f"#project-grid .ag-center-cols-container .ag-row[row-id='{key}']")
    legend = page.locator('.project-panel[data-panel-type="line"] .legend')
    expect(legend).to_contain_text("before", timeout=SLOW)

    row.locator(".halley-name").hover()
    row.locator(".halley-rename").click()
    page.fill("#project-rename-input", "after")
    page.press("#project-rename-input", "Enter")
    expect(row.locator(".halley-name-link")).to_have_text("after", timeout=SLOW)
    expect(legend).to_contain_text("after", timeout=SLOW)

    row.locator(".halley-color-square").click()
    page.fill("#project-color-input", "#ff8800")
    page.click("#project-color-save")
    expect(row.locator(".halley-color-square")).to_have_attribute("style", re.compile("255, 136, 0"), timeout=SLOW)
    page.wait_for_function("""() => {
        const gd = document.querySelector('.project-panel[data-panel-type="line"] .js-plotly-plot');
        const trace = gd && (gd.data || []).find(t => t.name === 'after');
        return Boolean(trace) && JSON.stringify(trace).includes('#ff8800');
    }""", timeout=SLOW)
    assert console_errors == []
