"""Browser sessions: signing out ends every copy of a session and remember-me cookie, and state-changing
form posts (sign-in, setup, sign-out, callbacks) sent by another site are refused."""
import re

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import text

from tests.conftest import Accounts, LiveServer

EVIL = "https://evil.example"
MODAL_TOGGLE = {  # a callback only signed-in people may call
    "output": "workspaces-create-modal.is_open",
    "outputs": {"id": "workspaces-create-modal", "property": "is_open"},
    "inputs": [{"id": "workspaces-create-open", "property": "n_clicks", "value": 1},
               {"id": "workspaces-create-cancel", "property": "n_clicks", "value": None}],
    "state": [{"id": "workspaces-create-modal", "property": "is_open", "value": False}],
    "changedPropIds": ["workspaces-create-open.n_clicks"],
}


def signed_in(server, account, remember: bool = True, headers: dict | None = None) -> requests.Session:
    s = requests.Session()
    data = {"username": account.username, "password": account.password, "next": "/workspaces"}
    if remember:
        data["remember"] = "y"
    r = s.post(server.url + "/auth/login", data=data, headers=headers or {}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/workspaces"), r.text
    return s


def copy_of(session: requests.Session, *names: str) -> requests.Session:
    copy = requests.Session()
    for cookie in session.cookies:
        if cookie.name in names:
            copy.cookies.set(cookie.name, cookie.value, domain=cookie.domain, path=cookie.path)
    assert {c.name for c in copy.cookies} == set(names)
    return copy


def can_open_workspaces(server, s: requests.Session) -> bool:
    r = s.get(server.url + "/workspaces", allow_redirects=False)
    if r.status_code == 302:
        assert "/login?next=" in r.headers["Location"]
        return False
    assert r.status_code == 200
    return True


def callback_status(server, s: requests.Session, headers: dict | None = None) -> int:
    return s.post(server.url + "/_dash-update-component", json=MODAL_TOGGLE, headers=headers or {}).status_code


def test_signing_out_ends_copied_session_and_remember_cookies(server, accounts):
    account = accounts.create("copied")
    browser = signed_in(server, account, remember=True)
    assert {"session", "remember_token"} <= {c.name for c in browser.cookies}
    both = copy_of(browser, "session", "remember_token")
    remember_only = copy_of(browser, "remember_token")
    for s in (browser, both, remember_only):
        assert can_open_workspaces(server, s)
        assert callback_status(server, s) == 200

    r = browser.post(server.url + "/logout", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")

    for s in (browser, both, remember_only):
        assert not can_open_workspaces(server, s)
        assert callback_status(server, s) == 401
    # Asked more times than there are server processes: none of them still takes the copy.
    for _ in range(4):
        assert not can_open_workspaces(server, both)

    again = signed_in(server, account, remember=True)
    assert can_open_workspaces(server, again)
    assert callback_status(server, again) == 200
    assert not can_open_workspaces(server, both)  # the old copy stays signed out


def test_signing_out_ends_the_users_other_sessions_too(server, accounts):
    account = accounts.create("devices")
    laptop, phone = signed_in(server, account, remember=False), signed_in(server, account, remember=True)
    other = accounts.create("bystander")
    bystander = signed_in(server, other)
    laptop.get(server.url + "/logout")
    assert not can_open_workspaces(server, laptop)
    assert not can_open_workspaces(server, phone)
    assert can_open_workspaces(server, bystander)  # someone else's sessions stay


def test_an_embedded_logout_ends_no_session(server, accounts):
    account = accounts.create("embedded")
    s = signed_in(server, account)
    copy = copy_of(s, "session", "remember_token")
    r = copy.get(server.url + "/logout", headers={"Sec-Fetch-Dest": "image"}, allow_redirects=False)
    assert r.status_code == 204
    assert copy.head(server.url + "/logout", allow_redirects=False).status_code == 204  # never a navigation
    assert can_open_workspaces(server, s) and can_open_workspaces(server, copy)


def test_cookie_values_without_the_current_token_sign_nobody_in(accounts):
    """Cookies name "<id>:<token>"; a bare id (as issued before tokens existed), another token or
    a malformed value names nobody."""
    from dashboard.services import accounts as account_service
    from models import User

    account = accounts.create("token")
    with accounts.db.session() as s:
        user = account_service.find_user(s, account.username)
        good = user.get_id()
        assert account_service.user_for_session(s, good).id == user.id
        for value in (str(user.id), f"{user.id}:", f"{user.id}:wrong", f"x:{user.session_token}", "",
                      f"{'9' * 40}:{user.session_token}", good + "x"):
            assert account_service.user_for_session(s, value) is None, value
        account_service.end_sessions(s, user.id)
    with accounts.db.session() as s:
        assert account_service.user_for_session(s, good) is None
        user = s.get(User, user.id)
        assert account_service.user_for_session(s, user.get_id()).id == user.id
        user.is_active_user = False
        s.add(user)
    with accounts.db.session() as s:
        assert account_service.user_for_session(s, s.get(User, user.id).get_id()) is None


# --- sign-in and other form posts from another site ------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Origin": EVIL},
    {"Origin": "null"},  # what a browser sends when the other page hides where it is
    {"Origin": EVIL, "Referer": "{url}/login"},  # the Origin decides
    {"Referer": EVIL + "/innocent-page"},
    {"Sec-Fetch-Site": "cross-site"},
], ids=["origin", "null-origin", "origin-over-referer", "referer", "fetch-metadata"])
def test_a_sign_in_posted_by_another_site_is_refused(server, accounts, headers):
    account = accounts.create("csrf")
    headers = {k: v.format(url=server.url) for k, v in headers.items()}
    s = requests.Session()
    form = {"username": account.username, "password": account.password, "remember": "y", "pad": "x" * 200_000}
    r = s.post(server.url + "/auth/login", headers=headers, allow_redirects=False, data=form)
    assert r.status_code == 403
    assert "another site" in r.text and "nothing was changed" in r.text
    assert "Set-Cookie" not in r.headers
    assert not can_open_workspaces(server, s)  # on the same session: the unread form breaks nothing


@pytest.mark.parametrize("headers", [
    {"Origin": "{url}"},
    {"Referer": "{url}/login?next=%2Fworkspaces"},
    {"Origin": "{url}", "Sec-Fetch-Site": "same-origin"},
    {"Origin": "https://halley.example.org", "X-Forwarded-Host": "halley.example.org"},  # behind a proxy
    {},
], ids=["origin", "referer", "fetch-metadata", "forwarded-host", "no-headers"])
def test_a_sign_in_from_halleys_own_page_or_a_script_works(server, accounts, headers):
    account = accounts.create("sameorigin")
    s = signed_in(server, account, headers={k: v.format(url=server.url) for k, v in headers.items()})
    assert can_open_workspaces(server, s)


def test_sign_out_from_another_site_is_refused(server, accounts):
    account = accounts.create("outcsrf")
    s = signed_in(server, account)
    r = s.post(server.url + "/logout", headers={"Origin": EVIL}, allow_redirects=False)
    assert r.status_code == 403
    r = s.get(server.url + "/logout", headers={"Referer": EVIL + "/", "Sec-Fetch-Site": "cross-site"},
              allow_redirects=False)
    assert r.status_code == 403
    assert can_open_workspaces(server, s)
    assert can_open_workspaces(server, copy_of(s, "session", "remember_token"))  # token unchanged
    r = s.get(server.url + "/logout", headers={"Referer": server.url + "/workspaces"}, allow_redirects=False)
    assert r.status_code == 302
    assert not can_open_workspaces(server, s)


def test_callbacks_from_another_site_are_refused(server, accounts):
    account = accounts.create("cbcsrf")
    s = signed_in(server, account)
    assert callback_status(server, s, {"Origin": EVIL}) == 403
    assert s.post(server.url + "/_dash-update-component", json=MODAL_TOGGLE,
                  headers={"Origin": EVIL}).json()["error"].startswith("This request was sent from another site")
    assert callback_status(server, s, {"Origin": server.url}) == 200


def test_first_run_setup_from_another_site_is_refused(fresh_server):
    from dashboard.db import Database
    from dashboard.services import accounts as account_service

    form = {"username": "mallory", "email": "mallory@example.org", "password": "attacker-pw",
            "password2": "attacker-pw"}
    r = requests.post(fresh_server.url + "/auth/setup", data=form, headers={"Origin": EVIL}, allow_redirects=False)
    assert r.status_code == 403
    with Database(fresh_server.database_url).session() as s:
        assert account_service.user_count(s) == 0
    r = requests.post(fresh_server.url + "/auth/setup", data=form, headers={"Origin": fresh_server.url},
                      allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/get-started"  # no demo here


@pytest.mark.browser
def test_a_form_on_another_site_cannot_sign_the_visitor_in(server, accounts, page):
    """The attack in a real browser: a page elsewhere posts the attacker's credentials to Halley."""
    attacker = accounts.create("mallory")
    form = f"""<!doctype html><form id="f" method="POST" action="{server.url}/auth/login">
      <input name="username" value="{attacker.username}"><input name="password" value="{attacker.password}">
      <input name="remember" value="y"><button id="go" type="submit">win a prize</button></form>"""
    page.route("http://evil.example/**", lambda route: route.fulfill(status=200, content_type="text/html", body=form))
    page.goto("http://evil.example/prize")
    with page.expect_response(server.url + "/auth/login") as answer:
        page.click("#go")
    assert answer.value.status == 403
    expect(page.locator("#cross-site-refused")).to_be_visible()
    page.goto(server.url + "/workspaces")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert "remember_token" not in {c["name"] for c in page.context.cookies()}


# --- migration ------------------------------------------------------------------------------

def test_upgrade_gives_every_existing_user_a_token_of_their_own(tmp_path):
    from alembic import command

    from dashboard.db import alembic_config, get_engine, migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = alembic_config(url)
    with get_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    with get_engine(url).begin() as conn:
        for name in ("ada", "grace", "linus"):
            conn.execute(text("INSERT INTO \"user\" (username, email, password_hash, is_active_user, created_at) "
                              "VALUES (:n, :e, 'x', true, CURRENT_TIMESTAMP)"), {"n": name, "e": f"{name}@example.org"})
    migrate(url)
    with get_engine(url).connect() as conn:
        tokens = conn.execute(text("SELECT session_token FROM \"user\"")).scalars().all()
    assert len(tokens) == 3 and len(set(tokens)) == 3
    assert all(len(t) >= 40 for t in tokens)


def test_addresses_listed_as_trusted_origins_may_post_behind_a_proxy_that_rewrites_host(tmp_path):
    """A proxy that sends Halley its own Host and no X-Forwarded-Host: the address users open is
    listed in HALLEY_TRUSTED_ORIGINS, and posts from it are Halley's own; others are still refused."""
    srv = LiveServer(tmp_path / "home", extra_env={
        "HALLEY_TRUSTED_ORIGINS": "https://halley.example.org, ml-box:8443"}).start()
    try:
        account = Accounts(srv).create("proxied")
        for origin in ("https://halley.example.org", "http://ml-box:8443", "https://HALLEY.example.org"):
            s = signed_in(srv, account, headers={"Origin": origin})
            assert can_open_workspaces(srv, s)
            assert callback_status(srv, s, headers={"Origin": origin}) == 200
        for origin in (EVIL, "https://halley.example.org:444", "https://ml-box"):
            r = requests.post(srv.url + "/auth/login", data={"username": account.username,
                              "password": account.password}, headers={"Origin": origin}, allow_redirects=False)
            assert r.status_code == 403 and "HALLEY_TRUSTED_ORIGINS" in r.text
    finally:
        srv.stop()


def test_a_trusted_origin_that_is_not_an_origin_stops_the_server_with_a_clear_message(tmp_path):
    srv = LiveServer(tmp_path / "home", extra_env={"HALLEY_TRUSTED_ORIGINS": "https://halley.example.org/app"})
    with pytest.raises(RuntimeError, match="is not an origin"):
        srv.start()
