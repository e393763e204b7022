"""Panel data service against a real database: series reads, zoom, cache, access, brushing."""
import math

import numpy as np
import pytest

from dashboard.auth import Actor
from dashboard.charts.style import INVALID_NOTE
from dashboard.db import Database, migrate
from dashboard.errors import Invalid, NotFound
from dashboard.services import accounts, ingest, panels, projects


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("panels-service")
    url = f"sqlite:///{home / 'halley.db'}"
    migrate(url)
    db = Database(url)
    with db.session() as s:
        owner = accounts.create_user(s, "powner", "powner@example.org", "pw-123456")
        other = accounts.create_user(s, "pother", "pother@example.org", "pw-123456")
    actor = Actor(user_id=owner.id, username=owner.username)
    keys = []
    with db.session() as s:
        for i in range(3):
            exp, _ = ingest.start_experiment(s, actor, "powner", "demo", name=f"run-{i}")
            steps = np.arange(20_000)
            values = np.sin(steps / 700.0) + i
            values[12_345] = 99.0  # a spike
            metrics = [{"name": "loss", "value": float(v), "step": int(st), "timestamp": 1.7e9 + st}
                       for st, v in zip(steps, values)]
            metrics.append({"name": "loss", "value": "NaN", "step": 20_000})
            metrics += [{"name": "acc", "value": float(v), "step": k} for k, v in enumerate([1, 2, 2, 3, 10])]
            ingest.apply_batch(s, actor, exp.key, {
                "batch_id": f"b{i}", "metrics": metrics, "tags": ["seed"] if i < 2 else [],
                "parameters": [{"name": "lr", "value": [0.1, 0.01, 0.001][i]},
                               {"name": "opt", "value": ["sgd", "adam", "sgd"][i]}]})
            keys.append(exp.key)
    return {"db": db, "actor": actor, "other": Actor(user_id=other.id, username=other.username), "keys": keys,
            "cache_dir": home / "cache"}


def _project(s, world):
    return projects.get_readable(s, world["actor"], "powner", "demo")


def test_line_panel_downsamples_keeps_spike_and_zoom_is_full_resolution(world, monkeypatch):
    db, actor = world["db"], world["actor"]
    cache = panels.open_cache(world["cache_dir"])
    panel = {"type": "line", "metrics": ["loss"], "x": "step"}
    with db.session() as s:
        fig = panels.panel_figure(s, actor, _project(s, world), None, panel, cache=cache)
    assert len(fig.data) == 3
    assert all(len(t.y) <= 2000 and max(t.y) == 99.0 for t in fig.data)
    assert fig.layout.annotations[0].text == INVALID_NOTE  # the NaN point of each run
    with db.session() as s:
        zoom = panels.panel_figure(s, actor, _project(s, world), None, panel, x_range=[12_000, 13_000], cache=cache)
    steps = np.asarray(zoom.data[0].x)
    assert list(steps) == list(range(12_000, 13_001)) and max(zoom.data[0].y) == 99.0
    # The database-side reduction (used for large reads) keeps the spike too.
    monkeypatch.setattr(panels, "RAW_POINTS_LIMIT", 1000)
    with db.session() as s:
        reduced = panels.panel_figure(s, actor, _project(s, world), None, panel)
    assert all(len(t.y) <= 2000 and max(t.y) == 99.0 for t in reduced.data)
    assert min(reduced.data[0].x) == 0 and max(reduced.data[0].x) == 19_999
    # That read came from the ingest-time rollup; medium series go through a GROUP BY instead.
    monkeypatch.setattr(panels, "ROLLUP_MIN_POINTS", 10**9)
    with db.session() as s:
        grouped = panels.panel_figure(s, actor, _project(s, world), None, panel)
    assert all(len(t.y) <= 2000 and max(t.y) == 99.0 for t in grouped.data)
    assert min(grouped.data[0].x) == 0 and max(grouped.data[0].x) == 19_999


@pytest.mark.parametrize("x_axis, scale, offset", [("wall", 1000.0, 1.7e12), ("duration", 1.0, 0.0)])
def test_zoom_on_time_axes_is_read_again_at_full_resolution(world, x_axis, scale, offset):
    """On time axes the zoomed x range is mapped to each series' steps and read again."""
    db, actor = world["db"], world["actor"]
    panel = {"type": "line", "metrics": ["loss"], "x": x_axis}
    with db.session() as s:
        full = panels.panel_figure(s, actor, _project(s, world), None, panel)
        assert all(len(t.x) <= 2000 for t in full.data)
        zoom = panels.panel_figure(s, actor, _project(s, world), None, panel,
                                   x_range=[offset + 12_000 * scale, offset + 13_000 * scale])
    assert len(zoom.data) == 3
    for trace in zoom.data:
        x = np.asarray(trace.x)
        assert len(x) == 1001 and np.allclose(np.diff(x), scale) and max(trace.y) >= 99.0
        assert x[0] == pytest.approx(offset + 12_000 * scale)


def test_cache_is_invalidated_by_new_points(world):
    db, actor = world["db"], world["actor"]
    cache = panels.open_cache(world["cache_dir"])
    panel = {"type": "line", "metrics": ["acc"], "x": "step"}
    counts = {"type": "bar", "metric": "acc", "aggregation": "count"}
    with db.session() as s:
        before = panels.panel_figure(s, actor, _project(s, world), None, panel, cache=cache)
        bars = panels.panel_figure(s, actor, _project(s, world), None, counts, cache=cache)
        assert panels.panel_figure(s, actor, _project(s, world), None, counts, cache=cache) == bars  # cached
    assert all(len(t.y) == 5 for t in before.data)
    assert sorted(bars.data[0].y) == [5, 5, 5]
    with db.session() as s:
        ingest.apply_batch(s, actor, world["keys"][0], {"batch_id": "more", "metrics": [
            {"name": "acc", "value": 11.0, "step": 5}]})
    with db.session() as s:
        after = panels.panel_figure(s, actor, _project(s, world), None, panel, cache=cache)
        bars_after = panels.panel_figure(s, actor, _project(s, world), None, counts, cache=cache)
    assert sorted(len(t.y) for t in after.data) == [5, 5, 6]
    assert sorted(bars_after.data[0].y) == [5, 5, 6]


def test_cache_is_not_read_by_other_code(world, tmp_path, monkeypatch):
    """Cached figures and series are keyed by a digest of the code that shapes them: a server
    running other code (an upgrade) draws them again instead of serving the old shape."""
    module = tmp_path / "charts" / "line.py"
    module.parent.mkdir()
    module.write_text("A = 1\n")
    before = panels.code_version([module])
    module.write_text("A = 2\n")
    assert panels.code_version([module]) != before
    assert len(panels.CACHE_VERSION) == 12

    db, actor = world["db"], world["actor"]
    cache = panels.open_cache(world["cache_dir"])
    counts = {"type": "bar", "metric": "acc", "aggregation": "count"}
    with db.session() as s:
        panels.panel_figure(s, actor, _project(s, world), None, counts, cache=cache)
        keys = set(cache.iterkeys())
        monkeypatch.setattr(panels, "CACHE_VERSION", "othercode000")
        panels.panel_figure(s, actor, _project(s, world), None, counts, cache=cache)
    added = set(cache.iterkeys()) - keys
    assert added and all("othercode000" in k for k in added)


def test_bar_aggregations_and_grouping(world):
    db, actor = world["db"], world["actor"]
    expected = {"count": 5, "sum": 18, "average": 3.6, "median": 2, "mode": 2, "rms": math.sqrt(23.6),
                "std": math.sqrt(((1 - 3.6) ** 2 + 2 * 1.6 ** 2 + 0.6 ** 2 + 6.4 ** 2) / 5)}
    with db.session() as s:
        project = _project(s, world)
        exps = [e for e in panels.panel_experiments(s, actor, project, None) if e["key"] != world["keys"][0]]
        for agg, value in expected.items():
            rows, invalid = panels.bar_values(s, exps, "acc", agg)
            assert [r["value"] for r in rows] == pytest.approx([value, value]), agg
        fig = panels.panel_figure(s, actor, project, None, {
            "type": "line", "metrics": ["loss"], "group": {"by": "tag", "name": "seed", "band": "std"}})
    assert sorted(t.name for t in fig.data if t.showlegend is not False) == ["not seed (1)", "seed (2)"]


def test_scatter_and_parcoords_and_brush_to_query(world):
    db, actor = world["db"], world["actor"]
    with db.session() as s:
        project = _project(s, world)
        sc = panels.panel_figure(s, actor, project, None, {
            "type": "scatter", "xAxis": {"source": "param", "name": "lr"},
            "yAxis": {"source": "metric", "name": "loss", "transform": "max"}})
        assert sorted(x for t in sc.data for x in t.x) == [0.001, 0.01, 0.1]  # a trace per run color
        assert {y for t in sc.data for y in t.y} == {99.0}
        panel = {"type": "parcoords", "axes": ["param:opt", "param:lr", "metric:acc"]}
        pc = panels.panel_figure(s, actor, project, None, panel)
        assert [d.label for d in pc.data[0].dimensions] == ["opt", "lr", "acc"]
        assert list(pc.data[0].dimensions[0].ticktext) == ["adam", "sgd"]
        result = panels.brush(s, actor, project, None, panel, {"param:lr": [0.005, 0.5]})
        assert sorted(result["keys"]) == sorted(world["keys"][:2])
        assert result["filters"]["rules"] == [
            {"attr": "param:lr", "operator": "between", "value": 0.005, "value2": 0.5}]
        # The brush's filter model selects the same experiments as a query.
        narrowed = panels.panel_experiments(s, actor, project, result["filters"])
        assert sorted(e["key"] for e in narrowed) == sorted(result["keys"])


def test_access_and_validation(world):
    db = world["db"]
    with db.session() as s:
        project = _project(s, world)
        with pytest.raises(NotFound):
            panels.panel_figure(s, world["other"], project, None, {"type": "bar", "metric": "acc"})
        with pytest.raises(NotFound):
            panels.brush(s, world["other"], project, None, {"type": "parcoords", "axes": ["param:lr", "metric:acc"]},
                         {"param:lr": [0, 1]})
    with pytest.raises(Invalid):
        panels.normalize_panel({"type": "pie"})
    clean = panels.normalize_panel({"type": "line", "metrics": ["a", "a", 3, "x" * 400], "smoothing": 7,
                                    "x": "bogus", "id": "../x", "extra": 1})
    assert clean["metrics"] == ["a"] and clean["smoothing"] == 0.99 and clean["x"] == "step"
    assert clean["id"].isalnum() and "extra" not in clean


def test_zoom_and_brush_events_are_parsed():
    from dashboard.charts.line import zoom_range as step_range
    from dashboard.charts.parcoords import constraint_updates

    assert step_range({"xaxis.range[0]": 10.5, "xaxis.range[1]": 20}) == [10.5, 20.0]
    assert step_range({"xaxis.range": [5, 6]}) == [5.0, 6.0]
    assert step_range({"xaxis.autorange": True}) is None and step_range({"autosize": True}) is None
    # a date axis reports date strings (UTC), read as epoch ms; a log axis reports log10
    assert step_range({"xaxis.range[0]": "2023-11-14 22:13:20", "xaxis.range[1]": "2023-11-14 22:13:21.5"}) == [
        1.7e12, 1.7e12 + 1500]
    assert step_range({"xaxis.range": [1, 3]}, log_x=True) == [10.0, 1000.0]
    assert step_range({"xaxis.range": ["soon", "later"]}) is None
    axes = ["param:lr", "metric:acc"]
    assert constraint_updates([{"dimensions[1].constraintrange": [[0.1, 0.2]]}, [0]], axes) == {"metric:acc": [[0.1, 0.2]]}
    assert constraint_updates([{"dimensions[0].constraintrange": [[[0, 1], [2, 3]]]}, [0]], axes) == {
        "param:lr": [[0, 1], [2, 3]]}
    assert constraint_updates([{"dimensions[0].constraintrange": None}, [0]], axes) == {"param:lr": None}
    assert constraint_updates([{"dimensions[7].constraintrange": [1, 2], "line.color": "red"}, [0]], axes) == {}


def test_grid_changes_touch_only_the_cards_that_changed():
    from callbacks.panels import grid_changes

    a, b, c = ({"id": i, "type": "bar", "metric": "loss"} for i in ("a", "b", "c"))
    assert grid_changes([a, b], [a, b, c]) == [("add", c)]
    assert grid_changes([a, b, c], [a, c]) == [("remove", 1)]
    assert grid_changes([a, b, c], [c]) == [("remove", 1), ("remove", 0)]  # from the end, indexes stay valid
    edited = {**b, "metric": "acc"}
    assert grid_changes([a, b], [a, edited]) == [("replace", 1, edited)]
    assert grid_changes([a, b], [a, b]) == []
    assert grid_changes([a, b], [b, a]) is None  # a new order: the grid is drawn again
    assert grid_changes([a, b], [c, a, b]) is None
    assert grid_changes([], [a]) is None and grid_changes([a], []) is None


def test_line_panel_follows_the_table_grouping(world):
    db, actor = world["db"], world["actor"]
    panel = panels.normalize_panel({"type": "line", "metrics": ["loss"], "group": {"by": "table", "band": "minmax"}})
    assert panel["group"]["by"] == "table"
    with db.session() as s:
        project = _project(s, world)
        fig = panels.panel_figure(s, actor, project, None, panel, table_group_by=["param:opt", "tags"])
        ungrouped_table = panels.panel_figure(s, actor, project, None, panel)
    lines = sorted(t.name for t in fig.data if t.showlegend is not False)
    assert lines == ["adam › seed (1)", "sgd › (none) (1)", "sgd › seed (1)"]
    assert len([t for t in fig.data if t.fill == "toself"]) == 3  # a band per group, in its color
    assert len({t.line.color for t in fig.data if t.showlegend is not False}) == 3
    assert len(ungrouped_table.data) == 3 and {t.fill for t in ungrouped_table.data} == {None}


def test_categorical_scatter_and_featured_panels_that_render(world):
    db, actor = world["db"], world["actor"]
    with db.session() as s:
        project = _project(s, world)
        sc = panels.panel_figure(s, actor, project, None, {
            "type": "scatter", "xAxis": {"source": "param", "name": "opt"},
            "yAxis": {"source": "metric", "name": "acc", "transform": "max"}})
        assert list(sc.layout.xaxis.ticktext) == ["adam", "sgd"] and sum(len(t.x) for t in sc.data) == 3
        cat = panels.catalogue(s, actor, project)
        featured = panels.featured_that_render(s, actor, project, cat)
        assert [p["type"] for p in featured] == [p["type"] for p in panels.featured_panels(cat)]
        assert all(panels.panel_figure(s, actor, project, None, p).data for p in featured)
        # A parameter only runs without the metric have: its scatter and parcoords would be empty.
        for name, batch in (("lonely-a", {"parameters": [{"name": "flavor", "value": "mint"}]}),
                            ("lonely-b", {"metrics": [{"name": "acc", "value": 0.5, "step": 0}]})):
            exp, _ = ingest.start_experiment(s, actor, "powner", "sparse", name=name)
            ingest.apply_batch(s, actor, exp.key, {"batch_id": name, **batch})
        sparse = projects.get_readable(s, actor, "powner", "sparse")
        cat = panels.catalogue(s, actor, sparse)
        assert {p["type"] for p in panels.featured_panels(cat)} == {"line", "bar", "scatter", "parcoords"}
        assert [p["type"] for p in panels.featured_that_render(s, actor, sparse, cat)] == ["line", "line", "bar"]


def test_brush_on_a_log_axis_keeps_real_values(world):
    db, actor = world["db"], world["actor"]
    panel = {"type": "parcoords", "axes": ["param:lr", "metric:acc"]}  # lr: 0.1 .. 0.001, two decades
    restyle = [{"dimensions[0].constraintrange": [[math.log10(0.005), math.log10(0.5)]]}, [0]]
    with db.session() as s:
        project = _project(s, world)
        fig = panels.panel_figure(s, actor, project, None, panel)
        assert list(fig.data[0].dimensions[0].ticktext)[0] == "0.001"
        updates = panels.brush_updates(s, actor, project, None, panel, restyle)
        assert updates == {"param:lr": [[0.005, 0.5]]}
        result = panels.brush(s, actor, project, None, panel, updates)
        assert sorted(result["keys"]) == sorted(world["keys"][:2])
        assert result["rules"] == [{"attr": "param:lr", "operator": "between", "value": 0.005, "value2": 0.5}]
        linear = panels.brush_updates(s, actor, project, None, {**panel, "scales": {"param:lr": "linear"}},
                                      [{"dimensions[0].constraintrange": [[0.005, 0.5]]}, [0]])
        assert linear == {"param:lr": [[0.005, 0.5]]}


def test_bar_panel_over_more_experiments_than_it_draws_shows_the_most_recent(world, monkeypatch):
    from dashboard.charts import bar

    monkeypatch.setattr(bar, "MAX_BARS", 2)
    db, actor = world["db"], world["actor"]
    with db.session() as s:
        project = _project(s, world)
        exps = panels.panel_experiments(s, actor, project, None)
        fig = panels.panel_figure(s, actor, project, None, {"type": "bar", "metric": "acc", "aggregation": "count"})
    assert len(exps) > 2
    assert list(fig.data[0].customdata) == [e["key"] for e in exps[:2]]
    assert fig.layout.xaxis.title.text.startswith(f"Latest 2 of {len(exps)} experiments")


def test_a_metric_logged_without_steps_is_drawn_in_the_order_logged(world):
    db, actor = world["db"], world["actor"]
    key = world["keys"][1]
    with db.session() as s:
        ingest.apply_batch(s, actor, key, {"batch_id": "nostep", "metrics": [
            {"name": "stepless", "value": v} for v in (3.0, 1.0, 2.0)]})
    with db.session() as s:
        fig = panels.panel_figure(s, actor, _project(s, world), None, {"type": "line", "metrics": ["stepless"]})
    assert [list(t.x) for t in fig.data] == [[0, 1, 2]] and [list(t.y) for t in fig.data] == [[3.0, 1.0, 2.0]]
