"""The Assets and Graphics tabs at real sizes: name filters that do what they say (in SQL, on
SQLite and PostgreSQL), confusion-matrix example images kept apart, an experiment with 10,000
assets paged in the browser, and the tabs' callbacks refusing other users' experiments."""
import json

import pytest
import requests
from playwright.sync_api import expect
from sqlmodel import select

from dashboard.auth import Actor
from dashboard.config import Settings
from dashboard.db import Database, migrate
from dashboard.errors import Invalid, NotFound
from dashboard.services import accounts, asset_pages, experiment_page, ingest
from models import Asset, Experiment
from tests.conftest import sign_in, signed_in_client
from tests.dash_requests import body_from_values, dependencies, find_callback
from tests.experiment_fixtures import Logger, png
from tests.postgres_fixtures import postgres  # noqa: F401  (the session's cluster)

NAMES = ["cat.png", "cat_1.png", "catx1.png", "Cat 100%.png", "dog.png", "confusion-matrix-00007.png"]


# --- filter semantics, in SQL -----------------------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'a.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database("assets")
    migrate(url)
    db = Database(url)
    settings = Settings.from_env(home=str(tmp_path), database_url=url)
    with db.session() as s:
        user = accounts.create_user(s, "keeper", "keeper@example.org", "password123")
    actor = Actor(user_id=user.id, username=user.username)
    with db.session() as s:
        exp, _ = ingest.start_experiment(s, actor, "keeper", "p")
        for step in (1, 2):
            for name in NAMES:
                ingest.store_asset(s, actor, exp.key, data=b"x" * 10, type="image", name=name, step=step,
                                   settings=settings)
        ingest.store_asset(s, actor, exp.key, data=b"{}", type="file", name="config.json", settings=settings)
        key = exp.key
    return db, actor, key


def _names(store, **kw):
    db, actor, key = store
    with db.session() as s:
        exp = experiment_page.open_key(s, actor, key).experiment
        page = asset_pages.image_page(s, exp, **kw)
        return sorted({i.name for i in page.items}), page


def test_exact_substring_and_regex_filters_do_what_they_say(store):
    assert _names(store, pattern="cat.png", mode="exact")[0] == ["cat.png"]
    assert _names(store, pattern="CAT.PNG", mode="exact")[0] == []
    assert _names(store, pattern="cat", mode="exact")[0] == []
    # substring: any case; _ and % are plain characters, not LIKE wildcards
    assert _names(store, pattern="CAT", mode="substring")[0] == ["Cat 100%.png", "cat.png", "cat_1.png", "catx1.png"]
    assert _names(store, pattern="cat_1", mode="substring")[0] == ["cat_1.png"]
    assert _names(store, pattern="100%", mode="substring")[0] == ["Cat 100%.png"]
    assert _names(store, pattern=r"^cat.\d", mode="regex")[0] == ["cat_1.png", "catx1.png"]
    assert _names(store, pattern=r"^c", mode="regex")[0] == ["cat.png", "cat_1.png", "catx1.png"]


def test_bad_patterns_are_clear_messages(store):
    for pattern, mode, message in (("cat_[", "regex", "Invalid regular expression"),
                                   ("(a+)+$", "regex", "Nested repetition"),
                                   ("(a|aa)*b", "regex", "repeated group of alternatives"),
                                   ("x" * 201, "substring", "too long"),
                                   ("cat", "glob", "filter mode")):
        with pytest.raises(Invalid, match=message):
            _names(store, pattern=pattern, mode=mode)
    with pytest.raises(Invalid, match="step"):
        _names(store, step="two")


def test_confusion_matrix_examples_are_their_own_kind(store):
    names, page = _names(store)
    assert "confusion-matrix-00007.png" not in names
    assert (page.total, page.matching, page.examples) == (10, 10, 2)
    names, page = _names(store, examples=True)
    assert "confusion-matrix-00007.png" in names and page.total == 12
    db, actor, key = store
    with db.session() as s:
        exp = experiment_page.open_key(s, actor, key).experiment
        assert asset_pages.type_counts(s, exp) == {"image": 10, "cm-example": 2, "file": 1}
        rows, total = asset_pages.asset_rows(s, exp, 0, 100, type_filter="cm-example")
        assert total == 2 and {a.file_name for a in rows} == {"confusion-matrix-00007.png"}
        rows, total = asset_pages.asset_rows(s, exp, 0, 100, type_filter="image")
        assert total == 10 and not any(a.cm_example for a in rows)
        with pytest.raises(Invalid):
            asset_pages.asset_rows(s, exp, 0, 100, type_filter="nonsense")


def test_paging_sorting_and_steps_in_sql(store):
    _names_, page = _names(store, page_size=4, sort="step", descending=True)
    assert page.pages == 3 and [i.step for i in page.items] == [2, 2, 2, 2]
    _names_, last = _names(store, page_size=4, page=99)  # past the end: the last page
    assert last.page == 2 and len(last.items) == 2
    db, actor, key = store
    with db.session() as s:
        exp = experiment_page.open_key(s, actor, key).experiment
        assert asset_pages.image_steps(s, exp) == [1, 2]
        rows, total = asset_pages.asset_rows(s, exp, 2, 5, [{"colId": "size", "sort": "asc"},
                                                            {"colId": "evil; drop", "sort": "asc"}])
        assert total == 13 and len(rows) == 3 and all(r.size == 10 for r in rows)
        first = asset_pages.image_page(s, exp, pattern="cat.png", mode="exact", sort="step").items[0]
        image = asset_pages.lightbox_image(s, exp, first.asset_id)
        assert (image.step, image.position, image.count, image.earlier) == (1, 1, 2, None)
        assert asset_pages.lightbox_image(s, exp, image.later).step == 2
        with pytest.raises(NotFound):
            asset_pages.lightbox_image(s, exp, "not-an-asset")


# --- 10,000 assets in the browser -------------------------------------------------------------


@pytest.fixture(scope="module")
def crowded(server, accounts):
    """10,000 assets (files, images and confusion-matrix examples), stored through the service."""
    owner = accounts.create("crowd")
    log = Logger(server.home, server.database_url, owner.username)
    key = log.start("crowd", name="many-assets")
    tiny = png(1, 4)
    items = []
    for i in range(10_000):
        if i % 10 == 0:
            items.append((tiny, "image", f"confusion-matrix-{i:05d}.png", i // 1000))
        elif i % 10 == 1:
            items.append((tiny, "image", f"sample_{i % 7}.png", i // 70))
        else:
            items.append((b"x" * (i % 3000), "file", f"file_{i:05d}.bin", None))
    log.many_assets(key, items)
    log.end(key)
    return {"owner": owner, "key": key, "path": f"/{owner.workspace}/crowd/{key}", "log": log}


def scroll_to(page, where: str) -> None:
    """Bring the Assets grid's first or last row into view (AG Grid fetches that block)."""
    index = 0 if where == "top" else 9999
    page.wait_for_function("""i => { const a = dash_ag_grid.getApi('experiment-assets-grid');
        if (!a) return false; a.ensureIndexVisible(i);
        return !!document.querySelector(`#experiment-assets-grid .ag-row[row-index='${i}']`); }""", arg=index)


@pytest.mark.browser
def test_ten_thousand_assets_open_and_page(server, crowded, page, console_errors):
    sign_in(page, server, crowded["owner"], crowded["path"] + "?tab=assets")
    count = page.locator("#experiment-assets-count")
    expect(count).to_have_text("10,000 assets")
    grid = page.locator("#experiment-assets-grid")
    expect(grid.locator(".ag-row").first).to_be_visible()
    # only the blocks in view were drawn, not 10,000 rows
    assert grid.locator(".ag-row").count() < 200
    # jump to the end: the grid asks for that block only
    scroll_to(page, "bottom")
    expect(grid.locator(".ag-row[row-index='9999']")).to_be_visible()
    page.click("#experiment-assets-grid .ag-header-cell[col-id=size]")  # sort by size, in SQL
    scroll_to(page, "top")
    expect(grid.locator(".ag-row[row-index='0'] [col-id=size]")).to_have_text("2 B")
    scroll_to(page, "bottom")
    expect(grid.locator(".ag-row[row-index='9999'] [col-id=size]")).to_have_text("2.929 KiB")

    page.fill("#experiment-assets-search", "file_0999")
    page.press("#experiment-assets-search", "Enter")
    expect(count).to_have_text("8 assets")
    page.fill("#experiment-assets-search", "")
    page.press("#experiment-assets-search", "Enter")
    page.select_option("#experiment-assets-type", "cm-example")
    expect(count).to_have_text("1,000 assets")
    expect(grid.locator(".ag-row").first).to_contain_text("confusion-matrix example")
    page.select_option("#experiment-assets-mode", "regex")
    page.fill("#experiment-assets-search", "(a|ab)+")
    page.press("#experiment-assets-search", "Enter")
    expect(page.locator("#experiment-assets-error")).to_contain_text("repeated group of alternatives")

    # Graphics: the user's 1,000 images, the 1,000 examples hidden until asked for
    page.goto(server.url + crowded["path"] + "?tab=graphics")
    graphics = page.locator("#experiment-graphics-count")
    expect(graphics).to_have_text(
        "1,000 of 1,000 images · page 1 of 17 · 1,000 confusion-matrix example images hidden")
    expect(page.locator(".experiment-image-card").first).to_contain_text("sample_")
    page.get_by_label("Show confusion-matrix example images").check()
    expect(graphics).to_have_text("2,000 of 2,000 images · page 1 of 34")
    expect(page.locator(".experiment-image-card").first).to_contain_text("confusion-matrix-00000.png")
    assert console_errors == []


# --- access -----------------------------------------------------------------------------------

def _post(server, client, spec, values):
    return client.post(server.url + "/_dash-update-component", json=body_from_values(spec, values))


def test_new_callbacks_refuse_other_users_experiments(server, crowded, accounts):
    other = accounts.create("nosy")
    deps = dependencies(server.url)
    rows_spec = find_callback(deps, "experiment-assets-grid.getRowsRequest")
    box_spec = find_callback(deps, "experiment-graphics-lightbox-next-step.n_clicks")
    images_spec = find_callback(deps, "experiment-graphics-examples.value")
    ref = {"key": crowded["key"]}
    rows = {"experiment-assets-grid.getRowsRequest": {"startRow": 0, "endRow": 100}, "experiment-ref.data": ref}
    with crowded["log"].db.session() as s:
        # this experiment's: other tests' experiments on the same server log files of these names too
        exp_id = s.exec(select(Experiment.id).where(Experiment.key == crowded["key"])).one()
        image_id = s.exec(select(Asset.asset_id).where(Asset.experiment_id == exp_id,
                                                       Asset.file_name == "sample_1.png")).first()
    box = {"experiment-graphics-lightbox-next-step.n_clicks": 1, "experiment-graphics-lightbox.data": image_id,
           "experiment-graphics-shown.data": [image_id], "experiment-ref.data": ref,
           "experiment-graphics-open.n_clicks": []}
    images = {"experiment-graphics-examples.value": True, "experiment-ref.data": ref}
    preview_spec = find_callback(deps, "experiment-assets-grid.cellClicked")
    with crowded["log"].db.session() as s:
        file_id = s.exec(select(Asset.asset_id).where(Asset.experiment_id == exp_id,
                                                      Asset.file_name == "file_00002.bin")).first()
    preview = {"experiment-assets-grid.cellClicked": {"colId": "preview", "rowId": file_id, "value": "Preview"},
               "experiment-ref.data": ref}

    owner = signed_in_client(server, crowded["owner"])
    answer = _post(server, owner, rows_spec, rows).json()["response"]
    assert answer["experiment-assets-grid"]["getRowsResponse"]["rowCount"] == 10_000
    answer = _post(server, owner, box_spec, box).json()["response"]
    assert answer["experiment-graphics-lightbox-modal"]["is_open"] is True
    assert answer["experiment-graphics-lightbox-title"]["children"] == "sample_1.png"
    answer = _post(server, owner, preview_spec, preview).json()["response"]
    assert answer["experiment-asset-preview-title"]["children"] == "file_00002.bin"

    for client in (signed_in_client(server, other), requests.Session()):
        for spec, values, leak in ((rows_spec, rows, "file_0"), (box_spec, box, "sample_1"),
                                   (images_spec, images, "sample_"), (preview_spec, preview, "file_0")):
            r = _post(server, client, spec, values)
            assert r.status_code in (200, 204, 401, 403), r.status_code
            assert leak not in r.text
            if r.status_code == 200:
                assert "not found" in r.text.lower()

    # an image id of another experiment, even the owner's own, is not found in this one
    second = crowded["log"].start("crowd", name="other")
    other_image = crowded["log"].asset(second, png(2, 4), "image", "elsewhere.png")
    r = _post(server, owner, box_spec, {**box, "experiment-graphics-lightbox.data": other_image,
                                        "experiment-graphics-shown.data": [other_image]})
    assert r.status_code == 200 and "elsewhere" not in r.text and "not found" in r.text.lower()
    # ids the browser made up are refused by shape
    r = _post(server, owner, box_spec, {**box, "experiment-graphics-lightbox.data": "../../etc/passwd"})
    assert "elsewhere" not in r.text and r.status_code in (200, 204, 400)


def test_migration_marks_existing_example_images(tmp_path):
    from alembic import command

    from dashboard.db import alembic_config

    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate(url)
    db = Database(url)
    settings = Settings.from_env(home=str(tmp_path), database_url=url)
    with db.session() as s:
        user = accounts.create_user(s, "elder", "elder@example.org", "password123")
    actor = Actor(user_id=user.id, username=user.username)
    with db.session() as s:
        exp, _ = ingest.start_experiment(s, actor, "elder", "p")
        for name, type_ in (("confusion-matrix-00012.png", "image"), ("confusion-matrix-7.JPG", "image"),
                            ("confusion-matrix-final.png", "image"), ("mine.png", "image"),
                            ("confusion-matrix-00001.json", "confusion-matrix")):
            ingest.store_asset(s, actor, exp.key, data=json.dumps({}).encode(), type=type_, name=name,
                               settings=settings)
    command.downgrade(alembic_config(url), "0006")
    migrate(url)
    with db.session() as s:
        marked = {a.file_name: a.cm_example for a in s.exec(select(Asset)).all()}
    assert marked == {"confusion-matrix-00012.png": True, "confusion-matrix-7.JPG": True,
                      "confusion-matrix-final.png": False, "mine.png": False, "confusion-matrix-00001.json": False}
