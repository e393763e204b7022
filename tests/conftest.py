"""Shared fixtures: a real Halley server in a subprocess, users made through the services,
and Playwright pointed at Debian's Chromium.

The suite never mocks Halley's parts: tests talk HTTP to ``halley serve`` and drive the UI in
headless Chromium.
"""
from __future__ import annotations

import atexit
import itertools
import os
import secrets
import signal
import socket
import subprocess
import threading
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError, expect

ROOT = Path(__file__).resolve().parent.parent
HALLEY = str(Path(sys.executable).parent / "halley")
CHROMIUM = "/usr/bin/chromium"


# The test files that take longest, longest first. `make test` hands whole files to its pytest-xdist
# workers in collection order, so these start first and the short files fill in at the end: a
# long file picked up last would keep one worker busy while the other has nothing left to do.
LONGEST_FIRST = [
    "test_fuzz_api.py", "test_callback_fuzz.py", "test_panels_browser.py", "test_project_links.py",
    "test_multi_server.py", "test_sdk_resilience.py", "test_backup.py", "test_s3_store.py",
    "test_onboarding.py", "test_experiment_table.py", "test_comet_import.py", "test_sign_in_throttle.py",
    "test_comet_live.py", "test_experiment_page.py", "test_server_startup.py", "test_comet_frameworks.py",
    "test_experiment_assets.py", "test_workspace_page.py", "test_run_colors.py", "test_sdk_end.py",
]


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files keep their order


# Pages draw charts and grids in software GL while other tests keep both cores busy: browser
# assertions wait longer than Playwright's 5 s before giving up.
expect.set_options(timeout=20_000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process_group(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Signal a process started with ``start_new_session=True`` and its children; kill them
    when they haven't ended after ``timeout`` seconds."""
    if proc and proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class LiveServer:
    """``halley serve`` in a subprocess on its own HALLEY_HOME and port."""

    def __init__(self, home: Path, port: int | None = None, extra_env: dict | None = None):
        self.home = Path(home)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = self.home / "server.log"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.home / 'halley.db'}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({"HALLEY_HOME": str(self.home), "HALLEY_PORT": str(self.port), "HALLEY_HOST": "127.0.0.1",
                    "HALLEY_DEMO": "0"})
        env.update(self.extra_env)
        return env

    def launch(self, workers: int = 1) -> "LiveServer":
        """Start the process without waiting for it to answer."""
        self.home.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([HALLEY, "serve", "--workers", str(workers)], env=self.env(), cwd=ROOT,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        atexit.register(self.stop)  # also when pytest is interrupted before fixture teardown
        return self

    def start(self, workers: int = 1) -> "LiveServer":
        self.launch(workers)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start: " + self.log_path.read_text()[-3000:])

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process_group(self.proc, sig)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@dataclass
class UserAccount:
    username: str
    email: str
    password: str
    api_key: str
    workspace: str


_counter = itertools.count()


class Accounts:
    """Creates users directly through the service layer against the server's database."""

    def __init__(self, server: LiveServer):
        from dashboard.db import Database

        self.db = Database(server.database_url)

    def create(self, prefix: str = "user") -> UserAccount:
        from dashboard.auth import Actor
        from dashboard.services import accounts, workspaces

        name = f"{prefix}{next(_counter)}{secrets.token_hex(2)}"
        password = "pw-" + secrets.token_hex(6)
        with self.db.session() as s:
            u = accounts.create_user(s, name, f"{name}@example.org", password)
            actor = Actor(user_id=u.id, username=u.username)
            ws = workspaces.find_by_name(s, name)
            key = workspaces.generate_api_key(s, actor, ws.id)
        return UserAccount(name, f"{name}@example.org", password, key, name)

    def key_for(self, account: UserAccount, workspace: str) -> str:
        """A new API key of ``account`` for another workspace they belong to (keys act only in
        the workspace they were issued for)."""
        from dashboard.auth import Actor
        from dashboard.services import accounts, workspaces

        with self.db.session() as s:
            u = accounts.find_user(s, account.username)
            ws = workspaces.find_by_name(s, workspace)
            return workspaces.generate_api_key(s, Actor(user_id=u.id, username=u.username), ws.id)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server for the session, with an owner account already made."""
    srv = LiveServer(tmp_path_factory.mktemp("halley-home")).start(workers=2)
    Accounts(srv).create("owner")  # past first-run setup
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def accounts(server) -> Accounts:
    return Accounts(server)


@pytest.fixture
def user(accounts) -> UserAccount:
    return accounts.create("u")


@pytest.fixture
def fresh_server(tmp_path):
    """A server on an empty database (first-run flow)."""
    srv = LiveServer(tmp_path / "home").start()
    yield srv
    srv.stop()


def signed_in_client(server: LiveServer, account: UserAccount) -> requests.Session:
    """An HTTP client signed in as ``account`` with the browser's cookie. It doesn't reuse
    connections: a kept-alive socket the server closes while a request is being sent would
    fail that request for reasons unrelated to the test."""
    s = requests.Session()
    s.headers["Connection"] = "close"
    r = s.post(server.url + "/auth/login", data={"username": account.username, "password": account.password,
                                                 "next": "/workspaces"}, allow_redirects=False)
    assert r.status_code == 302 and "error" not in r.headers["Location"], r.headers.get("Location")
    return s


def start_experiments_at_once(server: LiveServer, key: str, project: str, count: int) -> list[int]:
    """``count`` threads create an experiment in ``project`` at the same moment; their statuses."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def begin() -> None:
        s = api(server, key)
        barrier.wait()
        statuses.append(s.post(server.url + "/api/v1/experiments", json={"project": project}).status_code)

    threads = [threading.Thread(target=begin) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def api(server: LiveServer, key: str | None):
    s = requests.Session()
    if key:
        s.headers["Authorization"] = key
    s.base = server.url  # type: ignore[attr-defined]
    return s


# --- Playwright ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}}


@pytest.fixture
def console_errors(page):
    """Collects console errors and uncaught page errors; tests assert it stays empty."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def sign_in(page, server: LiveServer, account: UserAccount, next_path: str = "/") -> None:
    page.goto(server.url + "/login?next=" + next_path)
    page.fill("#login-username", account.username)
    page.fill("#login-password", account.password)
    page.click("#login-submit")
    # "/" sends a signed-in browser on to its workspace from the page itself: wait for that
    # too, or the caller's next page.goto would race that navigation
    page.wait_for_url(lambda url: "/login" not in url and (next_path != "/" or urlsplit(url).path != "/"))


# Parallel coordinates are drawn by assets/parcoords.js (ECharts, in SVG) in a .halley-parcoords
# layer over their graph; data-drawn is set once a figure has been drawn.
PARCOORDS_DRAWN = ".halley-parcoords[data-drawn]"
_PARCOORDS_AXES_JS = """el => {
    const host = el.querySelector('.halley-parcoords[data-drawn]');
    const chart = host && window.echarts && window.echarts.getInstanceByDom(host);
    return chart ? {names: chart.getOption().parallelAxis.map(a => a.name), text: host.textContent} : null;
}"""


def wait_parcoords_axes(locator, names: list[str] | int, timeout: float = 30_000) -> None:
    """Wait until the parallel coordinates in ``locator`` (a panel card or graph) show these
    axes, left to right, their names drawn (or, given a number, that many axes)."""
    element = locator.element_handle(timeout=timeout)
    shows = f"""([el, names]) => {{
        const drawn = ({_PARCOORDS_AXES_JS})(el);
        if (!drawn) return false;
        if (typeof names === 'number') return drawn.names.length === names;
        return JSON.stringify(drawn.names) === JSON.stringify(names) && names.every(n => drawn.text.includes(n));
    }}"""
    try:
        locator.page.wait_for_function(shows, arg=[element, names], timeout=timeout)
    except PlaywrightTimeoutError:
        drawn = element.evaluate(_PARCOORDS_AXES_JS)
        raise AssertionError(f"parallel coordinates show axes {drawn and drawn['names']}, not {names}") from None


def brush_parcoords(locator, axis: int, low: float, high: float) -> None:
    """Brush axis ``axis`` of the parallel coordinates in ``locator`` from ``low`` to ``high``
    (in the axis' drawn units: log10 on a log axis), as ECharts does at the end of a drag."""
    locator.evaluate("""(el, [axis, low, high]) => {
        const chart = window.echarts.getInstanceByDom(el.querySelector('.halley-parcoords'));
        chart.dispatchAction({type: 'axisAreaSelect', parallelAxisId: 'axis' + axis, intervals: [[low, high]]});
    }""", [axis, low, high])


def drag_on_parcoords_axis(page, locator, axis: int, axes: int, top: float, bottom: float) -> None:
    """Drag with the mouse along axis ``axis`` (of ``axes``) of the parallel coordinates in
    ``locator``, from ``top`` to ``bottom`` (fractions of the plot's height, 0 at its top)."""
    geometry = locator.evaluate("""el => {
        const host = el.querySelector('.halley-parcoords'), box = host.getBoundingClientRect();
        const m = el.querySelector('.js-plotly-plot').layout.margin;
        return {x: box.x, y: box.y, w: box.width, h: box.height, l: m.l, r: m.r, t: m.t, b: m.b};
    }""")
    g = geometry
    x = g["x"] + g["l"] + axis * (g["w"] - g["l"] - g["r"]) / (axes - 1)
    y0, y1 = (g["y"] + g["t"] + f * (g["h"] - g["t"] - g["b"]) for f in (top, bottom))
    page.mouse.move(x, y0)
    page.mouse.down()
    page.mouse.move(x, (y0 + y1) / 2, steps=4)
    page.mouse.move(x, y1, steps=4)
    page.mouse.up()
