"""Bad request bodies get a clear 4xx and change nothing: size and gzip limits before anything
reads a body, bounded JSON, numbers and lists checked by the routes, files written only for
assets that are stored, names without bidirectional controls, a tag limit, and JSON 404s for
unknown API paths. Each test here failed (a 5xx, a stored value, a file left, memory taken)
before the guard it checks."""
from __future__ import annotations

import gzip
import json
import uuid

import psutil
import pytest
import requests
from alembic import command
from sqlalchemy import text

from dashboard.db import Database, alembic_config, get_engine, migrate
from tests.conftest import LiveServer, api

DEEP = "[" * 5000 + "]" * 5000
MB = 1024 * 1024


@pytest.fixture
def owner(server, user):
    return api(server, user.api_key), user


def new_run(s, url, project="guarded") -> str:
    r = s.post(url + "/api/v1/experiments", json={"project": project})
    assert r.status_code == 201, r.text
    return r.json()["experiment_key"]


def comet_run(s, url, user) -> str:
    r = s.post(url + "/clientlib/logger/add/run", json={"projectName": "guarded-comet", "teamName": user.workspace})
    assert r.status_code == 200, r.text
    return r.json()["experimentKey"]


def server_memory(server: LiveServer) -> int:
    """Resident bytes of the server's whole process tree."""
    root = psutil.Process(server.proc.pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])


def stored(s, url, key) -> dict:
    base = f"{url}/api/v1/experiments/{key}"
    return {"metrics": s.get(base + "/metrics/summary").json()["metrics"], "tags": s.get(base + "/tags").json(),
            "output": s.get(base + "/output").json(), "assets": s.get(base + "/assets").json()["assets"]}


# --- sizes and gzip, before any check of who asks ---------------------------------------------------

def test_large_and_inflating_bodies_cost_no_memory(server):
    """A 300 MB body sent as gzip (it isn't) and a gzip bomb that inflates to 300 MB, both from
    an anonymous client: refused with 413, and the server's memory stays where it was (the
    whole body used to be read, then inflated, first)."""
    before = server_memory(server)
    r = requests.post(server.url + "/api/v1/health", data=b"\0" * (300 * MB),
                      headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["error"]
    bomb = gzip.compress(b"\0" * (300 * MB), compresslevel=9)
    r = requests.post(server.url + "/api/v1/experiments", data=bomb,
                      headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["error"]
    r = requests.post(server.url + "/clientlib/logger/add/run", data=bomb,
                      headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["msg"]  # comet_ml's error shape
    assert server_memory(server) - before < 100 * MB
    assert requests.get(server.url + "/api/v1/health").status_code == 200


def test_bodies_the_server_cannot_read_are_refused_clearly(owner, server):
    s, _ = owner
    key = new_run(s, server.url)
    url = f"{server.url}/api/v1/experiments/{key}/batch"
    cut = gzip.compress(json.dumps({"batch_id": "x"}).encode())[:-6]
    r = s.post(url, data=cut, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 400 and "gzip" in r.json()["error"]
    r = s.post(url, data=b"{}", headers={"Content-Encoding": "br", "Content-Type": "application/json"})
    assert r.status_code == 415
    r = s.post(url, data=b'{"batch_id": "\xff"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "UTF-8" in r.json()["error"]
    packed = gzip.compress(json.dumps({"batch_id": uuid.uuid4().hex, "tags": ["zipped"]}).encode())
    r = s.post(url, data=packed, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 200 and s.get(f"{server.url}/api/v1/experiments/{key}/tags").json()["tags"] == ["zipped"]


def test_anonymous_bodies_over_a_megabyte_are_refused(server):
    big = json.dumps({"x": "a" * (2 * MB)})
    for path in ("/api/v1/experiments", "/clientlib/logger/add/run", "/auth/login"):
        r = requests.post(server.url + path, data=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 413, (path, r.status_code, r.text[:200])


# --- JSON ---------------------------------------------------------------------------------------

def test_deeply_nested_json_is_refused_on_every_route(owner, server):
    s, user = owner
    key = new_run(s, server.url)
    comet_key = comet_run(s, server.url, user)
    for path in (f"/api/v1/experiments/{key}/batch", "/api/v1/experiments",
                 "/clientlib/batch/logger/experiment/metric", "/api/rest/v2/write/experiment/log-other"):
        r = s.post(server.url + path, data='{"experimentKey": "%s", "x": %s}' % (comet_key, DEEP),
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (path, r.status_code, r.text[:200])
        assert "nested too deeply" in r.text
    r = requests.post(server.url + "/_dash-update-component", data='{"output": %s}' % DEEP,
                      headers={"Content-Type": "application/json"})  # before sign-in
    assert r.status_code == 400 and "nested too deeply" in r.text
    for path, upload in ((f"/api/v1/experiments/{key}/assets", {}),
                         ("/clientlib/asset/upload", {"experimentKey": comet_key})):
        r = s.post(server.url + path, params=upload, files={"file": ("a.txt", b"a")},
                   data={"type": "text", "metadata": DEEP})
        assert r.status_code == 400 and "nested too deeply" in r.text, (path, r.text[:200])
    assert stored(s, server.url, key)["assets"] == []


# --- comet_ml's fields ---------------------------------------------------------------------------------

COMET_REFUSALS = [
    ("/clientlib/batch/logger/experiment/metric",
     '{"experimentKey": "%s", "values": [{"metricName": "m", "metricValue": 1, "step": Infinity}]}'),
    ("/clientlib/batch/logger/experiment/metric",
     '{"experimentKey": "%s", "values": [{"metricName": "m", "metricValue": 1, "step": 1, "timestamp": 1e400}]}'),
    ("/clientlib/batch/logger/experiment/metric", '{"experimentKey": "%s", "values": 5}'),
    ("/clientlib/batch/logger/experiment/metric", '{"experimentKey": "%s", "values": [5]}'),
    ("/clientlib/batch/logger/experiment/parameter",
     '{"experimentKey": "%s", "values": [{"parameterName": "p", "parameterValue": 1, "step": -Infinity}]}'),
    ("/api/rest/v2/write/experiment/system-details", '{"experimentKey": "%s", "pid": Infinity}'),
    ("/clientlib/status-report/offline-metadata", '{"experimentKey": "%s", "startTimestamp": NaN}'),
    ("/clientlib/status-report/offline-metadata", '{"experimentKey": "%s", "startTimestamp": 1e18}'),
    ("/clientlib/tags/add-tags-to-experiment", '{"experimentKey": "%s", "addedTags": 5}'),
    ("/api/rest/v2/write/experiment/tags", '{"experimentKey": "%s", "addedTags": [1, 2]}'),
    ("/api/rest/v2/write/experiment/output", '{"experimentKey": "%s", "outputLines": 5}'),
    ("/api/rest/v2/write/experiment/dependencies", '{"experimentKey": "%s", "logDependencies": 1e400}'),
    ("/api/rest/v2/write/experiment/system-details", '{"experimentKey": "%s", "installedPackages": 3}'),
    ("/api/rest/v2/write/experiment/html", '{"experimentKey": "%s", "html": "\\ud800"}'),
    ("/api/rest/v2/write/experiment/graph", '{"experimentKey": "%s", "graph": "a\\udc00b"}'),
]


@pytest.mark.parametrize("path, body", COMET_REFUSALS)
def test_comet_fields_out_of_range_or_of_the_wrong_kind_get_a_400(owner, server, path, body):
    s, user = owner
    key = comet_run(s, server.url, user)
    before = stored(s, server.url, key)
    r = s.post(server.url + path, data=body % key, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.json()["msg"]
    assert stored(s, server.url, key) == before


def test_non_finite_metric_values_are_still_stored_and_flagged(owner, server):
    """What the bounds don't touch: comet_ml sends NaN and Infinity for such values."""
    s, user = owner
    key = comet_run(s, server.url, user)
    body = ('{"experimentKey": "%s", "values": [{"metricName": "m", "metricValue": NaN, "step": 1},'
            '{"metricName": "m", "metricValue": Infinity, "step": 2}, {"metricName": "m", "metricValue": 1e31,'
            ' "step": 3}]}') % key
    r = s.post(server.url + "/clientlib/batch/logger/experiment/metric", data=body,
               headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    r = s.get(server.url + "/api/rest/v2/experiment/metrics/get-all", params={"experimentKey": key})
    assert r.status_code == 200
    values = [p["metricValue"] for p in r.json()["metrics"]]
    assert values == ["NaN", "Infinity", "1e+31"]


# --- numbers of the REST API -----------------------------------------------------------------------------

def test_timestamps_outside_1970_to_9999_are_refused(owner, server):
    s, _ = owner
    key = new_run(s, server.url)
    url = f"{server.url}/api/v1/experiments/{key}/batch"
    for bad in (1e308, -1.0, 2e12):
        r = s.post(url, json={"batch_id": uuid.uuid4().hex, "metrics": [{"name": "m", "value": 1, "timestamp": bad}]})
        assert r.status_code == 400 and "timestamp" in r.json()["error"], r.text
        r = s.post(url, json={"batch_id": uuid.uuid4().hex, "output": [{"text": "x", "timestamp": bad}]})
        assert r.status_code == 400, r.text
    r = s.post(url, json={"batch_id": uuid.uuid4().hex, "metric_columns": [
        {"name": "m", "value": [1, 2], "timestamp": [1.7e9, 1e300]}]})
    assert r.status_code == 400
    assert stored(s, server.url, key)["metrics"] == []
    r = s.get(server.url + "/api/rest/v2/experiment/metrics/get-all", params={"experimentKey": key})
    assert r.status_code == 200


def test_times_stored_before_the_bounds_are_cleared_by_the_migration(tmp_path):
    """A database with a metric timestamp of 1e308 (accepted before; it broke every comet_ml
    read of the run) is cleaned when upgraded."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = get_engine(url)
    with engine.begin() as connection:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0003")
    with engine.begin() as c:
        c.execute(text("INSERT INTO workspace (id, name, created_at) VALUES (1, 'w', '2026-01-01')"))
        c.execute(text("INSERT INTO project (id, workspace_id, name, description, is_public, notes, created_at,"
                       " updated_at) VALUES (1, 1, 'p', '', 0, '', '2026-01-01', '2026-01-01')"))
        c.execute(text("INSERT INTO experiment (id, project_id, key, status, archived, visible, stop_requested,"
                       " start_time, updated_at, system_info_json, html, notes)"
                       " VALUES (1, 1, 'k', 'running', 0, 1, 0, '2026-01-01', '2026-01-01', '{}', '', '')"))
        c.execute(text("INSERT INTO metricseries (id, experiment_id, name, count, invalid_count, first_timestamp,"
                       " last_timestamp) VALUES (1, 1, 'm', 2, 0, 1e308, 1.7e9)"))
        c.execute(text("INSERT INTO metricpoint (series_id, step, timestamp, value, invalid)"
                       " VALUES (1, 0, 1e308, 1.0, 0), (1, 1, 1.7e9, 2.0, 0)"))
        c.execute(text("INSERT INTO outputline (experiment_id, \"offset\", stderr, text, timestamp)"
                       " VALUES (1, 0, 0, 'x', -5)"))
    migrate(url)
    with Database(url).engine.connect() as c:
        assert c.execute(text("SELECT timestamp FROM metricpoint ORDER BY step")).scalars().all() == [None, 1.7e9]
        assert c.execute(text("SELECT first_timestamp, last_timestamp FROM metricseries")).one() == (None, 1.7e9)
        assert c.execute(text("SELECT timestamp FROM outputline")).scalar() is None


# --- assets -----------------------------------------------------------------------------------------

def asset_files(server: LiveServer) -> list:
    return [p for p in (server.home / "assets").rglob("*") if p.is_file() and p.parent.name != "icons"]


def test_an_asset_refused_after_its_file_was_written_leaves_no_file(owner, server):
    """Steps beyond 64 bits were found only when the row was written: the file stayed on disk
    and any writer could fill it. Now they are refused first, and a row refused at any point
    takes its file with it."""
    s, user = owner
    key = new_run(s, server.url)
    comet_key = comet_run(s, server.url, user)
    files_before = len(asset_files(server))
    big = str(2**64)
    r = s.post(f"{server.url}/api/v1/experiments/{key}/assets", files={"file": ("a.bin", b"x" * 1000)},
               data={"type": "file", "step": big})
    assert r.status_code == 400 and "step" in r.json()["error"]
    r = s.post(server.url + "/clientlib/asset/upload", params={"experimentKey": comet_key, "step": big},
               files={"file": ("a.bin", b"x" * 1000)})
    assert r.status_code == 400 and "step" in r.json()["msg"]
    r = s.post(server.url + "/clientlib/asset/upload", params={"experimentKey": comet_key, "epoch": "-" + big},
               files={"file": ("a.bin", b"x" * 1000)})
    assert r.status_code == 400
    assert len(asset_files(server)) == files_before
    assert stored(s, server.url, key)["assets"] == []


# --- names and tags ------------------------------------------------------------------------------------

def test_names_with_bidirectional_controls_are_refused(owner, server):
    s, user = owner
    key = new_run(s, server.url)
    url = f"{server.url}/api/v1/experiments/{key}/batch"
    spoof = "\u202egnp.exe"
    for batch in ({"metrics": [{"name": spoof, "value": 1}]}, {"tags": [spoof]}, {"name": spoof},
                  {"parameters": [{"name": spoof, "value": 1}]}, {"others": [{"key": "Name", "value": spoof}]}):
        r = s.post(url, json={"batch_id": uuid.uuid4().hex, **batch})
        assert r.status_code == 400 and "bidirectional" in r.json()["error"], (batch, r.text)
    r = s.post(f"{server.url}/api/v1/workspaces/{user.workspace}/projects", json={"name": "a\u2067b"})
    assert r.status_code == 400 and "bidirectional" in r.json()["error"]
    r = s.post(f"{server.url}/api/v1/experiments/{key}/assets", files={"file": (spoof, b"x")}, data={"type": "file"})
    assert r.status_code == 201 and r.json()["name"] == "gnp.exe"  # a file name is data: shown without them
    assert stored(s, server.url, key)["metrics"] == [] and stored(s, server.url, key)["tags"]["tags"] == []
    r = s.post(url, json={"batch_id": uuid.uuid4().hex, "metrics": [{"name": "مرحبا loss", "value": 1}]})
    assert r.status_code == 200  # right-to-left letters are names like any other


def test_tags_per_experiment_are_limited(owner, server):
    s, user = owner
    key = new_run(s, server.url)
    url = f"{server.url}/api/v1/experiments/{key}/batch"
    r = s.post(url, json={"batch_id": uuid.uuid4().hex, "tags": [f"t{i}" for i in range(10_000)]})
    assert r.status_code == 400 and "100" in r.json()["error"]
    r = s.post(url, json={"batch_id": uuid.uuid4().hex, "tags": [f"t{i}" for i in range(100)]})
    assert r.status_code == 200
    r = s.post(url, json={"batch_id": uuid.uuid4().hex, "tags": ["one-more"]})
    assert r.status_code == 400 and "at most 100 tags" in r.json()["error"]
    comet_key = comet_run(s, server.url, user)
    r = s.post(server.url + "/clientlib/tags/add-tags-to-experiment",
               json={"experimentKey": comet_key, "addedTags": [f"c{i}" for i in range(101)]})
    assert r.status_code == 400
    assert len(s.get(f"{server.url}/api/v1/experiments/{key}/tags").json()["tags"]) == 100


# --- unknown paths ------------------------------------------------------------------------------------

def test_unknown_api_paths_answer_json(owner, server):
    s, _ = owner
    for method in ("GET", "POST", "DELETE"):
        r = requests.request(method, server.url + "/api/v1/no/such/thing")
        assert r.status_code == 404 and r.headers["Content-Type"] == "application/json", r.text[:100]
        assert "Unknown endpoint" in r.json()["error"]
    r = requests.post(server.url + "/api/v1/health")
    assert r.status_code == 405 and r.headers["Allow"] == "GET" and "allowed: GET" in r.json()["error"]
    assert "/api/v1/{unknown}" not in requests.get(server.url + "/api/v1/openapi.json").json()["paths"]


def test_an_asset_whose_transaction_fails_takes_its_file_with_it(tmp_path):
    """The file is written before the row's transaction commits; when that transaction is
    rolled back at any later point, the file is removed with it."""
    from dashboard.auth import Actor
    from dashboard.config import Settings
    from dashboard.services import accounts, ingest

    settings = Settings.from_env(home=tmp_path)
    migrate(settings.database_url)
    db = Database(settings.database_url)
    with db.session() as s:
        user = accounts.create_user(s, "filer", "filer@example.org", "password123")
        actor = Actor(user_id=user.id, username=user.username)
        key = ingest.start(s, actor, None, "files").experiment.key
    kept = None
    with pytest.raises(RuntimeError):
        with db.session() as s:
            asset = ingest.store_asset(s, actor, key, data=b"bytes", type="file", name="a.bin", settings=settings)
            kept = settings.assets_dir / asset.storage_path
            assert kept.exists()
            raise RuntimeError("the request failed after the asset was stored")
    assert kept is not None and not kept.exists()
    with db.session() as s:
        asset = ingest.store_asset(s, actor, key, data=b"bytes", type="file", name="b.bin", settings=settings)
    assert (settings.assets_dir / asset.storage_path).exists()  # a committed one stays


def test_api_paths_no_route_takes_answer_json(server):
    """A newline in a path keeps it from every route, the catch-alls included."""
    for path in ("/api/v1/nothing%0Ahere", "/api/v1/experiments/x/parameters/a%0Ab/history",
                 "/clientlib/a%0Ab", "/api/rest/v2/a%0Ab"):
        r = requests.get(server.url + path)
        assert r.status_code == 404 and r.headers["Content-Type"] == "application/json", (path, r.text[:100])
    assert requests.get(server.url + "/no%0Apage").status_code in (200, 404)  # pages are not the API's
