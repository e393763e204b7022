"""The REST API under /api/v1: a Flask blueprint the SDK and scripts talk to.

Every route declares its access rule through ``route(..., public=True)`` or by calling
``require_actor()``; ``tests/test_route_coverage.py`` fails when a route has no decision.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import wraps

from flask import Blueprint, current_app, jsonify, redirect, request, send_file
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from dashboard import context
from dashboard.auth import Actor
from dashboard.errors import HalleyError, NotFound, Unauthorized

api = Blueprint("api", __name__, url_prefix="/api/v1")

# endpoint name -> "public" | "api-key"; filled by the decorators below
ACCESS_RULES: dict[str, str] = {}


def error_response(status: int, message: str):
    """A JSON error. The connection is closed afterwards: an error may leave the request body
    unread, and a kept-alive connection with unread bytes breaks the client's next request."""
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    response.headers["Connection"] = "close"
    return response


def attachment(source, mimetype: str | None, download_name: str):
    """A download (a path or a file object): an attachment the browser never renders or sniffs."""
    return _inert(send_file(source, mimetype=mimetype or "application/octet-stream", as_attachment=True,
                            download_name=download_name, max_age=0))


def stored_file(name: str, mimetype: str, download_name: str | None = None, max_age: int = 0):
    """A file of the asset store streamed back (never read whole), answering conditional and
    Range requests (audio and video seek) as send_file does for a local file."""
    from werkzeug.wsgi import wrap_file

    from dashboard.asset_store import CHUNK, content_disposition
    from dashboard.services import assets

    source = assets.store(context.settings()).open(name)
    try:
        size = source.seek(0, 2)
        source.seek(0)
    except BaseException:
        source.close()
        raise
    response = current_app.response_class(wrap_file(request.environ, source, CHUNK), mimetype=mimetype,
                                          direct_passthrough=True)
    response.content_length = size
    if download_name is not None:
        response.headers["Content-Disposition"] = content_disposition(download_name)
    response.set_etag(name.replace("/", "-"))  # stored files never change
    response.cache_control.no_cache = True
    if max_age:
        response.cache_control.no_cache = None
        response.cache_control.max_age = max_age
    return response.make_conditional(request.environ, accept_ranges=True, complete_length=size)


# content types a browser could render as a page; their downloads keep Halley's headers
_ACTIVE_TYPES = ("html", "xml", "svg", "javascript")


def asset_download(asset):
    """An asset's bytes as an attachment with a safe file name: a redirect to a short-lived URL of
    the object store when it serves downloads itself (access was checked before), else streamed."""
    from dashboard.services import assets

    mimetype = asset.content_type or "application/octet-stream"
    download_name = assets.safe_download_name(asset.file_name)
    name = assets.stored_name(asset)
    if not any(t in mimetype.lower() for t in _ACTIVE_TYPES):
        url = assets.store(context.settings()).download_url(name, download_name, mimetype)
        if url:
            response = redirect(url, 302)
            response.headers["Cache-Control"] = "no-store"
            return response
    return _inert(stored_file(name, mimetype, download_name))


def _inert(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def require_actor() -> Actor:
    """The API-key holder (or signed-in browser user) making this request, else 401."""
    actor = context.current_actor()
    if not actor.is_authenticated:
        raise Unauthorized("A valid API key is required (Authorization header)")
    return actor


def public_route(rule: str, **options):
    def decorator(fn):
        ACCESS_RULES[f"api.{options.get('endpoint', fn.__name__)}"] = "public"
        return api.route(rule, **options)(fn)
    return decorator


def key_route(rule: str, **options):
    """A route that needs a valid API key or session; the actor is passed as ``actor``."""
    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, actor=require_actor(), **kwargs)
        ACCESS_RULES[f"api.{options.get('endpoint', fn.__name__)}"] = "api-key"
        return api.route(rule, **options)(wrapper)
    return decorator


def read_route(rule: str, **options):
    """A read route open to anonymous visitors too (public projects, share links): the actor,
    possibly anonymous, is passed as ``actor`` and the service checks read access per object."""
    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, actor=context.current_actor(), **kwargs)
        ACCESS_RULES[f"api.{options.get('endpoint', fn.__name__)}"] = "read-checked"
        return api.route(rule, **options)(wrapper)
    return decorator


@contextmanager
def key_required_unless_readable(actor: Actor):
    """Around a read route's lookup: an anonymous caller who can't read the project is asked for
    a key (401), as the route answered before it was opened to public projects and share links."""
    try:
        yield
    except NotFound:
        if not actor.is_authenticated:
            raise Unauthorized("A valid API key is required (Authorization header)") from None
        raise


@api.errorhandler(HalleyError)
def _halley_error(exc: HalleyError):
    return error_response(exc.status, exc.message)


@api.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    return error_response(413, "Request body too large (limit: HALLEY_MAX_REQUEST_MB)")


@api.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error_response(exc.code or 500, exc.description or exc.name)


@api.app_errorhandler(404)
@api.app_errorhandler(405)
def _api_path_not_routed(exc: HTTPException):
    """A path under /api or /clientlib that no route takes at all (the catch-alls don't take
    paths with a newline, say) still answers JSON, in its route family's shape."""
    from flask import Response

    from dashboard.request_guard import error_body

    if not request.path.startswith(("/api/", "/clientlib")):
        return exc
    body = error_body(request.path, exc.code or 404, f"Unknown endpoint {request.path[:200]!r}")
    return Response(body, status=exc.code or 404, mimetype="application/json")


def json_body() -> dict:
    """The request's JSON object (gzip bodies accepted), or a 400 with a clear message."""
    from dashboard.errors import Invalid

    data = request.get_json(silent=True)
    if data is None:
        raise Invalid("Request body must be a JSON object")
    if not isinstance(data, dict):
        raise Invalid("Request body must be a JSON object")
    return data


from dashboard.api import accounts as _accounts  # noqa: E402,F401  (registers routes)
from dashboard.api import experiments as _experiments  # noqa: E402,F401
from dashboard.api import projects as _projects  # noqa: E402,F401
from dashboard.api import experiment_media as _experiment_media  # noqa: E402,F401
from dashboard.api import experiment_table as _experiment_table  # noqa: E402,F401
from dashboard.api import optimizer as _optimizer  # noqa: E402,F401
from dashboard.api import artifacts as _artifacts  # noqa: E402,F401
