"""Sign-in throttling over real HTTP: guessing is slowed, then stopped, per account and per
address, while the account's owner still signs in from a browser that signed in before.

The server here trusts X-Forwarded-For from this machine (HALLEY_TRUSTED_PROXIES=127.0.0.1, as
behind a reverse proxy), so each simulated browser can come from an address of its own; it runs
on SQLite and on PostgreSQL (see tests/postgres_fixtures.py for when that is skipped). Counts
of answers are asserted, never how long anything took: the limits count failures within a
window of minutes, far longer than any of these tests runs.
"""
from __future__ import annotations

import itertools
import secrets
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from playwright.sync_api import expect

from dashboard.services.login_throttle import ACCOUNT, ACCOUNT_AT_ADDRESS, ADDRESS
from tests.conftest import HALLEY, ROOT, Accounts, LiveServer, sign_in
from tests.postgres_fixtures import PostgresServer, postgres  # noqa: F401  (the session's cluster)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def proxied(request, tmp_path_factory):
    """Two server processes sharing the counts in SQLite, and in PostgreSQL."""
    home, env = tmp_path_factory.mktemp("throttle-home"), {"HALLEY_TRUSTED_PROXIES": "127.0.0.1"}
    if request.param == "postgresql":
        database = request.getfixturevalue("postgres").create_database("throttle")
        srv = PostgresServer(home, database, extra_env=env)
    else:
        srv = LiveServer(home, extra_env=env)
    srv.start(workers=2)
    Accounts(srv).create("owner")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def people(proxied) -> Accounts:
    return Accounts(proxied)


_hosts = itertools.count(1)


def new_address() -> str:
    n = next(_hosts)
    return f"198.18.{n // 250}.{n % 250 + 1}"


class Browser:
    """A browser at one address; it keeps its cookies, so once it signed in to an account it is
    a known browser of that account."""

    def __init__(self, server: LiveServer, address: str | None = None):
        self.server = server
        self.address = address or new_address()
        self.session = requests.Session()

    def sign_in(self, ident: str, password: str) -> str:
        """"ok", or the sign-in page's error code ("credentials", "throttled")."""
        r = self.session.post(self.server.url + "/auth/login", allow_redirects=False,
                              data={"username": ident, "password": password, "next": "/workspaces"},
                              headers={"X-Forwarded-For": self.address, "Connection": "close"})
        assert r.status_code == 302, r.text
        query = parse_qs(urlparse(r.headers["Location"]).query)
        if "error" not in query:
            assert r.headers["Location"].endswith("/workspaces")
            return "ok"
        if query["error"] == ["throttled"]:
            assert 0 < int(query["wait"][0]) <= 15 * 60
        return query["error"][0]


def wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_parallel_wrong_passwords_never_fail_a_correct_sign_in(proxied, people):
    victim = people.create("victim")
    address = new_address()
    own = Browser(proxied, address)
    assert own.sign_in(victim.username, victim.password) == "ok"
    answers: list[str] = []
    stop = threading.Event()

    def guess() -> None:
        attacker = Browser(proxied, address)  # the same address as the owner
        while not stop.is_set():
            answers.append(attacker.sign_in(victim.username, "wrong-" + secrets.token_hex(4)))

    threads = [threading.Thread(target=guess) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: sum(a != "credentials" for a in answers) >= 12)  # guessing is being refused
        mine = [own.sign_in(victim.username, victim.password) for _ in range(4)]
        mine.append(own.sign_in(victim.email, victim.password))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert mine == ["ok"] * 5
    assert set(answers) == {"credentials", "throttled"}
    assert answers.count("credentials") <= ACCOUNT_AT_ADDRESS.lock
    # A browser that never signed in to the account waits there like the guessers.
    assert Browser(proxied, address).sign_in(victim.username, victim.password) == "throttled"


def test_guesses_against_an_account_are_bounded_from_one_address_and_from_many(proxied, people):
    victim = people.create("target")
    home = Browser(proxied)
    assert home.sign_in(victim.username, victim.password) == "ok"
    address = new_address()
    with ThreadPoolExecutor(6) as pool:
        one = list(pool.map(lambda i: Browser(proxied, address).sign_in(victim.username, f"guess-{i}"), range(40)))
    assert one.count("credentials") <= ACCOUNT_AT_ADDRESS.lock
    assert one.count("throttled") >= 40 - ACCOUNT_AT_ADDRESS.lock

    def from_elsewhere(i: int) -> list[str]:
        browser = Browser(proxied)
        return [browser.sign_in(victim.email, f"spread-{i}-{n}") for n in range(ACCOUNT_AT_ADDRESS.free)]

    with ThreadPoolExecutor(4) as pool:
        many = [a for answers in pool.map(from_elsewhere, range(10)) for a in answers]
    assert one.count("credentials") + many.count("credentials") <= ACCOUNT.lock
    assert many.count("throttled") >= len(many) - ACCOUNT.lock
    # The account is closed to browsers it doesn't know, not to its owner's.
    assert Browser(proxied).sign_in(victim.username, victim.password) == "throttled"
    assert home.sign_in(victim.username, victim.password) == "ok"
    home.address = address  # the owner's browser, from where the guessing came
    assert home.sign_in(victim.username, victim.password) == "ok"

    # An administrator lifts the lockout from the command line.
    done = subprocess.run([HALLEY, "user", "unlock", victim.email], env=proxied.env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and f"unlocked {victim.username}" in done.stdout, done.stderr
    assert Browser(proxied).sign_in(victim.username, victim.password) == "ok"
    assert Browser(proxied, address).sign_in(victim.username, victim.password) == "ok"


def test_email_and_username_are_one_account_and_unknown_names_are_throttled_alike(proxied, people):
    victim = people.create("twonames")
    free = ACCOUNT_AT_ADDRESS.free
    browser = Browser(proxied)
    assert [browser.sign_in(victim.username, f"a{i}") for i in range(free)] == ["credentials"] * free
    assert [browser.sign_in(victim.email.upper(), f"b{i}") for i in range(3)] == ["throttled"] * 3
    assert browser.sign_in(victim.username.upper(), victim.password) == "throttled"
    # A name without an account answers exactly as one with an account.
    ghost = Browser(proxied)
    nobody = f"nobody{secrets.token_hex(4)}"
    assert [ghost.sign_in(nobody, f"a{i}") for i in range(free)] == ["credentials"] * free
    assert [ghost.sign_in(nobody, f"b{i}") for i in range(3)] == ["throttled"] * 3


def test_an_address_guessing_across_accounts_is_limited(proxied, people):
    address = new_address()
    names = [f"spray{i}{secrets.token_hex(3)}" for i in range(ADDRESS.lock // ACCOUNT_AT_ADDRESS.free + 2)]
    answers = [Browser(proxied, address).sign_in(name, "password1") for name in names
               for _ in range(ACCOUNT_AT_ADDRESS.free)]
    assert answers.count("credentials") <= ADDRESS.lock
    assert answers.count("throttled") >= len(answers) - ADDRESS.lock
    neighbour = people.create("neighbour")
    assert Browser(proxied, address).sign_in(neighbour.username, neighbour.password) == "throttled"
    elsewhere = Browser(proxied)
    assert elsewhere.sign_in(neighbour.username, neighbour.password) == "ok"
    elsewhere.address = address  # a browser that signed in before gets in from there too
    assert elsewhere.sign_in(neighbour.username, neighbour.password) == "ok"


def test_a_correct_sign_in_leaves_the_failures_of_its_address_and_account_as_they_were(proxied, people):
    """Its own count is taken back, and the last failure stays the last: sign-ins that succeed
    don't keep an address's or an account's failures from wearing off."""
    from sqlmodel import select

    from dashboard.services import accounts as account_service
    from models import LoginThrottle

    victim = people.create("steady")
    browser = Browser(proxied)
    with people.db.session() as s:
        account = f"u:{account_service.find_user(s, victim.username).id}"
    subjects = [f"address|{browser.address}", f"account|{account}", f"account-address|{account}|{browser.address}"]

    def counts() -> dict:
        with people.db.session() as s:
            rows = s.exec(select(LoginThrottle).where(LoginThrottle.subject.in_(subjects))).all()
            return {row.scope: (row.failures, row.last_failure_at) for row in rows}

    assert [browser.sign_in(victim.username, f"typo{i}") for i in range(3)] == ["credentials"] * 3
    before = counts()
    assert {scope: n for scope, (n, _) in before.items()} == {"address": 3, "account": 3, "account-address": 3}
    assert browser.sign_in(victim.username, victim.password) == "ok"
    after = counts()
    assert after == {scope: value for scope, value in before.items() if scope != "account-address"}


def test_a_sign_in_flood_holds_no_server_thread(proxied, people):
    """Refused attempts are answered at once: while a flood is refused, other requests are served."""
    victim = people.create("flood")
    address = new_address()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: Browser(proxied, address).sign_in(victim.username, f"x{i}"), range(64)))
    assert answers.count("throttled") >= 64 - ACCOUNT_AT_ADDRESS.lock
    assert requests.get(proxied.url + "/api/v1/health", timeout=30).status_code == 200


@pytest.mark.browser
def test_a_workspace_owner_unlocks_a_collaborator(proxied, people, page):
    from dashboard.auth import Actor
    from dashboard.services import accounts as account_service, workspaces

    owner, member = people.create("boss"), people.create("crew")
    with people.db.session() as s:
        ws = workspaces.find_by_name(s, owner.workspace)
        boss = account_service.find_user(s, owner.username)
        workspaces.add_collaborator(s, Actor(user_id=boss.id, username=boss.username), ws.id, member.username)
    for n in range(ACCOUNT.free // ACCOUNT_AT_ADDRESS.free):
        guesser = Browser(proxied)
        assert {guesser.sign_in(member.username, f"g{n}{i}") for i in range(ACCOUNT_AT_ADDRESS.free)} == {
            "credentials"}
    assert Browser(proxied).sign_in(member.username, member.password) == "throttled"

    sign_in(page, proxied, owner, f"/settings/collaborators?workspace={owner.workspace}")
    row = page.locator(".settings-collab-row", has_text=member.username)
    expect(row.locator(".settings-collab-throttled")).to_be_visible()
    expect(page.locator(".settings-collab-row", has_text=owner.username).locator(".settings-collab-throttled")) \
        .to_have_count(0)
    row.get_by_role("button", name="Unlock").click()
    expect(page.locator("#settings-collab-ok")).to_contain_text(f"{member.username} can sign in again")
    expect(row.locator(".settings-collab-throttled")).to_have_count(0)
    assert Browser(proxied).sign_in(member.username, member.password) == "ok"


def test_forwarded_addresses_count_only_from_a_trusted_proxy(server, accounts):
    """Without HALLEY_TRUSTED_PROXIES a client can't pick its address by sending X-Forwarded-For:
    every browser here is the connection's peer."""
    victim = accounts.create("spoof")
    free = ACCOUNT_AT_ADDRESS.free
    answers = [Browser(server).sign_in(victim.username, f"s{i}") for i in range(free + 3)]  # a new "address" each
    assert answers == ["credentials"] * free + ["throttled"] * 3


def test_a_trusted_proxy_that_is_not_an_address_stops_the_server_with_a_clear_message(tmp_path):
    srv = LiveServer(tmp_path / "home", extra_env={"HALLEY_TRUSTED_PROXIES": "127.0.0.1, proxy.internal"})
    with pytest.raises(RuntimeError, match="HALLEY_TRUSTED_PROXIES: 'proxy.internal' is not an address"):
        srv.start()
