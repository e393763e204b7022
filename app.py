"""Halley's app factory: Flask server, sign-in, REST API, Dash pages and callbacks.

``python app.py`` (or ``halley serve``) serves on http://127.0.0.1:8050; gunicorn uses
``app:server``.
"""
from __future__ import annotations

from datetime import timedelta

from dash import Dash
from flask import Flask

from dashboard.config import Settings
from dashboard.db import Database, migrate

# Libraries in assets/vendor/ are served but not put in every page: the page loads each one
# when it first needs it (Dash matches this against file names).
VENDOR_ASSETS = r"^echarts-[0-9.]+\.min\.js$"


def create_app(settings: Settings | None = None) -> Dash:
    settings = settings or Settings.from_env()
    migrate(settings.database_url)
    database = Database(settings.database_url)

    server = Flask(__name__)
    server.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=timedelta(days=settings.remember_days),
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=max(settings.max_request_mb, settings.max_asset_mb) * 1024 * 1024,
    )
    server.extensions["halley"] = {"settings": settings, "db": database}

    from dashboard import access_log, request_guard
    from dashboard.webauth import init_login

    access_log.install(server, settings.access_log)  # times the request (reads no body)
    request_guard.install(server, settings)  # first to read: no hook or route sees a body it hasn't checked
    init_login(server)

    from dashboard.api import api
    from dashboard.background import make_background_manager

    server.register_blueprint(api)
    from dashboard.api.comet import comet

    server.register_blueprint(comet)

    app = Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder="layouts",
        suppress_callback_exceptions=True,
        background_callback_manager=make_background_manager(settings),
        title="Halley",
        update_title=None,
        serve_locally=True,
        assets_ignore=VENDOR_ASSETS,
    )
    from layouts.shell import app_shell

    app.layout = app_shell
    from callbacks import register_callbacks

    kit = register_callbacks(app)
    from dashboard.security_headers import init_security_headers

    init_security_headers(server, app.csp_hashes, [host.source() for host in settings.note_image_hosts])
    _set_up_before_serving(server)
    kit.adopt_pages_router()  # Dash registers it during that first request
    return app


def _set_up_before_serving(server: Flask) -> None:
    """Dash finishes setting itself up (scripts, callback map, the pages router's callbacks) in
    before-request hooks of its first request, each behind a flag set before the work is done.
    Two first requests at once (a client retrying a slow first request, say) then race: one is
    served by a half-set-up app or breaks the other's setup, and the worker stays broken. One
    request made here, before the server takes connections, does that setup alone."""
    with server.test_client() as client:
        client.get("/api/v1/health")


if __name__ == "__main__":
    _settings = Settings.from_env()
    create_app(_settings).run(host=_settings.host, port=_settings.port, debug=False)


def __getattr__(name):
    """``app`` and ``server`` (for ``gunicorn app:server``) are built on first access, so
    importing this module has no side effects."""
    if name in ("app", "server"):
        dash_app = create_app()
        globals().update(app=dash_app, server=dash_app.server)
        return globals()[name]
    raise AttributeError(name)
