"""The write core and its reads, called directly against a temporary SQLite database."""
from __future__ import annotations

import io
import math
import uuid
from datetime import timedelta

import numpy as np
import pytest
from sqlmodel import select

from dashboard.auth import Actor
from dashboard.config import Settings
from dashboard.db import Database, migrate
from dashboard.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from dashboard.services import accounts, assets, experiments, ingest, metric_rollup, metrics, workspaces
from models import Experiment, MetricPoint, ReceivedBatch, utcnow


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("ingest-home")
    settings = Settings.from_env(home=home)
    migrate(settings.database_url)
    db = Database(settings.database_url)
    with db.session() as s:
        alice = accounts.create_user(s, "alice", "alice@example.org", "pw-alice-123")
        bob = accounts.create_user(s, "bob", "bob@example.org", "pw-bob-12345")
        vera = accounts.create_user(s, "vera", "vera@example.org", "pw-vera-1234")
        a = Actor(user_id=alice.id, username="alice")
        ws = workspaces.find_by_name(s, "alice")
        workspaces.add_collaborator(s, a, ws.id, "vera", "viewer")
    return {"settings": settings, "db": db, "alice": a, "bob": Actor(user_id=bob.id, username="bob"),
            "vera": Actor(user_id=vera.id, username="vera")}


def new_experiment(env, **kwargs) -> str:
    with env["db"].session() as s:
        exp, created = ingest.start_experiment(s, env["alice"], None, kwargs.pop("project", "svc"), **kwargs)
        assert created
        return exp.key


def batch(env, key, **body) -> dict:
    with env["db"].session() as s:
        return ingest.apply_batch(s, env["alice"], key, {"batch_id": body.pop("batch_id", None) or uuid.uuid4().hex,
                                                          **body})


def test_value_fields_keep_text_number_and_json():
    assert ingest.value_fields(0.5) == ("0.5", 0.5, "0.5")
    assert ingest.value_fields(3) == ("3", 3.0, "3")
    assert ingest.value_fields(True) == ("true", 1.0, "true")
    assert ingest.value_fields([1, 2]) == ("[1, 2]", None, "[1, 2]")
    assert ingest.value_fields({"a": 1})[1] is None
    assert ingest.value_fields("0.01") == ("0.01", 0.01, '"0.01"')
    assert ingest.value_fields("relu") == ("relu", None, '"relu"')
    assert ingest.value_fields("Infinity")[1] == math.inf
    assert ingest.value_fields("NaN")[1] is None
    assert ingest.value_fields(float("nan"))[:2] == ("NaN", None)
    assert ingest.value_fields(None) == (None, None, "null")
    assert ingest.value_fields(10**400)[1] is None


def test_out_of_range_numbers_are_refused_or_flagged(env):
    key = new_experiment(env)
    with pytest.raises(Invalid):
        batch(env, key, metrics=[{"name": "m", "value": 1.0, "step": 2**64}])
    batch(env, key, metrics=[{"name": "m", "value": 10**400, "step": 1}], parameters=[{"name": "p", "value": 10**400}])
    with env["db"].session() as s:
        exp = experiments.find_by_key(s, key)
        m = metrics.summaries(s, [exp.id])[0]
        assert (m.count, m.invalid_count, m.last_value) == (1, 1, math.inf)


def test_summaries_merge_batches_out_of_order_with_nan_and_inf(env):
    key = new_experiment(env)
    batch(env, key, metrics=[{"name": "loss", "value": v, "step": s} for s, v in [(5, 2.0), (6, 1.0), (7, "NaN")]])
    batch(env, key, metrics=[{"name": "loss", "value": v, "step": s, "timestamp": 100.0 + s}
                             for s, v in [(1, 9.0), (3, "Infinity"), (4, -3.0)]])
    batch(env, key, metrics=[{"name": "acc", "value": 0.5}, {"name": "acc", "value": 0.7}])
    with env["db"].session() as s:
        exp = experiments.get_readable(s, env["alice"], key)
        sums = {m.name: m for m in metrics.summaries(s, [exp.id])}
        loss = sums["loss"]
        assert (loss.count, loss.invalid_count, loss.first_step, loss.last_step) == (6, 2, 1, 7)
        assert loss.last_value is None  # the highest step was NaN
        assert (loss.min_value, loss.min_step, loss.max_value, loss.max_step) == (-3.0, 4, 9.0, 1)
        assert metrics.summary_dict(loss)["last"] == "NaN"
        acc = sums["acc"]
        assert (acc.count, acc.last_value, acc.last_step, acc.first_step) == (2, 0.7, None, None)
        steps, values, epochs, stamps = metrics.series(s, exp.id, "loss")
        assert steps.tolist() == [1, 3, 4, 5, 6, 7]
        assert values[1] == math.inf and math.isnan(values[5]) and values[0] == 9.0
        assert np.isnan(epochs).all() and stamps[0] == 101.0
        pts = metrics.points(s, exp.id, "loss")
        assert [p["value"] for p in pts] == [9.0, "Infinity", -3.0, 2.0, 1.0, "NaN"]
        stored = s.exec(select(MetricPoint).join(metrics.MetricSeries).where(
            metrics.MetricSeries.experiment_id == exp.id, MetricPoint.step == 7)).one()
        assert stored.value is None and stored.invalid


def test_metric_columns_round_trip_with_rows_nan_and_inf(env):
    key = new_experiment(env)
    body = {
        "batch_id": "cols-1",
        "metrics": [{"name": "loss", "value": 3.0, "step": 0, "context": "train"},
                    {"name": "loss", "value": 2.0, "step": 1}],
        "metric_columns": [
            {"name": "loss", "value": [0.5, "NaN", "Infinity", "-Infinity", 10**400],
             "step": [2, 3, 4, 5, None], "epoch": [0, 0, 1, None, None],
             "timestamp": [10.0, None, 12.0, 13.0, 14.0], "context": ["train", None, "train", "val", None]},
            {"name": "acc", "value": [0.25, 1, 0.75]},
        ],
    }
    before = utcnow().timestamp()
    assert batch(env, key, **body)["metrics"] == 10
    assert batch(env, key, **body) == {"duplicate": True}
    with env["db"].session() as s:
        exp = experiments.find_by_key(s, key)
        sums = {m.name: m for m in metrics.summaries(s, [exp.id])}
        assert sorted(sums) == ["acc", "loss", "train_loss", "val_loss"]  # a context is its own series
        loss, train, val, acc = sums["loss"], sums["train_loss"], sums["val_loss"], sums["acc"]
        assert (loss.count, loss.invalid_count, loss.first_step, loss.last_step, loss.last_value) == (3, 2, 1, 3, None)
        assert (loss.min_value, loss.min_step, loss.max_value, loss.max_step) == (2.0, 1, 2.0, 1)
        assert (train.count, train.invalid_count, train.first_step, train.last_step) == (3, 1, 0, 4)
        assert train.last_value == math.inf
        assert (train.min_value, train.min_step, train.max_value, train.max_step) == (0.5, 2, 3.0, 0)
        assert (val.count, val.invalid_count, val.last_step, val.last_value) == (1, 1, 5, -math.inf)
        assert (acc.count, acc.invalid_count, acc.first_step, acc.last_step, acc.last_value) == (3, 0, None, None, 0.75)
        assert (acc.min_value, acc.max_value) == (0.25, 1.0)
        pts = metrics.points(s, exp.id, "loss")
        assert [p["value"] for p in pts] == ["Infinity", 2.0, "NaN"]
        assert [p["step"] for p in pts] == [None, 1, 3] and {p["context"] for p in pts} == {None}
        assert [p["epoch"] for p in pts] == [None, None, 0] and pts[0]["timestamp"] == 14.0
        assert pts[2]["timestamp"] >= before  # a missing time is the time the batch arrived
        pts = metrics.points(s, exp.id, "train_loss")
        assert [(p["value"], p["step"], p["epoch"], p["context"]) for p in pts] == [
            (3.0, 0, None, "train"), (0.5, 2, 0, "train"), ("Infinity", 4, 1, "train")]
        assert [p["timestamp"] for p in pts][1:] == [10.0, 12.0]
        val_pts = metrics.points(s, exp.id, "val_loss")
        assert [(p["value"], p["step"], p["context"], p["timestamp"]) for p in val_pts] == [("-Infinity", 5, "val", 13.0)]
        acc_pts = metrics.points(s, exp.id, "acc")
        assert [p["value"] for p in acc_pts] == [0.25, 1.0, 0.75] and {p["step"] for p in acc_pts} == {None}


@pytest.mark.parametrize("entry", [
    {"name": "m", "value": [1.0, 2.0], "step": [1]},                      # columns of unequal length
    {"name": "m", "value": [1.0, 2.0], "context": ["a", "b", "c"]},
    {"name": "m", "value": [1.0, "lots"]},                                # not a number
    {"name": "m", "value": [1.0], "step": [1.5]},                         # not a whole step
    {"name": "m", "value": [1.0], "step": [2**64]},                       # beyond the database's integers
    {"name": "", "value": [1.0]},
    {"name": "m", "value": [1.0], "context": ["x" * 65]},
    {"name": "m" * 300, "value": [1.0, 2.0], "context": [None, "val"]},  # val_mmm... is too long a name
    {"name": "m", "value": 1.0},                                          # not a list
    {"name": "m"},
])
def test_invalid_metric_columns_change_nothing(env, entry):
    key = new_experiment(env)
    body = {"batch_id": uuid.uuid4().hex, "metrics": [{"name": "ok", "value": 1.0, "step": 0}],
            "metric_columns": [{"name": "fine", "value": [1.0, 2.0]}, entry], "tags": ["t"]}
    with pytest.raises(Invalid) as info:
        batch(env, key, **body)
    assert "metric_columns.1" in info.value.message
    with env["db"].session() as s:
        exp = experiments.find_by_key(s, key)
        assert metrics.summaries(s, [exp.id]) == []
        assert s.exec(select(ReceivedBatch).where(ReceivedBatch.batch_id == body["batch_id"])).first() is None


def test_series_many_reads_many_experiments_in_one_call(env):
    keys = [new_experiment(env) for _ in range(3)]
    for n, key in enumerate(keys):
        batch(env, key, metrics=[{"name": "x", "value": float(n * 10 + i), "step": i} for i in range(n + 2)])
    with env["db"].session() as s:
        ids = [experiments.find_by_key(s, k).id for k in keys]
        many = metrics.series_many(s, ids + [999999], "x")
    assert sorted(many) == sorted(ids)
    for n, exp_id in enumerate(ids):
        assert many[exp_id].values.tolist() == [float(n * 10 + i) for i in range(n + 2)]


def test_duplicate_batch_id_adds_nothing(env):
    key = new_experiment(env)
    body = {"batch_id": "dup-1", "metrics": [{"name": "m", "value": 1.0, "step": 1}], "tags": ["t"]}
    assert batch(env, key, **body)["metrics"] == 1
    assert batch(env, key, **body) == {"duplicate": True}
    with env["db"].session() as s:
        exp = experiments.find_by_key(s, key)
        assert metrics.summaries(s, [exp.id])[0].count == 1
        assert len(s.exec(select(ReceivedBatch).where(ReceivedBatch.batch_id == "dup-1")).all()) == 1
    other = new_experiment(env)
    with pytest.raises(Conflict):
        batch(env, other, **body)


def test_invalid_batch_is_rejected_whole(env):
    key = new_experiment(env)
    bad = {"batch_id": "bad-1", "metrics": [{"name": "m", "value": 1.0}, {"name": "m", "value": "oops"}]}
    with pytest.raises(Invalid) as info, env["db"].session() as s:
        ingest.apply_batch(s, env["alice"], key, bad)
    assert "metrics.1.value" in info.value.message
    with pytest.raises(Invalid):
        ingest.parse_batch(b'{"metrics": []}')  # no batch_id
    with pytest.raises(Invalid):
        ingest.parse_batch(b"{not json")
    with env["db"].session() as s:
        exp = experiments.find_by_key(s, key)
        assert metrics.summaries(s, [exp.id]) == []


def test_names_keep_nul_as_replacement_and_steps_stay_exact(env):
    """A NUL in a name is stored as U+FFFD (PostgreSQL text can't hold NUL), so a second batch
    with the same name extends the same series; steps beyond float64's exact integers are
    refused rather than changed."""
    key = new_experiment(env)
    for step in (0, 1):
        batch(env, key, metrics=[{"name": "m\x00", "value": 1.0, "step": step}], tags=["t\x00"],
              parameters=[{"name": "p\x00", "value": step}])
    with env["db"].session() as s:
        exp = experiments.find_by_key(s, key)
        assert [(m.name, m.count) for m in metrics.summaries(s, [exp.id])] == [("m\ufffd", 2)]
    with pytest.raises(Invalid):
        batch(env, key, metrics=[{"name": "m", "value": 1.0, "step": 2**53 + 1}])
    batch(env, key, metrics=[{"name": "big", "value": 1.0, "step": 2**53}])


def test_start_experiment_key_rules_and_access(env):
    with env["db"].session() as s, pytest.raises(Invalid):
        ingest.start_experiment(s, env["alice"], None, None, key="short")
    key = "a" * 32
    with env["db"].session() as s:
        exp, created = ingest.start_experiment(s, env["alice"], None, "keys", key=key, name="n1")
        assert created and exp.key == key
    with env["db"].session() as s:
        exp, created = ingest.start_experiment(s, env["alice"], None, "ignored", key=key)
        assert not created and exp.name == "n1" and exp.status == "running"
    # An outsider (who can't see the experiment) and a viewer (who can) are refused alike.
    refusals = []
    for who in ("bob", "vera"):
        with env["db"].session() as s, pytest.raises(Conflict) as info:
            ingest.start_experiment(s, env[who], None, None, key=key)
        refusals.append(info.value.message)
    assert refusals == [ingest.KEY_UNAVAILABLE] * 2
    with env["db"].session() as s, pytest.raises(NotFound):
        experiments.get_readable(s, env["bob"], key)
    with env["db"].session() as s, pytest.raises(Forbidden):
        ingest.apply_batch(s, env["vera"], key, {"batch_id": "v1"})


def test_heartbeat_stop_and_end(env):
    key = new_experiment(env)
    with env["db"].session() as s:
        assert ingest.heartbeat(s, env["alice"], key) == (False, None)
        experiments.request_stop(s, env["alice"], key)
    with env["db"].session() as s:
        assert ingest.heartbeat(s, env["alice"], key) == (True, "alice")
        exp = ingest.end_experiment(s, env["alice"], key, "finished")
        assert exp.status == "stopped" and exp.end_time is not None
    with env["db"].session() as s, pytest.raises(Invalid):
        ingest.end_experiment(s, env["alice"], key, "exploded")


def test_lost_heartbeat_reads_as_crashed(env):
    key = new_experiment(env)
    with env["db"].session() as s:
        exp = experiments.find_by_key(s, key)
        exp.last_heartbeat = utcnow() - timedelta(seconds=experiments.LOST_AFTER_S + 5)
        s.add(exp)
    with env["db"].session() as s:
        exp = experiments.find_by_key(s, key)
        assert exp.status == "running" and experiments.effective_status(exp) == "crashed"
        by_sql = s.exec(select(experiments.status_expression()).where(Experiment.key == key)).one()
        assert by_sql == "crashed"
        assert experiments.describe(s, exp)["status"] == "crashed"


def test_store_asset_uses_generated_paths_and_limits(env, tmp_path):
    settings = env["settings"]
    key = new_experiment(env)
    with env["db"].session() as s:
        a = ingest.store_asset(s, env["alice"], key, data=io.BytesIO(b"data!"), type="text", name="../../x/evil.txt",
                               metadata='{"k": 1}', asset_id="asset-1", settings=settings)
        assert a.file_name == "../../x/evil.txt" and a.size == 5
    with assets.open_asset(settings, a) as fh:
        assert fh.read() == b"data!"
    path = settings.assets_dir / a.storage_path
    assert path.is_file() and "evil" not in a.storage_path
    assert assets.safe_download_name(a.file_name) == "evil.txt"
    with env["db"].session() as s:
        again = ingest.store_asset(s, env["alice"], key, data=b"other", type="text", name="y", asset_id="asset-1",
                                   settings=settings)
        assert again.id == a.id
    other = new_experiment(env)
    with env["db"].session() as s, pytest.raises(Conflict):
        ingest.store_asset(s, env["alice"], other, data=b"x", type="text", name="y", asset_id="asset-1",
                           settings=settings)
    before = sorted(p for p in settings.assets_dir.rglob("*") if p.is_file())
    small = Settings(home=settings.home, database_url=settings.database_url, secret_key="x", max_asset_mb=1)
    with env["db"].session() as s, pytest.raises(TooLarge):
        ingest.store_asset(s, env["alice"], key, data=io.BytesIO(b"0" * (1024 * 1024 + 1)), type="file",
                           name="big", settings=small)
    assert sorted(p for p in settings.assets_dir.rglob("*") if p.is_file()) == before
    with env["db"].session() as s, pytest.raises(Invalid):
        ingest.store_asset(s, env["alice"], key, data=b"x", type="spreadsheet", name="y", settings=settings)
    assert assets.delete_files(settings, [a.storage_path, "../../etc/passwd"]) == 1
    assert not path.exists()


def test_write_access_is_decided_as_before(env):
    """``ingest.writable`` (one query) decides as ``experiments.get_writable``: owner writes,
    viewer and share-link visitor read only, outsider and anonymous see nothing; a public
    project is readable, not writable, by anyone."""
    key = new_experiment(env, project="access-rules")
    with env["db"].session() as s:
        project_id = experiments.find_by_key(s, key).project_id
    share = Actor(share_project_ids=(project_id,))
    with env["db"].session() as s:
        own = workspaces.find_by_name(s, "alice").id
        elsewhere = workspaces.create(s, env["alice"], f"alice-{uuid.uuid4().hex[:8]}").id
    key_here = Actor(user_id=env["alice"].user_id, username="alice", api_workspace_id=own)
    key_elsewhere = Actor(user_id=env["alice"].user_id, username="alice", api_workspace_id=elsewhere)

    def outcome(fn, actor):
        with env["db"].session() as s:
            try:
                fn(s, actor, key)
            except (NotFound, Forbidden) as exc:
                return type(exc).__name__, exc.message
            return "ok"

    def decisions():
        return {name: (outcome(ingest.writable, actor), outcome(experiments.get_writable, actor))
                for name, actor in [("alice", env["alice"]), ("vera", env["vera"]), ("bob", env["bob"]),
                                    ("anonymous", Actor.anonymous()), ("share", share),
                                    ("alice-key", key_here), ("alice-other-key", key_elsewhere)]}

    private = decisions()
    assert {name: new for name, (new, old) in private.items()} == {
        "alice": "ok", "alice-key": "ok", "alice-other-key": ("NotFound", f"Experiment '{key}' not found"),
        "vera": ("Forbidden", "You can't change this experiment (read-only access)"),
        "bob": ("NotFound", f"Experiment '{key}' not found"),
        "anonymous": ("NotFound", f"Experiment '{key}' not found"),
        "share": ("Forbidden", "You can't change this experiment (read-only access)")}
    assert all(new == old for new, old in private.values())
    with env["db"].session() as s:
        from models import Project
        s.get(Project, project_id).is_public = True
    public = decisions()
    assert public["bob"][0][0] == "Forbidden" and public["anonymous"][0][0] == "Forbidden"
    assert public["alice-other-key"][0][0] == "Forbidden"  # readable as for anyone, not writable
    assert all(new == old for new, old in public.values())
    for missing in ("f" * 32, "", "x" * 51):
        assert outcome(lambda s, a, _k: ingest.writable(s, a, missing), env["alice"])[0] == "NotFound"


def test_api_key_owner_is_read_afresh(env):
    """No cache: a deleted key or a deactivated owner is refused on the next lookup."""
    from dashboard.auth import actor_from_api_key
    from models import ApiKey, User

    with env["db"].session() as s:
        ws = workspaces.find_by_name(s, "bob")
        raw = workspaces.generate_api_key(s, env["bob"], ws.id)
    with env["db"].engine.connect() as connection:
        actor = actor_from_api_key(connection, f"Bearer {raw}")
    assert actor == Actor(user_id=env["bob"].user_id, username="bob", api_workspace_id=ws.id)
    with env["db"].session() as s:
        s.get(User, env["bob"].user_id).is_active_user = False
    with env["db"].session() as s:
        assert actor_from_api_key(s, raw) is None
        s.get(User, env["bob"].user_id).is_active_user = True
    with env["db"].session() as s:
        assert actor_from_api_key(s, raw) is not None
        for row in s.exec(select(ApiKey).where(ApiKey.user_id == env["bob"].user_id)).all():
            s.delete(row)
    with env["db"].session() as s:
        assert actor_from_api_key(s, raw) is None and actor_from_api_key(s, "") is None


def test_a_batch_ends_the_run_in_its_transaction(env):
    """Start, batch and end in one session (as the archive importer does); a stop request
    wins over the reported status; a duplicate changes nothing, its end included."""
    with env["db"].session() as s:
        exp, _ = ingest.start_experiment(s, env["alice"], None, "batch-end")
        key = exp.key
        counts, same, _ = ingest.apply(s, env["alice"], key, {"batch_id": "end-1", "end": {"status": "crashed"},
                                                            "metrics": [{"name": "m", "value": 1.0, "step": 0}]})
        assert same is exp and counts["metrics"] == 1
        assert exp.status == "crashed" and exp.end_time is not None
    with env["db"].session() as s:
        stored = experiments.find_by_key(s, key)
        assert stored.status == "crashed" and stored.end_time is not None
        ended_at = stored.end_time
    with env["db"].session() as s:
        counts, again, _ = ingest.apply(s, env["alice"], key, {"batch_id": "end-1", "end": {"status": "finished"}})
        assert counts == {"duplicate": True} and again.status == "crashed"
    with env["db"].session() as s:
        assert experiments.find_by_key(s, key).end_time == ended_at
    stopped = new_experiment(env, project="batch-end")
    with env["db"].session() as s:
        experiments.request_stop(s, env["alice"], stopped)
    assert batch(env, stopped, end={"status": "finished"})["metrics"] == 0
    with env["db"].session() as s:
        assert experiments.find_by_key(s, stopped).status == "stopped"
    running = new_experiment(env, project="batch-end")
    for bad in ({"status": "exploded"}, "finished", [1]):
        with pytest.raises(Invalid), env["db"].session() as s:
            ingest.apply_batch(s, env["alice"], running, {"batch_id": "end-bad", "end": bad,
                                                          "metrics": [{"name": "m", "value": 1.0}]})
    with pytest.raises(Forbidden), env["db"].session() as s:
        ingest.apply_batch(s, env["vera"], running, {"batch_id": "end-vera", "end": {"status": "finished"}})
    with env["db"].session() as s:
        exp = experiments.find_by_key(s, running)
        assert exp.status == "running" and exp.end_time is None and metrics.summaries(s, [exp.id]) == []
        assert s.exec(select(ReceivedBatch).where(ReceivedBatch.batch_id.in_(["end-bad", "end-vera"]))).all() == []


def test_heartbeat_moves_last_heartbeat_only(env):
    key = new_experiment(env, project="beats")
    with env["db"].session() as s:
        before = experiments.find_by_key(s, key)
        updated, beat = before.updated_at, before.last_heartbeat
    with env["db"].session() as s:
        assert ingest.heartbeat(s, env["alice"], key) == (False, None)
    with env["db"].session() as s:
        after = experiments.find_by_key(s, key)
        assert after.updated_at == updated and after.last_heartbeat > beat


def test_first_batch_series_lookup_skips_names_that_exist(env):
    """A run's first batch inserts its series first (a concurrent first batch may have made
    some): existing names keep their ids and only the new ones count as created."""
    key = new_experiment(env)
    with env["db"].session() as s:
        exp_id = experiments.find_by_key(s, key).id
        first, created = metrics._series_ids(s, exp_id, {"a", "b"}, probably_new=True)
        assert created == set(first.values())
    with env["db"].session() as s:
        again, created = metrics._series_ids(s, exp_id, {"a", "b", "c"}, probably_new=True)
        assert {n: again[n] for n in ("a", "b")} == first and created == {again["c"]}


def test_metrics_sharing_a_batch_summarise_as_if_each_came_alone(env):
    """A batch's series are summarised together; each must come out as it would on its own:
    all-NaN, all-infinite, tied highest steps, no steps, a single point, mixed NaN/Inf."""
    rng = np.random.default_rng(7)
    shapes = {
        "all_nan": ["NaN"] * 5,
        "all_inf": ["Infinity", "-Infinity", "Infinity"],
        "single": [0.5],
        "mixed": [float(v) for v in rng.normal(size=40)] + ["NaN", "Infinity", -1e9, 3.0],
        "ties": [1.0, 2.0, 2.0, 1.0],
        "no_steps": [float(v) for v in rng.normal(size=70)],
    }
    steps = {"ties": [0, 5, 5, 5], "no_steps": None}

    def entry(name: str, values: list) -> dict:
        n = len(values)
        given = steps.get(name, [int(s) for s in rng.permutation(n)] if name == "mixed" else list(range(n)))
        return {"name": name, "value": values, "step": given, "timestamp": [1000.0 + i for i in range(n)]}

    entries = [entry(name, values) for name, values in shapes.items()]
    together, alone = new_experiment(env), new_experiment(env)
    batch(env, together, metric_columns=entries)
    for e in entries:
        batch(env, alone, metric_columns=[e])
    with env["db"].session() as s:
        ids = [experiments.find_by_key(s, k).id for k in (together, alone)]
        one, other = ({m.name: metrics.summary_dict(m) for m in metrics.summaries(s, [i])} for i in ids)
        assert one == other and set(one) == set(shapes)
        assert one["all_nan"]["min"] is None and one["all_nan"]["last"] == "NaN"
        assert one["ties"]["last_step"] == 5 and one["ties"]["last"] == 1.0
        assert one["no_steps"]["last_step"] is None and one["mixed"]["min"] == -1e9
        for name in shapes:  # and the rollup blocks are the same
            a, b = (metric_rollup.read(s, [sid]) for sid in (
                s.exec(select(metrics.MetricSeries.id).where(metrics.MetricSeries.experiment_id == i,
                                                              metrics.MetricSeries.name == name)).one() for i in ids))
            (da,), (db,) = a.values() or [{}], b.values() or [{}]
            assert da.keys() == db.keys() and all(np.array_equal(da[k], db[k], equal_nan=True) for k in da)
