"""The grouped experiment table (dashboard.services.table_groups) on SQLite and PostgreSQL:
group counts and aggregates, nested groups, the "(none)" group, tags, paging and sort."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from dashboard.auth import Actor
from dashboard.db import Database, migrate
from dashboard.errors import Invalid
from dashboard.services import accounts as account_service
from dashboard.services import experiment_table as table
from dashboard.services import projects
from dashboard.services import table_groups as groups
from models import Experiment, ExperimentTag, MetricSeries, Parameter, User
from tests.postgres_fixtures import postgres  # noqa: F401  (the session's cluster)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
N = 12


def _seed(db: Database) -> None:
    """12 experiments: opt cycles sgd/adam/rmsprop, lr cycles 0.1/0.01, loss = i, "seed" is set on
    the first 9 only, host gpu0/gpu1; tag "best" on i % 4 == 0, "v2" on i % 3 == 0."""
    with db.session() as s:
        u = account_service.create_user(s, "grouper", "grouper@example.org", "pw-grouper-123")
        p = projects.get_or_create_for_logging(s, Actor(user_id=u.id, username="grouper"), "grouper", "sweep")
        for i in range(N):
            start = T0 + timedelta(hours=i)
            e = Experiment(key=f"g{i:02d}".ljust(32, "0"), project_id=p.id, name=f"run-{i}", status="finished",
                           host=f"gpu{i % 2}", start_time=start, end_time=start + timedelta(minutes=10))
            s.add(e)
            s.flush()
            lr = (0.1, 0.01)[i % 2]
            s.add_all([Parameter(experiment_id=e.id, name="opt", value_text=("sgd", "adam", "rmsprop")[i % 3]),
                       Parameter(experiment_id=e.id, name="lr", value_text=str(lr), value_num=lr),
                       MetricSeries(experiment_id=e.id, name="loss", last_value=float(i), min_value=float(i) / 2,
                                    max_value=10.0 + i, count=5)])
            if i < 9:
                s.add(Parameter(experiment_id=e.id, name="seed", value_text=str(i % 3), value_num=float(i % 3)))
            if i % 4 == 0:
                s.add(ExperimentTag(experiment_id=e.id, name="best"))
            if i % 3 == 0:
                s.add(ExperimentTag(experiment_id=e.id, name="v2"))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db(request, tmp_path_factory):
    if request.param == "postgres":
        url = request.getfixturevalue("postgres").create_database("groups")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('groups') / 'g.db'}"
    migrate(url)
    database = Database(url)
    _seed(database)
    return database


def _project(s):
    u = s.exec(select(User).where(User.username == "grouper")).one()
    return projects.get_readable(s, Actor(user_id=u.id, username="grouper"), "grouper", "sweep")


def _state(group_by, agg="mean", **extra):
    return table.normalize_state({"columns": ["sys:name", "param:lr", "metric:last:loss"], "groupBy": group_by,
                                  "groupAgg": agg, **extra})


def _page(db, state, start=0, end=100, sort=None, open_paths=None):
    with db.session() as s:
        rows, size, total, truncated = groups.fetch_grouped_rows(s, _project(s), state, start, end, sort, open_paths)
        assert not truncated
        return rows, size, total


def _groups(rows):
    return [(r["_group"]["value"], r["_group"]["count"]) for r in rows if "_group" in r]


def test_counts_and_aggregates(db):
    rows, total, experiments = _page(db, _state(["param:opt"]))
    assert experiments == N and total == 3  # collapsed: one row per group
    assert _groups(rows) == [("adam", 4), ("rmsprop", 4), ("sgd", 4)]
    adam = rows[0]
    assert adam["key"] == 'group:["adam"]' and adam["_group"]["label"] == "opt"
    assert adam["metric:last:loss"] == pytest.approx((1 + 4 + 7 + 10) / 4)  # mean
    assert adam["param:lr"] == pytest.approx((0.01 + 0.1 + 0.01 + 0.1) / 4)
    for agg, loss in (("min", 1), ("max", 10), ("last", 10)):  # last: the latest experiment's value
        rows, _, _ = _page(db, _state(["param:opt"], agg))
        assert rows[0]["metric:last:loss"] == pytest.approx(loss), agg


def test_open_groups_page_their_experiments(db):
    state = _state(["param:opt"])
    rows, total, _ = _page(db, state, open_paths=[["rmsprop"]])
    assert total == 3 + 4
    assert [r.get("_group", {}).get("value") or r["sys:name"] for r in rows] == [
        "adam", "rmsprop", "run-11", "run-8", "run-5", "run-2", "sgd"]  # newest first within the group
    assert rows[1]["_group"]["open"] and rows[2]["_depth"] == 1
    # a page that starts inside the open group
    rows, total, _ = _page(db, state, 3, 5, open_paths=[["rmsprop"], ["nonsense", 1, 2, 3], "x"])
    assert total == 7 and [r["sys:name"] for r in rows] == ["run-8", "run-5"]
    # rows sort within their group; groups by their first name (sgd run-0, adam run-1, rmsprop run-11)
    rows, _, _ = _page(db, state, 2, 7, [{"colId": "sys:name", "sort": "asc"}], open_paths=[["rmsprop"]])
    assert rows[0]["_group"]["value"] == "rmsprop"
    assert [r["sys:name"] for r in rows[1:]] == ["run-11", "run-2", "run-5", "run-8"]


def test_nested_groups(db):
    state = _state(["param:opt", "sys:host", "param:lr"])
    rows, total, _ = _page(db, state, open_paths=[["adam"], ["adam", "gpu1"], ["adam", "gpu1", "0.01"]])
    assert [(r["_group"]["level"], r["_group"]["value"], r["_group"]["count"]) if "_group" in r else r["sys:name"]
            for r in rows] == [
        (0, "adam", 4), (1, "gpu0", 2), (1, "gpu1", 2), (2, "0.01", 2), "run-7", "run-1",
        (0, "rmsprop", 4), (0, "sgd", 4)]
    assert total == 8
    assert rows[4]["_depth"] == 3 and rows[3]["key"] == 'group:["adam","gpu1","0.01"]'
    assert rows[1]["metric:last:loss"] == pytest.approx((4 + 10) / 2)


def test_missing_values_and_tags(db):
    rows, _, _ = _page(db, _state(["param:seed"]), open_paths=[[None]])
    assert _groups(rows) == [("0", 3), ("1", 3), ("2", 3), ("(none)", 3)]
    assert [r["sys:name"] for r in rows if "_group" not in r] == ["run-11", "run-10", "run-9"]
    # an experiment with several tags is in each tag's group; untagged ones are "(none)"
    rows, total, experiments = _page(db, _state(["tags"]), open_paths=[["best"]])
    assert _groups(rows) == [("best", 3), ("v2", 4), ("(none)", 6)]
    assert [r["sys:name"] for r in rows if "_group" not in r] == ["run-8", "run-4", "run-0"]
    assert experiments == N and total == 6
    # listed under both of its tags, run-0 is two grid rows with ids of their own
    rows, _, _ = _page(db, _state(["tags"]), open_paths=[["best"], ["v2"]])
    run0 = [r for r in rows if r.get("sys:name") == "run-0"]
    assert len(run0) == 2 and run0[0]["key"] == run0[1]["key"]
    assert len({r["_rowId"] for r in rows if "_group" not in r}) == 3 + 4
    assert run0[0]["_rowId"].startswith(run0[0]["key"] + "@")
    rows, _, _ = _page(db, _state(["param:opt"]), open_paths=[["sgd"]])
    assert not any("_rowId" in r for r in rows)  # one row per experiment: the grid's id is its key
    rows, _, _ = _page(db, _state(["tags", "param:opt"]), open_paths=[["v2"]])
    assert _groups(rows) == [("best", 3), ("v2", 4), ("sgd", 4), ("(none)", 6)]


def test_groups_sort_by_the_sort_columns_aggregate(db):
    state = _state(["param:opt"], "max")
    rows, _, _ = _page(db, state, sort=[{"colId": "metric:last:loss", "sort": "desc"}])
    assert _groups(rows) == [("rmsprop", 4), ("adam", 4), ("sgd", 4)]  # max loss 11, 10, 9
    assert [r["metric:last:loss"] for r in rows] == [11, 10, 9]
    rows, _, _ = _page(db, state, sort=[{"colId": "param:opt", "sort": "desc"}])
    assert _groups(rows) == [("sgd", 4), ("rmsprop", 4), ("adam", 4)]
    # numbers in a parameter order numerically, (none) last either way
    rows, _, _ = _page(db, _state(["param:seed"]), sort=[{"colId": "param:seed", "sort": "desc"}])
    assert [g for g, _ in _groups(rows)] == ["2", "1", "0", "(none)"]


def test_paging_over_many_groups(db):
    state = _state(["sys:name"])
    rows, total, _ = _page(db, state, 5, 8, [{"colId": "sys:name", "sort": "asc"}], open_paths=[["run-11"]])
    assert total == N + 1 and [r["_group"]["value"] for r in rows if "_group" in r] == ["run-2", "run-3", "run-4"]
    rows, _, _ = _page(db, state, 3, 5, [{"colId": "sys:name", "sort": "asc"}], open_paths=[["run-11"]])
    assert [r.get("_group", {}).get("value") or "row:" + r["sys:name"] for r in rows] == ["run-11", "row:run-11"]


def test_group_by_in_the_view_state():
    old = table.normalize_state({"groupBy": "param:opt"})  # a view saved before nested grouping
    assert old["groupBy"] == ["param:opt"] and old["groupAgg"] == "mean"
    assert table.normalize_state({})["groupBy"] is None
    assert table.normalize_state({"groupBy": ["tags", "tags", "sys:start_time"]})["groupBy"] == ["tags"]
    state = _state(["param:opt", "tags"], "last")
    assert table.decode_state(table.encode_state(state))["groupBy"] == ["param:opt", "tags"]
    assert table.normalize_state({"groupAgg": "sum"})["groupAgg"] == "mean"
    with pytest.raises(Invalid):
        table.normalize_state({"groupBy": ["param:a", "param:b", "param:c", "param:d"]})
    with pytest.raises(Invalid):
        table.normalize_state({"groupBy": ["param:\x00"]})


def test_number_groups_open_from_the_browsers_paths(db):
    state = table.normalize_state({"columns": ["sys:name", "sys:duration"], "groupBy": ["metric:max:loss"]})
    rows, total, _ = _page(db, state, open_paths=[[10], [{"not": "a value"}], [[11.0]]])  # JSON reads 10.0 as 10
    assert total == N + 1 and rows[0]["_group"]["path"] == [10.0] and rows[0]["_group"]["open"]
    assert rows[1]["sys:name"] == "run-0" and rows[2]["_group"]["value"] == "11.0"
    assert rows[0]["sys:duration"] == 600 and isinstance(rows[0]["sys:duration"], float)


def test_groups_beyond_the_limit_are_left_out(db, monkeypatch):
    monkeypatch.setattr(groups, "MAX_GROUPS", 5)
    with db.session() as s:
        rows, size, total, truncated = groups.fetch_grouped_rows(s, _project(s), _state(["sys:name"]), 0, 100)
    assert truncated and size == 5 and total == N
