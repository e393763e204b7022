"""REST: health, account, API-key auth and rotation, workspace isolation."""
import requests

from dashboard.auth import Actor
from dashboard.services import workspaces


def test_health_is_public(server):
    r = requests.get(server.url + "/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["version"]


def test_account_requires_a_valid_key(server, user):
    assert requests.get(server.url + "/api/v1/account").status_code == 401
    bad = requests.get(server.url + "/api/v1/account", headers={"Authorization": "nope"})
    assert bad.status_code == 401 and "error" in bad.json()
    ok = requests.get(server.url + "/api/v1/account", headers={"Authorization": user.api_key})
    assert ok.status_code == 200
    body = ok.json()
    assert body["username"] == user.username
    assert {"name": user.workspace, "role": "owner"} in body["workspaces"]


def test_rotated_key_is_rejected_at_once(server, accounts, user):
    with accounts.db.session() as s:
        ws = workspaces.find_by_name(s, user.workspace)
        actor = Actor(user_id=ws.default_for_user_id, username=user.username)
        new_key = workspaces.generate_api_key(s, actor, ws.id)
    old = requests.get(server.url + "/api/v1/account", headers={"Authorization": user.api_key})
    assert old.status_code == 401
    assert requests.get(server.url + "/api/v1/account", headers={"Authorization": new_key}).status_code == 200


def test_keys_are_stored_only_as_hashes(accounts, user):
    from sqlmodel import select

    from models import ApiKey

    with accounts.db.session() as s:
        stored = [row.key_hash for row in s.exec(select(ApiKey)).all()]
    assert user.api_key not in stored
    assert all(len(h) == 64 for h in stored)


def test_non_member_cannot_see_workspace(server, accounts):
    alice, bob = accounts.create("alice"), accounts.create("bob")
    r = requests.get(server.url + "/api/v1/account", headers={"Authorization": bob.api_key})
    assert alice.workspace not in [w["name"] for w in r.json()["workspaces"]]


def test_openapi_document_lists_routes(server):
    doc = requests.get(server.url + "/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/account" in doc["paths"] and "/api/v1/health" in doc["paths"]


def test_bearer_and_x_api_key_headers(server, user):
    for headers in ({"Authorization": f"Bearer {user.api_key}"}, {"X-API-Key": user.api_key}):
        assert requests.get(server.url + "/api/v1/account", headers=headers).status_code == 200
