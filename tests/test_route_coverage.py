"""Every Flask route and every Dash callback has an explicit access decision (fail closed)."""
import pytest
import requests

from dashboard.api import ACCESS_RULES
from dashboard.webauth import CLIENTSIDE, PRIVATE, PUBLIC, callback_access
from tests.conftest import signed_in_client
from tests.dash_requests import callback_body, dependencies, entry, is_multiple

DASH_ROUTES = {"/", "/<path:path>", "/_dash-layout", "/_dash-dependencies", "/_dash-update-component",
               "/_reload-hash", "/_favicon.ico", "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
               "/assets/<path:filename>", "/_alive_<token>"}
AUTH_ROUTES = {"auth.login_post", "auth.setup_post", "auth.reset_post", "auth.logout", "auth.shared_link",
               "auth.signup_post", "auth.invite_join", "auth.invite_signup", "oidc.login", "oidc.callback"}


def test_every_flask_route_has_an_access_decision(tmp_path, monkeypatch):
    monkeypatch.setenv("HALLEY_HOME", str(tmp_path))
    from app import create_app

    server = create_app().server
    undecided = []
    for rule in server.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint in AUTH_ROUTES:
            continue
        if rule.rule.startswith("/api/v1/"):
            if rule.endpoint not in ACCESS_RULES:
                undecided.append(rule.rule)
            continue
        if rule.rule.startswith(("/clientlib/", "/api/rest/", "/optimizer/")):
            from dashboard.api import ACCESS_RULES as rules

            if rule.endpoint not in rules:
                undecided.append(rule.rule)
            continue
        if rule.rule not in DASH_ROUTES and not rule.rule.startswith("/_dash"):
            undecided.append(rule.rule)
    assert undecided == [], f"routes without an access decision: {undecided}"


def test_every_get_declared_as_changing_state_names_a_get_route(dash_app):
    """A renamed route can't silently drop the cross-site check its GET needs."""
    from dashboard.webauth import STATEFUL_GETS

    gets = {rule.endpoint for rule in dash_app.server.url_map.iter_rules() if "GET" in rule.methods}
    assert {"auth.logout", "api.get_artifact_version"} <= set(STATEFUL_GETS) <= gets


@pytest.fixture(scope="module")
def dash_app(tmp_path_factory):
    from app import create_app

    with pytest.MonkeyPatch.context() as env:
        env.setenv("HALLEY_HOME", str(tmp_path_factory.mktemp("coverage-home")))
        yield create_app()


def test_every_callback_has_an_access_decision(dash_app):
    """The callback kit records a decision for every callback Dash knows, Dash's page router
    included: server callbacks are public or private, browser-only ones clientside."""
    decisions = callback_access(dash_app.server)
    assert set(decisions) == set(dash_app.callback_map)
    for key, callback in dash_app.callback_map.items():
        expected = {CLIENTSIDE} if "callback" not in callback else {PUBLIC, PRIVATE}
        assert decisions[key] in expected, key
    assert 40 < sum(d == PRIVATE for d in decisions.values())


def _empty_request(spec: dict) -> dict:
    def fill(dep):
        return [] if is_multiple(dep) else entry(dep, None)

    return callback_body(spec, [fill(d) for d in spec["inputs"]], [fill(d) for d in spec["state"]])


def test_anonymous_requests_to_private_callbacks_are_refused(server, dash_app):
    """A hand-built request without a session gets 401 from every private and clientside
    callback; a signed-in one is refused a clientside callback (it has no server side)."""
    decisions = callback_access(dash_app.server)
    specs = {d["output"]: d for d in dependencies(server.url)}
    refused = [key for key, decision in decisions.items() if decision != PUBLIC]
    assert set(refused) <= set(specs) | {k for k, d in decisions.items() if d == CLIENTSIDE}
    anonymous = requests.Session()
    for key in refused:
        body = _empty_request(specs[key]) if key in specs else {"output": key, "inputs": [], "state": []}
        assert anonymous.post(server.url + "/_dash-update-component", json=body).status_code == 401, key
    assert "settings-collab-list.children" in " ".join(refused)


def test_signed_in_requests_name_a_server_callback(server, accounts):
    session = signed_in_client(server, accounts.create("cov"))
    for output in ("project-hash.id", "no-such-output.children"):
        r = session.post(server.url + "/_dash-update-component", json={"output": output, "inputs": [], "state": []})
        assert r.status_code == 404, output


def test_anonymous_page_request_redirects_to_login(server):
    r = requests.get(server.url + "/workspaces", allow_redirects=False)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_comet_routes_are_key_checked_except_health_and_not_found(tmp_path, monkeypatch):
    """The comet_ml-compatible routes (/clientlib, /api/rest/v2) all need an API key, except
    the SDK's health/version probes and the catch-alls that answer 404."""
    monkeypatch.setenv("HALLEY_HOME", str(tmp_path))
    from app import create_app

    rules = [r for r in create_app().server.url_map.iter_rules() if r.endpoint.startswith("comet.")]
    assert len(rules) > 40
    public = {r.rule for r in rules if ACCESS_RULES[r.endpoint] == "public"}
    assert public == {"/clientlib/health/ping", "/clientlib/isAlive/ver", "/clientlib/<path:unknown>",
                      "/api/rest/v2/<path:unknown>", "/clientlib/rest/v2/<path:unknown>",
                      "/optimizer/", "/optimizer/<path:unknown>"}
