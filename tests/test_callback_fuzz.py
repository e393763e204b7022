"""Every server callback, fuzzed over HTTP: request bodies built from its declared inputs and
state with generated values (ids of the right shape naming other users' objects, junk ids,
wrong types, huge numbers, nested objects, unicode) are posted as a signed-in user with no
access to the target objects, as a member of another workspace and anonymously. No request
may answer 5xx, and nothing in the victim's workspace may change.

The budget is fixed and the examples are derandomized, so a run is repeatable and its time
bounded: EXAMPLES bodies of each kind per callback (each posted as the three visitors), on
SQLite and on PostgreSQL.
"""
from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from dash._utils import stringify_id
from sqlmodel import SQLModel, select

from dashboard.db import Database
from dashboard.services import panels as panel_service, project_views, workspaces
from models import Experiment, Project
from tests.conftest import Accounts, LiveServer, signed_in_client
from tests.dash_requests import (
    callback_body, concrete_id, dependencies, entry, is_multiple, is_pattern, name_of, outputs_of, pattern_of,
    post_callback, server_callbacks,
)
from tests.postgres_fixtures import PostgresServer, postgres  # noqa: F401  (the session's cluster)
from tests.project_data import ProjectData

# Bodies per callback of each kind (see request_bodies), each posted by the three visitors.
EXAMPLES = {"plausible": 3, "one odd": 4, "anything": 3}
VISITORS = ("stranger", "member", "anonymous")
# Keys the callbacks read from objects the browser sends, so generated objects reach past the
# first lookup.
TINY_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGM8wcDAwMDAxMDAwMDAAAAKUgDMUCehPAAAA"
            "ABJRU5ErkJggg==")
FIELD_NAMES = ["key", "workspace", "project", "canWrite", "base", "index", "type", "rules", "op", "attr",
               "operator", "value", "figures", "panel", "constraints", "startRow", "endRow", "sortModel", "colId",
               "sort", "points", "x", "y", "rowId", "action", "color", "name", "visible", "viewId", "state", "mode",
               "config", "names", "hidden", "col", "catalogue", "featured", "mine", "filters", "columns",
               "groupBy", "queryId", "panels", "charts", "metrics", "colors", "smoothing", "props", "id", "token", "new",
               "xaxis.range[0]", "xaxis.range[1]", "dimensions[0].constraintrange"]


class World:
    """The victim owns a private and a public project with experiments, a view, a query and a
    panel kept in their collection; the member belongs to a host's workspace (and may change
    it); the stranger has only their own workspace."""

    def __init__(self, server: LiveServer):
        self.server = server
        accounts = Accounts(server)
        self.data = ProjectData(accounts, server)
        self.victim, host = accounts.create("victim"), accounts.create("host")
        self.member, self.stranger = accounts.create("member"), accounts.create("stranger")
        self.data.add_member(host, self.member, "member")
        ids = {"secret": self.data.project(self.victim, "secret", description="private"),
               "open": self.data.project(self.victim, "open", public=True),
               "team": self.data.project(host, "team"),
               "own": self.data.project(self.member, "own")}
        keys = [self.data.experiment(self.victim, "secret", "s1", assets=(("text", "notes.txt", b"hello"),)),
                self.data.experiment(self.victim, "open", "o1"), self.data.experiment(host, "team", "t1"),
                self.data.experiment(self.member, "own", "m1")]
        victim = self.data.actor(self.victim)
        with self.data.db.session() as s:
            secret = s.get(Project, ids["secret"])
            view = project_views.create_view(s, victim, secret, "mine", {"columns": ["param:lr"]})
            query = project_views.create_query(s, victim, secret, "low loss", {"op": "and", "rules": [
                {"attr": "metric:last:loss", "operator": "lt", "value": "1"}]})
            template = panel_service.save_template(s, victim, {"type": "bar", "metric": "loss"})
            user_ids = [workspaces.find_by_name(s, a.workspace).default_for_user_id
                        for a in (self.victim, host, self.member, self.stranger)]
            asset_ids = [a for e in s.exec(select(Experiment).where(Experiment.key == keys[0]))
                         for a in [self._asset_id(s, e)] if a]
        names = [(self.victim.workspace, "secret"), (self.victim.workspace, "open"), (host.workspace, "team"),
                 (self.member.workspace, "own")]
        self.atoms = {
            "ids": list(ids.values()) + [view.id, query.id, template.id] + user_ids + [999_999],
            "keys": keys + ["a" * 32],
            "names": [w for w, _ in names] + [p for _, p in names],
            "contexts": [{"workspace": w, "project": p, "canWrite": True, "base": f"/{w}/{p}"} for w, p in names],
            "refs": [{"key": k} for k in keys],
            "panels": ["p1", "abc123"],
            "assets": asset_ids,
            "strings": ["all", "public", "private", "edit", "delete", "share", "icon", "update", "new", "tags",
                        "sys:status", "sys:name", "metric:last:loss", "param:lr", "lt", "contains", "between",
                        "step", "wall", "counts", "desc",
                        "regex", "builtin:bar", "featured:0", f"mine:{template.id}", "0", "0.1", ".*",
                        f"{host.workspace}/team", f"{self.victim.workspace}/secret", "#ff0000"],
        }
        self.seeds = self._seeds(keys, names, view.id, query.id, template.id)
        self.seeds.update({
            **dict.fromkeys(["project-notes-project.data", "project-files-project.data", "project-manage-project.data",
                             "project-archive-project.data", "workspace-target.data"], list(ids.values())),
            **dict.fromkeys(["settings-workspace.data", "workspace-name.data"], [w for w, _ in names]),
            "project-ctx.data": self.atoms["contexts"], "experiment-ref.data": self.atoms["refs"],
            "project-cell-target.data": keys,
            "project-move-target.value": [f"{w}/{p}" for w, p in names],
            "experiment-cm-select.value": asset_ids or ["a1"],
            "value": self.atoms["strings"] + self.atoms["names"] + [0.5, 3, True, ["param:lr"], ["loss"]],
            "pathname": ["/", "/workspaces", "/login", "/settings/collaborators", f"/{names[0][0]}"]
            + [f"/{w}/{p}" for w, p in names] + [f"/{names[0][0]}/secret/{keys[0]}", f"/{names[0][0]}/secret/notes"],
            "search": ["", "?view=builtin", f"?view={view.id}", "?tab=charts", f"?workspace={names[0][0]}"],
        })
        # plausible values of the wildcard keys of pattern ids, by key
        self.pattern_seeds = {
            "index": ["p1", "p2", "p3", "p4", 0, 1, 2, "builtin:bar", "builtin:line", "featured:0",
                      f"mine:{template.id}"],
            "key": keys, "asset": asset_ids or ["a1"], "user": user_ids, "id": [view.id, query.id],
            "project": list(ids.values()), "action": ["edit", "icon", "share", "delete"], "tag": ["t", "tagged"],
            "path": ["", "0", "0.0", "1"]}
        self.clients = {"stranger": signed_in_client(server, self.stranger),
                        "member": signed_in_client(server, self.member)}
        import requests

        self.clients["anonymous"] = requests.Session()
        self.deps = server_callbacks(dependencies(server.url, self.clients["member"]))

    def keep_signed_in(self) -> None:
        """A callback that ends the visitor's own sessions (signing out everywhere) must not leave
        the callbacks after it fuzzed by an anonymous visitor only: the visitor signs in again,
        from the browser that signed in before (its known-device cookie), so wrong current
        passwords the fuzzer sent to account settings don't throttle it."""
        for name, account in (("stranger", self.stranger), ("member", self.member)):
            client = self.clients[name]
            if client.get(self.server.url + "/api/v1/account").status_code == 401:
                r = client.post(self.server.url + "/auth/login", allow_redirects=False,
                                data={"username": account.username, "password": account.password})
                assert r.status_code == 302 and "error" not in r.headers["Location"], r.headers.get("Location")

    @staticmethod
    def _seeds(keys, names, view_id, query_id, template_id) -> dict[str, list]:
        """Values the page really sends, by "component-id.property" (or by property): the fuzzer
        sends them as they are and with parts replaced, so requests get past the first checks."""
        rule = {"attr": "metric:last:loss", "operator": "lt", "value": "1"}
        panels = [{"id": "p1", "type": "bar", "metric": "loss", "aggregation": "sum"},
                  {"id": "p2", "type": "line", "metrics": ["loss"], "x": "step",
                   "group": {"by": "param", "name": "lr"}},
                  {"id": "p5", "type": "line", "metrics": ["loss"], "x": "step", "group": {"by": "table"}},
                  {"id": "p3", "type": "parcoords", "axes": ["param:lr", "metric:loss"]},
                  {"id": "p4", "type": "scatter", "xAxis": {"source": "param", "name": "lr"},
                   "yAxis": {"source": "metric", "name": "loss"}}]
        state = {"columns": ["param:lr", "metric:last:loss"], "filters": {"op": "and", "rules": [rule]},
                 "columnState": [{"colId": "sys:name", "width": 200, "sort": "asc", "sortIndex": 0}],
                 "groupBy": "param:lr", "queryId": query_id, "hideConstant": True, "panelsOpen": True,
                 "panels": panels}
        rows = [{"key": k, "name": "x"} for k in keys]
        return {
            "project-state.data": [state, {**state, "groupBy": ["param:lr", "tags"], "groupAgg": "last"},
                                   {**state, "filters": {"op": "or",
                                                                "rules": [rule, {"op": "and", "rules": [rule]}]}}],
            "project-saved.data": [{"viewId": view_id, "name": "mine", "state": state}],
            "project-panels-list.data": [panels],
            "project-panels-brush.data": [{"panel": "p3", "constraints": {"param:lr": [0, 1]}, "rules": [rule],
                                           "count": 1}],
            "project-panels-drawn.data": [panels, panels[:1], []],
            "project-panels-catalogue.data": [{"catalogue": {"metrics": ["loss"], "params": ["lr"], "tags": ["t"]},
                                               "featured": panels, "mine": [{"id": template_id, "name": "kept",
                                                                             "config": panels[0]}]}],
            "project-panels-editing.data": [{"mode": "edit", "config": p} for p in panels] + [{"mode": "new",
                                                                                             "config": panels[0]}],
            "project-panel-zoom.data": [{"xaxis.range[0]": 0, "xaxis.range[1]": 5}, {"xaxis.autorange": True}],
            "project-panel-agg.restyleData": [[{"dimensions[0].constraintrange": [[0, 1]]}, [0]]],
            "project-grid.getRowsRequest": [{"startRow": 0, "endRow": 100, "filterModel": {},
                                             "sortModel": [{"colId": "sys:name", "sort": "asc"}]}],
            "project-grid.selectedRows": [rows, rows[:1]],
            "project-grid.cellRendererData": [{"rowId": k, "value": {"action": a, "visible": False, "color": "#ff0000",
                                                                     "name": "n"}}
                                              for k in (*keys[:2], f"{keys[0]}@3") for a in ("visible", "color", "rename")],
            "project-grid.columnState": [[{"colId": "sys:name", "width": 150, "hide": False, "pinned": None}]],
            "project-group-open.data": [{"by": ["param:lr"], "paths": [["0.1"]]},
                                        {"by": ["param:lr", "tags"], "paths": [["0.1"], ["0.1", None]]}],
            "project-groupby.value": [["param:lr"], ["param:lr", "tags", "sys:host"]],
            "project-group-agg.value": ["mean", "last"],
            "project-attrs.data": [[{"id": "param:lr", "label": "lr", "type": "number", "group": "Parameters"}]],
            "project-header-ref.data": [{"workspace": w, "project": p} for w, p in names],
            "experiment-charts-state.data": [{"charts": [{"metrics": ["loss"]}], "colors": {"loss": "#ff0000"},
                                              "smoothing": 0.5, "x_axis": "step", "ignore_outliers": True}],
            "experiment-charts-seen.data": [{"token": "0123456789ab", "new": [0, 1, 2]}],
            "experiment-hist-state.data": [{"names": ["h"], "hidden": ["h"]}],
            "experiment-cm-graph.clickData": [{"points": [{"x": "a", "y": "b"}]}],
            "experiment-cm-examples.children": [[{"props": {"id": {"type": "experiment-cm-example-view",
                                                                    "index": 1}}}]],
            "experiment-params-grid.cellClicked": [{"rowId": "lr", "colId": "name"}],
            "workspace-icon-upload.contents": ["data:image/png;base64," + TINY_PNG, "data:text/plain;base64,aGk="],
            "n_clicks": [1, 2], "n_submit": [1], "n_intervals": [3], "active_page": [1, 2], "is_open": [True, False],
            "active_tab": ["charts", "graphics", "audio", "confusion", "histograms", "output", "notes"],
        }

    @staticmethod
    def _asset_id(session, experiment) -> str | None:
        from models import Asset

        asset = session.exec(select(Asset).where(Asset.experiment_id == experiment.id)).first()
        return asset.asset_id if asset else None

    def victims_rows(self) -> dict:
        """Every row that belongs to the victim's workspace or account, as text."""
        db = Database(self.server.database_url)
        with db.session() as s:
            ws = workspaces.find_by_name(s, self.victim.workspace)
            user_id = ws.default_for_user_id
            projects = [p.id for p in s.exec(select(Project).where(Project.workspace_id == ws.id))]
            experiments = list(s.exec(select(Experiment.id).where(Experiment.project_id.in_(projects))))
            scopes = {"workspace_id": [ws.id], "project_id": projects, "experiment_id": experiments,
                      "user_id": [user_id], "created_by_id": [user_id]}
            out = {}
            for table in SQLModel.metadata.sorted_tables:
                column = next((table.c[c] for c in scopes if c in table.c), None)
                if table.name in ("user", "workspace"):
                    column, values = table.c.id, [user_id if table.name == "user" else ws.id]
                elif column is None:
                    continue
                else:
                    values = scopes[column.name]
                rows = s.execute(select(table).where(column.in_(values))).all()
                out[table.name] = sorted(repr(tuple(row)) for row in rows)
        return out


# --- strategies ----------------------------------------------------------------------------
#
# A body is drawn in one of three ways (its mode): every value plausible (what the page sends,
# or the id of an object of the world), all but one value plausible (that one anything), or
# every value anything. The first two get past the callbacks' first checks to the code behind them.

def anything(world: World) -> st.SearchStrategy:
    """Plausible atoms (the ids and names of the world's objects, known words) and junk, nested."""
    atoms = world.atoms
    plausible = st.sampled_from([v for group in atoms.values() for v in group])
    junk = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                     st.integers(min_value=-3, max_value=200),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40))
    keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8))
    return st.recursive(st.one_of(plausible, junk), lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)), max_leaves=10)


@st.composite
def mutated(draw, seed, junk: st.SearchStrategy):
    """``seed`` with some of its parts replaced, dropped or added."""
    if draw(st.integers(0, 5)) == 0:
        return draw(junk)
    if isinstance(seed, dict):
        out = {k: draw(mutated(v, junk)) for k, v in seed.items() if draw(st.integers(0, 7))}
        if not draw(st.integers(0, 4)):
            out[draw(st.sampled_from(FIELD_NAMES))] = draw(junk)
        return out
    if isinstance(seed, list):
        out = [draw(mutated(v, junk)) for v in seed if draw(st.integers(0, 7))]
        return out + ([draw(junk)] if not draw(st.integers(0, 4)) else [])
    return seed


def plausible(world: World, dep: dict) -> st.SearchStrategy:
    """What the page sends for this dependency, or an atom of the world."""
    seeds = world.seeds.get(name_of(dep)) or world.seeds.get(dep["property"].split("@")[0])
    atoms = [v for group in world.atoms.values() for v in group]
    return st.sampled_from(seeds) if seeds else st.sampled_from(atoms + [None])


def perturbed(world: World, dep: dict, junk: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(plausible(world, dep).flatmap(lambda v: mutated(v, junk)), junk)


def pattern_id(world: World, dep: dict, junk: st.SearchStrategy, odd: bool) -> st.SearchStrategy:
    """An id of the declared form with plausible wildcard values; when ``odd``, also ids with
    junk values, a key missing or added, or no object at all."""
    wild = [k for k, v in pattern_of(dep).items() if isinstance(v, list)]
    seeds = {k: st.sampled_from(world.pattern_seeds.get(k, world.atoms["strings"])) for k in wild}
    declared = st.fixed_dictionaries(seeds).map(lambda keys: concrete_id(dep, keys))
    if not odd:
        return declared
    junk_values = st.fixed_dictionaries({k: st.one_of(seeds[k], junk) for k in wild}).map(
        lambda keys: concrete_id(dep, keys))
    return st.one_of(junk_values, declared.map(lambda i: dict(list(i.items())[:-1])),
                     declared.map(lambda i: {**i, "extra": 1}), junk)


@st.composite
def request_bodies(draw, world: World, spec: dict, mode: str):
    junk = anything(world)
    deps = spec["inputs"] + spec["state"]
    odd = draw(st.integers(0, len(deps) - 1)) if mode == "one odd" and deps else None

    def dependency(i, dep):
        is_odd = mode == "anything" or i == odd
        value = perturbed(world, dep, junk) if is_odd else plausible(world, dep)
        if not is_pattern(dep):
            return entry(dep, draw(value))
        count = draw(st.integers(0 if is_odd else 1, 3)) if is_multiple(dep) else 1
        items = [entry(dep, draw(value), draw(pattern_id(world, dep, junk, is_odd))) for _ in range(count)]
        return items if is_multiple(dep) else items[0]

    def output(dep):
        if not is_pattern(dep):
            return dep
        count = draw(st.integers(0, 3)) if is_multiple(dep) else 1
        items = [{"id": draw(pattern_id(world, dep, junk, mode == "anything")), "property": dep["property"]}
                 for _ in range(count)]
        return items if is_multiple(dep) else items[0]

    filled = [dependency(i, d) for i, d in enumerate(deps)]
    inputs, state = filled[:len(spec["inputs"])], filled[len(spec["inputs"]):]
    outputs = [output(o) for o in outputs_of(spec)]
    fired = [f"{stringify_id(e['id'])}.{e['property']}" for item in inputs
             for e in (item if isinstance(item, list) else [item])]
    changed = draw(st.lists(st.sampled_from(fired), min_size=1, max_size=2)) if fired else []
    if mode == "anything":
        changed = draw(st.one_of(st.just(changed), st.lists(st.text(max_size=20), max_size=1)))
    return callback_body(spec, inputs, state, outputs, changed)


# --- the run -------------------------------------------------------------------------------

def fuzz(world: World, spec: dict):
    url = world.server.url
    for mode, examples in EXAMPLES.items():

        @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                  phases=(Phase.generate,), suppress_health_check=list(HealthCheck))
        @given(body=request_bodies(world, spec, mode))
        def check(body):
            for visitor in VISITORS:
                r = post_callback(world.clients[visitor], url, body)
                assert r.status_code < 500, f"{visitor} got {r.status_code} for {json.dumps(body)[:1500]}"

        check()


def run_fuzz(world: World):
    before = world.victims_rows()
    failures = []
    started = time.time()
    for spec in world.deps:
        try:
            fuzz(world, spec)
        except AssertionError as exc:
            log = world.server.log_path.read_text(errors="replace")
            failures.append(f"{spec['output']}: {exc}\n--- server log ---\n{log[log.rfind('Traceback'):][-2500:]}")
        world.keep_signed_in()
        changed = {table for table, rows in world.victims_rows().items() if rows != before.get(table)}
        assert not changed, f"{spec['output']} changed the victim's {sorted(changed)}"
    assert not failures, "\n\n".join(failures)
    return time.time() - started


def test_no_callback_answers_5xx_on_sqlite(tmp_path):
    server = LiveServer(tmp_path / "home").start(workers=2)
    try:
        Accounts(server).create("owner")  # past first-run setup
        world = World(server)
        assert len(world.deps) > 90
        run_fuzz(world)
    finally:
        server.stop()


@pytest.mark.postgres
def test_no_callback_answers_5xx_on_postgresql(postgres, tmp_path):  # noqa: F811
    server = PostgresServer(tmp_path / "home", postgres.create_database("fuzz")).start(workers=2)
    try:
        Accounts(server).create("owner")
        run_fuzz(World(server))
    finally:
        server.stop()
