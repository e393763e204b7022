"""What the browser benchmarks share: headless Chromium as on the test machines, and a page
signed in to a live server (waiting for the page sign-in lands on, so a later ``goto`` is not
interrupted by its redirect)."""
from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu"]


def launch(pw):
    """Headless Chromium (the Debian package ``make test`` installs)."""
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


def sign_in(page, server_url: str, user: str, password: str) -> None:
    """Sign ``page`` in as ``user``; returns once the page sign-in leads to has loaded."""
    page.goto(server_url + "/login?next=/")
    page.fill("#login-username", user)
    page.fill("#login-password", password)
    page.click("#login-submit")
    # sign-in lands on "/", which then opens the user's workspace (or first page): wait for that
    page.wait_for_url(lambda u: u.split("?")[0].rstrip("/") not in (server_url, server_url + "/login"))
    page.wait_for_load_state()
