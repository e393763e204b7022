"""The project's Experiments view as a person uses it: the table, filters, bulk actions,
saved queries and views, in headless Chromium against a real server."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from playwright.sync_api import expect
from sqlmodel import select

from tests.conftest import sign_in

pytestmark = pytest.mark.browser

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
N = 24


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


@pytest.fixture(scope="module")
def owner(accounts):
    return accounts.create("tbl")


@pytest.fixture(scope="module")
def project(owner, accounts):
    """The module's populated project (read-only tests use it)."""
    seed(accounts.db, owner, "table", N, "t")
    return f"/{owner.workspace}/table"


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
    for name in ("Status", "Visible", "Color", "Tags", "Experiment", "Server end time", "File name", "Duration (s)"):
        assert name in headers
    first = page.locator("#project-grid .ag-center-cols-container .ag-row[row-index='0']")
    expect(first.locator(".halley-name-link")).to_have_text(f"run-{N - 1}")
    expect(first.locator(".halley-name-link")).to_have_attribute("href", re.compile(rf"{project}/t{N - 1}0+$"))
    expect(page.locator(".halley-status[data-status='finished'] .bi-check-circle-fill").first).to_be_visible()
    expect(page.locator(".halley-status[data-status='running'] .halley-spin").first).to_be_visible()
    expect(page.locator(".halley-status[data-status='stopped'] .bi-stop-circle-fill").first).to_be_visible()
    expect(page.locator(".halley-status[data-status='crashed'] .bi-x-octagon-fill").first).to_be_visible()

    # sort by duration (shortest first): the server sorts, the URL keeps it, a reload restores it
    page.click("#project-grid .ag-header-cell[col-id='sys:duration'] .ag-header-cell-label")
    expect(first.locator(".halley-name-link")).to_have_text("run-0")
    expect(page).to_have_url(re.compile(r"#.+"))
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
    add_filter(page, "System: Visible", "is false")                 # boolean
    expect(count).to_have_text("0 experiments")
    # a bad value is refused with a message and changes nothing
    add_filter(page, "System: Duration (s)", ">", "soon")
    expect(page.locator("#project-filter-error")).to_contain_text("not a number")
    expect(page.locator(".project-filter-chip")).to_have_count(1)
    assert console_errors == []
