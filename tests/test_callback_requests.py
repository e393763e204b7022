"""Callback requests built by hand against a live server: ids and values the page would never
send (another user's project, experiments the visitor can't change, values of another shape)
get a clear message and change nothing; no callback answers 500."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import Experiment, ExperimentTag
from tests.conftest import signed_in_client
from tests.dash_requests import body_from_values, dependencies, find_callback, post_callback
from tests.project_data import ProjectData

JUNK = [5, 2**70, -1, True, 1.5, "", "ünï", [], ["x"], {}, {"a": {"b": [1]}}]


class Table:
    """``me`` owns two projects; ``them`` owns a private project and a public one."""

    def __init__(self, server, accounts):
        self.url = server.url
        self.data = ProjectData(accounts, server)
        self.me, self.them = accounts.create("tbl"), accounts.create("other")
        for name in ("mine", "mine2"):
            self.data.project(self.me, name)
        self.data.project(self.them, "theirs")
        self.data.project(self.them, "open", public=True)
        self.mine = [self.data.experiment(self.me, "mine", f"m{i}") for i in range(2)]
        self.theirs = self.data.experiment(self.them, "theirs", "t")
        self.open = self.data.experiment(self.them, "open", "o")
        self.client = signed_in_client(server, self.me)
        self.deps = dependencies(server.url, self.client)

    @staticmethod
    def ctx(account, project: str) -> dict:
        return {"workspace": account.workspace, "project": project, "canWrite": True,
                "base": f"/{account.workspace}/{project}"}

    def post(self, trigger: str, values: dict, output: str = ""):
        body = body_from_values(find_callback(self.deps, trigger, output), values)
        return self.client.post(self.url + "/_dash-update-component", json=body)

    def experiments(self) -> tuple:
        """Every experiment's project, name, flags and tags: what the dialogs could change."""
        with self.data.db.session() as s:
            rows = {e.key: (e.project_id, e.name, e.archived, e.visible, e.color) for e in s.exec(select(Experiment))}
            tags = sorted((t.experiment_id, t.name) for t in s.exec(select(ExperimentTag)))
        return rows, tags


@pytest.fixture(scope="module")
def table(server, accounts) -> Table:
    return Table(server, accounts)


def rows(*keys) -> list[dict]:
    return [{"key": k} for k in keys]


@pytest.mark.parametrize("dialog", ["tag", "move"])
def test_tag_and_move_dialogs_refuse_another_users_project(table, dialog):
    """Opening the dialog for a project the user can't read says so inside the dialog."""
    r = table.post(f"project-{dialog}-open.n_clicks", {f"project-{dialog}-open.n_clicks": 1,
                                                       "project-ctx.data": table.ctx(table.them, "theirs")})
    assert r.status_code == 200, r.text
    shown = r.json()["response"]
    assert "not found" in str(shown[f"project-{dialog}-error"]).lower()
    assert set(shown) == {f"project-{dialog}-error", f"project-{dialog}-modal"}  # none of its tags or targets


def test_tagging_changes_only_what_the_user_can_write(table):
    before = table.experiments()

    def tag(ctx, selected, value="urgent"):
        return table.post("project-tag-submit.n_clicks", {
            "project-tag-submit.n_clicks": 1, "project-tag-input.value": value,
            "project-grid.selectedRows": selected, "project-ctx.data": ctx})

    r = tag(table.ctx(table.me, "mine"), rows(table.theirs, table.open))
    assert r.status_code == 200 and "Tagged 0 experiments" in r.text
    r = tag(table.ctx(table.them, "open"), rows(table.open))
    assert r.status_code == 200 and "read-only" in r.text
    r = tag(table.ctx(table.them, "theirs"), rows(table.theirs))
    assert r.status_code == 200 and "not found" in r.text.lower()
    for junk in JUNK:
        assert tag(table.ctx(table.me, "mine"), junk).status_code == 200, junk
        if not isinstance(junk, str):  # a string is a tag
            assert tag(table.ctx(table.me, "mine"), rows(table.mine[0]), junk).status_code == 200, junk
        assert tag(junk, rows(table.mine[0])).status_code == 200, junk
    assert table.experiments() == before


def test_moving_changes_only_what_the_user_can_write(table):
    before = table.experiments()

    def move(ctx, selected, target):
        return table.post("project-move-submit.n_clicks", {
            "project-move-submit.n_clicks": 1, "project-move-target.value": target,
            "project-grid.selectedRows": selected, "project-ctx.data": ctx})

    mine2 = f"{table.me.workspace}/mine2"
    r = move(table.ctx(table.me, "mine"), rows(table.theirs, table.open), mine2)
    assert r.status_code == 200 and "Moved 0 experiments" in r.text
    r = move(table.ctx(table.me, "mine"), rows(*table.mine), f"{table.them.workspace}/theirs")
    assert r.status_code == 200 and "not found" in r.text.lower()
    r = move(table.ctx(table.them, "open"), rows(table.open), mine2)
    assert r.status_code == 200 and "read-only" in r.text
    for junk in JUNK:
        assert move(table.ctx(table.me, "mine"), rows(table.mine[0]), junk).status_code == 200, junk
        assert move(table.ctx(table.me, "mine"), junk, mine2).status_code == 200, junk
        assert move(junk, rows(table.mine[0]), mine2).status_code == 200, junk
    assert table.experiments() == before


GRAPH = {"type": "project-panel-agg", "index": "p1"}
ODD_GRAPH_IDS = [{"type": "project-panel-agg", "index": {"a": 1}}, {"type": "project-panel-agg", "index": [1]},
                 {"type": "project-panel-agg", "index": 7}, {"type": "project-panel-agg", "index": "no-such id!"},
                 {"type": "project-panel-agg"}, {"type": "project-panel-agg", "index": "p1", "extra": 1},
                 "project-panel-agg", 3, None]


@pytest.mark.parametrize("odd", ODD_GRAPH_IDS, ids=repr)
def test_panel_figures_refuse_graph_ids_of_another_shape(table, odd):
    """A panel's graph is named by a pattern id from the browser: one of another shape is no server error."""
    spec = find_callback(table.deps, "project-refresh.data", "project-panel-agg")
    body = body_from_values(spec, {"project-refresh.data": 1, "project-ctx.data": table.ctx(table.me, "mine"),
                                   "project-panels-list.data": [{"id": "p1", "type": "bar", "metric": "loss"}],
                                   "project-panel-agg.figure": [(odd, None)],
                                   "project-panel-agg-drawn.data": [(odd, None)]})
    r = post_callback(table.client, table.url, body)
    assert r.status_code in (200, 204, 400), r.status_code  # 400: Dash's own check of the outputs
