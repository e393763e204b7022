"""The project's Experiments view as a person uses it: the table, filters, bulk actions,
saved queries and views, in headless Chromium against a real server."""
from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from playwright.sync_api import expect
from sqlmodel import select

from callbacks.project_table import count_label
from tests.conftest import sign_in

pytestmark = pytest.mark.browser

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
N = 24
SCREENSHOTS = Path(os.environ.get("HALLEY_SCREENSHOTS", tempfile.gettempdir()))


def seed(db, owner, project_name: str, n: int, prefix: str) -> list[str]:
    """``n`` experiments with parameters, metrics, tags and a status cycle; returns their keys."""
    from dashboard.auth import Actor
    from dashboard.services import projects
    from models import Experiment, ExperimentTag, MetricSeries, Parameter, User

    keys = []
    with db.session() as s:
        u = s.exec(select(User).where(User.username == owner.username)).one()
        p = projects.get_or_create_for_logging(s, Actor(user_id=u.id, username=u.username), owner.workspace,
                                               project_name)
        for i in range(n):
            key = f"{prefix}{i:02d}".ljust(32, "0")
            start = T0 + timedelta(hours=i)
            e = Experiment(key=key, project_id=p.id, name=f"run-{i}", file_name="train.py",
                           status=("finished", "running", "stopped", "crashed")[i % 4], host=f"gpu{i % 2}",
                           start_time=start, end_time=start + timedelta(minutes=10 + i),
                           last_heartbeat=datetime.now(timezone.utc) + timedelta(days=3650))
            s.add(e)
            s.flush()
            s.add_all([
                Parameter(experiment_id=e.id, name="lr", value_text=str(0.001 * (i % 4 + 1)), value_num=0.001 * (i % 4 + 1)),
                Parameter(experiment_id=e.id, name="optimizer", value_text=("adam", "sgd", "rmsprop")[i % 3]),
                Parameter(experiment_id=e.id, name="batch", value_text="64", value_num=64.0),
                MetricSeries(experiment_id=e.id, name="loss", last_value=round(1.0 / (i + 1), 4),
                             min_value=round(0.5 / (i + 1), 4), max_value=2.0, count=10),
            ])
            if i % 6 == 0:
                s.add(ExperimentTag(experiment_id=e.id, name="best"))
            keys.append(key)
    return keys


# pytest may set module fixtures up twice when it reorders parametrized browser tests around
# plain ones; the seeded keys are fixed, so both fixtures build their data once per session.
_ONCE: dict = {}


@pytest.fixture(scope="module")
def owner(accounts):
    if "owner" not in _ONCE:
        _ONCE["owner"] = accounts.create("tbl")
    return _ONCE["owner"]


@pytest.fixture(scope="module")
def project(owner, accounts):
    """The module's populated project (read-only tests use it)."""
    if "project" not in _ONCE:
        seed(accounts.db, owner, "table", N, "t")
        _ONCE["project"] = f"/{owner.workspace}/table"
    return _ONCE["project"]


def open_project(page, server, owner, path):
    sign_in(page, server, owner, path)
    page.goto(server.url + path)
    wait_rows(page)


def wait_rows(page):
    page.wait_for_selector("#project-grid .ag-center-cols-container .ag-row", timeout=20_000)


def count_text(page):
    return page.locator("#project-count")


def settle(page):
    """Wait until no Dash callback is in flight."""
    page.wait_for_function("!document.querySelector('[data-dash-is-loading]')")


def pick(page, dropdown_id: str, text: str):
    """Choose an option of a dcc.Dropdown: open it, search, click the option with that label."""
    page.click(f"#{dropdown_id}")
    page.locator(".dash-dropdown-content .dash-dropdown-search").fill(text)
    page.locator(".dash-dropdown-content .dash-dropdown-option").filter(
        has_text=re.compile("^" + re.escape(text) + "$")).first.click()


def add_filter(page, attr: str, operator: str, value: str | None = None, value2: str | None = None,
               target: str | None = None):
    if not page.locator("#project-filter-form.show").count():
        page.click("#project-filter-add-open")
    pick(page, "project-filter-attr", attr)
    settle(page)
    pick(page, "project-filter-operator", operator)
    settle(page)
    if value is not None:
        page.fill("#project-filter-value", value)
    if value2 is not None:
        page.fill("#project-filter-value2", value2)
    if target is not None:
        pick(page, "project-filter-target", target)
    page.click("#project-filter-add")


def wait_url_state(page, predicate, timeout: float = 15):
    """Poll until the view state in the URL's #hash satisfies ``predicate``."""
    import time

    from dashboard.services.experiment_table import decode_state

    deadline = time.time() + timeout
    while time.time() < deadline:
        state = decode_state(urlparse(page.url).fragment)
        if state is not None and predicate(state):
            return state
        page.wait_for_timeout(100)
    raise AssertionError(f"the URL never held the expected view state: {page.url}")


def row(page, key: str):
    return page.locator(f"#project-grid .ag-center-cols-container .ag-row[row-id='{key}']")


def select_rows(page, keys):
    for key in keys:
        page.locator(f"#project-grid .ag-pinned-left-cols-container .ag-row[row-id='{key}'] input[type=checkbox],"
                     f"#project-grid .ag-center-cols-container .ag-row[row-id='{key}'] input[type=checkbox]").first.check()


def test_table_shows_rows_sorts_and_reload_keeps_the_state(server, owner, project, page, console_errors):
    open_project(page, server, owner, project)
    expect(count_text(page)).to_have_text(f"{N} experiments")
    # default columns and renderers: newest first
    headers = page.locator("#project-grid .ag-header-cell-text").all_inner_texts()
    for name in ("Status", "Visible", "Color", "Tags", "Experiment", "Server end time", "File name", "Duration"):
        assert name in headers
    first = page.locator("#project-grid .ag-center-cols-container .ag-row[row-index='0']")
    expect(first.locator(".halley-name-link")).to_have_text(f"run-{N - 1}")
    # the duration reads as a human duration, as its header says (run-23 ran 33 minutes)
    expect(first.locator("[col-id='sys:duration']")).to_have_text(f"{10 + N - 1}m 00s")
    expect(first.locator(".halley-name-link")).to_have_attribute("href", re.compile(rf"{project}/t{N - 1}0+$"))
    expect(page.locator(".halley-status[data-status='finished'] .bi-check-circle-fill").first).to_be_visible()
    expect(page.locator(".halley-status[data-status='running'] .halley-spin").first).to_be_visible()
    expect(page.locator(".halley-status[data-status='stopped'] .bi-stop-circle-fill").first).to_be_visible()
    expect(page.locator(".halley-status[data-status='crashed'] .bi-x-octagon-fill").first).to_be_visible()

    # sort by duration (shortest first): the server sorts, the URL keeps it, a reload restores it
    page.click("#project-grid .ag-header-cell[col-id='sys:duration'] .ag-header-cell-label")
    expect(first.locator(".halley-name-link")).to_have_text("run-0")
    expect(first.locator("[col-id='sys:duration']")).to_have_text("10m 00s")
    wait_url_state(page, lambda st: any(c.get("colId") == "sys:duration" and c.get("sort") == "asc"
                                        for c in st["columnState"]))
    expect(page.locator("#project-view-dirty")).to_be_visible()
    page.reload()
    wait_rows(page)
    expect(first.locator(".halley-name-link")).to_have_text("run-0")
    expect(page.locator("#project-grid .ag-header-cell[col-id='sys:duration'] .ag-sort-ascending-icon")).to_be_visible()
    # Discard goes back to the saved (default) view and clears the URL state
    page.click("#project-view-discard")
    expect(first.locator(".halley-name-link")).to_have_text(f"run-{N - 1}")
    expect(page).not_to_have_url(re.compile(r"#.+"))
    assert console_errors == []


def test_filters_of_each_type_narrow_the_table(server, owner, project, page, console_errors):
    open_project(page, server, owner, project)
    count = count_text(page)
    expect(count).to_have_text(f"{N} experiments")
    add_filter(page, "Parameters: lr", ">", "0.0025")             # number: lr in {0.003, 0.004}
    expect(count).to_have_text("12 experiments")
    add_filter(page, "Parameters: optimizer", "equals", "adam")   # text
    expect(count).to_have_text("4 experiments")
    expect(page.locator(".project-filter-chip")).to_have_count(2)
    # switch the two filters to OR
    page.click("#project-filter-chips .project-filter-op")
    expect(count).to_have_text("16 experiments")
    page.click("#project-filter-chips .project-filter-op")
    expect(count).to_have_text("4 experiments")
    page.click("#project-filter-clear")
    expect(count).to_have_text(f"{N} experiments")

    add_filter(page, "Metrics: loss (last)", "<", "0.1")           # metric: 1/(i+1) < 0.1 -> i >= 10
    expect(count).to_have_text("14 experiments")
    add_filter(page, "System: Status", "equals", "finished")      # status: i % 4 == 0 -> 12, 16, 20
    expect(count).to_have_text("3 experiments")
    page.locator(".project-filter-chip", has_text="Status").locator("button").click()
    expect(count).to_have_text("14 experiments")
    expect(page.locator(".project-filter-chip")).to_have_count(1)  # the chips answer on their own
    page.locator(".project-filter-chip").locator("button").click()
    expect(count).to_have_text(f"{N} experiments")

    add_filter(page, "System: Tags", "has", "best")                # tags: i % 6 == 0
    expect(count).to_have_text("4 experiments")
    page.click("#project-filter-clear")
    add_filter(page, "System: Start time", "after", "2026-03-01T20:30")  # date: i >= 12
    expect(count).to_have_text("12 experiments")
    # a nested OR group inside the top AND: (after 20:30) AND (name begins run-1 OR host gpu0)
    add_filter(page, "System: Name", "begins with", "run-1", target="A new group")
    expect(count).to_have_text("8 experiments")       # run-12..run-19
    add_filter(page, "System: Host", "equals", "gpu0", target="Group 2")
    expect(count).to_have_text("10 experiments")      # + run-20, run-22
    expect(page.locator(".project-filter-group .project-filter-chip")).to_have_count(2)
    page.click("#project-filter-clear")
    add_filter(page, "System: Duration (s)", ">", "1500")           # seconds: 10 + i minutes > 25 -> i >= 16
    expect(count).to_have_text("8 experiments")
    page.click("#project-filter-clear")
    add_filter(page, "System: Visible", "is false")                 # boolean
    expect(count).to_have_text("0 experiments")
    # a bad value is refused with a message and changes nothing
    add_filter(page, "System: Duration (s)", ">", "soon")
    expect(page.locator("#project-filter-error")).to_contain_text("not a number")
    expect(page.locator(".project-filter-chip")).to_have_count(1)
    assert console_errors == []


def _experiment(db, key):
    from models import Experiment, ExperimentTag, Project

    with db.session() as s:
        e = s.exec(select(Experiment).where(Experiment.key == key)).one()
        tags = s.exec(select(ExperimentTag.name).where(ExperimentTag.experiment_id == e.id)).all()
        return e, s.get(Project, e.project_id).name, sorted(tags)


def test_bulk_actions_on_checked_rows(server, owner, accounts, page, console_errors):
    keys = seed(accounts.db, owner, "bulk", 6, "b")
    seed(accounts.db, owner, "elsewhere", 1, "x")
    open_project(page, server, owner, f"/{owner.workspace}/bulk")
    count = count_text(page)
    expect(count).to_have_text("6 experiments")
    for button in ("#project-archive", "#project-move-open", "#project-tag-open", "#project-diff"):
        expect(page.locator(button)).to_be_disabled()

    # Tag two experiments with a new tag typed and Enter
    select_rows(page, keys[:2])
    expect(page.locator("#project-selected-count")).to_have_text("2 selected")
    page.click("#project-tag-open")
    page.fill("#project-tag-input", "promising")
    page.press("#project-tag-input", "Enter")
    expect(page.locator("#project-toast")).to_contain_text("Tagged 2 experiments with 'promising'")
    expect(row(page, keys[0]).locator(".halley-tag", has_text="promising")).to_be_visible()
    expect(page.locator("#project-tag-modal")).to_be_hidden()
    assert _experiment(accounts.db, keys[0])[2] == ["best", "promising"]
    assert _experiment(accounts.db, keys[1])[2] == ["promising"]

    # Hide them from panels, then show one again from its eye
    expect(page.locator("#project-selected-count")).to_have_text("0 selected")
    select_rows(page, keys[:2])
    page.click("#project-hide")
    expect(row(page, keys[0]).locator(".halley-visible[data-visible='false']")).to_be_visible()
    assert _experiment(accounts.db, keys[0])[0].visible is False
    row(page, keys[0]).locator(".halley-visible").click()
    expect(row(page, keys[0]).locator(".halley-visible[data-visible='true']")).to_be_visible()
    assert _experiment(accounts.db, keys[0])[0].visible is True

    # Diff is enabled for exactly two and opens the compare page
    select_rows(page, keys[:2])
    expect(page.locator("#project-diff")).to_be_enabled()
    page.click("#project-diff")
    expect(page).to_have_url(re.compile(r"/compare\?experiments="))
    assert parse_qs(urlparse(page.url).query)["experiments"] == [f"{keys[0]},{keys[1]}"]

    # Archive one: it leaves the table
    page.goto(server.url + f"/{owner.workspace}/bulk")
    wait_rows(page)
    select_rows(page, [keys[2]])
    page.click("#project-archive")
    expect(count).to_have_text("5 experiments")
    expect(row(page, keys[2])).to_have_count(0)
    assert _experiment(accounts.db, keys[2])[0].archived is True

    # Move one to another project of the user
    select_rows(page, [keys[3]])
    page.click("#project-move-open")
    pick(page, "project-move-target", f"{owner.workspace} / elsewhere")
    page.click("#project-move-submit")
    expect(count).to_have_text("4 experiments")
    assert _experiment(accounts.db, keys[3])[1] == "elsewhere"
    assert console_errors == []


def test_a_bulk_action_clears_the_selection(server, owner, accounts, page, console_errors):
    """Rows checked for one bulk action are not hit again by the next one."""
    keys = seed(accounts.db, owner, "reselect", 6, "s")
    seed(accounts.db, owner, "reselected", 1, "z")
    open_project(page, server, owner, f"/{owner.workspace}/reselect")
    selected = page.locator("#project-selected-count")

    def tag(keys_, name):
        select_rows(page, keys_)
        expect(selected).to_have_text(f"{len(keys_)} selected")
        page.click("#project-tag-open")
        page.fill("#project-tag-input", name)
        page.press("#project-tag-input", "Enter")
        expect(page.locator("#project-toast")).to_contain_text(f"Tagged {len(keys_)} experiment")
        expect(page.locator("#project-tag-modal")).to_be_hidden()
        expect(selected).to_have_text("0 selected")

    tag(keys[:1], "first")
    tag(keys[1:2], "second")
    assert _experiment(accounts.db, keys[0])[2] == ["best", "first"]
    assert _experiment(accounts.db, keys[1])[2] == ["second"]
    # hide, archive and move clear it too
    for button, key in (("#project-hide", keys[2]), ("#project-show", keys[2]), ("#project-archive", keys[3])):
        select_rows(page, [key])
        expect(selected).to_have_text("1 selected")
        page.click(button)
        expect(selected).to_have_text("0 selected")
        expect(page.locator("#project-archive")).to_be_disabled()
    select_rows(page, [keys[4]])
    page.click("#project-move-open")
    pick(page, "project-move-target", f"{owner.workspace} / reselected")
    page.click("#project-move-submit")
    expect(selected).to_have_text("0 selected")
    tag(keys[5:6], "third")
    for key in keys[:5]:
        assert "third" not in _experiment(accounts.db, key)[2]
    assert _experiment(accounts.db, keys[5])[2] == ["third"]
    assert console_errors == []


def test_tag_and_move_dialogs_say_so_when_the_project_is_gone(server, owner, accounts, page, console_errors):
    """A member's access ends while their page is open: the Tag and Move dialogs open with the
    reason instead of failing, and tagging or moving changes nothing."""
    from dashboard.services import workspaces
    from tests.project_data import ProjectData

    data = ProjectData(accounts, server)
    member = accounts.create("leaving")
    data.add_member(owner, member, "member")
    keys = seed(accounts.db, owner, "revoked", 2, "r")
    open_project(page, server, member, f"/{owner.workspace}/revoked")
    select_rows(page, keys[:1])
    with accounts.db.session() as s:
        ws = workspaces.find_by_name(s, owner.workspace)
        workspaces.remove_collaborator(s, data.actor(owner), ws.id, data.actor(member).user_id)
    page.click("#project-tag-open")
    expect(page.locator("#project-tag-modal #project-tag-error")).to_contain_text("not found")
    page.fill("#project-tag-input", "late")
    page.press("#project-tag-input", "Enter")
    expect(page.locator("#project-tag-error")).to_contain_text("not found")
    page.click("#project-tag-cancel")
    page.click("#project-move-open")
    expect(page.locator("#project-move-modal #project-move-error")).to_contain_text("not found")
    page.click("#project-move-submit")
    expect(page.locator("#project-move-error")).to_contain_text("Pick a target project")
    assert _experiment(accounts.db, keys[0])[1:] == ("revoked", ["best"])  # as seeded
    assert console_errors == []


def test_color_and_rename_cells(server, owner, accounts, page, console_errors):
    keys = seed(accounts.db, owner, "cells", 2, "c")
    open_project(page, server, owner, f"/{owner.workspace}/cells")
    row(page, keys[0]).locator(".halley-color-square").click()
    page.fill("#project-color-input", "#ff8800")
    page.click("#project-color-save")
    expect(row(page, keys[0]).locator(".halley-color-square")).to_have_attribute("style", re.compile("255, 136, 0"))
    assert _experiment(accounts.db, keys[0])[0].color == "#ff8800"

    row(page, keys[1]).locator(".halley-name").hover()
    row(page, keys[1]).locator(".halley-rename").click()
    page.fill("#project-rename-input", "baseline <b>v2</b>")
    page.press("#project-rename-input", "Enter")
    expect(row(page, keys[1]).locator(".halley-name-link")).to_have_text("baseline <b>v2</b>")
    assert _experiment(accounts.db, keys[1])[0].name == "baseline <b>v2</b>"
    assert console_errors == []


def header_ids(page):
    return page.locator("#project-grid .ag-header-cell[col-id]").evaluate_all(
        "cells => cells.filter(c => c.offsetParent !== null).map(c => c.getAttribute('col-id'))")


def test_columns_group_by_and_hide_constant(server, owner, project, page, console_errors):
    page.set_viewport_size({"width": 2200, "height": 900})  # every column in view, with the group column
    open_project(page, server, owner, project)
    # Customize columns: add a parameter and a metric column
    page.click("#project-columns-open")
    for label in ("Parameters: lr", "Parameters: batch", "Metrics: loss (min)"):
        page.click("#project-columns-select")
        page.locator(".dash-dropdown-content .dash-dropdown-search").fill(label)
        page.locator(".dash-dropdown-content .dash-dropdown-option").filter(
            has_text=re.compile("^" + re.escape(label) + "$")).first.click()
        page.keyboard.press("Escape")
    page.click("#project-columns-apply")
    expect(page.locator("#project-grid .ag-header-cell[col-id='metric:min:loss']")).to_be_visible()
    first = page.locator("#project-grid .ag-center-cols-container .ag-row[row-index='0']")
    expect(first.locator("[col-id='param:lr']")).to_have_text("0.004")
    expect(first.locator("[col-id='metric:min:loss']")).to_have_text("0.0208")
    # Hide constant columns: batch and file name are the same everywhere
    page.locator("#project-hide-constant").check()
    expect(page.locator("#project-grid .ag-header-cell[col-id='param:batch']")).to_have_count(0)
    assert "sys:file_name" not in header_ids(page) and "param:lr" in header_ids(page)
    page.locator("#project-hide-constant").uncheck()
    expect(page.locator("#project-grid .ag-header-cell[col-id='param:batch']")).to_be_visible()

    # Group by the optimizer: a group row per value with its count and the mean of each number column
    pick(page, "project-groupby", "Parameters: optimizer")
    page.keyboard.press("Escape")
    toggles = page.locator("#project-grid .halley-group-toggle")
    expect(toggles).to_have_count(3)
    expect(page.locator("#project-group-note")).to_contain_text("Grouped by optimizer")
    sgd = group_row(page, ["sgd"])
    expect(sgd.locator(".halley-group-count")).to_have_text("8")
    expect(grid_rows(page)).to_have_count(3)
    # open a group: its experiments follow it, newest first
    sgd.locator(".halley-group-toggle").click()
    expect(grid_rows(page)).to_have_count(3 + 8)
    expect(page.locator("#project-grid .halley-name-link")).to_have_count(8)
    expect(page.locator("#project-grid .halley-name-link").first).to_have_text("run-22")
    expect(sgd.locator(".halley-group-toggle")).to_have_attribute("aria-expanded", "true")
    expect(count_text(page)).to_have_text(f"{N} experiments")
    # the group row's lr is the group's mean (i % 3 == 1: lr cycles 0.002, 0.004, 0.001, 0.003)
    expect(page.locator("#project-grid .ag-center-cols-container .halley-group-row [col-id='param:lr']")
           .first).to_have_text("0.0025")
    page.screenshot(path=str(SCREENSHOTS / "grouped-table.png"))

    # all of it survives a reload
    wait_url_state(page, lambda st: st["groupBy"] == ["param:optimizer"] and "metric:min:loss" in st["columns"])
    page.reload()
    expect(page.locator("#project-grid .halley-group-toggle")).to_have_count(3)
    expect(group_row(page, ["adam"]).locator(".halley-group-count")).to_have_text("8")
    expect(page.locator("#project-grid .ag-header-cell[col-id='metric:min:loss']")).to_be_visible()

    # a second level under the first, and group rows showing the maximum instead of the mean
    pick(page, "project-groupby", "System: Host")
    page.keyboard.press("Escape")
    expect(page.locator("#project-group-note")).to_contain_text("Grouped by optimizer › Host")
    group_row(page, ["adam"]).locator(".halley-group-toggle").click()
    expect(group_row(page, ["adam", "gpu0"]).locator(".halley-group-count")).to_have_text("4")
    expect(grid_rows(page)).to_have_count(3 + 2)
    page.click("#project-group-agg")
    page.locator(".dash-dropdown-content .dash-dropdown-option").filter(has_text=re.compile("^max$")).click()
    expect(page.locator("#project-grid .ag-center-cols-container .halley-group-row[row-index='0'] [col-id='param:lr']")
           ).to_have_text("0.004")
    wait_url_state(page, lambda st: st["groupBy"] == ["param:optimizer", "sys:host"] and st["groupAgg"] == "max")
    assert console_errors == []


def test_group_by_tags_lists_an_experiment_under_each_tag(server, owner, accounts, page, console_errors):
    from models import Experiment, ExperimentTag

    keys = seed(accounts.db, owner, "tagged", 6, "g")
    with accounts.db.session() as s:
        for key in keys[:2]:
            eid = s.exec(select(Experiment.id).where(Experiment.key == key)).one()
            s.add(ExperimentTag(experiment_id=eid, name="v2"))
    open_project(page, server, owner, f"/{owner.workspace}/tagged")
    pick(page, "project-groupby", "System: Tags")
    page.keyboard.press("Escape")
    expect(page.locator("#project-group-note")).to_contain_text("listed under each of its tags")
    expect(page.locator("#project-grid .halley-group-toggle")).to_have_count(3)  # best, v2, (none)
    group_row(page, ["best"]).locator(".halley-group-toggle").click()
    expect(grid_rows(page)).to_have_count(4)
    group_row(page, ["v2"]).locator(".halley-group-toggle").click()
    expect(grid_rows(page)).to_have_count(6)
    run0 = grid_rows(page).filter(has=page.locator(".halley-name-link", has_text=re.compile("^run-0$")))
    expect(run0).to_have_count(2)
    # its cells act on the experiment from either row
    run0.first.locator(".halley-visible").click()
    expect(run0.locator(".halley-visible[data-visible='false']")).to_have_count(2)
    group_row(page, [None]).locator(".halley-group-toggle").click()
    expect(grid_rows(page)).to_have_count(6 + 4)
    assert console_errors == []


def grid_rows(page):
    return page.locator("#project-grid .ag-center-cols-container .ag-row")


def group_row(page, path: list):
    """The pinned group cell's row of the group at ``path``."""
    import json

    toggle = page.locator(f".halley-group-toggle[data-path='{json.dumps(path, separators=(',', ':'))}']")
    return page.locator("#project-grid .ag-pinned-left-cols-container .ag-row").filter(has=toggle)


def test_saved_queries(server, owner, project, page, console_errors):
    open_project(page, server, owner, project)
    count = count_text(page)
    add_filter(page, "System: Host", "equals", "gpu1")
    expect(count).to_have_text("12 experiments")
    page.click("#project-query-save-open")
    page.fill("#project-query-name", "on gpu1")
    page.click("#project-query-save")
    expect(page.locator("#project-query-select")).to_contain_text("on gpu1")
    # back to all experiments, then load the saved query
    pick(page, "project-query-select", "All experiments")
    expect(count).to_have_text(f"{N} experiments")
    expect(page.locator(".project-filter-chip")).to_have_count(0)
    pick(page, "project-query-select", "on gpu1")
    expect(count).to_have_text("12 experiments")
    # change it and save the changes to the loaded query
    add_filter(page, "Parameters: optimizer", "equals", "sgd")
    expect(count).to_have_text("4 experiments")
    page.click("#project-query-save-open")
    expect(page.locator("#project-query-save-mode")).to_contain_text("Save changes to the query 'on gpu1'")
    page.click("#project-query-save")
    pick(page, "project-query-select", "All experiments")
    pick(page, "project-query-select", "on gpu1")
    expect(count).to_have_text("4 experiments")
    # delete it: the dialog asks first, naming the query; "Keep it" keeps it
    page.click("#project-query-save-open")
    page.click("#project-query-delete")
    expect(page.locator("#project-query-delete-box")).to_be_visible()
    expect(page.locator("#project-query-delete-name")).to_have_text("on gpu1")
    page.click("#project-query-delete-keep")
    expect(page.locator("#project-query-delete-box")).to_be_hidden()
    expect(page.locator("#project-query-modal")).to_be_visible()
    page.click("#project-query-cancel")
    expect(page.locator("#project-query-select")).to_contain_text("on gpu1")
    expect(count).to_have_text("4 experiments")
    page.click("#project-query-save-open")
    expect(page.locator("#project-query-delete-box")).to_be_hidden()
    page.click("#project-query-delete")
    page.click("#project-query-delete-confirm")
    expect(page.locator("#project-toast")).to_contain_text("Query deleted")
    expect(page.locator("#project-query-select")).to_contain_text("All experiments")
    page.click("#project-query-select")
    expect(page.locator(".dash-dropdown-content .dash-dropdown-option", has_text="on gpu1")).to_have_count(0)
    page.keyboard.press("Escape")
    assert console_errors == []


def test_saved_views_default_discard_delete(server, owner, accounts, page, console_errors):
    seed(accounts.db, owner, "views", 5, "v")
    path = f"/{owner.workspace}/views"
    open_project(page, server, owner, path)
    pick(page, "project-groupby", "System: Status")
    page.keyboard.press("Escape")
    expect(page.locator("#project-grid .halley-group-toggle")).to_have_count(4)
    expect(page.locator("#project-view-dirty")).to_be_visible()
    # Save as a new view: the URL names it and the changes are no longer pending
    page.click("#project-view-save-open")
    page.fill("#project-view-name", "by status")
    page.click("#project-view-save")
    expect(page).to_have_url(re.compile(r"\?view=\d+$"))
    expect(page.locator("#project-view-menu")).to_contain_text("by status")
    expect(page.locator("#project-grid .halley-group-toggle")).to_have_count(4)
    expect(page.locator("#project-view-dirty")).to_be_hidden()
    # change it, discard, change again and save the changes into it
    page.click("#project-panels-toggle")
    expect(page.locator("#project-view-dirty")).to_be_visible()
    page.click("#project-view-discard")
    expect(page.locator("#project-view-dirty")).to_be_hidden()
    add_filter(page, "System: Status", "equals", "running")
    expect(count_text(page)).to_have_text("1 experiment")
    page.click("#project-view-save-open")
    page.click("#project-view-save")  # "save changes to the view" is preselected
    expect(page.locator("#project-view-dirty")).to_be_hidden()
    expect(page).not_to_have_url(re.compile("#"))

    # make it the project's default (hover the view in Change View, click the check)
    page.click("#project-view-menu")
    item = page.locator(".project-view-item[data-view='by status']")
    item.hover()
    item.locator(".project-view-action").first.click()
    expect(page.locator("#project-toast")).to_contain_text("is now the project's default view")
    # opening the project renders the default view
    page.goto(server.url + path)
    wait_rows(page)
    expect(page.locator("#project-view-menu")).to_contain_text("by status")
    expect(count_text(page)).to_have_text("1 experiment")
    # the built-in view is still there
    page.goto(server.url + path + "?view=builtin")
    wait_rows(page)
    expect(count_text(page)).to_have_text("5 experiments")
    # delete the view, after confirming: the project falls back to the built-in view
    page.click("#project-view-menu")
    item = page.locator(".project-view-item[data-view='by status']")
    item.hover()
    item.locator(".project-view-action").nth(1).click()
    expect(page.locator("#project-view-delete-name")).to_have_text("by status")
    page.click("#project-view-delete-cancel")
    expect(page.locator("#project-view-delete-modal")).to_be_hidden()
    page.reload()
    wait_rows(page)
    page.click("#project-view-menu")
    expect(item).to_have_count(1)
    item.hover()
    item.locator(".project-view-action").nth(1).click()
    expect(page.locator("#project-view-delete-name")).to_have_text("by status")
    page.click("#project-view-delete-confirm")
    expect(page.locator("#project-toast")).to_contain_text("Deleted the view 'by status'")
    page.click("#project-view-menu")
    expect(page.locator(".project-view-item[data-view='by status']")).to_have_count(0)
    page.goto(server.url + path)
    wait_rows(page)
    expect(count_text(page)).to_have_text("5 experiments")
    assert console_errors == []


def test_public_visitor_uses_views_but_cannot_save(server, owner, accounts, browser, console_errors):
    from models import Project

    seed(accounts.db, owner, "open", 4, "o")
    with accounts.db.session() as s:
        p = s.exec(select(Project).where(Project.name == "open")).all()
        for item in p:
            item.is_public = True
            s.add(item)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + f"/{owner.workspace}/open")
    wait_rows(page)
    expect(count_text(page)).to_have_text("4 experiments")
    expect(page.locator("#project-view-save-open")).to_be_hidden()
    expect(page.locator("#project-query-save-open")).to_be_hidden()
    expect(page.locator("#project-archive")).to_be_hidden()
    expect(page.locator(".halley-rename")).to_have_count(0)
    expect(page.locator("button.halley-visible")).to_have_count(0)     # eye and color are not clickable
    expect(page.locator("button.halley-color-square")).to_have_count(0)
    add_filter(page, "System: Status", "equals", "finished")
    expect(count_text(page)).to_have_text("1 experiment")
    wait_url_state(page, lambda st: st["filters"]["rules"])
    page.reload()
    wait_rows(page)
    expect(count_text(page)).to_have_text("1 experiment")
    # a hand-made write request is refused
    r = requests.post(server.url + "/_dash-update-component", json={
        "output": "..project-toast.children...project-toast.is_open...project-refresh.data..",
        "outputs": [], "inputs": [{"id": "project-archive", "property": "n_clicks", "value": 1}],
        "state": [{"id": "project-grid", "property": "selectedRows", "value": [{"key": "o00".ljust(32, "0")}]},
                  {"id": "project-ctx", "property": "data", "value": {"workspace": owner.workspace, "project": "open"}}],
        "changedPropIds": ["project-archive.n_clicks"]})
    assert r.status_code == 401
    assert _experiment(accounts.db, "o00".ljust(32, "0"))[0].archived is False
    context.close()
    assert errors == []


def test_csv_export_streams_matching_rows(server, owner, project, accounts):
    from dashboard.services.experiment_table import default_state, encode_state

    url = server.url + f"/api/v1/workspaces/{owner.workspace}/projects/table/experiments.csv"
    state = default_state()
    state["columns"] = ["sys:name", "param:lr", "metric:last:loss", "tags"]
    state["filters"] = {"op": "and", "rules": [{"attr": "param:optimizer", "operator": "equals", "value": "adam"}]}
    state["columnState"] = [{"colId": "sys:name"}, {"colId": "metric:last:loss", "sort": "asc", "sortIndex": 0},
                            {"colId": "param:lr"}]
    r = requests.get(url, params={"state": encode_state(state)}, headers={"Authorization": owner.api_key})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    lines = r.text.strip().splitlines()
    assert lines[0] == "Experiment key,Name,loss (last),lr,Tags"    # in the view's column order
    assert len(lines) == 1 + N // 3
    assert lines[1].startswith("t2100") and ",run-21,0.0455,0.002," in lines[1]    # sorted by loss
    # everything, with the default columns
    assert len(requests.get(url, headers={"Authorization": owner.api_key}).text.strip().splitlines()) == 1 + N
    # access is checked
    assert requests.get(url).status_code == 401
    stranger = accounts.create("stranger")
    assert requests.get(url, headers={"Authorization": stranger.api_key}).status_code == 404
    assert requests.get(url, params={"state": "garbage"}, headers={"Authorization": owner.api_key}).status_code == 400


def test_share_link_visitor_reads_and_filters(server, owner, accounts, browser):
    from dashboard.auth import Actor
    from dashboard.services import sharing
    from models import Project, User

    seed(accounts.db, owner, "private", 4, "p")
    with accounts.db.session() as s:
        u = s.exec(select(User).where(User.username == owner.username)).one()
        p = s.exec(select(Project).where(Project.name == "private")).one()
        token = sharing.create_link(s, Actor(user_id=u.id, username=u.username), p.id)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + f"/{owner.workspace}/private")
    expect(page).to_have_url(re.compile("/login"))          # private without the link
    page.goto(server.url + f"/shared/{token}")
    wait_rows(page)
    expect(count_text(page)).to_have_text("4 experiments")
    expect(page.locator("#project-view-save-open")).to_be_hidden()
    add_filter(page, "Parameters: optimizer", "equals", "sgd")
    expect(count_text(page)).to_have_text("1 experiment")
    context.close()
    assert errors == []


def test_the_count_separates_thousands_as_the_panels_do():
    assert [count_label(n) for n in (1, 2, 10_000)] == ["1 experiment", "2 experiments", "10,000 experiments"]
