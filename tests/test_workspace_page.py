"""The workspace page as a person uses it, in headless Chromium: projects as grid or list,
search, filters, sorting, and creating, editing, deleting, sharing and re-iconing projects."""
import io
import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import sign_in
from tests.project_data import ProjectData

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def data(accounts, server):
    return ProjectData(accounts, server)


def names_shown(page):
    return [n.strip() for n in page.locator(".workspace-project-name").all_inner_texts()]


def asset_files(data, owner, project: str) -> list[str]:
    """Storage paths of the project's asset files (read straight from the tables)."""
    from sqlmodel import select

    from models import Asset, Experiment, Project

    with data.db.session() as s:
        return list(s.exec(select(Asset.storage_path).join(Experiment, Experiment.id == Asset.experiment_id)
                           .join(Project, Project.id == Experiment.project_id).where(Project.name == project)).all())


def open_menu(page, project: str, action: str):
    container = page.locator(".workspace-project-card, .workspace-project-row", has_text=project).first
    container.locator(".workspace-card-menu, .workspace-row-menu").click()
    page.locator(".dropdown-menu.show").get_by_text(action, exact=True).click()


def choose(page, dropdown_id: str, label: str):
    page.click(f"#{dropdown_id}")
    page.locator("[role=option]", has_text=label).first.click()


def test_grid_or_list_is_remembered(server, accounts, data, page, console_errors):
    owner = accounts.create("ws")
    data.project(owner, "alpha", description="first")
    sign_in(page, server, owner, f"/{owner.workspace}")
    expect(page.locator("#workspace-grid .workspace-project-card")).to_have_count(1)
    page.click("#workspace-view-list")
    expect(page.locator("#workspace-list .workspace-project-row")).to_have_count(1)
    expect(page.locator("#workspace-list")).to_contain_text("first")
    page.reload()
    expect(page.locator("#workspace-list .workspace-project-row")).to_have_count(1)
    page.click("#workspace-view-grid")
    expect(page.locator("#workspace-grid")).to_be_visible()
    page.reload()
    expect(page.locator("#workspace-grid")).to_be_visible()
    assert console_errors == []


def test_search_filter_and_sort(server, accounts, data, page, console_errors):
    owner, colleague = accounts.create("ws"), accounts.create("col")
    data.add_member(owner, colleague, "member")
    data.project(owner, "apple", public=True, description="about cats")
    data.project(owner, "banana", description="about dogs")
    data.project(colleague, "cherry", workspace=owner.workspace, description="birds")
    for i in range(3):
        data.experiment(owner, "banana", f"b{i}")
    data.experiment(owner, "apple", "a0")
    sign_in(page, server, owner, f"/{owner.workspace}")
    expect(page.locator("#workspace-total")).to_have_text("3 projects")

    page.fill("#workspace-search", "dogs")
    expect(page.locator("#workspace-total")).to_have_text("1 project")
    assert names_shown(page) == ["banana"]
    page.fill("#workspace-search", "")
    expect(page.locator("#workspace-total")).to_have_text("3 projects")

    choose(page, "workspace-visibility", "Public")
    expect(page.locator("#workspace-total")).to_have_text("1 project")
    assert names_shown(page) == ["apple"]
    page.goto(f"{server.url}/{owner.workspace}")
    expect(page.locator("#workspace-total")).to_have_text("3 projects")

    choose(page, "workspace-owner", colleague.username)
    expect(page.locator("#workspace-total")).to_have_text("1 project")
    assert names_shown(page) == ["cherry"]
    expect(page.locator(".workspace-project-owner")).to_contain_text(colleague.username)
    page.goto(f"{server.url}/{owner.workspace}")

    choose(page, "workspace-sort", "Name")
    expect(page.locator(".workspace-project-name").first).to_have_text("cherry")  # descending first
    page.click("#workspace-sort-dir")
    expect(page.locator(".workspace-project-name").first).to_have_text("apple")
    assert names_shown(page) == ["apple", "banana", "cherry"]
    choose(page, "workspace-sort", "Experiment count")
    expect(page.locator(".workspace-project-name").first).to_have_text("cherry")  # ascending: 0 experiments
    page.click("#workspace-sort-dir")
    expect(page.locator(".workspace-project-name").first).to_have_text("banana")
    expect(page.locator(".workspace-project-card", has_text="banana")).to_contain_text("3 experiments")
    assert console_errors == []


def test_filters_and_sort_are_kept_in_the_url(server, accounts, data, page, browser, console_errors):
    owner, colleague = accounts.create("wsu"), accounts.create("colu")
    data.add_member(owner, colleague, "member")
    data.project(owner, "apple", public=True, description="about cats")
    data.project(owner, "avocado", public=True, description="about cats too")
    data.project(owner, "banana", description="about dogs")
    data.project(colleague, "cherry", workspace=owner.workspace, description="about birds")
    sign_in(page, server, owner, f"/{owner.workspace}")
    expect(page.locator("#workspace-total")).to_have_text("4 projects")
    page.fill("#workspace-search", "about")
    choose(page, "workspace-visibility", "Public")
    choose(page, "workspace-sort", "Name")
    page.click("#workspace-sort-dir")  # ascending
    expect(page.locator("#workspace-total")).to_have_text("2 projects")
    expect(page).to_have_url(re.compile(r"[?&]dir=asc"))
    query = parse_qs(urlparse(page.url).query)
    assert query == {"q": ["about"], "visibility": ["public"], "sort": ["name"], "dir": ["asc"]}
    first = page.locator(".workspace-project-name").first
    expect(first).to_have_text("apple")  # the URL may change before the list is drawn again
    assert names_shown(page) == ["apple", "avocado"]

    # a reload keeps the listing and its controls
    page.reload()
    expect(page.locator("#workspace-total")).to_have_text("2 projects")
    expect(first).to_have_text("apple")
    assert names_shown(page) == ["apple", "avocado"]
    expect(page.locator("#workspace-search")).to_have_value("about")
    expect(page.locator("#workspace-visibility")).to_contain_text("Public")
    expect(page.locator("#workspace-sort")).to_contain_text("Name")
    page.click("#workspace-sort-dir")  # back to descending, and the URL says so
    expect(page.locator(".workspace-project-name").first).to_have_text("avocado")
    expect(page).not_to_have_url(re.compile("dir="))

    # a link with an owner opens filtered; what the link can't mean is ignored
    with data.db.session() as s:
        from dashboard.services import accounts as account_service
        colleague_id = account_service.find_user(s, colleague.username).id
    page.goto(f"{server.url}/{owner.workspace}?owner={colleague_id}")
    expect(page.locator("#workspace-total")).to_have_text("1 project")
    assert names_shown(page) == ["cherry"]
    expect(page.locator("#workspace-owner")).to_contain_text(colleague.username)
    page.goto(f"{server.url}/{owner.workspace}?owner=99999&visibility=%3Cb%3E&sort=drop&dir=up&q=")
    expect(page.locator("#workspace-total")).to_have_text("4 projects")
    assert console_errors == []


def test_create_edit_and_delete(server, accounts, data, page, console_errors):
    owner = accounts.create("ws")
    sign_in(page, server, owner, f"/{owner.workspace}")
    expect(page.locator("#workspace-empty")).to_be_visible()

    page.click("#workspace-create-open")
    page.fill("#workspace-create-name", "bad/name")
    page.click("#workspace-create-submit")
    expect(page.locator("#workspace-create-message")).to_contain_text("without '/'")
    page.fill("#workspace-create-name", "detector")
    page.fill("#workspace-create-description", "object detection")
    page.locator("#workspace-create-visibility").get_by_text("Public").click()
    page.click("#workspace-create-submit")
    expect(page.locator(".workspace-project-card", has_text="detector")).to_contain_text("public")
    for i in range(2):
        data.experiment(owner, "detector", f"d{i}", assets=(("file", "w.bin", b"1234"),))

    # Edit through the list view's config button.
    page.click("#workspace-view-list")
    expect(page.locator("#workspace-list")).to_be_visible()
    open_menu(page, "detector", "Edit")
    expect(page.locator("#workspace-edit-name")).to_have_value("detector")
    page.fill("#workspace-edit-name", "detector-v2")
    page.fill("#workspace-edit-description", "second version")
    page.locator("#workspace-edit-visibility").get_by_text("Private").click()
    page.click("#workspace-edit-save")
    row = page.locator(".workspace-project-row", has_text="detector-v2")
    expect(row).to_contain_text("second version")
    expect(row).to_contain_text("private")

    stored = asset_files(data, owner, "detector-v2")
    assert len(stored) == 2 and all((server.home / "assets" / rel).is_file() for rel in stored)

    # Delete through the grid card's dots; the confirm names what is lost.
    page.click("#workspace-view-grid")
    expect(page.locator("#workspace-grid")).to_be_visible()
    open_menu(page, "detector-v2", "Delete")
    expect(page.locator("#workspace-delete-lost")).to_contain_text("2 experiments")
    expect(page.locator("#workspace-delete-lost")).to_contain_text("2 asset files")
    page.click("#workspace-delete-cancel")
    expect(page.locator(".workspace-project-card", has_text="detector-v2")).to_have_count(1)
    open_menu(page, "detector-v2", "Delete")
    page.click("#workspace-delete-confirm")
    expect(page.locator("#workspace-ok")).to_contain_text("Deleted project detector-v2 and 2 experiments")
    expect(page.locator("#workspace-empty")).to_be_visible()
    assert stored and not any((server.home / "assets" / rel).exists() for rel in stored)
    r = requests.get(server.url + f"/api/v1/workspaces/{owner.workspace}/projects/detector-v2",
                     headers={"Authorization": owner.api_key})
    assert r.status_code == 404
    assert console_errors == []


def _png(color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 40), color).save(out, format="PNG")
    return out.getvalue()


def test_icon_upload_and_rejected_non_image(server, accounts, data, page, console_errors):
    owner = accounts.create("ws")
    data.project(owner, "iconic")
    sign_in(page, server, owner, f"/{owner.workspace}")

    open_menu(page, "iconic", "Change icon")
    page.set_input_files("#workspace-icon-upload input[type=file]",
                         files=[{"name": "evil.png", "mimeType": "image/png", "buffer": b"<svg onload=alert(1)>"}])
    expect(page.locator("#workspace-icon-message")).to_contain_text("not a valid PNG or JPEG")
    page.set_input_files("#workspace-icon-upload input[type=file]",
                         files=[{"name": "huge.png", "mimeType": "image/png", "buffer": _png() + bytes(1_200_000)}])
    expect(page.locator("#workspace-icon-message")).to_contain_text("at most 1 MB")
    page.set_input_files("#workspace-icon-upload input[type=file]",
                         files=[{"name": "logo.png", "mimeType": "image/png", "buffer": _png()}])
    icon = page.locator(".workspace-project-card", has_text="iconic").locator("img.workspace-project-icon")
    expect(icon).to_be_visible()
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=icon.element_handle())
    src = icon.get_attribute("src")
    # The icon route checks access: the owner's key reads it, an anonymous visitor doesn't.
    r = requests.get(server.url + src, headers={"Authorization": owner.api_key})
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.format == "PNG" and img.size == (64, 40)
    assert requests.get(server.url + src).status_code == 404
    stored = list((server.home / "assets" / "icons").glob("*.png"))
    assert stored and all(re.fullmatch(r"[0-9a-f]{32}\.png", p.name) for p in stored)
    assert console_errors == []


def test_share_dialog_and_public_view_for_others(server, accounts, data, page, browser, console_errors):
    owner, outsider = accounts.create("ws"), accounts.create("out")
    data.project(owner, "shown", public=True, description="open to all")
    data.project(owner, "hidden", description="members only")
    sign_in(page, server, owner, f"/{owner.workspace}")
    open_menu(page, "shown", "Share")
    expect(page.locator("#workspace-share-url")).to_have_value(f"{server.url}/{owner.workspace}/shown")

    for who in (outsider, None):
        ctx = browser.new_context()
        other = ctx.new_page()
        errors = []
        other.on("pageerror", lambda e: errors.append(str(e)))
        if who is not None:
            sign_in(other, server, who, f"/{owner.workspace}")
        else:
            other.goto(server.url + f"/{owner.workspace}")
        expect(other.locator("#workspace-total")).to_have_text("1 project")
        assert names_shown(other) == ["shown"]
        expect(other.locator("#workspace-create-open")).to_have_count(0)
        other.locator(".workspace-card-menu").click()
        menu = other.locator(".dropdown-menu.show")
        expect(menu).to_contain_text("Share")
        expect(menu).not_to_contain_text("Edit")
        expect(menu).not_to_contain_text("Delete")
        assert errors == []
        ctx.close()
    assert console_errors == []


def test_names_with_markup_render_as_text(server, accounts, data, page, console_errors):
    owner = accounts.create("ws")
    name = "<img src=x onerror=window.__xss=1>"
    data.project(owner, name, description="<script>window.__xss=2</script><b>bold?</b>")
    sign_in(page, server, owner, f"/{owner.workspace}")
    expect(page.locator(".workspace-project-name")).to_have_text(name)
    expect(page.locator(".workspace-project-description")).to_contain_text("<script>window.__xss=2</script>")
    page.click("#workspace-view-list")
    expect(page.locator(".workspace-project-name")).to_have_text(name)
    page.click(".workspace-project-name")
    expect(page).to_have_url(re.compile(re.escape(f"/{owner.workspace}/") + r"%3Cimg"))
    page.goto(page.url + "/notes")
    expect(page.locator("#project-header-crumb-project")).to_have_text(name)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("img[src='x']").count() == 0
    assert console_errors == []


def test_many_projects_are_paged(server, accounts, data, page, console_errors):
    owner = accounts.create("ws")
    for i in range(130):
        data.project(owner, f"p{i:03d}", public=i % 2 == 0, description=f"number {i}")
    sign_in(page, server, owner, f"/{owner.workspace}")
    expect(page.locator("#workspace-total")).to_have_text("130 projects")
    expect(page.locator(".workspace-project-card")).to_have_count(24)
    choose(page, "workspace-sort", "Name")
    expect(page.locator(".workspace-project-name").first).to_have_text("p129")  # descending first
    page.click("#workspace-sort-dir")  # ascending
    expect(page.locator(".workspace-project-name").first).to_have_text("p000")
    page.locator("#workspace-pagination").get_by_text("»").click()
    expect(page.locator(".workspace-project-name").first).to_have_text("p120")
    expect(page.locator(".workspace-project-card")).to_have_count(130 - 5 * 24)
    # A filter starts again from the first page.
    choose(page, "workspace-visibility", "Private")
    expect(page.locator("#workspace-total")).to_have_text("65 projects")
    expect(page.locator(".workspace-project-name").first).to_have_text("p001")
    assert console_errors == []
