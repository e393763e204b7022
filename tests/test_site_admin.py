"""Site administration (/admin, `halley user ...`) and password-reset links: who may see and
call what (site admin, workspace roles, deactivated user, anonymous, share-link visitor) over
HTTP and hand-built callback posts; the admin flow in the browser; reset links used once; the
last site admin kept; the command line."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

import pytest
import requests
from playwright.sync_api import expect
from sqlmodel import select

from dashboard.services import accounts as account_service, site_admin
from models import PasswordReset, User
from tests.conftest import ROOT, LiveServer, signed_in_client, sign_in
from tests.dash_requests import body_from_values, dependencies, find_callback, server_callbacks
from tests.postgres_fixtures import postgres  # noqa: F401  (a throwaway cluster, when PostgreSQL is installed)
from tests.project_data import ProjectData

ROUTER = ".._pages_content.children..._pages_store.data.."
VISITORS = ("admin", "ws_owner", "ws_admin", "member", "viewer", "deactivated", "anonymous", "share")


def new_session() -> requests.Session:
    s = requests.Session()
    s.headers["Connection"] = "close"
    return s


def make_admin(accounts, account) -> int:
    with accounts.db.session() as s:
        user = account_service.find_user(s, account.username)
        site_admin.set_site_admin(s, site_admin.OPERATOR, user.id, True)
        return user.id


def user_id(accounts, account) -> int:
    with accounts.db.session() as s:
        return account_service.find_user(s, account.username).id


def user_row(accounts, name: str) -> User:
    with accounts.db.session() as s:
        return s.exec(select(User).where(User.username == name)).one()


def render_page(session: requests.Session, url: str, path: str, deps: list[dict]) -> requests.Response:
    """Dash's page router rendering ``path``, as the browser asks for it."""
    spec = next(d for d in deps if d["output"] == ROUTER)
    body = body_from_values(spec, {"_pages_location.pathname": path, "_pages_location.search": "",
                                   "_pages_location.hash": "", "_pages_location.href": url + path})
    return session.post(url + "/_dash-update-component", json=body)


class World:
    """A site admin, a workspace with every role, a deactivated user, an anonymous visitor and a
    share-link visitor of one of the workspace's projects."""

    def __init__(self, server, accounts):
        self.server, self.accounts = server, accounts
        data = ProjectData(accounts, server)
        self.people = {"admin": accounts.create("sadm")}
        make_admin(accounts, self.people["admin"])
        owner = self.people["ws_owner"] = accounts.create("wso")
        for role in ("admin", "member", "viewer"):
            acc = accounts.create(f"ws{role}")
            data.add_member(owner, acc, role)
            self.people["ws_admin" if role == "admin" else role] = acc
        self.people["deactivated"] = accounts.create("gone")
        data.project(owner, "secret")
        token = requests.post(f"{server.url}/api/v1/workspaces/{owner.workspace}/projects/secret/share-link",
                              headers={"Authorization": owner.api_key}).json()["token"]
        self.sessions = {name: signed_in_client(server, acc) for name, acc in self.people.items()}
        with accounts.db.session() as s:  # deactivated after signing in: that session ends
            site_admin.deactivate(s, site_admin.OPERATOR, user_id(accounts, self.people["deactivated"]))
        self.sessions["anonymous"] = new_session()
        share = new_session()
        assert share.get(f"{server.url}/shared/{token}").status_code == 200
        self.sessions["share"] = share
        self.victim = accounts.create("victim")
        self.victim_id = user_id(accounts, self.victim)
        self.deps = dependencies(server.url, self.sessions["admin"])

    def callback(self, who: str, trigger: str, values: dict, output: str = "") -> requests.Response:
        body = body_from_values(find_callback(self.deps, trigger, output), values)
        return self.sessions[who].post(self.server.url + "/_dash-update-component", json=body)


@pytest.fixture(scope="module")
def world(server, accounts):
    return World(server, accounts)


@pytest.mark.parametrize("who", VISITORS)
def test_admin_pages_are_for_site_admins_only(world, who):
    """Non-admins (whatever their workspace role) see the not-found page; anonymous, share-link
    and deactivated visitors are sent to sign in."""
    session = world.sessions[who]
    page = session.get(world.server.url + "/admin/audit", allow_redirects=False)
    signed_in = who not in ("anonymous", "share", "deactivated")
    assert page.status_code == (200 if signed_in else 302)
    if not signed_in:
        assert "/login" in page.headers["Location"]
    for path, marker in (("/admin", "admin-users"), ("/admin/audit", "admin-audit-list")):
        r = render_page(session, world.server.url, path, world.deps)
        assert r.status_code == 200, path
        text = r.text
        if who == "admin":
            assert marker in text and "not-found" not in text
        else:
            assert marker not in text and world.victim.email not in text
            assert ("not-found" in text) if signed_in else ("login?next=" in text), text[:500]


def _admin_callback_requests(world) -> dict[str, tuple[str, dict]]:
    """A meaningful request for every callback of the admin pages, keyed by its output key."""
    v = world.victim_id
    act = lambda a: {"admin-target.data": {"user": v, "act": a}, "admin-confirm-confirm.n_clicks": 1,
                     "admin-refresh.data": 0}
    plans = {
        "admin-users.children": ({"admin-search.value": world.victim.username, "admin-state.value": "all",
                                  "admin-page.data": 0, "admin-refresh.data": 0}),
        "admin-page.data": ({"admin-next.n_clicks": 1, "admin-page.data": 0}),
        "admin-create-submit.n_clicks": ({"admin-create-submit.n_clicks": 1, "admin-create-username.value": "intruder",
                                          "admin-create-email.value": "intruder@example.org",
                                          "admin-create-password.value": "long-enough-pw",
                                          "admin-create-admin.value": True}),
        "admin-user-act.n_clicks": ({"admin-user-act.n_clicks": [({"type": "admin-user-act", "user": v,
                                                                   "act": "deactivate"}, 1)]}),
        "admin-confirm-confirm.n_clicks": act("deactivate"),
        "admin-confirm-cancel.n_clicks": ({"admin-confirm-cancel.n_clicks": 1}),
        "admin-audit-list.children": ({"admin-audit-text.value": world.victim.username, "admin-audit-page.data": 0}),
        "admin-audit-page.data": ({"admin-audit-next.n_clicks": 1, "admin-audit-page.data": 0}),
    }
    return plans


TRIGGERS = {"admin-users.children": ("admin-search.value", "admin-users.children"), "admin-page.data": "admin-next.n_clicks",
            "admin-create-submit.n_clicks": "admin-create-submit.n_clicks",
            "admin-user-act.n_clicks": "admin-user-act.n_clicks",
            "admin-confirm-confirm.n_clicks": "admin-confirm-confirm.n_clicks",
            "admin-confirm-cancel.n_clicks": "admin-confirm-cancel.n_clicks",
            "admin-audit-list.children": ("admin-audit-text.value", "admin-audit-list.children"),
            "admin-audit-page.data": "admin-audit-next.n_clicks"}


def _trigger(value) -> tuple[str, str]:
    return value if isinstance(value, tuple) else (value, "")


def test_every_admin_callback_is_in_the_matrix(world):
    admin_callbacks = [d for d in server_callbacks(world.deps)
                       if any(i["id"].startswith("admin-") or "admin-user-act" in i["id"] for i in d["inputs"])]
    covered = {find_callback(world.deps, *_trigger(t))["output"] for t in TRIGGERS.values()}
    assert {d["output"] for d in admin_callbacks} == covered


@pytest.mark.parametrize("who", [w for w in VISITORS if w != "admin"])
def test_admin_callbacks_refuse_everyone_but_site_admins(world, accounts, who):
    """Hand-built posts of every admin callback: anonymous, share-link and deactivated visitors
    get 401; signed-in non-admins get "not found" and change nothing, see nothing."""
    plans = _admin_callback_requests(world)
    for key, trigger in TRIGGERS.items():
        r = world.callback(who, *_trigger(trigger)[:1], plans[key], output=_trigger(trigger)[1])
        if who in ("anonymous", "share", "deactivated"):
            assert r.status_code == 401, (key, r.status_code)
            continue
        assert r.status_code in (200, 204), (key, r.status_code, r.text[:300])
        if key == "admin-confirm-cancel.n_clicks":
            continue  # only closes the dialog
        assert r.status_code == 204 or "Page not found" in r.text, (key, r.text[:300])
        assert world.victim.email not in r.text
    victim = user_row(accounts, world.victim.username)
    assert victim.is_active_user and not victim.is_site_admin
    with accounts.db.session() as s:
        assert s.exec(select(User).where(User.username == "intruder")).first() is None


def test_site_admin_callbacks_work_and_refuse_removing_themselves(world, accounts):
    r = world.callback("admin", "admin-search.value", _admin_callback_requests(world)["admin-users.children"],
                       output="admin-users.children")
    assert r.status_code == 200 and world.victim.email in r.text
    me = user_id(accounts, world.people["admin"])
    r = world.callback("admin", "admin-confirm-confirm.n_clicks",
                       {"admin-target.data": {"user": me, "act": "deactivate"}, "admin-confirm-confirm.n_clicks": 1,
                        "admin-refresh.data": 0})
    assert r.status_code == 200 and "can't deactivate your own account" in r.text
    assert user_row(accounts, world.people["admin"].username).is_active_user
    # malformed ids and unknown users are clear errors, not crashes
    r = world.callback("admin", "admin-confirm-confirm.n_clicks",
                       {"admin-target.data": {"user": "1; drop", "act": "deactivate"},
                        "admin-confirm-confirm.n_clicks": 1, "admin-refresh.data": 0})
    assert r.status_code == 200 and "malformed" in r.text
    r = world.callback("admin", "admin-confirm-confirm.n_clicks",
                       {"admin-target.data": {"user": 2**40, "act": "reset"},
                        "admin-confirm-confirm.n_clicks": 1, "admin-refresh.data": 0})
    assert r.status_code == 200 and "No such user" in r.text


# --- the browser flow ------------------------------------------------------------------------

def test_admin_creates_deactivates_reactivates_and_resets_in_the_browser(server, accounts, page, browser,
                                                                         console_errors):
    admin = accounts.create("boss")
    make_admin(accounts, admin)
    sign_in(page, server, admin, "/admin")
    expect(page.locator("#admin-users-table")).to_be_visible()

    # create a user
    name = f"made{os.getpid()}{threading.get_ident() % 10000}"
    page.fill("#admin-create-username", name)
    page.fill("#admin-create-email", f"{name}@example.org")
    page.fill("#admin-create-password", "first-password")
    page.click("#admin-create-submit")
    expect(page.locator("#admin-ok")).to_contain_text(f"Created {name}")
    page.fill("#admin-search", name)
    page.press("#admin-search", "Enter")
    row = page.locator(f".admin-user-row[data-user='{name}']")
    expect(row).to_have_count(1)
    expect(page.locator(".admin-user-row")).to_have_count(1)
    expect(row).to_contain_text(name)

    # the new user signs in in another browser and gets an API key
    from tests.conftest import UserAccount

    made = UserAccount(name, f"{name}@example.org", "first-password", accounts.key_for(
        UserAccount(name, "", "", "", name), name), name)
    other = browser.new_context()
    their_page = other.new_page()
    sign_in(their_page, server, made, f"/{name}")
    def key_ok() -> int:
        """What the REST API and the comet_ml-compatible API answer the user's key."""
        answers = {requests.get(server.url + path, headers={"Authorization": made.api_key}).status_code
                   for path in (f"/api/v1/workspaces/{name}/projects", "/api/rest/v2/workspaces")}
        assert len(answers) == 1, answers
        return answers.pop()

    assert key_ok() == 200

    # deactivate: their browser session ends and their key is refused at once
    row.locator(".admin-user-deactivate").click()
    expect(page.locator("#admin-confirm-question")).to_contain_text(f"Deactivate {name}?")
    page.click("#admin-confirm-confirm")
    expect(page.locator("#admin-ok")).to_contain_text(f"{name} is deactivated")
    expect(row.locator(".admin-state")).to_have_text("deactivated")
    assert key_ok() == 401
    their_page.goto(f"{server.url}/{name}")
    expect(their_page).to_have_url(re.compile(r"/login\?"))
    their_page.fill("#login-username", name)
    their_page.fill("#login-password", "first-password")
    their_page.click("#login-submit")
    expect(their_page.locator("#login-error")).to_contain_text("Wrong username or password")

    # reactivate
    row.locator(".admin-user-reactivate").click()
    expect(page.locator("#admin-confirm-question")).to_contain_text(f"Reactivate {name}?")
    page.click("#admin-confirm-confirm")
    expect(row.locator(".admin-state")).to_have_text("active")
    assert key_ok() == 200

    # a reset link, shown once, works once
    row.locator(".admin-user-reset").click()
    expect(page.locator("#admin-confirm-question")).to_contain_text(name)
    page.click("#admin-confirm-confirm")
    link = page.locator("#admin-reset-url")
    expect(link).to_have_value(re.compile(r"/reset/[A-Za-z0-9_-]{40,}$"))
    url = link.input_value()
    sign_in(their_page, server, made, f"/{name}")  # a session the reset will end
    reset_page = other.new_page()
    reset_page.goto(url)
    reset_page.fill("#reset-password", "second-password")
    reset_page.fill("#reset-password2", "second-password")
    reset_page.click("#reset-submit")
    expect(reset_page.locator("#reset-done")).to_be_visible()
    reset_page.screenshot(path=str(server.home / "reset-done.png"))
    reset_page.goto(url)
    expect(reset_page.locator("#reset-error")).to_contain_text("invalid, used or expired")
    expect(reset_page.locator("#reset-password")).to_have_count(0)
    their_page.goto(f"{server.url}/{name}")
    expect(their_page).to_have_url(re.compile(r"/login\?"))
    sign_in(their_page, server, UserAccount(name, "", "second-password", "", name), f"/{name}")
    expect(their_page).to_have_url(f"{server.url}/{name}")
    other.close()

    # the Administration link is in a site admin's menu only
    page.click("#shell-workspace-menu")
    expect(page.locator("#shell-admin")).to_be_visible()
    their = browser.new_context()
    p2 = their.new_page()
    sign_in(p2, server, UserAccount(name, "", "second-password", "", name), f"/{name}")
    p2.click("#shell-workspace-menu")
    expect(p2.locator("#shell-sign-out")).to_be_visible()
    expect(p2.locator("#shell-admin")).to_have_count(0)
    their.close()
    assert console_errors == []


# --- reset links -----------------------------------------------------------------------------

def issue(accounts, account) -> str:
    with accounts.db.session() as s:
        return site_admin.issue_reset_link(s, site_admin.OPERATOR, user_id(accounts, account))


def post_reset(url: str, token: str, password: str, address: str | None = None, password2: str | None = None):
    headers = {"Connection": "close"}
    if address:
        headers["X-Forwarded-For"] = address
    return requests.post(url + "/auth/reset", data={"token": token, "password": password,
                                                    "password2": password if password2 is None else password2},
                         headers=headers, allow_redirects=False)


def test_a_reset_link_used_twice_at_once_works_once(server, accounts):
    acc = accounts.create("twice")
    token = issue(accounts, acc)
    barrier = threading.Barrier(3)
    answers: list[str] = []

    def use(i):
        barrier.wait()
        answers.append(post_reset(server.url, token, f"parallel-pw-{i}").headers["Location"])

    threads = [threading.Thread(target=use, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a == "/reset/done" for a in answers) == [False, False, True], answers
    assert all(a == "/reset/done" or a.endswith("?error=invalid") for a in answers)
    with accounts.db.session() as s:
        rows = s.exec(select(PasswordReset).where(PasswordReset.user_id == user_id(accounts, acc))).all()
        assert len(rows) == 1 and rows[0].used_at is not None and len(rows[0].token_hash) == 64
        assert token not in rows[0].token_hash


def test_a_newer_link_ends_older_ones_and_bad_passwords_use_nothing(server, accounts):
    acc = accounts.create("newer")
    old, new = issue(accounts, acc), issue(accounts, acc)
    r = post_reset(server.url, new, "short")
    assert r.status_code == 302 and r.headers["Location"].endswith("error=short")
    r = post_reset(server.url, new, "long-enough-1", password2="long-enough-2")
    assert r.headers["Location"].endswith("error=mismatch")
    assert post_reset(server.url, old, "long-enough-1").headers["Location"].endswith("error=invalid")
    assert post_reset(server.url, new, "long-enough-1").headers["Location"] == "/reset/done"


def test_reset_links_are_throttled_per_address(tmp_path):
    """Unknown links from one address are failed attempts: after ten, that address waits,
    even with a good link; another address is not affected."""
    srv = LiveServer(tmp_path / "home", extra_env={"HALLEY_TRUSTED_PROXIES": "127.0.0.1/32"}).start()
    try:
        from tests.conftest import Accounts

        accs = Accounts(srv)
        acc = accs.create("thr")
        good = issue(accs, acc)
        for _ in range(10):
            assert post_reset(srv.url, "y" * 43, "whatever-pw", "203.0.113.7").headers["Location"].endswith(
                "error=invalid")
        refused = post_reset(srv.url, good, "new-password-1", "203.0.113.7").headers["Location"]
        assert "error=throttled" in refused
        assert post_reset(srv.url, good, "new-password-1", "203.0.113.8").headers["Location"] == "/reset/done"
    finally:
        srv.stop()


# --- the command line ------------------------------------------------------------------------

def halley(home, *args, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command as an operator runs it, in its own process."""
    full_env = {**os.environ, "HALLEY_HOME": str(home), "HALLEY_DEMO": "0", **(env or {})}
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], input=stdin, capture_output=True,
                          text=True, env=full_env, cwd=ROOT, timeout=120)


def halley_here(home, *args, stdin: str | None = None):
    """The same command run in this process (each process start costs seconds on a busy machine)."""
    from click.testing import CliRunner

    from dashboard.cli import main

    result = CliRunner().invoke(main, list(args), input=stdin, env={"HALLEY_HOME": str(home), "HALLEY_DEMO": "0",
                                                                   "HALLEY_PUBLIC_URL": None})
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_cli_manages_users_and_keeps_the_last_site_admin(tmp_path):
    home = tmp_path / "cli-home"
    assert halley_here(home, "user", "create", "boss", "--email", "boss@example.org", "--password-stdin",
                  stdin="boss-password\n").returncode == 0
    assert halley_here(home, "user", "create", "alice", "--email", "alice@example.org", "--password-stdin",
                  stdin="alice-password\n").returncode == 0
    listed = halley_here(home, "user", "list")
    assert listed.returncode == 0
    lines = dict(line.split("\t", 1) for line in listed.stdout.strip().splitlines())
    assert "site admin" in lines["boss"] and "site admin" not in lines["alice"] and "alice (owner)" in lines["alice"]

    # the last site admin can be neither demoted nor deactivated
    for args in (("admin", "boss", "--revoke"), ("deactivate", "boss")):
        r = halley_here(home, "user", *args)
        assert r.returncode == 2 and "last site admin" in r.stderr
    assert halley_here(home, "user", "admin", "alice", "--grant").returncode == 0
    assert halley_here(home, "user", "admin", "boss", "--revoke").returncode == 0
    r = halley_here(home, "user", "deactivate", "alice")
    assert r.returncode == 2 and "last site admin" in r.stderr

    assert halley_here(home, "user", "deactivate", "boss").returncode == 0
    assert "deactivated" in halley_here(home, "user", "list", "--state", "deactivated").stdout
    r = halley_here(home, "user", "reset-link", "boss")
    assert r.returncode == 2 and "reactivate" in r.stderr
    assert halley_here(home, "user", "reactivate", "boss").returncode == 0
    r = halley(home, "user", "reset-link", "boss", env={"HALLEY_PUBLIC_URL": "https://halley.example.org"})
    assert r.returncode == 0 and re.fullmatch(r"https://halley\.example\.org/reset/[A-Za-z0-9_-]{40,}\n", r.stdout)
    assert halley_here(home, "user", "deactivate", "nobody").returncode == 2

    from dashboard.db import Database
    from dashboard.services import audit

    with Database(f"sqlite:///{home / 'halley.db'}").session() as s:
        events, _ = audit.events(s, audit.AuditFilter(action="user."))
    acts = [(e.action, e.target, e.actor_name) for e in events]
    for expected in (("user.created", "alice"), ("user.admin_granted", "alice"), ("user.admin_revoked", "boss"),
                     ("user.deactivated", "boss"), ("user.reactivated", "boss"), ("user.reset_link_issued", "boss")):
        assert (*expected, "(command line)") in acts, expected


# --- PostgreSQL ------------------------------------------------------------------------------

@pytest.mark.postgres
def test_site_administration_on_postgresql(postgres):  # noqa: F811
    """The same services on PostgreSQL: search, the last admin kept under row locks, a reset
    link used by several transactions at once succeeding once, the audit log's filters."""
    from dashboard.db import Database, migrate
    from dashboard.services import audit

    url = postgres.create_database("admin")
    migrate(url)
    db = Database(url)
    with db.session() as s:
        boss = account_service.create_user(s, "pgboss", "pgboss@example.org", "boss-password")
        alice = account_service.create_user(s, "pgalice", "Alice@Example.org", "alice-password")
        boss_id, alice_id = boss.id, alice.id
    with db.session() as s:
        rows, total = site_admin.list_users(s, site_admin.OPERATOR, "EXAMPLE.ORG", state="active")
        assert total == 2 and [r.username for r in rows] == ["pgalice", "pgboss"]
        assert rows[0].workspaces == [("pgalice", "owner")]
        assert site_admin.list_users(s, site_admin.OPERATOR, "%", state="all")[1] == 0
    from dashboard.errors import Invalid

    with pytest.raises(Invalid):
        with db.session() as s:
            site_admin.deactivate(s, site_admin.OPERATOR, boss_id)
    with db.session() as s:
        site_admin.set_site_admin(s, site_admin.OPERATOR, alice_id, True)
    # two admins removing each other at the same moment: one of them stays
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def remove(target: int) -> None:
        try:
            with db.session() as s:
                barrier.wait(30)
                site_admin.set_site_admin(s, site_admin.OPERATOR, target, False)
            outcomes.append("removed")
        except Invalid:
            outcomes.append("refused")
        except Exception as exc:  # a serialization failure also keeps an admin
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=remove, args=(t,)) for t in (boss_id, alice_id)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with db.session() as s:
        assert len(site_admin._active_admin_ids(s)) == 1, outcomes
    # a reset link used by three transactions at once
    with db.session() as s:
        token = site_admin.issue_reset_link(s, site_admin.OPERATOR, alice_id)
    barrier3 = threading.Barrier(3)
    used: list[bool] = []

    def use(i: int) -> None:
        with db.session() as s:
            barrier3.wait(30)
            used.append(site_admin.use_reset_link(s, token, f"pg-password-{i}", f"pg-password-{i}") is not None)

    threads = [threading.Thread(target=use, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(used) == [False, False, True]
    with db.session() as s:
        events, total = audit.events(s, audit.AuditFilter(action="user.", actor="COMMAND"))
        assert total >= 2 and all(e.actor_name == "(command line)" for e in events)
        assert audit.events(s, audit.AuditFilter(action="user.password_reset", text="pgalice"))[1] == 1
