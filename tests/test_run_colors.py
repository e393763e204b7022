"""Experiment colors by their order in the project, against a live server on SQLite and on
PostgreSQL: distinct colors in the table export and the panels, distinct order indexes for runs
started at once, a picked color kept everywhere, moved experiments renumbered in their new
project, and the project page in headless Chromium."""
from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from dashboard.auth import Actor
from dashboard.charts.style import PALETTE, experiment_color
from dashboard.services import (
    accounts as account_service, experiment_bulk, experiment_table, panels, project_views, projects,
)
from models import Experiment, Project
from tests.conftest import Accounts, api, sign_in, start_experiments_at_once
from tests.postgres_fixtures import PostgresServer, postgres  # noqa: F401  (the session's cluster)

SLOW = 30_000


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site(request, tmp_path_factory):
    """(server, accounts): the session's SQLite server, or a PostgreSQL one for this module."""
    if request.param == "sqlite":
        yield request.getfixturevalue("server"), request.getfixturevalue("accounts")
        return
    cluster = request.getfixturevalue("postgres")
    srv = PostgresServer(tmp_path_factory.mktemp("pg-colors"), cluster.create_database("colors")).start(workers=2)
    accounts = Accounts(srv)
    accounts.create("owner")  # past first-run setup
    yield srv, accounts
    srv.stop()


def _actor(accounts, owner) -> Actor:
    with accounts.db.session() as s:
        user = account_service.find_user(s, owner.username)
        return Actor(user_id=user.id, username=user.username)


def _log_runs(server, owner, project: str, count: int) -> list[str]:
    """``count`` runs logged one after another through the REST API; their keys in that order."""
    s = api(server, owner.api_key)
    keys = []
    for i in range(count):
        r = s.post(server.url + "/api/v1/experiments", json={"project": project, "name": f"run-{i:02d}"})
        assert r.status_code == 201, r.text
        key = r.json()["experiment_key"]
        r = s.post(f"{server.url}/api/v1/experiments/{key}/batch", json={
            "batch_id": uuid.uuid4().hex, "metrics": [{"name": "loss", "value": 1.0 / (i + k + 1), "step": k}
                                                      for k in range(5)]})
        assert r.status_code == 200, r.text
        keys.append(key)
    return keys


def _exported_colors(server, owner, project: str, state: dict | None = None) -> dict[str, str]:
    """Key -> color in the table's CSV export (of the view ``state``), in the export's order."""
    params = {"state": experiment_table.encode_state(state)} if state else None
    r = api(server, owner.api_key).get(
        f"{server.url}/api/v1/workspaces/{owner.workspace}/projects/{project}/experiments.csv", params=params)
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.text)))
    color = rows[0].index("Color")
    return {row[0]: row[color] for row in rows[1:]}


def _panel_colors(accounts, owner, project: str, panel: dict) -> dict[str, str]:
    """The color of each experiment's trace, line or marker, in a project panel's figure."""
    actor = _actor(accounts, owner)
    with accounts.db.session() as s:
        fig = panels.panel_figure(s, actor, projects.get_readable(s, actor, owner.workspace, project), None, panel)
    if panel["type"] == "line":
        return {t.meta: t.line.color for t in fig.data}
    if panel["type"] == "scatter":  # a trace per color, each point's key first in its customdata
        return {c[0]: t.marker.color for t in fig.data for c in t.customdata}
    trace = fig.data[0]
    return dict(zip(trace.customdata, trace.marker.color))


def _color_indexes(accounts, project_id: int) -> list[int]:
    with accounts.db.session() as s:
        return sorted(s.exec(select(Experiment.color_index).where(Experiment.project_id == project_id)).all())


def _project_id(accounts, owner, project: str) -> int:
    with accounts.db.session() as s:
        return projects.get_readable(s, _actor(accounts, owner), owner.workspace, project).id


def test_twenty_runs_get_twenty_distinct_colors_in_table_and_panels(site):
    server, accounts = site
    owner = accounts.create("twenty")
    keys = _log_runs(server, owner, "twenty", 20)
    exported = _exported_colors(server, owner, "twenty")
    assert [exported[k] for k in keys] == list(PALETTE[:20])  # first run color 0, second color 1, ...
    assert len(set(exported.values())) == 20
    drawn = _panel_colors(accounts, owner, "twenty", {"type": "line", "metrics": ["loss"], "x": "step"})
    assert drawn == exported
    assert _panel_colors(accounts, owner, "twenty", {"type": "bar", "metric": "loss", "aggregation": "sum"}) == exported
    assert _panel_colors(accounts, owner, "twenty", {"type": "scatter", "xAxis": {"source": "metric", "name": "loss"},
                                                     "yAxis": {"name": "loss", "transform": "min"}}) == exported
    # filtering and sorting on the Color column go by the colors shown
    state = experiment_table.default_state()
    state["filters"]["rules"] = [{"attr": "sys:color", "operator": "equals", "value": PALETTE[7]}]
    assert _exported_colors(server, owner, "twenty", state) == {keys[7]: PALETTE[7]}
    state = experiment_table.default_state()
    state["columnState"] = [{"colId": "sys:color", "sort": "asc", "sortIndex": 0}]
    assert list(_exported_colors(server, owner, "twenty", state).values()) == sorted(PALETTE[:20])


def test_runs_started_at_once_get_distinct_order_indexes(site):
    server, accounts = site
    owner = accounts.create("race")
    project = "race-" + uuid.uuid4().hex[:8]
    _log_runs(server, owner, project, 1)
    assert start_experiments_at_once(server, owner.api_key, project, 8) == [201] * 8
    pid = _project_id(accounts, owner, project)
    assert _color_indexes(accounts, pid) == list(range(9))
    with accounts.db.session() as s:
        assert s.get(Project, pid).next_color_index == 9
    assert len(set(_exported_colors(server, owner, project).values())) == 9


def test_a_picked_color_is_kept_and_wins_everywhere(site):
    server, accounts = site
    owner = accounts.create("picked")
    first, second = _log_runs(server, owner, "picked", 2)
    actor = _actor(accounts, owner)
    with accounts.db.session() as s:
        project = projects.get_readable(s, actor, owner.workspace, "picked")
        experiment_bulk.set_color(s, actor, project, second, "#ABCDEF")
    # the run resumes (POST with its key) and logs again: its color and order stay
    r = api(server, owner.api_key).post(server.url + "/api/v1/experiments", json={"experiment_key": second})
    assert r.status_code == 200, r.text
    assert _exported_colors(server, owner, "picked") == {first: PALETTE[0], second: "#abcdef"}
    drawn = _panel_colors(accounts, owner, "picked", {"type": "line", "metrics": ["loss"], "x": "step"})
    assert drawn == {first: PALETTE[0], second: "#abcdef"}
    with accounts.db.session() as s:
        exp = s.exec(select(Experiment).where(Experiment.key == second)).one()
        assert (exp.color, exp.color_index) == ("#abcdef", 1) and experiment_color(exp) == "#abcdef"
    # a third run still takes the next color of the order, not the picked one's
    third = _log_runs(server, owner, "picked", 1)[0]
    assert _exported_colors(server, owner, "picked")[third] == PALETTE[2]


def test_moved_experiments_take_the_next_colors_of_their_new_project(site):
    server, accounts = site
    owner = accounts.create("mover")
    moved = _log_runs(server, owner, "from", 3)
    staying = _log_runs(server, owner, "into", 2)
    actor = _actor(accounts, owner)
    with accounts.db.session() as s:
        source = projects.get_readable(s, actor, owner.workspace, "from")
        assert experiment_bulk.move(s, actor, source, moved[1:], owner.workspace, "into") == 2
    colors = _exported_colors(server, owner, "into")
    assert [colors[k] for k in staying + moved[1:]] == list(PALETTE[:4])
    assert _exported_colors(server, owner, "from") == {moved[0]: PALETTE[0]}
    new = _log_runs(server, owner, "into", 1)[0]
    assert _exported_colors(server, owner, "into")[new] == PALETTE[4]


@pytest.mark.browser
def test_project_page_table_and_panel_agree_on_colors(server, accounts, page, console_errors, tmp_path):
    owner = accounts.create("look")
    keys = _log_runs(server, owner, "look", 20)
    actor = _actor(accounts, owner)
    with accounts.db.session() as s:
        project = projects.get_readable(s, actor, owner.workspace, "look")
        experiment_bulk.set_color(s, actor, project, keys[3], "#000000")
        view = project_views.create_view(s, actor, project, "Loss", {"panels": [
            {"type": "line", "name": "Loss", "metrics": ["loss"]}]})
    sign_in(page, server, owner, f"/{owner.workspace}/look?view={view.id}")
    card = page.locator('.project-panel[data-panel-type="line"]')
    expect(card.locator(".scatterlayer .trace")).to_have_count(20, timeout=SLOW)
    drawn = card.locator(".js-plotly-plot").evaluate(
        "gd => Object.fromEntries(gd.data.map(t => [t.meta, t.line.color]))")
    expected = {k: PALETTE[i] for i, k in enumerate(keys)} | {keys[3]: "#000000"}
    assert drawn == expected
    for key in (keys[19], keys[3]):  # the newest rows, shown first
        rgb = ", ".join(str(int(expected[key][i:i + 2], 16)) for i in (1, 3, 5))
        square = page.locator(f"#project-grid .ag-row[row-id='{key}'] .halley-color-square")
        expect(square).to_have_attribute("style", re.compile(rf"rgb\({rgb}\)"), timeout=SLOW)
    page.screenshot(path=str(tmp_path / "project-colors.png"), full_page=True)
    # the compare page draws the two runs in the same colors
    page.goto(server.url + f"/{owner.workspace}/look/compare?experiments={keys[3]},{keys[5]}")
    expect(page.locator("#compare-charts .scatterlayer .trace")).to_have_count(2, timeout=SLOW)
    compared = page.locator("#compare-charts .js-plotly-plot").evaluate(
        "gd => Object.fromEntries(gd.data.map(t => [t.meta, t.line.color]))")
    assert compared == {keys[3]: "#000000", keys[5]: PALETTE[5]}
    assert console_errors == []
