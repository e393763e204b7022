"""A project's sections as people use them, in headless Chromium: the header's shortcuts,
notes, files, manage (visibility and the share link) and the archive."""
import re

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import sign_in
from tests.project_data import ProjectData
from tests.test_workspace_page import asset_files

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def data(accounts, server):
    return ProjectData(accounts, server)


def experiment_ids(data, keys) -> list[int]:
    from sqlmodel import select

    from models import Experiment

    with data.db.session() as s:
        return list(s.exec(select(Experiment.id).where(Experiment.key.in_(keys))).all())


def logged_rows(data, ids) -> int:
    """Metric points, metric series, parameters and assets still stored for these experiment ids."""
    from sqlalchemy import func
    from sqlmodel import select

    from models import Asset, MetricPoint, MetricSeries, Parameter

    with data.db.session() as s:
        series = select(MetricSeries.id).where(MetricSeries.experiment_id.in_(ids))
        return sum(s.exec(select(func.count()).select_from(model).where(cond)).one() for model, cond in (
            (MetricPoint, MetricPoint.series_id.in_(series)), (MetricSeries, MetricSeries.experiment_id.in_(ids)),
            (Parameter, Parameter.experiment_id.in_(ids)), (Asset, Asset.experiment_id.in_(ids))))


def test_header_shortcuts(server, accounts, data, page, console_errors):
    owner = accounts.create("ph")
    data.project(owner, "head")
    sign_in(page, server, owner, f"/{owner.workspace}/head/notes")
    expect(page.locator("#project-header-crumb-project")).to_have_text("head")
    page.click("#project-header-crumb-workspace")
    expect(page.locator("#workspace-title")).to_have_text(owner.workspace)
    page.go_back()
    for key, suffix in (("files", "/files"), ("manage", "/manage"), ("archive", "/archive"), ("notes", "/notes")):
        page.click(f"#project-header-tab-{key}")
        expect(page).to_have_url(f"{server.url}/{owner.workspace}/head{suffix}")
        expect(page.locator(f"#project-header-tab-{key}")).to_have_class(re.compile("active"))

    page.click("#project-header-apikey-open")
    expect(page.locator("#project-header-apikey-hint")).to_have_value(f"{owner.api_key[:6]}… (hidden)")
    expect(page.locator("#project-header-apikey-generate")).to_have_attribute(
        "href", f"/settings/developer?workspace={owner.workspace}")
    page.keyboard.press("Escape")

    page.click("#project-header-add-open")
    snippet = page.locator("#project-header-snippet")
    expect(snippet).to_contain_text("from dashboard.sdk import Experiment")
    expect(snippet).to_contain_text(f"workspace='{owner.workspace}'")
    expect(snippet).to_contain_text("project_name='head'")
    expect(snippet).to_contain_text('os.environ["HALLEY_API_KEY"]')
    page.click("#project-header-snippet-generate")
    page.click("#project-header-snippet-confirm")
    expect(page.locator("#project-header-snippet-ok")).to_be_visible()
    key = re.search(r"api_key='([^']+)'", snippet.inner_text()).group(1)
    assert requests.get(server.url + "/api/v1/account", headers={"Authorization": key}).status_code == 200
    assert requests.get(server.url + "/api/v1/account", headers={"Authorization": owner.api_key}).status_code == 401
    page.keyboard.press("Escape")

    page.click("#project-header-share-open")
    expect(page.locator("#project-header-share-url")).to_have_value(f"{server.url}/{owner.workspace}/head")
    assert console_errors == []


def test_read_only_visitors_get_no_add_buttons(server, accounts, data, page, browser, console_errors):
    """Viewers, public visitors and share-link visitors can't log runs or change the project's
    panels, so "Add experiment" and "Add Panel" are not offered to them."""
    owner, viewer = accounts.create("ro"), accounts.create("rov")
    data.add_member(owner, viewer, "viewer")
    data.project(owner, "ro-open", public=True)
    data.project(owner, "ro-secret")
    for name in ("ro-open", "ro-secret"):
        data.experiment(owner, name, f"{name}-run")
    token = requests.post(f"{server.url}/api/v1/workspaces/{owner.workspace}/projects/ro-secret/share-link",
                          headers={"Authorization": owner.api_key}).json()["token"]

    def buttons_shown(p, path) -> tuple[bool, bool]:
        expect(p).to_have_url(f"{server.url}/{owner.workspace}/{path}")
        expect(p.locator("#project-grid .ag-row").first).to_be_visible(timeout=20_000)
        add_panel, add_experiment = p.locator("#project-panels-add"), p.locator("#project-header-add-open")
        expect(add_panel).to_be_attached(timeout=20_000)
        expect(add_experiment).to_be_attached()
        return add_experiment.is_visible(), add_panel.is_visible()

    sign_in(page, server, owner, f"/{owner.workspace}/ro-secret")
    assert buttons_shown(page, "ro-secret") == (True, True)
    for who in ("viewer", "public", "share"):
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        visitor = ctx.new_page()
        if who == "viewer":
            sign_in(visitor, server, viewer, f"/{owner.workspace}/ro-secret")
            path = "ro-secret"
        elif who == "public":
            visitor.goto(f"{server.url}/{owner.workspace}/ro-open")
            path = "ro-open"
        else:
            visitor.goto(f"{server.url}/shared/{token}")
            path = "ro-secret"
        expect(visitor.locator("#project-header-readonly")).to_be_visible()
        assert buttons_shown(visitor, path) == (False, False), who
        ctx.close()
    assert console_errors == []


def test_notes_edit_preview_save_and_read_only(server, accounts, data, page, browser, console_errors):
    owner, viewer = accounts.create("pn"), accounts.create("pv")
    data.add_member(owner, viewer, "viewer")
    data.project(owner, "noted")
    sign_in(page, server, owner, f"/{owner.workspace}/noted/notes")
    text = ("# Plan\n\n* try **dropout**\n* [docs](https://example.org) [bad](javascript:window.__xss=3)\n\n"
            "<script>window.__xss=1</script>\n\n<img src=x onerror=window.__xss=2>\n")
    page.fill("#project-notes-editor", text)
    page.click(".project-notes-tab-preview")
    preview = page.locator("#project-notes-rendered")
    expect(preview.locator("h1")).to_have_text("Plan")
    expect(preview.locator("strong")).to_have_text("dropout")
    expect(preview.locator("a")).to_have_count(1)
    expect(preview.locator("a")).to_have_attribute("href", "https://example.org")
    expect(preview).to_contain_text("<script>window.__xss=1</script>")
    expect(preview).to_contain_text("<img src=x onerror=window.__xss=2>")
    page.click(".project-notes-tab-write")
    page.click("#project-notes-save")
    expect(page.locator("#project-notes-saved")).to_be_visible()
    page.reload()
    expect(page.locator("#project-notes-editor")).to_have_value(text)
    assert page.evaluate("typeof window.__xss") == "undefined"

    # A viewer reads the rendered notes and has no editor.
    ctx = browser.new_context()
    other = ctx.new_page()
    sign_in(other, server, viewer, f"/{owner.workspace}/noted/notes")
    view = other.locator("#project-notes-view")
    expect(view.locator("h1")).to_have_text("Plan")
    expect(view).to_contain_text("<script>window.__xss=1</script>")
    expect(other.locator("#project-notes-editor")).to_have_count(0)
    expect(other.locator("#project-header-readonly")).to_be_visible()
    assert other.evaluate("typeof window.__xss") == "undefined"
    assert other.locator("img[src='x']").count() == 0
    ctx.close()
    assert console_errors == []


def test_files_view_experiments_and_github_link(server, accounts, data, page, console_errors):
    owner = accounts.create("pf")
    data.project(owner, "filed")
    k1 = data.experiment(owner, "filed", "first", file_name="train.py", assets=(("code", "model.py", b"x = 1"),))
    k2 = data.experiment(owner, "filed", "second", file_name="train.py")
    data.experiment(owner, "filed", "third", file_name="eval.py", assets=(("image", "pic.png", b"img"),))
    sign_in(page, server, owner, f"/{owner.workspace}/filed/files")
    rows = page.locator(".project-files-row")
    expect(rows).to_have_count(3)  # eval.py, model.py, train.py; images are not files
    train = rows.filter(has_text="train.py")
    expect(train).to_contain_text("2")
    expect(rows.filter(has_text="model.py")).to_contain_text("code")
    train.get_by_text("View experiments").click()
    links = page.locator("#project-files-experiments .project-files-experiment-link")
    expect(links).to_have_count(2)
    hrefs = sorted(links.evaluate_all("els => els.map(e => e.getAttribute('href'))"))
    assert hrefs == sorted([f"/{owner.workspace}/filed/{k1}", f"/{owner.workspace}/filed/{k2}"])
    page.keyboard.press("Escape")

    for bad in ("http://github.com/a/b", "https://gitlab.com/a/b", "https://github.com/a", "javascript:alert(1)",
                "https://github.com/a/b/../../x"):
        page.fill("#project-files-github-input", bad)
        page.click("#project-files-github-save")
        expect(page.locator("#project-files-github-error")).to_contain_text("GitHub repository URL")
        expect(page.locator("#project-files-github-none")).to_be_visible()
    page.fill("#project-files-github-input", "https://github.com/octo/halley-demo.git")
    page.click("#project-files-github-save")
    link = page.locator("#project-files-github-link")
    expect(link).to_have_attribute("href", "https://github.com/octo/halley-demo")
    page.reload()
    expect(page.locator("#project-files-github-link")).to_have_text("https://github.com/octo/halley-demo")
    assert console_errors == []


def test_visibility_and_share_link_lifecycle(server, accounts, data, page, browser, console_errors):
    owner = accounts.create("pm")
    data.project(owner, "managed")
    sign_in(page, server, owner, f"/{owner.workspace}/managed/manage")
    expect(page.locator("#project-header-visibility")).to_have_text("private")
    page.locator("#project-manage-visibility").get_by_text("Public").click()
    expect(page.locator("#project-manage-visibility-ok")).to_contain_text("now public")
    page.reload()
    expect(page.locator("#project-header-visibility")).to_have_text("public")
    page.locator("#project-manage-visibility").get_by_text("Private").click()
    expect(page.locator("#project-manage-visibility-ok")).to_contain_text("now private")

    page.click("#project-manage-share-create")
    link = page.locator("#project-manage-share-url").input_value()
    assert re.fullmatch(re.escape(server.url) + r"/shared/[A-Za-z0-9_-]{20,}", link)
    expect(page.locator("#project-manage-share-copy")).to_be_visible()

    # Anyone with the link reads the private project, read-only, and nothing else.
    anon_ctx = browser.new_context()
    anon = anon_ctx.new_page()
    anon.goto(link)
    expect(anon).to_have_url(f"{server.url}/{owner.workspace}/managed")
    anon.goto(f"{server.url}/{owner.workspace}/managed/notes")
    expect(anon.locator("#project-header-crumb-project")).to_have_text("managed")
    expect(anon.locator("#project-header-readonly")).to_be_visible()
    expect(anon.locator("#project-notes-editor")).to_have_count(0)
    anon.goto(f"{server.url}/{owner.workspace}/managed/manage")
    expect(anon.locator("#project-manage-share-create")).to_have_count(0)
    expect(anon.locator("#project-manage-visibility input").first).to_be_disabled()

    # Deleting the link: it opens nothing, and the visitor's earlier access ends too.
    page.click("#project-manage-share-delete")
    expect(page.locator("#project-manage-share-deleted")).to_be_visible()
    expect(page.locator("#project-manage-share-create")).to_be_visible()
    response = anon.goto(link)
    assert response.status == 404
    expect(anon.locator("#not-found-message")).to_contain_text("does not exist or was deleted")
    anon.goto(f"{server.url}/{owner.workspace}/managed/notes")
    expect(anon).to_have_url(re.compile(r"/login\?next="))
    anon_ctx.close()
    assert console_errors == []


def test_archive_restore_and_delete_many(server, accounts, data, page, console_errors):
    owner = accounts.create("pa")
    data.project(owner, "shelf")
    keys = [data.experiment(owner, "shelf", f"run{i}", assets=(("file", f"w{i}.bin", b"12345"),), archived=True)
            for i in range(3)]
    data.experiment(owner, "shelf", "live")
    stored = asset_files(data, owner, "shelf")
    assert len(stored) == 3
    deleted_ids, kept_ids = experiment_ids(data, keys[1:]), experiment_ids(data, keys[:1])
    assert len(deleted_ids) == 2 and logged_rows(data, deleted_ids) == 2 * 4  # point, series, parameter, asset
    sign_in(page, server, owner, f"/{owner.workspace}/shelf/archive")
    rows = page.locator(".project-archive-row")
    expect(rows).to_have_count(3)
    expect(page.locator("#project-archive-restore")).to_be_disabled()

    rows.filter(has_text="run0").locator("input[type=checkbox]").check()
    expect(page.locator("#project-archive-selected")).to_have_text("1 selected")
    page.click("#project-archive-restore")
    expect(page.locator("#project-archive-ok")).to_have_text("Restored 1 experiment.")
    expect(rows).to_have_count(2)

    page.locator("#project-archive-all").check()
    expect(page.locator("#project-archive-selected")).to_have_text("2 selected")
    page.click("#project-archive-delete")
    expect(page.locator("#project-archive-modal")).to_contain_text("Delete 2 archived experiments permanently?")
    page.click("#project-archive-cancel")
    expect(rows).to_have_count(2)
    page.click("#project-archive-delete")
    page.click("#project-archive-confirm")
    expect(page.locator("#project-archive-ok")).to_have_text("Deleted 2 experiments permanently.")
    expect(page.locator("#project-archive-empty")).to_be_visible()

    r = requests.get(server.url + f"/api/v1/experiments/{keys[1]}", headers={"Authorization": owner.api_key})
    assert r.status_code == 404
    r = requests.get(server.url + f"/api/v1/experiments/{keys[0]}", headers={"Authorization": owner.api_key})
    assert r.status_code == 200 and r.json()["archived"] is False
    assert logged_rows(data, deleted_ids) == 0 and logged_rows(data, kept_ids) > 0
    remaining = asset_files(data, owner, "shelf")
    assert len(remaining) == 1
    for rel in stored:
        assert (server.home / "assets" / rel).exists() == (rel in remaining)
    assert console_errors == []
