"""Fuzzing the HTTP API: no input makes the server answer 5xx, and nothing bad is kept.

Two fuzzers run against a live server, on SQLite and on PostgreSQL:

* schemathesis over the REST API's own OpenAPI document (``/api/v1/openapi.json``), with data
  that fits the schema and data that doesn't, signed with a real API key and aimed, most of the
  time, at a real workspace, project, experiment, metric and asset;
* a hypothesis fuzzer over every comet_ml-compatible route (``/clientlib``, ``/api/rest/v2``):
  JSON bodies and query strings built from the field names those routes read, with values of
  every JSON kind, including the ones that broke them before (non-finite numbers, numbers past
  64 bits, lone surrogates, lists given as numbers, deep nesting).

Afterwards every read of the fuzzed experiment still answers, and every asset file on disk
belongs to a stored asset (a refused upload leaves no file behind).

Budgets are fixed and derandomized so a run takes the same requests every time.
"""
from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from hypothesis.errors import Unsatisfiable

from tests.conftest import Accounts, LiveServer, UserAccount
from tests.postgres_fixtures import PostgresServer, postgres  # noqa: F401  (the session's cluster)

REST_EXAMPLES = 30
COMET_EXAMPLES = 30
FUZZ_SETTINGS = dict(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck),
                     phases=[Phase.explicit, Phase.generate])


@dataclass
class Target:
    """A live server with one user's workspace, project, experiment, metric and asset to aim at."""

    server: LiveServer
    account: UserAccount
    project: str
    key: str
    asset_id: str

    @property
    def url(self) -> str:
        return self.server.url

    def path_values(self) -> dict[str, str]:
        return {"ws": self.account.workspace, "workspace": self.account.workspace, "project": self.project,
                "key": self.key, "asset_id": self.asset_id, "name": "loss"}


def _seed(server: LiveServer) -> Target:
    account = Accounts(server).create("fuzz")
    s = requests.Session()
    s.headers["Authorization"] = account.api_key
    project = "fuzzed"
    key = s.post(server.url + "/api/v1/experiments", json={"project": project, "name": "target"}).json()[
        "experiment_key"]
    batch = {"batch_id": uuid.uuid4().hex, "metrics": [{"name": "loss", "value": 1.0 / (i + 1), "step": i}
                                                       for i in range(20)],
             "parameters": [{"name": "lr", "value": 0.01}], "tags": ["seed"], "others": [{"key": "note", "value": 1}],
             "output": [{"text": "hello"}]}
    assert s.post(f"{server.url}/api/v1/experiments/{key}/batch", json=batch).status_code == 200
    asset = s.post(f"{server.url}/api/v1/experiments/{key}/assets", files={"file": ("a.txt", b"seed")},
                   data={"type": "text"}).json()
    return Target(server, account, project, key, asset["asset_id"])


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "postgres":
        cluster = request.getfixturevalue("postgres")
        server = PostgresServer(home, cluster.create_database("fuzz"))
    else:
        server = LiveServer(home)
    server.start(workers=2)
    Accounts(server).create("owner")  # past first-run setup
    try:
        yield _seed(server)
    finally:
        server.stop()
    errors = _server_errors(server.log_path.read_text())
    assert not errors, "\n".join(errors[:40])


def _server_errors(log: str) -> list[str]:
    """Each traceback in a server log, shortened to the project's frames and the error."""
    found = []
    for block in log.split("Traceback (most recent call last):")[1:]:
        lines = block.strip().splitlines()
        frames = [line.strip() for line in lines if line.strip().startswith('File "') and "site-packages" not in line]
        messages = [line for line in lines if line and not line.startswith((" ", "\t", "[", "File "))
                    and not line.startswith(("The above exception", "During handling"))]
        error = messages[-1] if messages else "?"
        found.append(" <- ".join([error, *reversed(frames[-3:])]))
    return found


# --- REST: schemathesis over the OpenAPI document -----------------------------------------------

def test_rest_api_never_answers_5xx(target):
    """Every operation of the OpenAPI document, with data that fits its schema and data that
    doesn't, aimed at real objects three times in four: never a 5xx, and every answer under
    /api/v1 that isn't a success is JSON."""
    from schemathesis.generation.modes import GenerationMode

    schema = schemathesis.openapi.from_url(target.url + "/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 25
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=REST_EXAMPLES, **FUZZ_SETTINGS)
            def fuzz(case):
                for name, value in target.path_values().items():
                    generated = (case.path_parameters or {}).get(name)
                    if generated is not None and hash(str(generated)) % 4:
                        case.path_parameters[name] = value
                case.headers = {**(case.headers or {}), "Authorization": target.account.api_key}
                try:
                    response = case.call(base_url=target.url, timeout=60)
                except (requests.exceptions.InvalidHeader, ValueError):
                    return  # a request no HTTP client can send
                content_type = str({k.lower(): v for k, v in response.headers.items()}.get("content-type"))
                if response.status_code >= 500 or (response.status_code >= 400 and "application/json" not in content_type):
                    failures.append(f"{operation.method.upper()} {operation.path} -> {response.status_code}: "
                                    f"{response.text[:200]}\n    {case.as_curl_command()[:600]}")

            try:
                fuzz()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing in this operation can be wrong
    assert not failures, "\n".join(failures[:30])


# --- comet_ml's routes: a hypothesis fuzzer ---------------------------------------------------------

COMET_FIELDS = [
    "experimentKey", "values", "metricName", "metricValue", "step", "epoch", "timestamp", "context", "parameterName",
    "parameterValue", "source", "addedTags", "outputLines", "output", "stderr", "html", "override", "graph",
    "startTimestamp", "endTimestamp", "isAlive", "is_alive", "hasCrashed", "error", "key", "value", "filePath",
    "installedPackages", "osPackages", "gpuStaticInfoList", "logAdditionalSystemInfoList", "logDependencies",
    "name", "version", "provider", "metadata", "pid", "hostname", "ip", "user", "os", "osType", "pythonVersion",
    "executable", "command", "machine", "processor", "osRelease", "branch", "parent", "origin", "root",
    "projectName", "workspaceName", "teamName", "getOrCreateEnabled", "previousExperiment", "archived",
]
# Fields of the records inside lists (metric and parameter values, output lines, dependencies).
RECORD_FIELDS = ["metricName", "metricValue", "step", "epoch", "timestamp", "context", "parameterName", "parameterValue",
                 "source", "output", "stderr", "name", "version", "key", "value"]
QUERY_FIELDS = ["experimentKey", "experimentId", "step", "epoch", "type", "fileName", "figName", "context", "assetId",
                "imageId", "metricName", "groupingName", "overwrite", "workspaceName", "projectName", "archived"]
NASTY_NUMBERS = [0, -1, 1, 2**31, 2**53, 2**53 + 1, 2**63, -(2**63) - 1, 2**64, 10**30, 1e18, 1e31, 1e308, -1e308,
                 1.5, float("nan"), float("inf"), float("-inf")]
NASTY_TEXT = ["", "NaN", "Infinity", "-Infinity", "1e400", "\ud800", "a\udc00b", "\u202egnp.exe", "x" * 300,
              "../../etc/passwd", "<script>alert(1)</script>", "\x00", "null", "[]", "{}", "99999999999999999999"]
# Deleting the fuzzed experiment would leave the routes after it nothing to reach deeply
# (tests/test_comet_api_surface.py checks its bad input).
DESTRUCTIVE = ("/write/experiment/delete",)
BIG_NUMBER = object()  # a number literal beyond a double (1e400): JSON allows it, Python can't hold it


def _scalars(key: str):
    """Mostly plausible values (so requests get past the first check), sometimes nasty ones."""
    plain = st.one_of(st.none(), st.booleans(), st.integers(-1000, 10**6), st.floats(-1e6, 1e6),
                      st.text(st.characters(exclude_categories=["Cs"]), max_size=12), st.just(key))
    nasty = st.one_of(st.sampled_from(NASTY_NUMBERS), st.sampled_from(NASTY_TEXT), st.just(BIG_NUMBER),
                      st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True))
    return st.one_of(plain, plain, nasty)


def _values(key: str):
    return st.recursive(
        _scalars(key),
        lambda inner: st.one_of(st.lists(inner, max_size=4),
                                st.dictionaries(st.sampled_from(RECORD_FIELDS) | st.text(max_size=6), inner, max_size=5)),
        max_leaves=10)


def _encode(value) -> str:
    """JSON text as a client could send it: NaN/Infinity literals, lone surrogates as escapes,
    and ``BIG_NUMBER`` as 1e400."""
    marker = "__big_number_%s__" % secrets.token_hex(4)

    def swap(v):
        if v is BIG_NUMBER:
            return marker
        if isinstance(v, list):
            return [swap(x) for x in v]
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        return v

    return json.dumps(swap(value)).replace(f'"{marker}"', "1e400")


def _query_text(value) -> bytes:
    """A query-string value as raw bytes (a lone surrogate becomes bytes that aren't UTF-8)."""
    return (value if isinstance(value, str) else _encode(value)).encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class CometRoute:
    method: str
    path: str
    fields: tuple[str, ...]  # the request fields its view reads

    @property
    def takes_upload(self) -> bool:
        return "upload" in self.path or self.path.endswith("git/patch")


def comet_routes() -> list[CometRoute]:
    """One path per comet view (the same view often answers under two prefixes) with the
    fields its code reads, taken from the app itself: a new route is fuzzed without editing
    this file. The catch-alls that answer 404 are left out."""
    import inspect
    import re
    import tempfile

    from app import create_app
    from dashboard.config import Settings

    with tempfile.TemporaryDirectory() as home:
        server = create_app(Settings.from_env(home=home)).server
        by_view: dict[tuple[str, str], CometRoute] = {}
        for rule in sorted(server.url_map.iter_rules(), key=lambda r: r.rule):
            if not rule.endpoint.startswith("comet.") or "<" in rule.rule or rule.rule.endswith(DESTRUCTIVE):
                continue
            source = inspect.getsource(server.view_functions[rule.endpoint])
            fields = tuple(sorted(set(re.findall(r'"([A-Za-z_]+)"', source)) & set(COMET_FIELDS + QUERY_FIELDS)))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                by_view.setdefault((rule.endpoint, method), CometRoute(method, rule.rule, fields))
    return list(by_view.values())


class CometClient:
    """Sends one request to a comet route and keeps every 5xx with what caused it."""

    def __init__(self, target: Target):
        self.target = target
        self.session = requests.Session()
        self.session.headers["Authorization"] = target.account.api_key
        # A fresh connection per request: one reused after the server's 2 s keep-alive ran out
        # (a pause while hypothesis shrinks) can be closed under a POST, which isn't retried.
        self.session.headers["Connection"] = "close"
        self.failures: list[str] = []

    def send(self, route: CometRoute, fields: dict, upload: bytes | None = None) -> int:
        """``fields`` go in the JSON body of a POST, in the query string of a GET, and in the
        query string (with ``metadata`` as a form field) of an upload."""
        url = self.target.url + route.path
        if route.method == "GET" or route.takes_upload:
            metadata = fields.pop("metadata", None)
            params = {k: _query_text(v) for k, v in fields.items() if v is not None}
            if route.method == "GET":
                r = self.session.get(url, params=params, timeout=60)
            else:
                form = {"metadata": _encode(metadata)} if metadata is not None else {}
                r = self.session.post(url, params=params, data=form, timeout=60,
                                      files={"file": ("f.bin", upload if upload is not None else b"x")})
            sent = f"params={params} upload={upload!r:.60}"
        else:
            body = _encode(fields)
            r = self.session.request(route.method, url, data=body.encode(), timeout=60,
                                     headers={"Content-Type": "application/json"})
            sent = f"body={body[:400]}"
        if r.status_code >= 500:
            self.failures.append(f"{route.method} {route.path} -> {r.status_code}: {r.text[:200]}\n    {sent}")
        return r.status_code


# Values that once broke a route when given where another kind was expected.
CONFUSING_VALUES = [5, -1.5, True, "text", [], {}, [5], ["a", 5], [{}], [[]], float("nan"), float("inf"), BIG_NUMBER,
                    2**64, -(2**63) - 1, 10**30, 1e18, 1e308, "\ud800", "\u202eabc"]
LIST_FIELDS = {"values", "outputLines", "addedTags", "logDependencies", "logAdditionalSystemInfoList",
               "installedPackages", "osPackages", "gpuStaticInfoList"}


@pytest.fixture(scope="module")
def routes():
    return comet_routes()


@pytest.fixture(scope="module")
def comet(target):
    return CometClient(target)


def test_comet_fields_of_the_wrong_kind_are_refused_cleanly(target, comet, routes):
    """A deterministic sweep: each field a comet route reads, given each value of
    ``CONFUSING_VALUES``; list fields also get records whose fields take each of them."""
    assert len(routes) > 40
    for route in routes:
        for name in route.fields:
            for value in CONFUSING_VALUES:
                comet.send(route, {"experimentKey": target.key, name: value})
            if name in LIST_FIELDS:
                for field in RECORD_FIELDS:
                    for value in CONFUSING_VALUES:
                        record = {"metricName": "m", "metricValue": 1, "parameterName": "p", "output": "o",
                                  "name": "n", "key": "k", field: value}
                        comet.send(route, {"experimentKey": target.key, name: [record]})
    assert not comet.failures, "\n".join(comet.failures[:30])


def test_comet_routes_never_answer_5xx(target, comet, routes):
    """Random requests to every comet route: several fields at once, nested values, a real
    experiment key most of the time so the deep paths run."""
    key = target.key
    some_key = st.sampled_from([key] * 5) | _scalars(key)

    for route in routes:
        fields = list(route.fields) or COMET_FIELDS
        request_fields = st.builds(lambda k, mine, other: {"experimentKey": k, **other, **mine}, some_key,
                                   st.dictionaries(st.sampled_from(fields), _values(key), max_size=4),
                                   st.dictionaries(st.sampled_from(COMET_FIELDS), _values(key), max_size=1))

        @given(fields=request_fields, upload=st.none() | st.binary(max_size=64))
        @settings(max_examples=COMET_EXAMPLES, **FUZZ_SETTINGS)
        def fuzz(fields, upload):
            comet.send(route, fields, upload)

        fuzz()
    assert not comet.failures, "\n".join(comet.failures[:30])


def test_the_fuzzed_experiment_still_reads_and_no_file_is_orphaned(target, comet, routes):
    """After both fuzzers: each read route of the experiment answers without a 5xx, and every
    file in the asset store belongs to an asset row."""
    from dashboard.db import Database
    from models import Asset
    from sqlmodel import select

    key = target.key
    for route in routes:
        if route.method == "GET" and "/rest/v2/" in route.path and "stop" not in route.path:
            r = comet.session.get(target.url + route.path, params={"experimentKey": key, "metricName": "loss"},
                                  timeout=60)
            assert r.status_code < 500, (route.path, r.text[:300])
    for path in ("", "/metrics?name=loss", "/metrics/summary", "/parameters", "/others", "/tags", "/assets",
                 "/output", "/system"):
        r = comet.session.get(f"{target.url}/api/v1/experiments/{key}{path}", timeout=60)
        assert r.status_code < 500, (path, r.text[:300])
    with Database(target.server.database_url).session() as s:
        stored = set(s.exec(select(Asset.storage_path)).all())
    assets_dir = target.server.home / "assets"
    on_disk = {str(p.relative_to(assets_dir)) for p in assets_dir.rglob("*")
               if p.is_file() and p.parent.name != "icons" and not p.name.startswith(".")}
    assert on_disk <= stored, f"files without an asset: {sorted(on_disk - stored)[:5]}"

