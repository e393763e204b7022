"""The experiment page's service reads and writes on a real database: access decisions,
output paging and search, tags, notes, the saved chart layout and metric series."""
import re

import numpy as np
import pytest

from dashboard.auth import Actor
from dashboard.config import Settings
from dashboard.db import Database, migrate
from dashboard.errors import Forbidden, Invalid, NotFound
from dashboard.services import accounts, experiment_page as ep, ingest, workspaces


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("exp-service")
    url = f"sqlite:///{home / 'halley.db'}"
    migrate(url)
    db = Database(url)
    with db.session() as s:
        owner = accounts.create_user(s, "owner", "owner@example.org", "pw-123456789")
        viewer = accounts.create_user(s, "viewer", "viewer@example.org", "pw-123456789")
        stranger = accounts.create_user(s, "stranger", "stranger@example.org", "pw-123456789")
        actor = Actor(user_id=owner.id, username="owner")
        ws = workspaces.find_by_name(s, "owner")
        workspaces.add_collaborator(s, actor, ws.id, "viewer", "viewer")
        exp, _ = ingest.start_experiment(s, actor, "owner", "p1")
        ingest.apply_batch(s, actor, exp.key, {
            "batch_id": "b1",
            "output": [{"text": f"row {i} {'50%_done' if i == 7 else 'x'}\n", "offset": i} for i in range(2500)],
            "metrics": [{"name": "loss", "value": 1.0 / (i + 1), "step": i, "epoch": i // 10,
                         "timestamp": 1_700_000_000.0 + i} for i in range(30)]
            + [{"name": "loss", "value": "NaN", "step": 30}],
        })
    return {"db": db, "key": exp.key, "owner": actor, "viewer": Actor(user_id=viewer.id, username="viewer"),
            "stranger": Actor(user_id=stranger.id, username="stranger"), "settings": Settings.from_env(home=str(home))}


def test_access(world):
    with world["db"].session() as s:
        page = ep.open_page(s, world["owner"], "owner", "p1", world["key"])
        assert page.can_write and page.status == "running"
        assert not ep.open_key(s, world["viewer"], world["key"]).can_write
        with pytest.raises(NotFound):
            ep.open_key(s, world["stranger"], world["key"])
        with pytest.raises(NotFound):
            ep.open_page(s, world["owner"], "owner", "other-project", world["key"])
        with pytest.raises(Forbidden):
            ep.rename(s, world["viewer"], world["key"], "nope")
        with pytest.raises(NotFound):
            ep.set_notes(s, world["stranger"], world["key"], "nope")


def test_output_pages_and_search_escapes_wildcards(world):
    with world["db"].session() as s:
        exp = ep.open_key(s, world["owner"], world["key"]).experiment
        rows, total = ep.output_page(s, exp, page=2)
        assert total == 2500 and len(rows) == 500 and rows[0].text == "row 2000 x\n"
        rows, total = ep.output_page(s, exp, page=99)  # clamped to the last page
        assert rows[0].text == "row 2000 x\n"
        rows, total = ep.output_page(s, exp, search="0%_D")
        assert total == 1 and rows[0].text == "row 7 50%_done\n"
        assert ep.output_page(s, exp, search="%")[1] == 1
        assert ep.output_page(s, exp, search="_")[1] == 1


def test_tags_notes_rename_and_chart_view(world):
    with world["db"].session() as s:
        assert ep.add_tag(s, world["owner"], world["key"], " best ") == ["best"]
        assert ep.add_tag(s, world["owner"], world["key"], "best") == ["best"]
        assert ep.remove_tag(s, world["owner"], world["key"], "best") == []
        with pytest.raises(Invalid):
            ep.add_tag(s, world["owner"], world["key"], "x" * 201)
        assert ep.rename(s, world["owner"], world["key"], "  run 1 ").name == "run 1"
        generated = ep.rename(s, world["owner"], world["key"], "").name  # a readable generated name
        assert re.fullmatch(r"[a-z-]+_[a-z-]+_\d{4}", generated), generated
        assert ep.set_notes(s, world["owner"], world["key"], "# hi").notes == "# hi"
        ep.save_chart_view(s, world["owner"], world["key"], {"charts": [{"metrics": ["loss"]}], "x_axis": "epoch"})
        ep.save_chart_view(s, world["owner"], world["key"], {"charts": [{"metrics": ["loss"]}], "x_axis": "duration"})
        project_id = ep.open_key(s, world["owner"], world["key"]).project.id
        assert ep.chart_view(s, project_id)["x_axis"] == "duration"
        with pytest.raises(Forbidden):
            ep.save_chart_view(s, world["viewer"], world["key"], {"charts": []})


def test_chart_series_x_axes(world):
    """The experiment page reads its metrics through the panels' series path."""
    with world["db"].session() as s:
        exp = ep.open_key(s, world["owner"], world["key"]).experiment
        (by_step,), invalid = ep.chart_series(s, exp, ["loss"], "step")
        assert by_step["x"][:3].tolist() == [0, 1, 2] and len(by_step["x"]) == 30 and invalid == 1
        (by_epoch,), _ = ep.chart_series(s, exp, ["loss"], "epoch")
        assert by_epoch["x"].max() == 2
        (wall,), _ = ep.chart_series(s, exp, ["loss"], "wall")
        assert wall["x"][0] == 1_700_000_000_000.0  # epoch ms on a date axis
        (colored,), _ = ep.chart_series(s, exp, ["loss"], "step", colors={"loss": "#ff0000"})
        assert colored["exp"]["color"] == "#ff0000" and by_step["exp"]["color"] == "#1f77b4"
        assert ep.chart_series(s, exp, ["nope"], "step") == ([], 0)
        assert "output" in ep.tabs_with_data(s, exp) and "graphics" not in ep.tabs_with_data(s, exp)


def test_experiment_page_and_panel_draw_the_same_curve(world, tmp_path):
    """One series path and one smoothing order: the experiment page's chart of a metric and a
    project line panel of the same metric draw the same points for the same smoothing."""
    from dashboard.charts import line
    from dashboard.services import panels
    from models import Project

    key = world["key"]
    with world["db"].session() as s:
        ingest.apply_batch(s, world["owner"], key, {"batch_id": "curve", "metrics": [
            {"name": "noisy", "value": float(np.sin(i / 50.0) + (i % 7) * 0.1), "step": i}
            for i in range(20_000)]})
    cache = panels.open_cache(tmp_path)
    with world["db"].session() as s:
        page = ep.open_key(s, world["owner"], key)
        series, invalid = ep.chart_series(s, page.experiment, ["noisy"], "step", cache)
        mine = line.line_figure(series, smoothing=0.9, invalid=invalid, per_metric=True)
        project = s.get(Project, page.experiment.project_id)
        panel = panels.panel_figure(s, world["owner"], project, None,
                                    {"type": "line", "metrics": ["noisy"], "x": "step", "smoothing": 0.9},
                                    cache=cache)
    (a,), (b,) = mine.data, panel.data
    assert len(a.x) <= 4_000 and a.type == b.type == "scatter"
    assert np.array_equal(np.asarray(a.x), np.asarray(b.x))
    assert np.allclose(np.asarray(a.y, dtype=float), np.asarray(b.y, dtype=float))
    assert not np.allclose(np.asarray(a.y, dtype=float)[:50], np.asarray(series[0]["y"], dtype=float)[:50])
