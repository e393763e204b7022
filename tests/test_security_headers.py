"""Security headers: every page carries a Content-Security-Policy that runs only Halley's own
scripts and lets only Halley's own pages frame it; API and file responses carry headers that
suit them; and the pages still work under that policy in a real browser."""
import base64
import hashlib
import re

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import sign_in, wait_parcoords_axes
from tests.experiment_fixtures import Logger, png
from tests.other_site import OtherSite

SLOW = 30_000
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)
# Records what the policy blocks, from before any of the page's own scripts run.
RECORD_VIOLATIONS = """window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(
    e.effectiveDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));"""


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def signed_in(server, account) -> requests.Session:
    s = requests.Session()
    r = s.post(server.url + "/auth/login", data={"username": account.username, "password": account.password},
               allow_redirects=False)
    assert r.status_code == 302
    return s


def assert_page_headers(response: requests.Response) -> dict[str, list[str]]:
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Referrer-Policy"] == "same-origin"
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert not [s for s in policy["img-src"] if s.startswith(("http", "*")) or s == "https:"]
    return policy


def test_pages_carry_the_security_headers(server, user):
    anonymous = requests.Session()
    browser = signed_in(server, user)
    pages = [anonymous.get(server.url + "/login"), browser.get(server.url + "/workspaces"),
             browser.get(f"{server.url}/{user.workspace}"),
             anonymous.get(server.url + "/shared/no-such-link"),  # Halley's own page outside Dash
             anonymous.post(server.url + "/auth/login", headers={"Origin": "https://evil.example"})]
    assert [r.status_code for r in pages] == [200, 200, 200, 404, 403]
    for response in pages:
        policy = assert_page_headers(response)
    # Every inline script of a Dash page is allowed by its hash, and nothing else inline.
    html = pages[1].text
    inline = [m["body"] for m in INLINE_SCRIPT.finditer(HTML_COMMENT.sub("", html))
              if "src=" not in m["attrs"] and "application/json" not in m["attrs"]]
    assert inline, "Dash pages start the renderer with an inline script"
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"], body[:80]


def test_api_and_file_responses_carry_headers_that_suit_them(server, user):
    log = Logger(server.home, server.database_url, user.username)
    key = log.start("headers")
    image = log.asset(key, png(1), "image", "x.png", step=0)
    auth = {"Authorization": user.api_key}
    for url in (f"{server.url}/api/v1/experiments/{key}", f"{server.url}/api/v1/health",
                server.url + "/assets/vendor/bootstrap.min.css"):
        r = requests.get(url, headers=auth)
        assert r.status_code == 200, url
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"
        assert directives(r.headers["Content-Security-Policy"])["default-src"] == ["'none'"]
    # Routes that set their own policy keep it.
    media = requests.get(f"{server.url}/api/v1/experiments/{key}/media/{image}", headers=auth)
    assert media.status_code == 200 and media.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.browser
def test_a_page_on_another_site_cannot_frame_halley(server, user, page):
    """Another origin (another port of the same host, whose frames get the signed-in user's
    cookies) frames the project's Manage page: the browser refuses to show it. Halley's own
    pages may still frame it."""
    Logger(server.home, server.database_url, user.username).start("framed")
    manage = f"{server.url}/{user.workspace}/framed/manage"
    sign_in(page, server, user, f"/{user.workspace}/framed/manage")
    expect(page.locator("#project-header-crumb-project")).to_have_text("framed", timeout=SLOW)

    frame_html = f'<!doctype html><h1>Cute cats</h1><iframe id="victim" src="{manage}" width="1000" height="700"></iframe>'
    with OtherSite() as other:
        with page.expect_response(manage) as answer:
            page.goto(other.serve("/cats", frame_html))
        page.wait_for_load_state("load")  # the frame has loaded (or been refused) by then
        assert answer.value.status == 200  # the signed-in page was sent, with the cookies ...
        victim = page.locator("#victim").element_handle().content_frame()
        assert not victim.url.startswith(server.url), victim.url  # ... but the browser did not show it
        expect(page.frame_locator("#victim").locator("#project-header-crumb-project")).to_have_count(0)

    # The same frame on one of Halley's own pages shows the page.
    page.goto(server.url + "/workspaces")
    page.evaluate("""src => { const f = document.createElement('iframe'); f.id = 'own'; f.src = src;
        f.width = 1000; f.height = 700; document.body.appendChild(f); }""", manage)
    expect(page.frame_locator("#own").locator("#project-header-crumb-project")).to_have_text("framed", timeout=SLOW)


@pytest.mark.browser
def test_webgl_charts_and_grids_work_under_the_policy(server, user, page, console_errors):
    """The policy's sources are what these pages need: the experiment page's charts and WebGL
    traces (parallel coordinates; scattergl past the SVG budget) draw, the grid renders, and the
    browser reports no violation."""
    from dashboard.auth import Actor
    from dashboard.db import Database
    from dashboard.services import accounts as account_service, project_views, projects

    log = Logger(server.home, server.database_url, user.username)
    keys = []
    for i in range(3):
        key = log.start("csp", name=f"run-{i}")
        log.batch(key, metrics=[{"name": "acc", "value": float(i + s / 10), "step": s} for s in range(20)],
                  parameters=[{"name": "lr", "value": 0.1 / (i + 1)}, {"name": "depth", "value": i + 2}])
        keys.append(key)
    with Database(server.database_url).session() as s:
        account = account_service.find_user(s, user.username)
        actor = Actor(user_id=account.id, username=account.username)
        project = projects.get_readable(s, actor, user.workspace, "csp")
        view = project_views.create_view(s, actor, project, "sweep", {"panels": [
            {"type": "parcoords", "name": "Sweep", "axes": ["param:lr", "param:depth", "metric:acc"]}]})
    page.add_init_script(RECORD_VIOLATIONS)

    sign_in(page, server, user, f"/{user.workspace}/csp/{keys[0]}?tab=charts")
    expect(page.locator("#experiment-tab-content .js-plotly-plot .scatterlayer .trace").first).to_be_attached(
        timeout=SLOW)
    expect(page.locator("#experiment-tab-content .js-plotly-plot .legend, #experiment-tab-content .xtick").first
           ).to_be_attached(timeout=SLOW)
    assert page.locator("text=WebGL is not supported").count() == 0
    assert page.evaluate("window.__violations") == []

    page.goto(f"{server.url}/{user.workspace}/csp?view={view.id}")
    wait_parcoords_axes(page.locator('.project-panel[data-panel-type="parcoords"]'), ["lr", "depth", "acc"])
    expect(page.locator(".ag-row").first).to_be_visible(timeout=SLOW)
    assert page.locator("text=WebGL is not supported").count() == 0
    assert page.evaluate("window.__violations") == []
    assert console_errors == []
