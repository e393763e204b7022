"""Invitation links and open sign-up, against a real server: who may create, list and revoke
links (over HTTP and through hand-built Dash callback requests), that a link is used
atomically, expires, can be revoked and used up, that open sign-up is off by default and keeps
to its email domains, that both forms are throttled per address, and a newcomer's whole way in
through the browser."""
from __future__ import annotations

import itertools
import re
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from playwright.sync_api import expect
from sqlmodel import select

from dashboard.auth import Actor
from dashboard.errors import Forbidden
from dashboard.services import accounts as account_service, invites as invite_service, workspaces
from models import AuditEvent, Invite, Membership, User, utcnow
from tests.conftest import Accounts, LiveServer, sign_in, signed_in_client
from tests.postgres_fixtures import postgres  # noqa: F401  (the session's cluster)
from tests.dash_requests import body_from_values, find_callback
from tests.project_data import ProjectData

ROLES = ("owner", "admin", "member", "viewer", "outsider", "anonymous", "deactivated", "share")
_addresses = itertools.count(1)


def new_address() -> str:
    """A client address of its own (the server trusts 127.0.0.1 as a proxy), so throttling in one
    test never meets another's."""
    n = next(_addresses)
    return f"10.77.{n // 250}.{n % 250 + 1}"


def client(address: str | None = None) -> requests.Session:
    s = requests.Session()
    s.headers["Connection"] = "close"
    s.headers["X-Forwarded-For"] = address or new_address()
    return s


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A server with open sign-up for example.org addresses, behind a trusted proxy (127.0.0.1)."""
    srv = LiveServer(tmp_path_factory.mktemp("invites"), extra_env={
        "HALLEY_TRUSTED_PROXIES": "127.0.0.1", "HALLEY_OPEN_SIGNUP": "1",
        "HALLEY_SIGNUP_EMAIL_DOMAINS": "example.org"}).start(workers=2)
    Accounts(srv).create("first")  # past first-run setup
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def people(site) -> Accounts:
    return Accounts(site)


class World:
    """A workspace with an admin, a member and a viewer, an outsider, a deactivated member, a
    share-link visitor and an anonymous one, each with an HTTP client."""

    def __init__(self, site: LiveServer, people: Accounts):
        self.site, self.people = site, people
        self.data = ProjectData(people, site)
        owner = people.create("inv")
        self.ws = owner.workspace
        self.accounts = {"owner": owner}
        for role in ("admin", "member", "viewer"):
            self.accounts[role] = people.create(role)
            self.data.add_member(owner, self.accounts[role], role)
        self.accounts["outsider"] = people.create("outsider")
        gone = people.create("gone")
        self.data.add_member(owner, gone, "admin")
        self.sessions = {who: signed_in_client(site, acc) for who, acc in self.accounts.items()}
        self.sessions["deactivated"] = signed_in_client(site, gone)
        with people.db.session() as s:
            account_service.find_user(s, gone.username).is_active_user = False
        self.data.project(owner, "shared-one")
        token = requests.post(site.url + f"/api/v1/workspaces/{self.ws}/projects/shared-one/share-link",
                              headers={"Authorization": owner.api_key}).json()["token"]
        share = client()
        assert share.get(site.url + f"/shared/{token}", allow_redirects=False).status_code == 302
        self.sessions["share"] = share
        self.sessions["anonymous"] = client()
        self.deps = requests.get(site.url + "/_dash-dependencies").json()

    def user_id(self, who: str) -> int:
        with self.people.db.session() as s:
            return account_service.find_user(s, self.accounts[who].username).id

    def actor(self, who: str) -> Actor:
        return Actor(user_id=self.user_id(who), username=self.accounts[who].username)

    def workspace_id(self) -> int:
        with self.people.db.session() as s:
            return workspaces.find_by_name(s, self.ws).id

    def invite(self, role: str = "member", days: int = 7, max_uses: int | None = 1) -> tuple[int, str]:
        with self.people.db.session() as s:
            invite, token = invite_service.create(s, self.actor("owner"), self.workspace_id(), role, days, max_uses)
            return invite.id, token

    def callback(self, who: str, trigger: str, values: dict) -> requests.Response:
        body = body_from_values(find_callback(self.deps, trigger), values)
        return self.sessions[who].post(self.site.url + "/_dash-update-component", json=body)

    def invites(self) -> list[Invite]:
        with self.people.db.session() as s:
            return list(s.exec(select(Invite).where(Invite.workspace_id == self.workspace_id())).all())

    def role_of(self, username: str) -> str | None:
        with self.people.db.session() as s:
            user = account_service.find_user(s, username)
            row = s.exec(select(Membership).where(Membership.user_id == user.id,
                                                  Membership.workspace_id == self.workspace_id())).first()
            return row.role if row else None


@pytest.fixture(scope="module")
def world(site, people) -> World:
    return World(site, people)


def create_values(ws: str, role: str = "member", uses=1, unlimited=False, days=7) -> dict:
    return {"settings-invite-create.n_clicks": 1, "settings-invite-role.value": role,
            "settings-invite-days.value": days, "settings-invite-uses.value": uses,
            "settings-invite-unlimited.value": unlimited, "settings-workspace.data": ws}


def join(site: LiveServer, session: requests.Session, token: str) -> requests.Response:
    return session.post(site.url + "/auth/invite/join", data={"token": token}, allow_redirects=False)


def sign_up_by_invite(site: LiveServer, session: requests.Session, token: str, name: str,
                      email: str | None = None, password: str = "password-123") -> requests.Response:
    return session.post(site.url + "/auth/invite/signup", allow_redirects=False, data={
        "token": token, "username": name, "email": email or f"{name}@example.com", "password": password,
        "password2": password})


def error_of(site: LiveServer, response: requests.Response) -> str | None:
    """The signed message a form route sent its page back with."""
    from itsdangerous import URLSafeSerializer

    raw = parse_qs(urlparse(response.headers["Location"]).query).get("error", [None])[0]
    if raw is None:
        return None
    secret = (site.home / "secret_key").read_text().strip()
    return URLSafeSerializer(secret, salt="halley-form-message").loads(raw)


def text(r: requests.Response) -> str:
    """A callback's answer as plain JSON text (Dash escapes "/" in its own)."""
    import json

    try:
        return json.dumps(r.json())
    except ValueError:
        return r.text


# --- who may create, list and revoke --------------------------------------------------------

CREATES = {"owner": True, "admin": True}
REFUSED_STATUS = {"anonymous": 401, "deactivated": 401, "share": 401}


@pytest.mark.parametrize("who", ROLES)
def test_creating_an_invite_through_the_callback(world, who):
    before = len(world.invites())
    r = world.callback(who, "settings-invite-create.n_clicks", create_values(world.ws, "member", uses=3))
    if who in REFUSED_STATUS:
        assert r.status_code == REFUSED_STATUS[who]
    else:
        assert r.status_code == 200, r.text
    created = world.invites()[before:]
    if CREATES.get(who):
        assert "/invite/" in text(r) and "settings-invite-link" in text(r)
        (invite,) = created
        assert (invite.role, invite.max_uses, invite.uses) == ("member", 3, 0)
        link = re.search(r"/invite/([A-Za-z0-9_-]+)", text(r)).group(1)
        assert invite.token_digest == invite_service.digest(link) and link not in invite.token_digest
    else:
        assert created == [] and "/invite/" not in text(r)
        if r.status_code == 200:
            assert "settings-invite-error" in text(r)


def test_only_owners_invite_owners_and_bad_input_is_refused(world):
    before = len(world.invites())
    r = world.callback("admin", "settings-invite-create.n_clicks", create_values(world.ws, "owner"))
    assert "Only an owner" in text(r)
    for values in (create_values(world.ws, "wizard"), create_values(world.ws, uses=0),
                   create_values(world.ws, uses=2.5), create_values(world.ws, days=3),
                   create_values(world.ws, uses="many")):
        r = world.callback("owner", "settings-invite-create.n_clicks", values)
        assert r.status_code in (200, 400) and "/invite/" not in text(r), values
    assert len(world.invites()) == before
    r = world.callback("owner", "settings-invite-create.n_clicks", create_values(world.ws, "owner", unlimited=True))
    assert "/invite/" in text(r)
    assert world.invites()[-1].max_uses is None and world.invites()[-1].role == "owner"


@pytest.mark.parametrize("who", ROLES)
def test_revoking_an_invite_through_the_callback(world, who):
    invite_id, token = world.invite()
    values = {"settings-invite-revoke.n_clicks": [({"type": "settings-invite-revoke", "invite": invite_id}, 1)],
              "settings-workspace.data": world.ws}
    r = world.callback(who, "settings-invite-revoke.n_clicks", values)
    assert r.status_code == REFUSED_STATUS.get(who, 200)
    revoked = next(i for i in world.invites() if i.id == invite_id).revoked_at is not None
    assert revoked is (who in CREATES)
    if who == "outsider":  # naming their own workspace doesn't reach another's invites either
        own = dict(values, **{"settings-workspace.data": world.accounts["outsider"].workspace})
        assert "No such invitation" in text(world.callback(who, "settings-invite-revoke.n_clicks", own))
        assert next(i for i in world.invites() if i.id == invite_id).revoked_at is None


def test_listing_invites_is_for_owners_and_admins(world):
    invite_id, _ = world.invite("viewer", days=30, max_uses=None)
    with world.people.db.session() as s:
        for who in ("owner", "admin"):
            listed = invite_service.active(s, world.actor(who), world.workspace_id())
            mine = next(i for i in listed if i.id == invite_id)
            assert (mine.role, mine.created_by, mine.max_uses, mine.uses) == \
                   ("viewer", world.accounts["owner"].username, None, 0)
        for who in ("member", "viewer", "outsider"):
            with pytest.raises(Exception) as refused:
                invite_service.active(s, world.actor(who), world.workspace_id())
            assert refused.value.status in (403, 404)
        with pytest.raises(Forbidden):
            invite_service.revoke(s, world.actor("member"), world.workspace_id(), invite_id)
    # A revoke listed in the response: the list redrawn without it.
    values = {"settings-invite-revoke.n_clicks": [({"type": "settings-invite-revoke", "invite": invite_id}, 1)],
              "settings-workspace.data": world.ws}
    r = world.callback("owner", "settings-invite-revoke.n_clicks", values)
    assert "settings-invite-revoked" in text(r)


# --- using a link ------------------------------------------------------------------------------

def test_a_single_use_link_joins_exactly_one_of_simultaneous_requests(world, site, people):
    _, token = world.invite("member", max_uses=1)
    newcomers = [people.create("race") for _ in range(4)]
    sessions = [signed_in_client(site, acc) for acc in newcomers]
    for s in sessions:
        s.headers["X-Forwarded-For"] = new_address()
    barrier = threading.Barrier(len(sessions))
    answers: list[str] = []

    def go(s):
        barrier.wait()
        answers.append(join(site, s, token).headers["Location"])

    threads = [threading.Thread(target=go, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a == f"/{world.ws}" for a in answers) == [False, False, False, True], answers
    assert sum(world.role_of(acc.username) == "member" for acc in newcomers) == 1
    (invite,) = [i for i in world.invites() if i.token_digest == invite_service.digest(token)]
    assert invite.uses == 1


def test_use_limit_expiry_and_revocation_show_one_neutral_message(world, site, people):
    _, token = world.invite("viewer", max_uses=2)
    joiners = [people.create("lim") for _ in range(3)]
    answers = [join(site, signed_in_client(site, acc), token) for acc in joiners]
    assert [a.headers["Location"] for a in answers[:2]] == [f"/{world.ws}"] * 2
    assert error_of(site, answers[2]) == invite_service.UNUSABLE
    assert [world.role_of(a.username) for a in joiners] == ["viewer", "viewer", None]

    expiring_id, expiring = world.invite()
    with people.db.session() as s:
        s.get(Invite, expiring_id).expires_at = utcnow() - timedelta(seconds=1)
    revoked_id, revoked = world.invite()
    with people.db.session() as s:
        s.get(Invite, revoked_id).revoked_at = utcnow()
    late = people.create("late")
    for token in (expiring, revoked, "x" * 43):
        r = join(site, signed_in_client(site, late), token)
        assert error_of(site, r) == invite_service.UNUSABLE
        r = sign_up_by_invite(site, client(), token, f"nl{next(_addresses)}x")
        assert error_of(site, r) == invite_service.UNUSABLE
    assert world.role_of(late.username) is None


def test_joining_never_lowers_a_role_and_an_anonymous_join_goes_to_sign_in(world, site):
    _, token = world.invite("viewer", max_uses=1)
    r = join(site, world.sessions["admin"], token)
    assert r.headers["Location"] == f"/{world.ws}"
    assert world.role_of(world.accounts["admin"].username) == "admin"
    (invite,) = [i for i in world.invites() if i.token_digest == invite_service.digest(token)]
    assert invite.uses == 0  # nothing changed, so the link is still there for its newcomer
    r = join(site, client(), token)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=%2Finvite%2F")


def test_a_newcomer_signs_up_through_a_link_even_with_open_sign_up_limited(world, site, people):
    _, token = world.invite("admin", max_uses=1)
    s = client()
    r = sign_up_by_invite(site, s, token, "newbie1", email="newbie1@elsewhere.net")
    assert r.headers["Location"] == f"/{world.ws}", error_of(site, r)
    assert world.role_of("newbie1") == "admin"
    assert s.get(site.url + "/api/v1/account").json()["username"] == "newbie1"
    with people.db.session() as db:
        actions = set(db.exec(select(AuditEvent.action).where(AuditEvent.actor_name == "newbie1")).all())
    assert {"user.signed_up", "invite.accepted"} <= actions
    # the link is used up: the next newcomer gets no account at all
    r = sign_up_by_invite(site, client(), token, "newbie2")
    assert error_of(site, r) == invite_service.UNUSABLE
    with people.db.session() as db:
        assert db.exec(select(User).where(User.username == "newbie2")).first() is None


def test_a_taken_email_gets_a_message_that_does_not_say_it_has_an_account(world, site):
    _, token = world.invite(max_uses=None)
    owner_email = world.accounts["owner"].email
    r = sign_up_by_invite(site, client(), token, f"dup{next(_addresses)}", email=owner_email)
    message = error_of(site, r)
    assert message == account_service.EMAIL_UNAVAILABLE and "exists" not in message


# --- open sign-up -------------------------------------------------------------------------------

def sign_up(site: LiveServer, session: requests.Session, name: str, email: str) -> requests.Response:
    return session.post(site.url + "/auth/signup", allow_redirects=False, data={
        "username": name, "email": email, "password": "password-123", "password2": "password-123"})


def test_open_sign_up_is_off_by_default(server):
    r = sign_up(server, client(), "opener", "opener@example.org")
    assert r.status_code == 404
    with Accounts(server).db.session() as s:
        assert account_service.find_user(s, "opener") is None


def test_open_sign_up_keeps_to_its_email_domains(site, people):
    s = client()
    r = sign_up(site, s, "stranger", "stranger@elsewhere.net")
    assert "example.org" in error_of(site, r)
    r = sign_up(site, s, "insider", "insider@example.org")
    assert r.status_code == 302 and "error" not in r.headers["Location"]
    assert s.get(site.url + "/api/v1/account").json()["username"] == "insider"
    with people.db.session() as db:
        assert account_service.find_user(db, "stranger") is None


def test_sign_up_and_invitations_are_throttled_per_address(world, site):
    address = new_address()
    s = client(address)
    for n in range(5):
        assert "example.org" in error_of(site, sign_up(site, s, f"no{n}", f"no{n}@elsewhere.net"))
    r = sign_up(site, s, "patient", "patient@example.org")
    assert "Too many failed attempts" in error_of(site, r)
    assert sign_up(site, client(), "other-address", "other-address@example.org").headers["Location"] == "/get-started"

    _, token = world.invite(max_uses=None)
    s = client(new_address())
    for n in range(5):
        assert error_of(site, sign_up_by_invite(site, s, "y" * 43, f"guess{n}")) == invite_service.UNUSABLE
    r = sign_up_by_invite(site, s, token, "invitee-late")
    assert "Too many failed attempts" in error_of(site, r)
    with world.people.db.session() as db:
        assert account_service.find_user(db, "invitee-late") is None


# --- the whole way in, in a browser ---------------------------------------------------------------

def test_owner_invites_and_a_newcomer_joins_in_the_browser(world, site, page, browser, console_errors):
    owner = world.accounts["owner"]
    sign_in(page, site, owner, f"/settings/collaborators?workspace={world.ws}")
    expect(page.locator("#settings-invite-card")).to_be_visible()
    page.locator("#settings-invite-role").click()
    page.locator(".dash-dropdown-option, [role=option]").filter(has_text="Viewer").first.click()
    page.click("#settings-invite-create")
    link = page.locator("#settings-invite-link")
    expect(link).to_have_value(re.compile(r"/invite/"))
    url = link.input_value()
    expect(page.locator(".settings-invite-row").first).to_contain_text("viewer")

    newcomer = browser.new_context()
    other = newcomer.new_page()
    other.goto(url)
    expect(other.locator("#invite-workspace")).to_have_text(world.ws)
    expect(other.locator("#invite-role")).to_have_text("viewer")
    other.fill("#invite-username", "fromlink")
    other.fill("#invite-email", "fromlink@example.com")
    other.fill("#invite-password", "password-123")
    other.fill("#invite-password2", "password-123")
    other.click("#invite-create")
    other.wait_for_url(f"{site.url}/{world.ws}")
    assert world.role_of("fromlink") == "viewer"
    other.goto(url)  # used up: the neutral message
    expect(other.locator("#invite-unusable")).to_have_text(invite_service.UNUSABLE)
    newcomer.close()
    assert console_errors == []


# --- both databases ---------------------------------------------------------------------------------

@pytest.mark.postgres
def test_links_are_used_atomically_and_expire_alike_on_postgresql_and_sqlite(postgres, tmp_path):  # noqa: F811
    """Eight threads use a two-use link at once: exactly two join, on both databases; expiry
    and revocation are compared in UTC (the PostgreSQL session's time zone is far from it)."""
    from dashboard.db import Database, migrate
    from dashboard.errors import NotFound

    for url in (postgres.create_database("invites"), f"sqlite:///{tmp_path / 'invites.db'}"):
        migrate(url)
        db = Database(url)
        with db.session() as s:
            owner = account_service.create_user(s, "boss", "boss@example.org", "password-123")
            ws_id = workspaces.find_by_name(s, "boss").id
            actor = Actor(user_id=owner.id, username="boss")
            _, token = invite_service.create(s, actor, ws_id, "member", 1, 2)
            soon_invite, soon = invite_service.create(s, actor, ws_id, "member", 1, None)
            soon_id = soon_invite.id
            users = [account_service.create_user(s, f"racer{n}", f"racer{n}@example.org", "password-123").id
                     for n in range(8)]
        barrier = threading.Barrier(len(users))
        joined: list[str] = []

        def use(user_id: int) -> None:
            with db.session() as s:
                user = s.get(User, user_id)
                barrier.wait()
                try:
                    invite_service.accept(s, token, user)
                    s.commit()
                    joined.append(user.username)
                except NotFound:
                    s.rollback()

        threads = [threading.Thread(target=use, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(joined) == 2, (url.split(":")[0], joined)
        with db.session() as s:
            members = s.exec(select(Membership).where(Membership.workspace_id == ws_id,
                                                      Membership.role == "member")).all()
            assert len(members) == 2
            assert invite_service.find(s, soon) is not None
            s.get(Invite, soon_id).expires_at = utcnow() + timedelta(minutes=1)
        with db.session() as s:
            assert invite_service.find(s, soon) is not None
            s.get(Invite, soon_id).expires_at = utcnow() - timedelta(minutes=1)
        with db.session() as s:
            assert invite_service.find(s, soon) is None


# --- pages, as each visitor sees them ------------------------------------------------------------

def render(site: LiveServer, deps: list, session: requests.Session, path: str, search: str = "") -> str:
    """The page router's answer for ``path`` (as the browser asks for a page's content)."""
    spec = next(d for d in deps if "_pages_content.children" in d["output"])
    values = {"_pages_location.pathname": path, "_pages_location.search": search}
    body = body_from_values(spec, values)
    r = session.post(site.url + "/_dash-update-component", json=body)
    assert r.status_code == 200, (path, r.status_code)
    return text(r)


@pytest.mark.parametrize("who", ROLES)
def test_pages_as_each_visitor_sees_them(world, site, who):
    session = world.sessions[who]
    _, token = world.invite("viewer", max_uses=None)
    page = render(site, world.deps, session, f"/invite/{token}")
    assert world.ws in page and "invite-role" in page
    signed_in = who not in ("anonymous", "deactivated", "share")
    assert ("invite-join" in page) is signed_in and ("invite-create" in page) is not signed_in
    assert invite_service.UNUSABLE in render(site, world.deps, session, "/invite/" + "z" * 43)
    settings = render(site, world.deps, session, "/settings/collaborators", f"?workspace={world.ws}")
    assert ("settings-invite-card" in settings) is (who in CREATES)
    account = render(site, world.deps, session, "/settings/account")
    assert ("settings-account-display-name" in account) is signed_in
    if not signed_in:
        assert "/login?next=%2Fsettings%2Faccount" in account
    signup = render(site, world.deps, session, "/signup")
    assert ("signup-submit" in signup) is not signed_in


def test_the_sign_up_page_is_not_found_when_sign_up_is_closed(server):
    deps = requests.get(server.url + "/_dash-dependencies").json()
    page = render(server, deps, client(), "/signup")
    assert "signup-submit" not in page and "Sign-up is not open" in page
    assert "login-signup" not in render(server, deps, client(), "/login")
