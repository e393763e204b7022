"""One log line per request, and a request id on every response (and each request counted
for the Prometheus metrics, see ``dashboard.observability``).

The line (logger ``halley.access``, on by default; HALLEY_ACCESS_LOG=0 or ``halley serve
--quiet`` turns it off) names the method, the path without its query string (which may carry
a key), the status, the duration, who asked (as far as the request resolved it: a REST or
callback request knows its actor, a static file does not) and the request id. The id is the
client's ``X-Request-Id`` when it is a short token, else a new one, and is sent back in
``X-Request-Id`` so a user's report can be found in the log.

Every Halley log line written during a request carries that id too (an error's traceback
among them), as text or, with HALLEY_LOG_FORMAT=json, as one JSON object per line with the
access line's parts as fields (method, path, status, duration_ms, user, request_id).
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, has_request_context, request

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
            path, who = request.path[:300], _who()
            logger.info("%s %s %s %.0fms user=%s id=%s", request.method, path, response.status_code,
                        seconds * 1000, who, request_id(),
                        extra={"method": request.method, "path": path, "status": response.status_code,
                               "duration_ms": round(seconds * 1000, 1), "user": who})
        return response


class RequestIdFilter(logging.Filter):
    """Gives each log record the id of the request it was written in ("-" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() if has_request_context() else "-"
        return True


def _formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                             rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})
    return TextFormatter("%(asctime)s %(name)s %(message)s")


class TextFormatter(logging.Formatter):
    """The access line names its request id itself; any other line written in a request (an
    error and its traceback) gets it after the logger's name."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request = getattr(record, "request_id", "-")
        if request != "-" and record.name != logger.name:
            head, _, rest = text.partition(f" {record.name} ")
            text = f"{head} {record.name} id={request} {rest}"
        return text


def log_to_stderr(log_format: str = "text", app_logger: logging.Logger | None = None) -> None:
    """Send Halley's log lines (the access log among them) and the web app's own (errors with
    their tracebacks) to standard error, as the server's own lines go (the root logger has no
    handler in a gunicorn worker, so INFO lines would be lost), each with its request id."""
    handler = logging.StreamHandler()
    handler.setFormatter(_formatter(log_format))
    handler.addFilter(RequestIdFilter())
    for target in (logging.getLogger("halley"), app_logger):
        if target is None or any(getattr(h, "halley", False) for h in target.handlers):
            continue
        handler.halley = True
        target.handlers = [handler]
        target.setLevel(logging.INFO)
        target.propagate = False
