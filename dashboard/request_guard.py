"""The one guard every request body passes, before sign-in checks and before any route reads it.

Two layers:

* ``BodyLimits``, WSGI middleware in front of Flask: a body larger than its limit is refused
  with 413 before it is read into memory (JSON and form bodies: ``HALLEY_MAX_REQUEST_MB``;
  multipart uploads: ``HALLEY_MAX_ASSET_MB``; a request with no API key and no session
  cookie at all: ``ANONYMOUS_MAX_BYTES``). A ``Content-Encoding: gzip`` body (comet_ml and
  Halley's SDK send them) is inflated in a bounded stream: reading stops as soon as either the
  compressed or the inflated size passes the limit, so a small bomb or a huge non-gzip body
  costs no memory. Other content encodings are refused (415).
* ``check_request_body``, Flask's first before-request hook: a visitor who is neither signed in
  nor holding a valid API key may send at most ``ANONYMOUS_MAX_BYTES``; a JSON body is parsed
  here, once, by ``dashboard.safe_json`` (depth, UTF-8, lone surrogates), and a body that isn't
  valid gets a 400 naming the problem. Routes then read the parsed body with
  ``request.get_json()``.

Field-level checks (which numbers must be finite, ranges of steps and timestamps, lists that
must be lists) belong to each route's validation; this layer makes sure none of them sees a
body that could exhaust memory or crash a parser.
"""
from __future__ import annotations

import io
import json
import zlib

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from dashboard import safe_json
from dashboard.config import Settings

MB = 1024 * 1024
CHUNK = 64 * 1024
# What a visitor with no session and no valid API key may send (sign-in forms, the public
# pages' callbacks, the comet_ml handshake's probes are all far smaller).
ANONYMOUS_MAX_BYTES = 1 * MB
# A refused body is read and dropped up to this size, so a client still sending gets the
# answer rather than a reset connection (and doesn't retry for ever); larger ones are cut off.
DRAIN_MAX_BYTES = 1024 * MB
# Multipart framing and form fields around an uploaded file.
MULTIPART_ALLOWANCE = 1 * MB
COMET_PREFIXES = ("/clientlib", "/api/rest/")
JSON_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def error_body(path: str, status: int, message: str) -> bytes:
    """An error in the shape the route family answers with: comet_ml's routes use
    ``{"msg", "code"}``, everything else ``{"error", "status"}``."""
    if path.startswith(COMET_PREFIXES):
        return json.dumps({"msg": message, "code": status}).encode()
    return json.dumps({"error": message, "status": status}).encode()


class BodyRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class BodyLimits:
    """WSGI middleware: size limits and bounded gzip inflation (see the module docstring)."""

    def __init__(self, wsgi_app, settings: Settings):
        self.wsgi_app = wsgi_app
        self.request_limit = settings.max_request_mb * MB
        self.upload_limit = settings.max_asset_mb * MB + MULTIPART_ALLOWANCE

    def limit_for(self, environ) -> int:
        if not _presents_credentials(environ):
            return ANONYMOUS_MAX_BYTES
        content_type = environ.get("CONTENT_TYPE", "").lower()
        return self.upload_limit if content_type.startswith("multipart/form-data") else self.request_limit

    def __call__(self, environ, start_response):
        try:
            self._check(environ)
        except BodyRefused as refused:
            body = error_body(environ.get("PATH_INFO", ""), refused.status, refused.message)
            start_response(f"{refused.status} {_REASONS[refused.status]}",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                            ("Connection", "close")])
            return [body]
        return self.wsgi_app(environ, start_response)

    def _check(self, environ) -> None:
        limit = self.limit_for(environ)
        length = _content_length(environ)
        encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        if length is not None and length > limit:
            _drain(environ, length)
            raise BodyRefused(413, f"Request body too large ({length} bytes; the limit is {limit // MB} MB)")
        if encoding in ("", "identity"):
            return
        if encoding != "gzip":
            _drain(environ, length)
            raise BodyRefused(415, f"Content-Encoding {encoding[:40]!r} is not supported (send gzip or none)")
        environ["wsgi.input"] = io.BytesIO(_inflate(environ["wsgi.input"], length, limit))
        environ["CONTENT_LENGTH"] = str(len(environ["wsgi.input"].getbuffer()))
        del environ["HTTP_CONTENT_ENCODING"]


def _presents_credentials(environ) -> bool:
    """Whether a request carries an API key or a session cookie at all; whether they are valid
    is for ``check_request_body`` (a made-up one gets the larger limit, never more)."""
    if environ.get("HTTP_AUTHORIZATION") or environ.get("HTTP_X_API_KEY"):
        return True
    cookies = environ.get("HTTP_COOKIE", "")
    return "session=" in cookies or "remember_token=" in cookies


_REASONS = {400: "Bad Request", 413: "Request Entity Too Large", 415: "Unsupported Media Type"}


def _content_length(environ) -> int | None:
    raw = environ.get("CONTENT_LENGTH")
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BodyRefused(400, "Content-Length is not a number") from None
    if value < 0:
        raise BodyRefused(400, "Content-Length is negative")
    return value


def _drain(environ, length: int | None) -> None:
    """Read and drop a refused body (up to ``DRAIN_MAX_BYTES``)."""
    stream = environ["wsgi.input"]
    remaining = min(length if length is not None else DRAIN_MAX_BYTES, DRAIN_MAX_BYTES)
    while remaining > 0:
        chunk = stream.read(min(CHUNK, remaining))
        if not chunk:
            break
        remaining -= len(chunk)


def _inflate(stream, length: int | None, limit: int) -> bytes:
    """The inflated body, reading the compressed one chunk by chunk; 413 as soon as either size
    passes ``limit``, 400 for a body that isn't complete gzip."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    read = 0
    while length is None or read < length:
        chunk = stream.read(CHUNK if length is None else min(CHUNK, length - read))
        if not chunk:
            break
        read += len(chunk)
        if read > limit:
            raise BodyRefused(413, f"Compressed request body too large (limit {limit // MB} MB)")
        try:
            out += inflater.decompress(chunk, limit + 1 - len(out))
        except zlib.error:
            raise BodyRefused(400, "Body is not valid gzip") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise BodyRefused(413, f"Decompressed request body too large (limit {limit // MB} MB)")
        if inflater.eof:
            break
    if not inflater.eof:
        raise BodyRefused(400, "Body is not valid gzip (it ends early)")
    return bytes(out)


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON with ``safe_json`` parsing: every ``request.get_json()`` (routes, Dash's
    callback endpoint) reads within the same bounds."""

    def loads(self, s, **kwargs):
        return safe_json.loads(s)


class HalleyRequest(Request):
    def on_json_loading_failed(self, e: ValueError | None):
        """Say what is wrong with a body (Flask hides the reason outside debug mode)."""
        if e is None:
            return super().on_json_loading_failed(e)
        raise BadRequest(str(e) if isinstance(e, safe_json.JSONRefused) else f"Body is not valid JSON: {e}")


def _has_body() -> bool:
    return bool(request.content_length) or request.headers.get("Transfer-Encoding", "").lower() == "chunked"


def check_request_body():
    """Flask's first before-request hook (see the module docstring)."""
    if request.method not in JSON_BODY_METHODS or not _has_body():
        return None
    from dashboard import context

    if not context.current_actor().is_authenticated:
        if (request.content_length or 0) > ANONYMOUS_MAX_BYTES:
            return _refusal(413, f"Bodies over {ANONYMOUS_MAX_BYTES // MB} MB need a session or an API key")
        request.max_content_length = ANONYMOUS_MAX_BYTES  # a chunked body: cut off past it
    if request.is_json:
        try:
            request.get_json()
        except RequestEntityTooLarge:
            return _refusal(413, f"Request body too large (limit {ANONYMOUS_MAX_BYTES // MB} MB without "
                                 "a session or an API key)")
        except BadRequest as exc:
            return _refusal(400, exc.description)
    return None


def _refusal(status: int, message: str):
    from flask import Response

    return Response(error_body(request.path, status, message), status=status, mimetype="application/json",
                    headers={"Connection": "close"})


def install(server: Flask, settings: Settings) -> None:
    """Put the guard in front of ``server``: call before any other before-request hook."""
    server.json_provider_class = BoundedJSONProvider
    server.json = BoundedJSONProvider(server)
    server.request_class = HalleyRequest
    server.wsgi_app = BodyLimits(server.wsgi_app, settings)
    server.before_request(check_request_body)
