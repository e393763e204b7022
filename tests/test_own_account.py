"""Settings > Account against a real server: display name and email (a new email asks for the
current password), a new password (asks for the current one, ends every other session, keeps
this browser signed in), signing out everywhere; refused to visitors who aren't signed in,
through hand-built Dash callback requests and in headless Chromium."""
from __future__ import annotations

import json

import pytest
import requests
from playwright.sync_api import expect
from sqlmodel import select

from dashboard.auth import verify_password
from dashboard.services import accounts as account_service
from models import AuditEvent
from tests.conftest import sign_in, signed_in_client
from tests.dash_requests import body_from_values, find_callback
from tests.project_data import ProjectData

PROFILE = "settings-account-profile-save.n_clicks"
PASSWORD = "settings-account-password-save.n_clicks"
SIGN_OUT_ALL = "settings-account-signout-all.n_clicks"


def text(r: requests.Response) -> str:
    try:
        return json.dumps(r.json())
    except ValueError:
        return r.text


@pytest.fixture(scope="module")
def deps(server):
    return requests.get(server.url + "/_dash-dependencies").json()


def call(server, deps, session: requests.Session, trigger: str, values: dict) -> requests.Response:
    body = body_from_values(find_callback(deps, trigger), {trigger: 1, **values})
    return session.post(server.url + "/_dash-update-component", json=body)


def profile_values(display_name="", email="", password=""):
    return {"settings-account-display-name.value": display_name, "settings-account-email.value": email,
            "settings-account-profile-password.value": password}


def password_values(current, new, repeat=None):
    return {"settings-account-current.value": current, "settings-account-new.value": new,
            "settings-account-new2.value": new if repeat is None else repeat}


def stored(accounts, username):
    with accounts.db.session() as s:
        user = account_service.find_user(s, username)
        s.expunge(user)
        return user


def signed_in(server, session: requests.Session) -> bool:
    return session.get(server.url + "/workspaces", allow_redirects=False).status_code == 200


def test_visitors_who_are_not_signed_in_are_refused(server, accounts, deps):
    owner = accounts.create("acct")
    ProjectData(accounts, server).project(owner, "shown")
    token = requests.post(server.url + f"/api/v1/workspaces/{owner.workspace}/projects/shown/share-link",
                          headers={"Authorization": owner.api_key}).json()["token"]
    share = requests.Session()
    assert share.get(server.url + f"/shared/{token}", allow_redirects=False).status_code == 302
    gone = accounts.create("acctgone")
    deactivated = signed_in_client(server, gone)
    with accounts.db.session() as s:
        account_service.find_user(s, gone.username).is_active_user = False
    for who, session in (("anonymous", requests.Session()), ("share", share), ("deactivated", deactivated)):
        for trigger, values in ((PROFILE, profile_values("x", "x@example.org", gone.password)),
                                (PASSWORD, password_values(gone.password, "new-password-1")),
                                (SIGN_OUT_ALL, {})):
            assert call(server, deps, session, trigger, values).status_code == 401, (who, trigger)
    assert stored(accounts, gone.username).display_name == ""
    assert verify_password(stored(accounts, gone.username).password_hash, gone.password)


def test_a_new_password_needs_the_current_one_and_ends_the_other_sessions(server, accounts, deps):
    me = accounts.create("pw")
    here, elsewhere = signed_in_client(server, me), signed_in_client(server, me)
    r = call(server, deps, here, PASSWORD, password_values("not-my-password", "new-password-1"))
    assert "settings-account-password-error" in text(r) and "not right" in text(r)
    r = call(server, deps, here, PASSWORD, password_values(me.password, "new-password-1", "new-password-2"))
    assert "don't match" in text(r)
    assert verify_password(stored(accounts, me.username).password_hash, me.password)
    assert signed_in(server, elsewhere)

    r = call(server, deps, here, PASSWORD, password_values(me.password, "new-password-1"))
    assert "settings-account-password-ok" in text(r), text(r)
    assert verify_password(stored(accounts, me.username).password_hash, "new-password-1")
    assert signed_in(server, here)  # this browser got a fresh session
    assert not signed_in(server, elsewhere)
    assert call(server, deps, elsewhere, SIGN_OUT_ALL, {}).status_code == 401
    old = requests.post(server.url + "/auth/login", data={"username": me.username, "password": me.password},
                        allow_redirects=False)
    assert "error=credentials" in old.headers["Location"]
    me.password = "new-password-1"
    signed_in_client(server, me)
    with accounts.db.session() as s:
        actions = s.exec(select(AuditEvent.action).where(AuditEvent.actor_name == me.username)).all()
    assert "account.password_changed" in actions


def test_display_name_and_email(server, accounts, deps):
    me, other = accounts.create("prof"), accounts.create("prof")
    session = signed_in_client(server, me)
    r = call(server, deps, session, PROFILE, profile_values("  Ada   Lovelace ", me.email))
    assert "Saved your display name" in text(r)
    assert stored(accounts, me.username).display_name == "Ada Lovelace"
    r = call(server, deps, session, PROFILE, profile_values("Ada Lovelace", "ada@example.net"))
    assert "not right" in text(r)  # no password given
    r = call(server, deps, session, PROFILE, profile_values("Ada Lovelace", other.email, me.password))
    assert "can't be used" in text(r)
    r = call(server, deps, session, PROFILE, profile_values("Ada\u202eLovelace", me.email))
    assert "bidirectional" in text(r)
    assert stored(accounts, me.username).email == me.email
    r = call(server, deps, session, PROFILE, profile_values("Ada Lovelace", "Ada@Example.net", me.password))
    assert "Saved your email" in text(r)
    assert stored(accounts, me.username).email == "ada@example.net"
    with accounts.db.session() as s:
        assert "account.email_changed" in s.exec(
            select(AuditEvent.action).where(AuditEvent.actor_name == me.username)).all()


def test_sign_out_everywhere(server, accounts, deps):
    me = accounts.create("out")
    here, elsewhere = signed_in_client(server, me), signed_in_client(server, me)
    r = call(server, deps, here, SIGN_OUT_ALL, {})
    assert r.status_code == 200 and "/login" in text(r)
    assert not signed_in(server, here) and not signed_in(server, elsewhere)
    with accounts.db.session() as s:
        assert "account.signed_out_everywhere" in s.exec(
            select(AuditEvent.action).where(AuditEvent.actor_name == me.username)).all()


def test_account_settings_in_the_browser(server, accounts, page, console_errors):
    me = accounts.create("web")
    sign_in(page, server, me, "/workspaces")
    page.goto(server.url + "/settings")
    page.wait_for_url(server.url + "/settings/account")
    page.fill("#settings-account-display-name", "Grace Hopper")
    page.click("#settings-account-profile-save")
    expect(page.locator("#settings-account-profile-ok")).to_contain_text("display name")
    page.fill("#settings-account-current", me.password)
    page.fill("#settings-account-new", "browser-password-1")
    page.fill("#settings-account-new2", "browser-password-1")
    page.click("#settings-account-password-save")
    expect(page.locator("#settings-account-password-ok")).to_be_visible()
    page.reload()  # still signed in, with the name shown in the menu
    page.click("#shell-workspace-menu")
    expect(page.locator("#shell-sign-out")).to_contain_text("Sign out (Grace Hopper)")
    page.keyboard.press("Escape")
    page.click("#settings-account-signout-all")
    page.wait_for_url(lambda url: "/login" in url)
    page.goto(server.url + "/workspaces")
    page.wait_for_url(lambda url: "/login" in url)
    assert console_errors == []
