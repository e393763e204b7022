"""Single sign-on with OpenID Connect, against a real certified provider: the `oidc-provider`
npm package run by node (tests/oidc_provider), with its own sign-in and consent pages.

One provider and one Halley server (SQLite) serve the module; one test runs the first sign-in on
PostgreSQL too. The browser tests drive the whole flow in headless Chromium; the forgery tests
speak HTTP, so they can change what a browser would carry (the state, the nonce) on its way.

``HALLEY_TEST_OIDC`` decides what happens when node or the provider package is missing: ``1`` (as
``make test`` sets it) makes that an error, ``0`` skips these tests, unset runs them when they
are installed and skips them otherwise.
"""
from __future__ import annotations

import atexit
import html
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import pytest
import requests
from playwright.sync_api import expect
from sqlmodel import select

from tests.conftest import Accounts, LiveServer, free_port
from tests.postgres_fixtures import PostgresServer, postgres  # noqa: F401  (the session's cluster)

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
CLIENT_ID = "halley-tests"
ADMIN_GROUP = "halley-admins"
NEUTRAL = "Single sign-on didn't sign you in."

# The people the provider knows (any password signs them in), by the login typed there.
PEOPLE = {
    "newbie": {"email": "newbie@example.com", "email_verified": True, "name": "New Bie",
               "preferred_username": "newbie", "groups": ["staff"]},
    "boss": {"email": "boss@example.com", "email_verified": True, "preferred_username": "boss",
             "groups": ["staff", ADMIN_GROUP]},
    "pgnewbie": {"email": "pgnewbie@example.com", "email_verified": True, "preferred_username": "pgnewbie"},
    "linker": {"email": "linker@example.com", "email_verified": True, "preferred_username": "someone-else"},
    "taken": {"email": "taken@example.com", "email_verified": True, "preferred_username": "login"},
    "outsider": {"email": "outsider@elsewhere.org", "email_verified": True},
    "unverified": {"email": "unverified@example.com", "email_verified": False},
    "frozen": {"email": "frozen@example.com", "email_verified": True},
    "forger": {"email": "forger@example.com", "email_verified": True},
    "noncer": {"email": "noncer@example.com", "email_verified": True},
}


def _required() -> bool | None:
    raw = os.environ.get("HALLEY_TEST_OIDC", "").strip().lower()
    return True if raw in ("1", "true", "yes") else False if raw in ("0", "false", "no") else None


class Provider:
    """``node server.mjs``: the provider at http://localhost:<port> (another site than Halley's
    127.0.0.1, as a real provider is), its one client allowed to return to ``redirect_uris``."""

    def __init__(self, home: Path, redirect_uris: list[str]):
        self.port = free_port()
        self.issuer = f"http://localhost:{self.port}"
        self.secret = secrets.token_urlsafe(24)
        self.log_path = home / "provider.log"
        env = {**os.environ, "PORT": str(self.port), "ISSUER": self.issuer, "CLIENT_ID": CLIENT_ID,
               "CLIENT_SECRET": self.secret, "REDIRECT_URI": redirect_uris[0], "USERS": json.dumps(PEOPLE),
               "EXTRA_REDIRECT_URIS": ",".join(redirect_uris[1:])}
        self.proc = subprocess.Popen(["node", "server.mjs"], cwd=PROVIDER_DIR, env=env, start_new_session=True,
                                     stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT)
        atexit.register(self.stop)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("the provider exited: " + self.log_path.read_text()[-2000:])
            try:
                if requests.get(self.issuer + "/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the provider did not start: " + self.log_path.read_text()[-2000:]
            time.sleep(0.1)

    def halley_env(self) -> dict:
        return {"HALLEY_OIDC_ISSUER": self.issuer, "HALLEY_OIDC_CLIENT_ID": CLIENT_ID,
                "HALLEY_OIDC_CLIENT_SECRET": self.secret, "HALLEY_OIDC_NAME": "TestID",
                "HALLEY_OIDC_ALLOWED_DOMAINS": "example.com", "HALLEY_OIDC_ADMIN_CLAIM": f"groups={ADMIN_GROUP}",
                "HALLEY_OIDC_SCOPES": "openid email profile groups"}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The provider, and a Halley server (SQLite) set up to sign in with it."""
    required = _required()
    if required is False:
        pytest.skip("HALLEY_TEST_OIDC=0")
    missing = [what for what, ok in (("node", shutil.which("node")),
                                      ("tests/oidc_provider/node_modules (npm ci there)",
                                       (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir())) if not ok]
    try:
        import authlib  # noqa: F401
    except ImportError:
        missing.append("authlib (pip install -e .)")
    if missing:
        message = "single sign-on tests need " + " and ".join(missing)
        if required:
            pytest.fail(message + " (HALLEY_TEST_OIDC=1)", pytrace=False)
        pytest.skip(message + "; set HALLEY_TEST_OIDC=1 to make this an error")
    home = tmp_path_factory.mktemp("oidc")
    halley_port, pg_port = free_port(), free_port()
    provider = Provider(home, [f"http://127.0.0.1:{p}/auth/oidc/callback" for p in (halley_port, pg_port)])
    provider.pg_port = pg_port
    env = {**provider.halley_env(), "HALLEY_TRUSTED_PROXIES": "127.0.0.1"}  # the throttle test's addresses
    halley = LiveServer(home / "halley", port=halley_port, extra_env=env).start()
    people = Accounts(halley)
    people.create("owner")  # past first-run setup; the first owner administers the site
    yield provider, halley, people
    halley.stop()
    provider.stop()


@pytest.fixture(scope="module")
def provider(sites):
    return sites[0]


@pytest.fixture(scope="module")
def halley(sites):
    return sites[1]


@pytest.fixture(scope="module")
def people(sites):
    return sites[2]


def user_row(people: Accounts, email: str):
    from models import User

    with people.db.session() as s:
        return s.exec(select(User).where(User.email == email)).first()


def audit_details(people: Accounts, action: str) -> list[str]:
    from models import AuditEvent

    with people.db.session() as s:
        return list(s.exec(select(AuditEvent.detail).where(AuditEvent.action == action)
                           .order_by(AuditEvent.id)).all())


# --- the browser flow ----------------------------------------------------------------------

@pytest.fixture
def halley_errors(page, provider):
    """Console errors and uncaught errors of Halley's pages (the provider's development pages
    ask for a web font from the internet, which this machine may not reach)."""
    errors: list[str] = []

    def on_console(message):
        if message.type == "error" and not page.url.startswith(provider.issuer):
            errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def sign_in_at_provider(page, provider: Provider, login: str) -> None:
    """The provider's own pages: type a login (any password), then consent."""
    page.wait_for_url(lambda url: url.startswith(provider.issuer + "/interaction/"))
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.wait_for_selector("input[name=prompt][value=consent]", state="attached")
    page.click("button[type=submit]")


def sso_in_browser(page, halley: LiveServer, provider: Provider, login: str, next_path: str = "/workspaces"):
    page.goto(halley.url + "/login?next=" + next_path)
    expect(page.locator("#login-sso")).to_have_text("Sign in with TestID")
    page.click("#login-sso")
    sign_in_at_provider(page, provider, login)
    page.wait_for_url(lambda url: url.startswith(halley.url) and "/auth/oidc/" not in url)


@pytest.mark.browser
def test_first_sign_in_creates_the_account_with_its_workspace(page, halley_errors, provider, halley, people):
    sso_in_browser(page, halley, provider, "newbie", next_path="/workspaces")
    assert page.url == halley.url + "/workspaces"
    expect(page.get_by_text("newbie", exact=True).first).to_be_visible()
    user = user_row(people, "newbie@example.com")
    assert user.username == "newbie" and user.display_name == "New Bie"
    assert user.last_sign_in_at is not None and not user.is_site_admin
    from dashboard.services import workspaces

    with people.db.session() as s:
        assert workspaces.find_by_name(s, "newbie").default_for_user_id == user.id
    assert "first sign-in through " + provider.issuer in audit_details(people, "user.created_by_oidc")
    # The account has no password anyone knows: the sign-in form refuses a guess.
    r = requests.post(halley.url + "/auth/login", data={"username": "newbie", "password": ""}, allow_redirects=False)
    assert "error=credentials" in r.headers["Location"]
    # Signing out and in again signs in the same account; no second one is made.
    page.goto(halley.url + "/logout")
    page.wait_for_url(lambda url: "/login" in url)
    page.click("#login-sso")
    # The provider remembers the person: it only asks for consent (or nothing) this time.
    page.wait_for_url(lambda url: url.startswith(provider.issuer + "/interaction/") or (
        url.startswith(halley.url) and "/login" not in url and "/auth/oidc/" not in url))
    if page.url.startswith(provider.issuer):
        if page.locator("input[name=login]").count():
            sign_in_at_provider(page, provider, "newbie")
        else:
            page.click("button[type=submit]")
        page.wait_for_url(lambda url: url.startswith(halley.url) and "/auth/oidc/" not in url)
    assert "/login" not in page.url
    from models import User

    with people.db.session() as s:
        assert len(s.exec(select(User).where(User.email.like("newbie%"))).all()) == 1
    assert halley_errors == []


@pytest.mark.browser
def test_the_admin_claim_makes_a_site_admin(page, provider, halley, people):
    sso_in_browser(page, halley, provider, "boss")
    assert "/login" not in page.url
    user = user_row(people, "boss@example.com")
    assert user.is_site_admin
    assert "by the single sign-on admin claim" in audit_details(people, "user.site_admin_granted")


@pytest.mark.browser
@pytest.mark.parametrize("login", ["outsider", "unverified", "frozen"])
def test_refusals_show_one_neutral_message(page, halley_errors, provider, halley, people, login):
    """A disallowed domain, an unverified email and a deactivated account are refused alike:
    the page says the same, whether or not the email has an account."""
    if login == "frozen":
        from dashboard.services import accounts

        with people.db.session() as s:
            if accounts.find_user(s, "frozen@example.com") is None:
                accounts.create_user(s, "frozen", "frozen@example.com", "pw-" + secrets.token_hex(8))
            user = accounts.find_user(s, "frozen@example.com")
            user.is_active_user = False
            s.add(user)
    sso_in_browser(page, halley, provider, login)
    assert urlparse(page.url).path == "/login"
    expect(page.locator("#login-error")).to_have_text(re.compile("^" + re.escape(NEUTRAL)))
    if login != "frozen":
        assert user_row(people, PEOPLE[login]["email"]) is None
    from models import UserIdentity

    with people.db.session() as s:
        frozen = user_row(people, "frozen@example.com")
        if frozen is not None:
            assert s.exec(select(UserIdentity).where(UserIdentity.user_id == frozen.id)).first() is None
    r = requests.get(halley.url + "/workspaces", cookies={c["name"]: c["value"] for c in page.context.cookies()
                                                           if c["domain"] == "127.0.0.1"}, allow_redirects=False)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert halley_errors == []


# --- the flow over HTTP, to forge what a browser carries ----------------------------------

class Flow:
    """A browser's cookies at both sites, following redirects by hand."""

    def __init__(self, halley: LiveServer, provider: Provider):
        self.halley, self.provider = halley, provider
        self.http = requests.Session()
        self.http.headers["Connection"] = "close"

    def start(self, next_path: str = "/workspaces") -> str:
        """Press "Sign in with ..." on Halley: the provider's authorization URL."""
        r = self.http.post(self.halley.url + "/auth/oidc/login", data={"next": next_path}, allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"].startswith(self.provider.issuer + "/auth?")
        return r.headers["Location"]

    def at_provider(self, authorization_url: str, login: str) -> str:
        """Sign in and consent at the provider; the callback URL it sends the browser to."""
        url = authorization_url
        for _ in range(12):
            if url.startswith(self.halley.url):
                return url
            r = self.http.get(url, allow_redirects=False)
            if r.is_redirect:
                url = requests.compat.urljoin(url, r.headers["Location"])
                continue
            action = requests.compat.urljoin(url, html.unescape(re.search(r'action="([^"]+)"', r.text).group(1)))
            form = ({"prompt": "login", "login": login, "password": "any"} if 'name="login"' in r.text
                    else {"prompt": "consent"})
            r = self.http.post(action, data=form, allow_redirects=False)
            assert r.is_redirect, r.text[:500]
            url = requests.compat.urljoin(action, r.headers["Location"])
        raise AssertionError("the provider never sent the browser back")

    def back_at_halley(self, callback_url: str) -> str:
        """Follow the callback: where Halley sends the browser."""
        r = self.http.get(callback_url, allow_redirects=False)
        assert r.status_code == 302, r.text[:500]
        return r.headers["Location"]

    def signed_in(self) -> bool:
        r = self.http.get(self.halley.url + "/workspaces", allow_redirects=False)
        return r.status_code == 200


def with_param(url: str, **params) -> str:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return urlunparse(parts._replace(query=urlencode({**query, **params})))


def test_a_forged_state_is_refused(provider, halley, people):
    """A valid code whose state this browser never started is not exchanged; nor is a callback
    replayed after it signed in."""
    flow = Flow(halley, provider)
    forged = secrets.token_urlsafe(20)
    callback = flow.at_provider(with_param(flow.start(), state=forged), "forger")
    assert parse_qs(urlparse(callback).query)["state"] == [forged]
    assert flow.back_at_halley(callback).startswith("/login?error=sso")
    assert not flow.signed_in() and user_row(people, "forger@example.com") is None
    assert "state is not one this browser started" in audit_details(people, "sign_in.oidc_failed")[-1]

    honest = Flow(halley, provider)
    callback = honest.at_provider(honest.start(), "forger")
    assert honest.back_at_halley(callback) == "/workspaces" and honest.signed_in()
    assert honest.back_at_halley(callback).startswith("/login?error=sso")  # a state works once


def test_a_forged_nonce_is_refused(provider, halley, people):
    """The provider signs the nonce the authorization request carried; one changed on the way
    doesn't match the one this browser's sign-in keeps, so the ID token is refused."""
    flow = Flow(halley, provider)
    callback = flow.at_provider(with_param(flow.start(), nonce=secrets.token_urlsafe(20)), "noncer")
    assert flow.back_at_halley(callback).startswith("/login?error=sso")
    assert not flow.signed_in() and user_row(people, "noncer@example.com") is None
    assert "nonce" in audit_details(people, "sign_in.oidc_failed")[-1]


def test_a_response_naming_another_issuer_is_refused(provider, halley, people):
    """The provider names itself in its response (RFC 9207); another name there is a mix-up."""
    flow = Flow(halley, provider)
    callback = flow.at_provider(flow.start(), "noncer")
    assert parse_qs(urlparse(callback).query)["iss"] == [provider.issuer]
    assert flow.back_at_halley(with_param(callback, iss="https://evil.example")).startswith("/login?error=sso")
    assert not flow.signed_in() and user_row(people, "noncer@example.com") is None
    assert "another issuer" in audit_details(people, "sign_in.oidc_failed")[-1]


def test_swapped_callbacks_are_refused_by_pkce(provider, halley, people):
    """Two sign-ins started in one browser: the code of one, returned with the state of the
    other, is exchanged with the other's code verifier, which the provider refuses."""
    flow = Flow(halley, provider)
    first, second = flow.start(), flow.start()
    callback = flow.at_provider(second, "taken")
    swapped = with_param(callback, state=parse_qs(urlparse(first).query)["state"][0])
    assert flow.back_at_halley(swapped).startswith("/login?error=sso")
    assert not flow.signed_in()
    assert "invalid_grant" in audit_details(people, "sign_in.oidc_failed")[-1]
    # The untouched second sign-in still works; the provider asked for PKCE with S256.
    assert parse_qs(urlparse(second).query)["code_challenge_method"] == ["S256"]
    assert flow.back_at_halley(callback) == "/workspaces" and flow.signed_in()
    # "taken" prefers the username "login", which Halley reserves: another valid name is chosen.
    user = user_row(people, "taken@example.com")
    assert user.username not in ("login", "") and user.username.lower() != "login"


def test_a_verified_email_links_the_existing_account(provider, halley, people):
    from dashboard.services import accounts

    with people.db.session() as s:
        local = accounts.create_user(s, "linker-local", "linker@example.com", "pw-" + secrets.token_hex(8))
        local.is_site_admin = True  # the provider doesn't list them as an admin: this is taken back
        s.add(local)
    flow = Flow(halley, provider)
    assert flow.back_at_halley(flow.at_provider(flow.start("/linker-local"), "linker")) == "/linker-local"
    assert flow.signed_in()
    user = user_row(people, "linker@example.com")
    assert user.username == "linker-local" and user.last_sign_in_at is not None and not user.is_site_admin
    assert "by the single sign-on admin claim" in audit_details(people, "user.site_admin_revoked")
    from models import User, UserIdentity

    with people.db.session() as s:
        identity = s.exec(select(UserIdentity).where(UserIdentity.user_id == user.id)).one()
        assert (identity.issuer, identity.subject) == (provider.issuer, "linker")
        assert s.exec(select(User).where(User.username == "someone-else")).first() is None


def test_routes_are_open_to_anyone_but_checked(provider, halley):
    """Anyone may start a sign-in (it only sends the browser to the provider); another site
    can't start one in a visitor's browser by a form POST; a callback without a started sign-in
    signs nobody in; ``next`` only ever leads back into Halley."""
    anonymous = requests.Session()
    r = anonymous.get(halley.url + "/auth/oidc/login?next=/workspaces", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(provider.issuer + "/auth?")
    query = parse_qs(urlparse(r.headers["Location"]).query)
    assert query["client_id"] == [CLIENT_ID] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [halley.url + "/auth/oidc/callback"]
    assert {"state", "nonce", "code_challenge"} <= set(query) and "openid" in query["scope"][0].split()
    r = requests.post(halley.url + "/auth/oidc/login", headers={"Origin": "https://evil.example"},
                      allow_redirects=False)
    assert r.status_code == 403
    for params in ({}, {"code": "x", "state": "y"}, {"error": "access_denied"}):
        r = requests.get(halley.url + "/auth/oidc/callback", params=params, allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?error=sso"), params
    flow = Flow(halley, provider)
    callback = flow.at_provider(flow.start("https://evil.example/"), "newbie")
    assert flow.back_at_halley(callback) == "/"


@pytest.mark.postgres
def test_first_sign_in_on_postgresql(provider, people, postgres, tmp_path):  # noqa: F811
    halley = PostgresServer(tmp_path / "pg", postgres.create_database("oidc"), port=provider.pg_port,
                            extra_env=provider.halley_env()).start()
    try:
        pg_people = Accounts(halley)
        pg_people.create("owner")
        flow = Flow(halley, provider)
        assert flow.back_at_halley(flow.at_provider(flow.start(), "pgnewbie")) == "/workspaces"
        assert flow.signed_in()
        user = user_row(pg_people, "pgnewbie@example.com")
        assert user.username == "pgnewbie" and user.last_sign_in_at is not None
        again = Flow(halley, provider)
        assert again.back_at_halley(again.at_provider(again.start(), "pgnewbie")) == "/workspaces"
        from models import UserIdentity

        with pg_people.db.session() as s:
            assert len(s.exec(select(UserIdentity).where(UserIdentity.user_id == user.id)).all()) == 1
    finally:
        halley.stop()


@pytest.mark.browser
def test_without_an_issuer_the_routes_do_not_exist(server, page):
    for path in ("/auth/oidc/login", "/auth/oidc/callback?code=x&state=y"):
        assert requests.get(server.url + path, allow_redirects=False).status_code == 404, path
    assert requests.post(server.url + "/auth/oidc/login", allow_redirects=False).status_code == 404
    page.goto(server.url + "/login")
    expect(page.locator("#login-submit")).to_be_visible()
    expect(page.locator("#login-sso")).to_have_count(0)


def test_callbacks_are_throttled_per_address(halley, people):
    """Failed callbacks count against their address in the budget of password sign-ins."""
    from dashboard.services.login_throttle import ADDRESS

    address = f"198.18.200.{secrets.randbelow(200) + 1}"
    answers = []
    for _ in range(ADDRESS.free + 1):
        r = requests.get(halley.url + "/auth/oidc/callback", params={"code": "x", "state": "forged"},
                         headers={"X-Forwarded-For": address, "Connection": "close"}, allow_redirects=False)
        answers.append(parse_qs(urlparse(r.headers["Location"]).query)["error"][0])
    assert answers == ["sso"] * ADDRESS.free + ["throttled"]
    other = requests.get(halley.url + "/auth/oidc/callback", params={"state": "forged"}, allow_redirects=False,
                         headers={"X-Forwarded-For": "198.18.201.1", "Connection": "close"})
    assert "error=sso" in other.headers["Location"]


# --- the settings and the account rules, without a server ---------------------------------

def test_settings_from_the_environment():
    from dashboard.config import oidc_settings_from_env as parse

    base = {"HALLEY_OIDC_ISSUER": "https://login.example.com", "HALLEY_OIDC_CLIENT_ID": "halley",
            "HALLEY_OIDC_CLIENT_SECRET": "s3cret"}
    assert parse({}) is None
    settings = parse({**base, "HALLEY_OIDC_ALLOWED_DOMAINS": "Example.com, @lab.example.org",
                      "HALLEY_OIDC_ADMIN_CLAIM": "groups = halley-admins", "HALLEY_OIDC_CREATE_USERS": "0"})
    assert settings.allowed_domains == ("example.com", "lab.example.org") and not settings.create_users
    assert settings.admin_claim == ("groups", "halley-admins") and settings.scopes == "openid email profile"
    assert settings.discovery_url == "https://login.example.com/.well-known/openid-configuration"
    assert settings.domain_allowed("a@LAB.example.org") and not settings.domain_allowed("a@example.org")
    assert parse({**base, "HALLEY_OIDC_ADMIN_CLAIM": "is_admin"}).admin_claim == ("is_admin", None)
    for bad in ({"HALLEY_OIDC_ISSUER": "http://login.example.com"}, {"HALLEY_OIDC_CLIENT_SECRET": ""},
                {"HALLEY_OIDC_SCOPES": "email profile"}, {"HALLEY_OIDC_ALLOWED_DOMAINS": "not a domain"},
                {"HALLEY_OIDC_ADMIN_CLAIM": "groups="}, {"HALLEY_OIDC_CREATE_USERS": "maybe"}):
        with pytest.raises(SystemExit):
            parse({**base, **bad})


def test_account_rules(tmp_path):
    from dashboard.config import OidcSettings
    from dashboard.db import Database, migrate
    from dashboard.services import accounts, oidc

    url = f"sqlite:///{tmp_path / 'o.db'}"
    migrate(url)
    db = Database(url)
    closed = OidcSettings("https://idp.example", "c", "s", create_users=False)
    with db.session() as s:
        accounts.create_user(s, "known", "known@example.com", "pw-" + secrets.token_hex(8))
    with pytest.raises(oidc.Refused), db.session() as s:
        oidc.sign_in(s, closed, "https://idp.example", {"sub": "1", "email": "new@example.com", "email_verified": True})
    with db.session() as s:  # the string "true" counts as verified
        user = oidc.sign_in(s, closed, "https://idp.example", {"sub": "2", "email": "Known@Example.com",
                                                                "email_verified": "true"})
        assert user.username == "known"
    with pytest.raises(oidc.Refused), db.session() as s:  # unverified addresses never link
        oidc.sign_in(s, closed, "https://idp.example", {"sub": "3", "email": "known@example.com"})
    assert oidc.is_admin_by_claim(("groups", "a"), {"groups": ["b", "a"]})
    assert oidc.is_admin_by_claim(("role", "a"), {"role": "a"})
    assert not oidc.is_admin_by_claim(("groups", "a"), {"groups": "ab"})
    assert oidc.is_admin_by_claim(("is_admin", None), {"is_admin": True})
    assert not oidc.is_admin_by_claim(("is_admin", None), {"is_admin": "yes please"})
    with db.session() as s:
        assert oidc.unique_username(s, {"preferred_username": "Known"}, "x@example.com") == "Known-2"
        assert oidc.unique_username(s, {"preferred_username": "  é@corp"}, "first.last@example.com") == "first.last"
        assert oidc.unique_username(s, {}, "admin@example.com") == "user"
