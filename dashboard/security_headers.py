"""Security headers on every response.

Pages (any HTML response: the Dash index, the share-link and refusal pages, error pages) get a
Content-Security-Policy under which only Halley's own scripts run, nothing loads from another
server, and only Halley's own pages may frame them. Every other response (JSON, files, assets)
gets a policy that lets it load nothing, for the case a browser opens one as a document; routes
that set their own policy (inline media, downloads) keep it.

A small ``after_request`` hook rather than flask-talisman: Talisman redirects to HTTPS and
rewrites the session-cookie settings unless told otherwise (the embedded server runs on
http://127.0.0.1:8050), gives JSON and files the pages' policy, and takes its policy when it is
set up, while the hashes of Dash's inline scripts are known only after Dash's first request.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask, Response

# Each source below is there because a page fails without it (checked in headless Chromium on
# every page: project panels of each type, the experiment page's tabs, compare, settings, a
# shared link, with the policy reporting its violations):
#
# script-src 'self' + hashes: Halley's and Dash's bundles, and Dash's inline scripts (the
#   renderer's start-up line, clientside callbacks) by their hashes; no 'unsafe-inline'.
# script-src 'unsafe-eval': the plotly.js bundle Dash serves builds the WebGL draw calls of
#   scattergl traces with Function() (regl's code generation); without it the experiment
#   page's charts, system metrics and scatter panels over many points show "WebGL is not
#   supported". Nothing else needs it: dash-ag-grid evaluates {"function": ...} strings with
#   its own interpreter, Halley gives AG Grid no string expressions to compile, and ECharts
#   (parallel-coordinates panels, loaded from assets/vendor) compiles no code.
# style-src 'unsafe-inline': Dash's renderer and core components, AG Grid's themes, Plotly
#   and ECharts insert <style> elements or style attributes at run time and take no nonce;
#   styles run no code.
# img-src data: blob:: Bootstrap's CSS and components draw small icons as data: SVGs, and
#   Plotly's image export renders the chart through a blob: image. Other hosts only when
#   listed in HALLEY_NOTE_IMAGE_HOSTS.
# frame-ancestors 'self': only Halley's own pages may frame a page (X-Frame-Options for old
#   browsers). Logged HTML is a srcdoc iframe of the experiment page, which this allows; it
#   inherits this policy, so it loads nothing from other servers either.
PAGE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'unsafe-eval'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'self'"],
}
OTHER_POLICY = "default-src 'none'; frame-ancestors 'self'"
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Links out of Halley don't tell other sites which workspace, project or share link they
    # were followed from; Halley's own requests still carry the full referrer.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",
}


def page_policy(script_hashes: Iterable[str] = (), image_hosts: Iterable[str] = ()) -> str:
    sources = {name: list(values) for name, values in PAGE_POLICY.items()}
    sources["script-src"] += dict.fromkeys(script_hashes)  # a script registered twice is listed once
    sources["img-src"] += dict.fromkeys(image_hosts)
    return "; ".join(f"{name} {' '.join(values)}" for name, values in sources.items())


def init_security_headers(server: Flask, script_hashes: Callable[[], Iterable[str]],
                          image_hosts: Iterable[str] = ()) -> None:
    """Adds the headers to every response of ``server``. ``script_hashes`` gives the CSP hashes
    of the pages' inline scripts; it is asked once, on the first page served (the app is set up
    by then)."""
    image_hosts = tuple(image_hosts)
    policy: list[str] = []

    @server.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in COMMON_HEADERS.items():
            response.headers.setdefault(name, value)
        if "Content-Security-Policy" not in response.headers:
            if response.mimetype == "text/html":
                if not policy:
                    policy.append(page_policy(script_hashes(), image_hosts))
                response.headers["Content-Security-Policy"] = policy[0]
            else:
                response.headers["Content-Security-Policy"] = OTHER_POLICY
        return response
