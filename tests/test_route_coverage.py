"""Every Flask route and every Dash callback has an explicit access decision (fail closed)."""
import requests

from dashboard.api import ACCESS_RULES
from dashboard.webauth import PUBLIC_CALLBACK_OUTPUTS

DASH_ROUTES = {"/", "/<path:path>", "/_dash-layout", "/_dash-dependencies", "/_dash-update-component",
               "/_reload-hash", "/_favicon.ico", "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
               "/assets/<path:filename>", "/_alive_<token>"}
AUTH_ROUTES = {"auth.login_post", "auth.setup_post", "auth.logout", "auth.shared_link"}


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
        if rule.rule.startswith("/clientlib/") or rule.rule.startswith("/api/rest/"):
            from dashboard.api import ACCESS_RULES as rules

            if rule.endpoint not in rules:
                undecided.append(rule.rule)
            continue
        if rule.rule not in DASH_ROUTES and not rule.rule.startswith("/_dash"):
            undecided.append(rule.rule)
    assert undecided == [], f"routes without an access decision: {undecided}"


def test_anonymous_callback_requests_are_refused(server):
    """A hand-built Dash callback request without a session gets 401, except public ones."""
    body = {"output": "settings-collab-list.children", "outputs": {"id": "settings-collab-list", "property": "children"},
            "inputs": [{"id": "settings-collab-add", "property": "n_clicks", "value": 1}],
            "state": [{"id": "settings-workspace", "property": "data", "value": "owner0"}], "changedPropIds": []}
    r = requests.post(server.url + "/_dash-update-component", json=body)
    assert r.status_code == 401
    assert "settings-collab-list.children" not in PUBLIC_CALLBACK_OUTPUTS


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
                      "/api/rest/v2/<path:unknown>", "/clientlib/rest/v2/<path:unknown>"}
