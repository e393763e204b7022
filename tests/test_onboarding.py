"""A team's first steps, in headless Chromium: where the owner lands after first-run setup,
what empty pages say to do next, and the "Add experiment" snippet, which runs as pasted
against the server it was copied from (behind a proxy too)."""
import os
import subprocess
import re
import sys

import pytest
from playwright.sync_api import expect

from tests.conftest import Accounts, LiveServer, sign_in
from tests.project_data import ProjectData

pytestmark = pytest.mark.browser

PROXY_HEADERS = {"X-Forwarded-Host": "halley.example.com", "X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def data(accounts, server):
    return ProjectData(accounts, server)


def open_snippet(page) -> str:
    page.click("#project-header-add-open")
    snippet = page.locator("#project-header-snippet")
    expect(snippet).to_be_visible()
    return snippet.inner_text()


def test_pasted_snippet_logs_a_run_into_the_project(server, accounts, data, page, tmp_path, console_errors):
    owner = accounts.create("snip")
    data.project(owner, "pasted")
    sign_in(page, server, owner, f"/{owner.workspace}/pasted")
    expect(page.locator("#project-header-crumb-project")).to_have_text("pasted")
    text = open_snippet(page)
    assert f"url={server.url!r}" in text
    expect(page.locator("#project-header-exports")).to_contain_text(f"export HALLEY_URL={server.url}")
    page.click("#project-header-snippet-generate")
    page.click("#project-header-snippet-confirm")
    expect(page.locator("#project-header-snippet-ok")).to_be_visible()
    text = page.locator("#project-header-snippet").inner_text()
    key = text.split("api_key='")[1].split("'")[0]
    expect(page.locator("#project-header-exports")).to_contain_text(f"export HALLEY_API_KEY={key}")

    script = tmp_path / "pasted.py"
    script.write_text(text)
    # a clean environment: nothing but what the snippet says tells the SDK where to go
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HALLEY_", "COMET_"))}
    env.update({"PYTHONPATH": os.getcwd(), "HALLEY_SPOOL_DIR": str(tmp_path / "spool")})
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "HALLEY WARNING" not in run.stderr, run.stderr

    page.reload()
    rows = page.locator("#project-grid .ag-row")
    expect(rows).to_have_count(1, timeout=30_000)
    assert console_errors == []


def test_forwarded_host_counts_only_from_a_trusted_proxy(server, accounts, data, browser):
    owner = accounts.create("fwd")
    data.project(owner, "fwd")
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, extra_http_headers=PROXY_HEADERS)
    page = ctx.new_page()
    sign_in(page, server, owner, f"/{owner.workspace}/fwd")
    text = open_snippet(page)
    assert f"url={server.url!r}" in text and "halley.example.com" not in text
    ctx.close()


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("proxied"), extra_env={"HALLEY_TRUSTED_PROXIES": "127.0.0.1"}).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def public_server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("public"),
                     extra_env={"HALLEY_TRUSTED_PROXIES": "127.0.0.1",
                                "HALLEY_PUBLIC_URL": "https://ml.example.org/halley/"}).start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("which, expected", [("proxied", "https://halley.example.com"),
                                              ("public", "https://ml.example.org/halley")])
def test_snippet_and_key_dialog_show_the_public_address(which, expected, proxied_server, public_server, browser):
    srv = proxied_server if which == "proxied" else public_server
    owner = Accounts(srv).create("pub")
    ProjectData(Accounts(srv), srv).project(owner, "addr")
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, extra_http_headers=PROXY_HEADERS)
    page = ctx.new_page()
    sign_in(page, srv, owner, f"/{owner.workspace}/addr")
    assert f"url={expected!r}" in open_snippet(page)
    expect(page.locator("#project-header-exports")).to_contain_text(f"export HALLEY_URL={expected}")
    page.keyboard.press("Escape")
    page.click("#project-header-apikey-open")
    expect(page.locator("#project-header-apikey-exports")).to_contain_text(f"export HALLEY_URL={expected}")
    ctx.close()


def complete_setup(page, url: str, name: str) -> None:
    page.goto(url + "/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.fill("#setup-username", name)
    page.fill("#setup-email", f"{name}@example.org")
    page.fill("#setup-password", "correct horse")
    page.fill("#setup-password2", "correct horse")
    page.click("#setup-submit")


def test_owner_lands_on_get_started_without_a_demo(fresh_server, page, tmp_path, console_errors):
    complete_setup(page, fresh_server.url, "grace")
    expect(page).to_have_url(fresh_server.url + "/get-started")
    expect(page.locator("#get-started-workspace")).to_have_text("grace")
    snippet = page.locator("#get-started-snippet").inner_text()
    assert f"url={fresh_server.url!r}" in snippet and "workspace='grace'" in snippet
    expect(page.locator("#get-started-exports")).to_contain_text(f"export HALLEY_URL={fresh_server.url}")
    expect(page.locator("#get-started-key-link")).to_have_attribute("href", "/settings/developer?workspace=grace")

    # the snippet, with a key from the developer settings, logs the first run
    page.click("#get-started-key-link")
    page.click("#settings-apikey-generate")
    page.click("#settings-apikey-confirm")
    key = page.locator("#settings-apikey-raw").inner_text()
    expect(page.locator("#settings-apikey-exports")).to_contain_text(f"export HALLEY_API_KEY={key}")
    script = tmp_path / "first.py"
    script.write_text(snippet)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HALLEY_", "COMET_"))}
    env.update({"PYTHONPATH": os.getcwd(), "HALLEY_API_KEY": key, "HALLEY_SPOOL_DIR": str(tmp_path / "spool")})
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and "HALLEY WARNING" not in run.stderr, run.stderr
    page.goto(fresh_server.url + "/get-started")
    page.click("#get-started-project-link")
    expect(page.locator("#project-grid .ag-row")).to_have_count(1, timeout=30_000)
    expect(page.locator("#project-experiments-empty")).to_have_count(0)
    assert console_errors == []


def test_owner_lands_on_the_demo_project_when_there_is_one(fresh_server, page, console_errors):
    from dashboard.db import Database
    from dashboard.services import demo_owner, projects, workspaces

    with Database(fresh_server.database_url).session() as s:  # what `halley demo` leaves before setup
        _user, demo = demo_owner.ensure_demo_workspace(s)
        projects.create(s, demo, workspaces.find_by_name(s, "demo").id, "digits-mlp", "", False)
    complete_setup(page, fresh_server.url, "hopper")
    expect(page).to_have_url(fresh_server.url + "/demo/digits-mlp")
    expect(page.locator("#project-header-crumb-project")).to_have_text("digits-mlp")
    assert console_errors == []


def test_empty_pages_say_the_next_step(server, accounts, data, page, console_errors):
    owner = accounts.create("empty")
    sign_in(page, server, owner, f"/{owner.workspace}")
    empty = page.locator("#workspace-empty")
    expect(empty).to_contain_text("Create project")
    expect(page.locator("#workspace-empty-get-started")).to_have_attribute(
        "href", f"/get-started?workspace={owner.workspace}")

    data.project(owner, "blank")
    page.goto(f"{server.url}/{owner.workspace}/blank")
    expect(page.locator("#project-experiments-empty")).to_contain_text("No experiments yet")
    expect(page.locator("#project-panels-empty")).to_contain_text("Add Panel")
    page.click("#project-empty-add")
    expect(page.locator("#project-header-snippet")).to_be_visible()
    expect(page.locator("#project-header-snippet")).to_contain_text("project_name='blank'")
    page.keyboard.press("Escape")

    page.goto(f"{server.url}/{owner.workspace}/blank/notes")
    expect(page.locator("#project-notes-editor")).to_have_attribute("placeholder", re.compile("Save notes"))
    assert console_errors == []


def test_get_started_offers_only_workspaces_one_can_log_into(server, accounts, page):
    owner, other = accounts.create("gs"), accounts.create("gso")
    sign_in(page, server, owner, f"/get-started?workspace={other.workspace}")
    expect(page.locator("#get-started-workspace")).to_have_text(owner.workspace)
    page.goto(f"{server.url}/get-started?workspace=%3Cb%3Ex")
    expect(page.locator("#get-started-workspace")).to_have_text(owner.workspace)
