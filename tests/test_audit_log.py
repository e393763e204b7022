"""The audit log: each security-relevant act leaves one entry (who, what, when, from where),
committed with the act; site admins read it filtered and paged in SQL, newest first."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlmodel import select

from dashboard.services import accounts as account_service, audit, site_admin, workspaces
from models import AuditEvent
from tests.conftest import signed_in_client
from tests.dash_requests import body_from_values, dependencies, find_callback
from tests.project_data import ProjectData


def entries(accounts, **filters) -> list[AuditEvent]:
    with accounts.db.session() as s:
        return audit.events(s, audit.AuditFilter(**filters), page_size=500)[0]


def test_each_hooked_act_is_recorded(server, accounts):
    data = ProjectData(accounts, server)
    owner, friend = accounts.create("aud"), accounts.create("audf")
    url = server.url

    # sign-ins: a failure names what was typed (never the password), from where; then success, sign-out
    r = requests.post(url + "/auth/login", data={"username": owner.username, "password": "not-it-at-all"},
                      allow_redirects=False)
    assert "error=credentials" in r.headers["Location"]
    failed = entries(accounts, action="sign_in.failed", text=owner.username)
    assert len(failed) == 1 and failed[0].address == "127.0.0.1" and failed[0].actor_user_id is None
    assert "not-it-at-all" not in failed[0].detail + failed[0].target
    client = signed_in_client(server, owner)
    ok = entries(accounts, action="sign_in.succeeded", text=owner.username)
    assert len(ok) == 1 and ok[0].actor_name == owner.username and ok[0].address == "127.0.0.1"
    with accounts.db.session() as s:
        assert account_service.find_user(s, owner.username).last_sign_in_at is not None

    # collaborators added, role changed, removed (by the owner, through the services)
    data.add_member(owner, friend, "viewer")
    actor = data.actor(owner)
    with accounts.db.session() as s:
        ws = workspaces.find_by_name(s, owner.workspace)
        friend_id = account_service.find_user(s, friend.username).id
        workspaces.set_role(s, actor, ws.id, friend_id, "member")
        workspaces.remove_collaborator(s, actor, ws.id, friend_id)
    target = f"{friend.username} in {owner.workspace}"
    acts = [(e.action, e.detail) for e in entries(accounts, text=target)]
    assert acts == [("collaborator.removed", "was member"), ("collaborator.role_changed", "viewer -> member"),
                    ("collaborator.added", "as viewer")]
    assert all(e.actor_name == owner.username for e in entries(accounts, text=target))

    # API key generated (conftest made the first one) and rotated
    accounts.key_for(owner, owner.workspace)
    keys = [e.action for e in entries(accounts, action="api_key.", actor=owner.username)]
    assert keys == ["api_key.rotated", "api_key.generated"]

    # experiments archived and deleted, a project deleted: over REST with the owner's new key
    key = accounts.key_for(owner, owner.workspace)
    data.project(owner, "doomed")
    exp = data.experiment(owner, "doomed", "run-1")
    h = {"Authorization": key}
    base = f"{url}/api/v1/workspaces/{owner.workspace}/projects/doomed"
    data.archive(owner, owner.workspace, "doomed", [exp])
    assert requests.post(base + "/archive/delete", json={"keys": [exp]}, headers=h).json() == {"deleted": 1}
    assert requests.delete(base, headers=h).status_code == 200
    acts = [(e.action, e.actor_name) for e in entries(accounts, text=f"{owner.workspace}/doomed")]
    assert acts == [("project.deleted", owner.username), ("experiment.deleted", owner.username),
                    ("experiment.archived", owner.username)]
    assert exp in entries(accounts, action="experiment.deleted", text=owner.workspace)[0].detail

    # sign-out, from the browser session
    client.get(url + "/logout", allow_redirects=False)
    assert len(entries(accounts, action="sign_out", actor=owner.username)) == 1

    # site administration acts and the reset link's use
    with accounts.db.session() as s:
        site_admin.deactivate(s, site_admin.OPERATOR, friend_id)
        site_admin.reactivate(s, site_admin.OPERATOR, friend_id)
        token = site_admin.issue_reset_link(s, site_admin.OPERATOR, friend_id)
    requests.post(url + "/auth/reset", data={"token": token, "password": "brand-new-pw", "password2": "brand-new-pw"},
                  allow_redirects=False)
    acts = [e.action for e in entries(accounts, action="user.", text=friend.username)]
    assert acts == ["user.password_reset", "user.reset_link_issued", "user.reactivated", "user.deactivated"]


def test_an_act_refused_leaves_no_entry(server, accounts):
    """Entries commit with their act: a refused act (the last owner can't leave) records nothing."""
    data = ProjectData(accounts, server)
    owner = accounts.create("lone")
    with accounts.db.session() as s:
        ws = workspaces.find_by_name(s, owner.workspace)
        me = account_service.find_user(s, owner.username).id
    with pytest.raises(Exception):
        with accounts.db.session() as s:
            workspaces.set_role(s, data.actor(owner), ws.id, me, "viewer")
    assert entries(accounts, action="collaborator.role_changed", text=owner.workspace) == []


@pytest.fixture(scope="module")
def marked(accounts):
    """120 entries with a marker of their own, a minute apart, by three actors."""
    marker = "mark" + secrets.token_hex(4)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with accounts.db.session() as s:
        for i in range(120):
            event = audit.record(s, "test.even" if i % 2 == 0 else "test.odd", actor_user_id=None,
                                 actor_name=f"robot{i % 3}", target=f"{marker} #{i:03d}", address="192.0.2.1")
            event.created_at = start + timedelta(minutes=i)
    return marker, start


def test_filters_and_pages_run_in_sql(accounts, marked):
    marker, start = marked
    with accounts.db.session() as s:
        pages = [audit.events(s, audit.AuditFilter(text=marker), page) for page in range(4)]
        assert [len(rows) for rows, _ in pages] == [50, 50, 20, 0] and pages[0][1] == 120
        assert pages[0][0][0].target.endswith("#119") and pages[2][0][-1].target.endswith("#000")  # newest first
        odd, total = audit.events(s, audit.AuditFilter(action="test.odd", text=marker))
        assert total == 60 and all(e.action == "test.odd" for e in odd)
        _, both = audit.events(s, audit.AuditFilter(action="test.", text=marker.upper()))
        assert both == 120
        _, robot = audit.events(s, audit.AuditFilter(actor="ROBOT1", text=marker))
        assert robot == 40
        window = audit.AuditFilter(text=marker, since=start + timedelta(minutes=10), until=start + timedelta(minutes=20))
        rows, total = audit.events(s, window)
        assert total == 10 and {r.target[-3:] for r in rows} == {f"{i:03d}" for i in range(10, 20)}
        _, none = audit.events(s, audit.AuditFilter(text="100%_" + marker))  # LIKE wildcards are plain text
        assert none == 0


def test_admins_read_the_log_page_by_page_others_cannot(server, accounts, marked):
    marker, _ = marked
    admin, member = accounts.create("logadm"), accounts.create("logmem")
    with accounts.db.session() as s:
        site_admin.set_site_admin(s, site_admin.OPERATOR, account_service.find_user(s, admin.username).id, True)
    deps = dependencies(server.url)
    spec = find_callback(deps, "admin-audit-text.value", "admin-audit-list.children")
    values = {"admin-audit-text.value": marker, "admin-audit-action.value": "test.", "admin-audit-page.data": 2,
              "admin-audit-dates.start_date": "2026-01-01", "admin-audit-dates.end_date": "2026-01-01"}
    body = body_from_values(spec, values)
    r = signed_in_client(server, admin).post(server.url + "/_dash-update-component", json=body)
    assert r.status_code == 200
    answer = r.json()["response"]
    assert answer["admin-audit-page-label"]["children"] == "101-120 of 120"
    assert f"{marker} #019" in r.text and f"{marker} #020" not in r.text and "192.0.2.1" in r.text
    assert answer["admin-audit-next"]["disabled"] is True
    # a day with no entries, and a malformed date
    r = signed_in_client(server, admin).post(server.url + "/_dash-update-component", json=body_from_values(
        spec, {**values, "admin-audit-dates.start_date": "2026-01-02", "admin-audit-dates.end_date": "2026-01-02"}))
    assert r.json()["response"]["admin-audit-page-label"]["children"] == "0 entries"
    r = signed_in_client(server, admin).post(server.url + "/_dash-update-component", json=body_from_values(
        spec, {**values, "admin-audit-dates.start_date": "2026-13-45"}))
    assert r.status_code == 200 and marker not in r.text
    # a member without site administration sees nothing
    r = signed_in_client(server, member).post(server.url + "/_dash-update-component", json=body)
    assert r.status_code == 200 and marker not in r.text and "Page not found" in r.text
    with accounts.db.session() as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.target.contains(marker))).first() is not None
