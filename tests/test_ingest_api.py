"""The logging REST API against a live ``halley serve``: create/resume, batches, assets,
heartbeat/stop/end, reads, and the error cases (which must change nothing)."""
from __future__ import annotations

import gzip
import json
import math
import re
import threading
import uuid
from datetime import timedelta

import pytest
import requests
from sqlmodel import select

from dashboard.auth import Actor
from dashboard.services import workspaces
from models import Experiment, utcnow
from tests.conftest import Accounts, LiveServer, api, start_experiments_at_once


def start(session, url, **body) -> dict:
    r = session.post(url + "/api/v1/experiments", json=body)
    assert r.status_code in (200, 201), r.text
    return r.json()


def post_batch(session, url, key, **body):
    body.setdefault("batch_id", uuid.uuid4().hex)
    return session.post(f"{url}/api/v1/experiments/{key}/batch", json=body)


def summary(session, url, key) -> dict:
    r = session.get(f"{url}/api/v1/experiments/{key}/metrics/summary")
    assert r.status_code == 200, r.text
    return {m["name"]: m for m in r.json()["metrics"]}


@pytest.fixture
def owner(server, user):
    return api(server, user.api_key), user


def test_create_and_resume(server, owner):
    s, user = owner
    body = start(s, server.url, project="create-resume", name="first run")
    key = body["experiment_key"]
    assert len(key) == 32 and body["workspace"] == user.workspace and body["project"] == "create-resume"
    assert body["url"] == f"/{user.workspace}/create-resume/{key}" and body["heartbeat_interval_s"] == 5
    r = s.post(server.url + "/api/v1/experiments", json={"experiment_key": key})
    assert r.status_code == 200 and r.json()["experiment_key"] == key and r.json()["name"] == "first run"
    chosen = "B" * 40
    r = s.post(server.url + "/api/v1/experiments", json={"experiment_key": chosen})
    assert r.status_code == 201 and r.json()["project"] == "general"
    # a run logged without a name gets a readable one (Comet style), kept when resumed
    generated = r.json()["name"]
    assert re.fullmatch(r"[a-z-]+_[a-z-]+_\d{4}", generated), generated
    assert s.post(server.url + "/api/v1/experiments", json={"experiment_key": chosen}).json()["name"] == generated
    for bad in ("short", "x" * 51, "not-alphanumeric-key-0123456789abcdef"):
        r = s.post(server.url + "/api/v1/experiments", json={"experiment_key": bad})
        assert r.status_code == 400 and r.json()["status"] == 400
    assert s.post(server.url + "/api/v1/experiments", json={"workspace": "nobody-here"}).status_code == 404
    names = [e["experiment_key"] for e in
             s.get(f"{server.url}/api/v1/workspaces/{user.workspace}/projects/create-resume/experiments").json()[
                 "experiments"]]
    assert names == [key]


def test_batch_round_trip_of_every_field(server, owner):
    s, user = owner
    key = start(s, server.url, project="round-trip")["experiment_key"]
    batch = {
        "metrics": [{"name": "loss", "value": 1.5, "step": 1, "epoch": 0, "timestamp": 1700000000.5,
                     "context": "train"},
                    {"name": "loss", "value": "NaN", "step": 2},
                    {"name": "loss", "value": "Infinity", "step": 3},
                    {"name": "loss", "value": "-Infinity", "step": 4},
                    {"name": "loss", "value": 0.25, "step": 5}],
        "parameters": [{"name": "lr", "value": 0.001}, {"name": "layers", "value": [64, 32]},
                       {"name": "opt", "value": {"name": "adam", "beta": 0.9}}, {"name": "shuffle", "value": True},
                       {"name": "lr", "value": 0.01, "step": 3, "source": "cli"}],
        "others": [{"key": "Name", "value": "renamed-by-other"}, {"key": "dataset", "value": "mnist"}],
        "tags": ["baseline", "gpu", "baseline"],
        "system_info": [{"key": "gpu_count", "value": 2}],
        "details": {"host": "box1", "os": "Linux", "python_version": "3.11.7", "pid": 4242,
                    "command": ["train.py", "--lr", "0.01"], "file_name": "train.py",
                    "installed_packages": ["numpy==2.0", "torch==2.3"],
                    "git": {"commit": "abc123", "branch": "main", "remote": "git@x:y.git"}},
        "output": [{"text": "epoch 1\n", "offset": 0}, {"text": "warning\n", "stderr": True, "offset": 1}],
        "html": [{"html": "<p>one</p>"}, {"html": "<p>two</p>"}],
        "graph": "digraph { a -> b }",
    }
    r = post_batch(s, server.url, key, **batch)
    assert r.status_code == 200, r.text
    stored = r.json()["stored"]
    assert r.json()["ok"] and stored["metrics"] == 5 and stored["parameters"] == 5 and stored["tags"] == 2

    base = f"{server.url}/api/v1/experiments/{key}"
    pts = s.get(base + "/metrics", params={"name": "loss"}).json()["metrics"]
    assert [p["value"] for p in pts] == ["NaN", "Infinity", "-Infinity", 0.25]
    assert all(p["timestamp"] for p in pts)  # filled by the server when missing
    # a point with a context is a series of its own, named as Comet names it
    assert s.get(base + "/metrics", params={"name": "train_loss"}).json()["metrics"] == [
        {"name": "train_loss", "value": 1.5, "step": 1, "epoch": 0, "timestamp": 1700000000.5, "context": "train"}]
    post_batch(s, server.url, key, metrics=[{"name": "acc", "value": 0.5, "step": 1}])
    every = s.get(base + "/metrics").json()["metrics"]
    assert [p["name"] for p in every] == ["acc"] + ["loss"] * 4 + ["train_loss"]
    loss = summary(s, server.url, key)["loss"]
    assert (loss["count"], loss["invalid_count"], loss["last"], loss["min"], loss["max"]) == (4, 3, 0.25, 0.25, 0.25)
    assert sorted(summary(s, server.url, key)) == ["acc", "loss", "train_loss"]
    assert (loss["first_step"], loss["last_step"]) == (2, 5)

    params = {p["name"]: p for p in s.get(base + "/parameters").json()["parameters"]}
    assert params["lr"]["value"] == "0.01" and params["lr"]["step"] == 3 and params["lr"]["source"] == "cli"
    assert json.loads(params["layers"]["value_json"]) == [64, 32]
    assert json.loads(params["opt"]["value_json"]) == {"name": "adam", "beta": 0.9}
    assert params["shuffle"]["value"] == "true" and json.loads(params["shuffle"]["value_json"]) is True
    history = s.get(base + "/parameters/lr/history").json()["values"]
    assert [h["value"] for h in history] == ["0.001", "0.01"] and history[1]["step"] == 3

    others = {o["key"]: o["value"] for o in s.get(base + "/others").json()["others"]}
    assert others == {"Name": "renamed-by-other", "dataset": "mnist"}
    assert s.get(base + "/tags").json()["tags"] == ["baseline", "gpu"]
    meta = s.get(base).json()
    assert meta["name"] == "renamed-by-other" and meta["status"] == "running" and meta["host"] == "box1"
    assert meta["file_name"] == "train.py" and meta["end_time"] is None and meta["start_time"].endswith("+00:00")
    system = s.get(base + "/system").json()
    assert system["details"]["command"] == ["train.py", "--lr", "0.01"] and system["details"]["pid"] == 4242
    assert system["system_info"] == {"gpu_count": 2}
    assert system["installed_packages"] == ["numpy==2.0", "torch==2.3"]
    assert system["git"]["branch"] == "main" and system["git"]["commit"] == "abc123"
    out = s.get(base + "/output").json()["output"]
    assert [(o["text"], o["stderr"], o["offset"]) for o in out] == [("epoch 1\n", False, 0), ("warning\n", True, 1)]

    r = post_batch(s, server.url, key, name="set-by-name", html=[{"html": "<p>three</p>"}],
                   output=[{"text": "more\n"}])
    assert r.status_code == 200
    assert s.get(base).json()["name"] == "set-by-name"
    assert s.get(base + "/output").json()["output"][-1]["offset"] == 2
    with Accounts(server).db.session() as session:
        exp = session.exec(select(Experiment).where(Experiment.key == key)).one()
        assert exp.html == "<p>one</p><p>two</p><p>three</p>" and exp.graph == "digraph { a -> b }"
    assert post_batch(s, server.url, key, html=[{"html": "<p>only</p>", "override": True}]).status_code == 200
    with Accounts(server).db.session() as session:
        assert session.exec(select(Experiment).where(Experiment.key == key)).one().html == "<p>only</p>"


def test_summaries_across_batches_and_gzip_bodies(server, owner):
    s, _ = owner
    key = start(s, server.url, project="summaries")["experiment_key"]
    values = {step: math.sin(step / 7) * 10 for step in range(300)}
    steps = list(values)
    for chunk in (steps[200:], steps[:100], steps[100:200]):  # out of order on purpose
        body = {"batch_id": uuid.uuid4().hex,
                "metrics": [{"name": "wave", "value": values[i], "step": i, "timestamp": 1000.0 + i} for i in chunk]}
        r = s.post(f"{server.url}/api/v1/experiments/{key}/batch", data=gzip.compress(json.dumps(body).encode()),
                   headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        assert r.status_code == 200, r.text
    wave = summary(s, server.url, key)["wave"]
    lo = min(values, key=values.get)
    hi = max(values, key=values.get)
    assert wave["count"] == 300 and wave["invalid_count"] == 0
    assert wave["min"] == values[lo] and wave["min_step"] == lo and wave["max"] == values[hi] and wave["max_step"] == hi
    assert wave["first_step"] == 0 and wave["last_step"] == 299 and wave["last"] == values[299]
    assert (wave["first_timestamp"], wave["last_timestamp"]) == (1000.0, 1299.0)
    pts = s.get(f"{server.url}/api/v1/experiments/{key}/metrics", params={"name": "wave"}).json()["metrics"]
    assert [p["step"] for p in pts] == steps


def test_metric_columns_batch_round_trip(server, owner):
    s, _ = owner
    key = start(s, server.url, project="columns")["experiment_key"]
    body = {"metric_columns": [
        {"name": "loss", "value": [1.5, "NaN", "Infinity", "-Infinity", 0.25], "step": [0, 1, 2, 3, 4],
         "timestamp": [100.0, 101.0, 102.0, 103.0, 104.0], "context": [None, None, "val", None, None]},
        {"name": "lr", "value": [0.1, 0.05], "epoch": [0, 1]},
    ]}
    r = post_batch(s, server.url, key, **body)
    assert r.status_code == 200 and r.json()["stored"]["metrics"] == 7, r.text
    pts = s.get(f"{server.url}/api/v1/experiments/{key}/metrics", params={"name": "loss"}).json()["metrics"]
    assert [p["value"] for p in pts] == [1.5, "NaN", "-Infinity", 0.25]
    assert [p["timestamp"] for p in pts] == [100.0, 101.0, 103.0, 104.0]
    val = s.get(f"{server.url}/api/v1/experiments/{key}/metrics", params={"name": "val_loss"}).json()["metrics"]
    assert [(p["value"], p["timestamp"], p["context"]) for p in val] == [("Infinity", 102.0, "val")]
    sums = summary(s, server.url, key)
    assert (sums["loss"]["count"], sums["loss"]["invalid_count"], sums["loss"]["last"]) == (4, 2, 0.25)
    assert (sums["loss"]["min"], sums["loss"]["max"]) == (0.25, 1.5)
    lr = s.get(f"{server.url}/api/v1/experiments/{key}/metrics", params={"name": "lr"}).json()["metrics"]
    assert [(p["value"], p["epoch"], p["step"]) for p in lr] == [(0.1, 0, None), (0.05, 1, None)]


def test_duplicate_batch_id_is_acknowledged_and_ignored(server, owner):
    s, _ = owner
    key = start(s, server.url, project="dupes")["experiment_key"]
    body = {"batch_id": uuid.uuid4().hex, "metrics": [{"name": "m", "value": 1, "step": 0}],
            "parameters": [{"name": "p", "value": 1}], "output": [{"text": "x\n"}]}
    assert post_batch(s, server.url, key, **body).json()["stored"]["metrics"] == 1
    again = post_batch(s, server.url, key, **body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert summary(s, server.url, key)["m"]["count"] == 1
    base = f"{server.url}/api/v1/experiments/{key}"
    assert len(s.get(base + "/parameters/p/history").json()["values"]) == 1
    assert len(s.get(base + "/output").json()["output"]) == 1


def test_a_batch_carrying_the_end_ends_the_run_once(server, owner):
    s, user = owner
    key = start(s, server.url, project="batch-end")["experiment_key"]
    base = f"{server.url}/api/v1/experiments/{key}"
    body = {"batch_id": uuid.uuid4().hex, "metric_columns": [{"name": "m", "value": [1.0, 2.0], "step": [0, 1]}],
            "end": {"status": "crashed"}}
    r = post_batch(s, server.url, key, **body)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["stored"]["metrics"] == 2 and reply["end"]["status"] == "crashed"
    meta = s.get(base).json()
    assert meta["status"] == "crashed" and meta["end_time"] == reply["end"]["end_time"]
    # A retry of the same batch (its answer was lost, say) adds nothing and ends nothing again.
    again = post_batch(s, server.url, key, **body)
    assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["end"] == reply["end"]
    assert summary(s, server.url, key)["m"]["count"] == 2 and s.get(base).json()["end_time"] == meta["end_time"]
    # POST .../end still works after it (older clients, halley upload).
    assert s.post(base + "/end", json={"status": "finished"}).json()["status"] == "finished"

    stopped = start(s, server.url, project="batch-end")["experiment_key"]
    assert s.post(f"{server.url}/api/v1/experiments/{stopped}/stop").status_code == 200
    r = post_batch(s, server.url, stopped, end={"status": "finished"})
    assert r.status_code == 200 and r.json()["end"]["status"] == "stopped"

    running = start(s, server.url, project="batch-end")["experiment_key"]
    plain = post_batch(s, server.url, running, metrics=[{"name": "m", "value": 1.0, "step": 0}])
    assert plain.status_code == 200 and "end" not in plain.json()
    assert s.get(f"{server.url}/api/v1/experiments/{running}").json()["status"] == "running"


def test_asset_round_trip_with_a_hostile_name(server, owner):
    s, _ = owner
    key = start(s, server.url, project="assets")["experiment_key"]
    base = f"{server.url}/api/v1/experiments/{key}/assets"
    payload = b"root:x:0:0 not really\n" * 100
    r = s.post(base, files={"file": ("whatever.bin", payload, "application/octet-stream")},
               data={"type": "text", "name": "../../etc/passwd", "step": "3", "epoch": "1", "context": "train",
                     "metadata": json.dumps({"kind": "sample"}), "asset_id": "asset-hostile-1"})
    assert r.status_code == 201, r.text
    assert r.json() == {"asset_id": "asset-hostile-1", "name": "../../etc/passwd", "size": len(payload)}
    again = s.post(base, files={"file": ("x", b"different", "application/octet-stream")},
                   data={"type": "text", "name": "other", "asset_id": "asset-hostile-1"})
    assert again.status_code == 201 and again.json()["size"] == len(payload)
    s.post(base, files={"file": ("pic.png", b"\x89PNG fake", "image/png")}, data={"type": "image"})

    listed = s.get(base).json()["assets"]
    assert len(listed) == 2
    text = s.get(base, params={"type": "text"}).json()["assets"]
    assert len(text) == 1
    a = text[0]
    assert (a["name"], a["step"], a["epoch"], a["context"], a["metadata"], a["size"]) == (
        "../../etc/passwd", 3, 1, "train", {"kind": "sample"}, len(payload))
    got = s.get(f"{base}/asset-hostile-1")
    assert got.status_code == 200 and got.content == payload
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "passwd" in disposition and ".." not in disposition
    assert "/" not in disposition and got.headers["X-Content-Type-Options"] == "nosniff"
    stored = [p for p in (server.home / "assets").rglob("*") if p.is_file() and p.parent.name != "icons"]
    assert stored and all(p.name != "passwd" and len(p.name) == 32 for p in stored)
    assert s.get(f"{base}/no-such-asset").status_code == 404
    assert s.post(base, data={"type": "text"}).status_code == 400
    assert s.post(base, files={"file": ("a", b"a")}, data={"type": "spreadsheet"}).status_code == 400
    assert s.post(base, files={"file": ("a", b"a")}, data={"type": "text", "step": "x"}).status_code == 400
    assert s.post(base, files={"file": ("a", b"a")}, data={"type": "text", "metadata": "[1]"}).status_code == 400
    assert len(s.get(base).json()["assets"]) == 2


def test_size_limits_answer_413(tmp_path):
    srv = LiveServer(tmp_path / "small", extra_env={"HALLEY_MAX_ASSET_MB": "1", "HALLEY_MAX_REQUEST_MB": "2"})
    srv.start()
    try:
        user = Accounts(srv).create("small")
        s = api(srv, user.api_key)
        key = start(s, srv.url)["experiment_key"]
        r = s.post(f"{srv.url}/api/v1/experiments/{key}/assets",
                   files={"file": ("big.bin", b"0" * (1024 * 1024 + 10), "application/octet-stream")},
                   data={"type": "file"})
        assert r.status_code == 413 and r.json()["status"] == 413  # found while storing the upload
        r = s.post(f"{srv.url}/api/v1/experiments/{key}/assets",
                   files={"file": ("bigger.bin", b"0" * (5 * 1024 * 1024), "application/octet-stream")},
                   data={"type": "file"})
        assert r.status_code == 413  # refused by its declared length, body drained
        huge = [{"name": "m", "value": 1.0, "step": i} for i in range(80000)]
        r = post_batch(s, srv.url, key, metrics=huge)
        assert r.status_code == 413
        assert s.get(f"{srv.url}/api/v1/experiments/{key}/assets").json()["assets"] == []
        assert summary(s, srv.url, key) == {}
        assert not [p for p in (srv.home / "assets").rglob("*") if p.is_file()]
        small = s.post(f"{srv.url}/api/v1/experiments/{key}/assets", files={"file": ("ok.txt", b"ok")},
                       data={"type": "text"})
        assert small.status_code == 201
    finally:
        srv.stop()


def test_bad_requests_change_nothing(server, accounts, owner):
    s, user = owner
    key = start(s, server.url, project="refusals")["experiment_key"]
    assert post_batch(s, server.url, key, metrics=[{"name": "m", "value": 1.0, "step": 0}]).status_code == 200
    viewer = accounts.create("viewer")
    with accounts.db.session() as session:
        ws = workspaces.find_by_name(session, user.workspace)
        workspaces.add_collaborator(session, Actor(user_id=ws.default_for_user_id, username=user.username), ws.id,
                                    viewer.username, "viewer")
    viewer.api_key = accounts.key_for(viewer, user.workspace)
    outsider = accounts.create("outsider")
    point = {"metrics": [{"name": "m", "value": 2.0, "step": 1}], "tags": ["nope"]}
    url = f"{server.url}/api/v1/experiments/{key}/batch"

    cases = [
        (requests.post(url, json={"batch_id": "a1", **point}), 401),
        (requests.post(url, json={"batch_id": "a2", **point}, headers={"Authorization": "wrong"}), 401),
        (post_batch(api(server, viewer.api_key), server.url, key, **point), 403),
        (post_batch(api(server, outsider.api_key), server.url, key, **point), 404),
        (post_batch(s, server.url, "f" * 32, **point), 404),
        (s.post(url, data=b"{this is not json", headers={"Content-Type": "application/json"}), 400),
        (s.post(url, data=b"", headers={"Content-Type": "application/json"}), 400),
        (s.post(url, json=[1, 2]), 400),
        (s.post(url, json=point), 400),  # no batch_id
        (post_batch(s, server.url, key, metrics=[{"name": "m", "value": 1.0}, {"name": "m", "value": "lots"}]), 400),
        (post_batch(s, server.url, key, metrics=[{"name": "m", "value": 1.0, "step": 1.5}]), 400),
        (post_batch(s, server.url, key, metrics=[{"name": "", "value": 1.0}]), 400),
        (post_batch(s, server.url, key, **point, metric_columns=[{"name": "m", "value": [2.0], "step": [1, 2]}]), 400),
        (post_batch(s, server.url, key, **point, metric_columns=[{"name": "m", "value": [2.0, "Inf"]}]), 400),
        (post_batch(s, server.url, key, tags="not-a-list"), 400),
        (post_batch(s, server.url, key, parameters=[{"name": "p", "value": 1, "source": "magic"}]), 400),
        (post_batch(s, server.url, key, **point, output=[{"stderr": True}]), 400),
        (api(server, viewer.api_key).post(f"{server.url}/api/v1/experiments/{key}/stop"), 403),
        (api(server, viewer.api_key).post(f"{server.url}/api/v1/experiments/{key}/end",
                                          json={"status": "finished"}), 403),
        (s.post(f"{server.url}/api/v1/experiments/{key}/end", json={"status": "exploded"}), 400),
        (post_batch(api(server, viewer.api_key), server.url, key, **point, end={"status": "finished"}), 403),
        (post_batch(s, server.url, key, **point, end={"status": "exploded"}), 400),
        (post_batch(s, server.url, key, **point, end="finished"), 400),
        (api(server, viewer.api_key).post(f"{server.url}/api/v1/experiments/{key}/assets",
                                          files={"file": ("a", b"a")}, data={"type": "text"}), 403),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.text)
        assert response.json()["status"] == status and response.json()["error"]
    assert summary(s, server.url, key)["m"]["count"] == 1
    meta = s.get(f"{server.url}/api/v1/experiments/{key}").json()
    assert meta["status"] == "running" and not meta["stop_requested"]
    assert s.get(f"{server.url}/api/v1/experiments/{key}/tags").json()["tags"] == []
    assert s.get(f"{server.url}/api/v1/experiments/{key}/assets").json()["assets"] == []
    # A viewer can read what it can't write; an outsider can't even see it.
    assert api(server, viewer.api_key).get(f"{server.url}/api/v1/experiments/{key}").status_code == 200
    assert api(server, outsider.api_key).get(f"{server.url}/api/v1/experiments/{key}/tags").status_code == 404


def test_heartbeat_stop_end_flow(server, owner):
    s, user = owner
    key = start(s, server.url, project="lifecycle")["experiment_key"]
    base = f"{server.url}/api/v1/experiments/{key}"
    assert s.post(base + "/heartbeat", json={}).json() == {"stop_requested": False, "stopped_by": None}
    r = s.post(base + "/stop")
    assert r.status_code == 200 and r.json()["stopped_by"] == user.username
    assert s.post(base + "/heartbeat", json={}).json() == {"stop_requested": True, "stopped_by": user.username}
    r = s.post(base + "/end", json={"status": "finished"})
    assert r.status_code == 200 and r.json()["status"] == "stopped"
    meta = s.get(base).json()
    assert meta["status"] == "stopped" and meta["end_time"] and meta["duration_s"] >= 0

    other = start(s, server.url, project="lifecycle")["experiment_key"]
    assert s.post(f"{server.url}/api/v1/experiments/{other}/end", json={"status": "finished"}).json()["status"] \
        == "finished"
    resumed = s.post(server.url + "/api/v1/experiments", json={"experiment_key": other})
    assert resumed.status_code == 200
    assert s.get(f"{server.url}/api/v1/experiments/{other}").json()["status"] == "running"


def test_lost_heartbeat_reads_as_crashed(server, accounts, owner):
    s, user = owner
    key = start(s, server.url, project="lost")["experiment_key"]
    base = f"{server.url}/api/v1/experiments/{key}"
    assert s.get(base).json()["status"] == "running"
    with accounts.db.session() as session:  # the run's process died 10 minutes ago
        exp = session.exec(select(Experiment).where(Experiment.key == key)).one()
        exp.last_heartbeat = utcnow() - timedelta(minutes=10)
        session.add(exp)
    assert s.get(base).json()["status"] == "crashed"
    listed = s.get(f"{server.url}/api/v1/workspaces/{user.workspace}/projects/lost/experiments").json()
    assert [e["status"] for e in listed["experiments"]] == ["crashed"]
    s.post(base + "/heartbeat", json={})
    assert s.get(base).json()["status"] == "running"


def test_workspace_and_project_reads(server, owner):
    s, user = owner
    start(s, server.url, project="reads-a")
    start(s, server.url, project="reads-a")
    start(s, server.url, project="reads-b")
    assert user.workspace in s.get(server.url + "/api/v1/workspaces").json()["workspaces"]
    projects = {p["name"]: p for p in s.get(f"{server.url}/api/v1/workspaces/{user.workspace}/projects").json()[
        "projects"]}
    assert projects["reads-a"]["experiment_count"] == 2 and projects["reads-b"]["experiment_count"] == 1
    assert projects["reads-a"]["public"] is False
    assert s.get(f"{server.url}/api/v1/workspaces/{user.workspace}/projects/missing/experiments").status_code == 404
    assert requests.get(server.url + "/api/v1/workspaces").status_code == 401


def test_a_100k_point_batch_is_stored(server, owner):
    s, _ = owner
    key = start(s, server.url, project="big-batch")["experiment_key"]
    points = [{"name": f"m{i % 4}", "value": i * 0.5, "step": i // 4, "epoch": 0} for i in range(100_000)]
    r = post_batch(s, server.url, key, metrics=points)
    assert r.status_code == 200 and r.json()["stored"]["metrics"] == 100_000
    sums = summary(s, server.url, key)
    assert sorted(sums) == ["m0", "m1", "m2", "m3"] and all(m["count"] == 25_000 for m in sums.values())
    assert sums["m3"]["last"] == 99_999 * 0.5 and sums["m0"]["min"] == 0.0
    pts = s.get(f"{server.url}/api/v1/experiments/{key}/metrics", params={"name": "m1"}).json()["metrics"]
    assert len(pts) == 25_000 and pts[-1]["step"] == 24_999


def test_openapi_documents_the_batch_body(server):
    doc = requests.get(server.url + "/api/v1/openapi.json").json()
    batch = doc["paths"]["/api/v1/experiments/{key}/batch"]["post"]
    assert batch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/BatchIn")
    assert {"metrics", "metric_columns", "end"} <= set(doc["components"]["schemas"]["BatchIn"]["properties"])
    end = doc["components"]["schemas"]["BatchIn"]["properties"]["end"]
    assert "same transaction" in end["description"]
    assert doc["components"]["schemas"]["BatchEndIn"]["properties"]["status"]["enum"] == ["finished", "crashed",
                                                                                         "stopped"]
    assert "/api/v1/experiments/{key}/assets/{asset_id}" in doc["paths"]


def test_concurrent_batches_to_one_experiment_lose_nothing(server, user):
    key = start(api(server, user.api_key), server.url, project="concurrent")["experiment_key"]
    errors = []

    def send(worker: int) -> None:
        s = api(server, user.api_key)
        for n in range(5):
            pts = [{"name": name, "value": float(worker * 1000 + n * 100 + i), "step": worker * 1000 + n * 100 + i}
                   for i in range(100) for name in ("shared", f"batch{n}")]
            r = post_batch(s, server.url, key, metrics=pts)
            if r.status_code != 200:
                errors.append(r.text)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sums = summary(api(server, user.api_key), server.url, key)
    assert sums["shared"]["count"] == 2000 and all(sums[f"batch{n}"]["count"] == 400 for n in range(5))
    assert sums["shared"]["max"] == 3499.0 and sums["shared"]["last_step"] == 3499 and sums["shared"]["min"] == 0.0


def test_a_first_batch_can_create_its_experiment(server, accounts, owner):
    """``start`` in a batch creates the experiment when the key is new (one request for a
    short run), applies to an existing key without resuming it, and is refused like POST
    /experiments where that would be."""
    s, user = owner
    key = uuid.uuid4().hex
    body = {"batch_id": uuid.uuid4().hex, "start": {"project": "first-batch", "name": "one request"},
            "metric_columns": [{"name": "m", "value": [1.0, 2.0], "step": [0, 1]}], "end": {"status": "finished"}}
    r = post_batch(s, server.url, key, **body)
    assert r.status_code == 200, r.text
    created = r.json()["experiment"]
    assert created == {"experiment_key": key, "workspace": user.workspace, "project": "first-batch",
                       "name": "one request", "url": f"/{user.workspace}/first-batch/{key}",
                       "heartbeat_interval_s": 5}
    meta = s.get(f"{server.url}/api/v1/experiments/{key}").json()
    assert meta["status"] == "finished" and summary(s, server.url, key)["m"]["count"] == 2
    # the same batch again (its answer was lost): nothing more, no resume, still finished
    again = post_batch(s, server.url, key, **body)
    assert again.json()["duplicate"] is True and "experiment" not in again.json()
    later = post_batch(s, server.url, key, start={"project": "elsewhere"}, metrics=[{"name": "m", "value": 3.0}])
    assert later.status_code == 200 and "experiment" not in later.json()
    meta = s.get(f"{server.url}/api/v1/experiments/{key}").json()
    assert meta["status"] == "finished" and meta["project"] == "first-batch"
    # refused, changing nothing: another user's key (the answer POST /experiments gives for a key
    # the caller can't use), a bad key, a workspace the caller can't log into
    other = api(server, accounts.create("first-batch-other").api_key)
    r = post_batch(other, server.url, key, start={}, metrics=[{"name": "m", "value": 9.0}])
    assert r.status_code == 409 and summary(s, server.url, key)["m"]["count"] == 3
    assert r.json() == other.post(server.url + "/api/v1/experiments", json={"experiment_key": key}).json()
    assert post_batch(s, server.url, "short", start={}).status_code == 400
    fresh = uuid.uuid4().hex
    r = post_batch(s, server.url, fresh, start={"workspace": "nobody-here"}, metrics=[{"name": "m", "value": 1.0}])
    assert r.status_code == 404 and s.get(f"{server.url}/api/v1/experiments/{fresh}").status_code == 404


def test_runs_starting_at_once_share_their_new_project(server, user):
    project = "race-" + uuid.uuid4().hex[:8]
    assert start_experiments_at_once(server, user.api_key, project, 6) == [201] * 6
    listed = api(server, user.api_key).get(
        f"{server.url}/api/v1/workspaces/{user.workspace}/projects/{project}/experiments").json()["experiments"]
    assert len(listed) == 6


def test_heartbeats_keep_the_connection_reusable(server, owner):
    """gunicorn drops a kept-alive connection when a route leaves the body unread; the SDK
    heartbeats every few seconds on one connection, so these routes must read theirs."""
    s, _ = owner
    key = start(s, server.url, project="keepalive")["experiment_key"]
    base = f"{server.url}/api/v1/experiments/{key}"
    for _ in range(60):
        assert s.post(base + "/heartbeat", json={}).status_code == 200
        assert s.post(base + "/stop", json={}).status_code == 200


def test_public_project_reads_are_open_private_ones_are_not(server, accounts):
    """Anonymous visitors read a public project's experiments (REST too), never a private one's."""
    owner = accounts.create("pub")
    h = {"Authorization": owner.api_key}
    keys = {}
    for project in ("open", "closed"):
        key = requests.post(server.url + "/api/v1/experiments", json={"project": project}, headers=h).json()["experiment_key"]
        r = requests.post(server.url + f"/api/v1/experiments/{key}/assets", headers=h, data={"type": "file", "name": "a.txt"},
                          files={"file": ("file", b"hello")})
        keys[project] = (key, r.json()["asset_id"])
    r = requests.patch(server.url + f"/api/v1/workspaces/{owner.workspace}/projects/open", json={"public": True}, headers=h)
    assert r.ok, r.text
    key, asset = keys["open"]
    assert requests.get(server.url + f"/api/v1/experiments/{key}/assets/{asset}").content == b"hello"
    assert requests.get(server.url + f"/api/v1/experiments/{key}").json()["project"] == "open"
    key, asset = keys["closed"]
    assert requests.get(server.url + f"/api/v1/experiments/{key}/assets/{asset}").status_code == 404
    assert requests.get(server.url + f"/api/v1/experiments/{key}/metrics").status_code == 404
    # Writes still need a key.
    assert requests.post(server.url + f"/api/v1/experiments/{keys['open'][0]}/heartbeat", json={}).status_code == 401
