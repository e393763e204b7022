"""One log line per request, and a request id on every response (and each request counted
for the Prometheus metrics, see ``dashboard.observability``).

The line (logger ``halley.access``, on by default; HALLEY_ACCESS_LOG=0 or ``halley serve
--quiet`` turns it off) names the method, the path without its query string (which may carry
a key), the status, the duration, who asked (as far as the request resolved it: a REST or
callback request knows its actor, a static file does not) and the request id. The id is the
client's ``X-Request-Id`` when it is a short token, else a new one, and is sent back in
``X-Request-Id`` so a user's report can be found in the log.
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from dashboard import observability

logger = logging.getLogger("halley.access")
CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id() -> str:
    """This request's id (made on first use)."""
    if "halley_request_id" not in g:
        sent = request.headers.get("X-Request-Id", "")
        g.halley_request_id = sent if CLIENT_ID.match(sent) else uuid.uuid4().hex[:16]
    return g.halley_request_id


def _who() -> str:
    actor = g.get("halley_actor")
    if actor is not None:
        return actor.username or ("share-link" if actor.share_project_ids else "-")
    user = g.get("_login_user")  # flask-login's user, when this request loaded it
    return getattr(user, "username", None) or "-"


def install(server: Flask, enabled: bool) -> None:
    @server.before_request
    def _start() -> None:
        g.halley_started = time.perf_counter()
        request_id()

    @server.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = request_id()
        started = g.get("halley_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        # by route pattern, so the metrics' label values stay few
        observability.observe_request(request.url_rule.rule if request.url_rule else "unmatched", request.method,
                                      response.status_code, seconds)
        if enabled:
            logger.info("%s %s %s %.0fms user=%s id=%s", request.method, request.path[:300], response.status_code,
                        seconds * 1000, _who(), request_id())
        return response


def log_to_stderr() -> None:
    """Send Halley's log lines (the access log among them) to standard error, as the server's own
    lines go (the root logger has no handler in a gunicorn worker, so INFO lines would be lost)."""
    halley = logging.getLogger("halley")
    if not halley.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        halley.addHandler(handler)
        halley.setLevel(logging.INFO)
        halley.propagate = False
