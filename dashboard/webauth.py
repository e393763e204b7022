"""Browser sign-in (flask-login) and the guard in front of every route.

Sign-in and first-run setup are plain HTML form POSTs to /auth/*; the Dash pages only show
the forms and the messages. The guard runs before every request, including Dash's callback
endpoint: anonymous visitors get the public pages, the share-link pages, the REST routes (which
check API keys themselves) and only those Dash callbacks that are declared public and check
access on their own.

A browser session (and a remember-me cookie) names the user and their current session token;
signing out gives the user a new token, so every cookie issued before stops working at once.
Requests that change state with the browser's cookies (sign-in, setup, sign-out, Dash
callbacks, REST calls without an API key, and the few GETs that change something, such as
recording an artifact's use) are refused when the browser says they come from another site.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from urllib.parse import quote, urlencode, urlparse

from flask import (
    Blueprint, Flask, current_app, jsonify, redirect, render_template_string, request, session as flask_session,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import RequestEntityTooLarge

from dashboard import context
from dashboard.auth import Actor
from dashboard.errors import HalleyError
from dashboard.services import accounts, invites, login_throttle, onboarding, own_account, site_admin

PUBLIC_PAGES = {"/login", "/setup", "/signup"}
PUBLIC_PAGE_PREFIXES = ("/shared/", "/reset/", "/invite/")
STATIC_PATHS = {"/_dash-layout", "/_dash-dependencies", "/_favicon.ico", "/_reload-hash", "/favicon.ico"}
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/")
# Routes where an API key, when the request carries one, decides who acts (the cookies count for
# nothing then), so such requests skip the cross-site check: their clients (SDK, comet_ml,
# scripts) send no Origin, and a page on another site can't add the key's header to a request
# without a CORS preflight, which Halley never grants. Without a key, the cookies may be what
# authenticates, and the check applies as it does to Dash callbacks.
API_KEY_PREFIXES = ("/api/", "/clientlib/")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Routes whose GET (and HEAD) changes something, by Flask endpoint, each with the test of whether
# this request does: the guard treats those requests like a POST (see ``changes_state``).
# Registered with ``changes_state_on_get`` next to the route.
STATEFUL_GETS: dict[str, Callable[[], bool]] = {}
REFUSED_BODY_MAX_BYTES = 1024 * 1024
# Routes that authenticate by themselves (API keys, share tokens) or are public by nature.
SELF_AUTHENTICATING_PREFIXES = ("/api/", "/clientlib/", "/auth/")

# The access decision of each Dash callback, recorded by the callback kit (callbacks/kit.py):
# public ones may be called by anonymous visitors and check access themselves, private ones
# need a signed-in user, clientside ones never reach the server.
PUBLIC, PRIVATE, CLIENTSIDE = "public", "private", "clientside"
# Public callbacks get small bodies (ids, filters, states); a visitor who isn't signed in
# can't make the server parse a large upload-sized JSON body.
ANONYMOUS_CALLBACK_MAX_BYTES = 1024 * 1024

auth_routes = Blueprint("auth", __name__)


def changes_state_on_get(endpoint: str, when: Callable[[], bool] = lambda: True) -> None:
    """Declare that a GET of ``endpoint`` changes something (when ``when()`` says this request
    does): a browser's cookies may then make it only from Halley's own pages, as with a POST.
    Links and images on another site (another port of the same host too) carry the cookies."""
    STATEFUL_GETS[endpoint] = when


def safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after sign-in."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    # Browsers read "/\\host" as "//host" and drop tabs and newlines before parsing.
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return "/"
    return target


@auth_routes.post("/auth/login")
def login_post():
    """Sign in, throttled by ``login_throttle``: an attempt over a limit is answered at once
    (no thread waits), without checking its password."""
    form = request.form
    ident = (form.get("username") or "").strip()
    password = form.get("password") or ""
    next_url = safe_next(form.get("next"))
    devices = login_throttle.read_devices(context.settings().secret_key,
                                          request.cookies.get(login_throttle.DEVICE_COOKIE))
    attempt = _begin_sign_in(ident, devices)
    if attempt.refused:
        return _back_to_login("throttled", next_url, ident, wait=math.ceil(attempt.wait))
    with context.db().session() as s:
        user = accounts.authenticate(s, ident, password)
        login_throttle.settle(s, attempt, succeeded=user is not None)
        if user is None:
            accounts.sign_in_failed(s, ident)
        else:
            accounts.signed_in(s, user)
    if user is None:
        return _back_to_login("credentials", next_url, ident)
    login_user(user, remember=bool(form.get("remember")))
    return _known_browser(redirect(next_url), devices, user.id)


def _begin_sign_in(ident: str, devices: dict[int, str]) -> login_throttle.Attempt:
    """``login_throttle.begin`` in its own transaction; once more if it collided with another
    attempt (a row both created, or PostgreSQL breaking a lock wait)."""
    for tries in (1, 2):
        try:
            with context.db().session() as s:
                return login_throttle.begin(s, ident, context.client_address(), devices)
        except (IntegrityError, OperationalError):
            if tries == 2:
                raise
    raise AssertionError("unreachable")


def _known_browser(response, devices: dict[int, str], user_id: int):
    """Remember on this browser that it signed in to the account: guessing elsewhere then never
    locks it out (``login_throttle``). The cookie goes only to the sign-in routes."""
    settings = context.settings()
    response.set_cookie(login_throttle.DEVICE_COOKIE,
                        login_throttle.remember_device(settings.secret_key, devices, user_id),
                        max_age=login_throttle.DEVICE_COOKIE_MAX_AGE, path="/auth/", httponly=True, samesite="Lax",
                        secure=settings.secure_cookies)
    return response


def _back_to_login(error: str, next_url: str, ident: str, **extra):
    return redirect("/login?" + urlencode({"error": error, **extra, "next": next_url, "username": ident[:100]}))


@auth_routes.post("/auth/setup")
def setup_post():
    form = request.form
    if form.get("password") != form.get("password2"):
        query = urlencode({"error": "The passwords don't match.", "username": form.get("username", "")[:64],
                           "email": form.get("email", "")[:254]})
        return redirect(f"/setup?{query}")
    with context.db().session() as s:
        if accounts.user_count(s) > 0:
            return redirect("/login")
        try:
            user = accounts.create_user(s, form.get("username", ""), form.get("email", ""), form.get("password", ""))
        except HalleyError as exc:
            query = urlencode({"error": exc.message, "username": form.get("username", "")[:64],
                               "email": form.get("email", "")[:254]})
            return redirect(f"/setup?{query}")
        accounts.set_up(s, user)
        landing = onboarding.landing_path(s, Actor(user_id=user.id, username=user.username))
    login_user(user, remember=True)
    return _known_browser(redirect(landing), {}, user.id)


@auth_routes.post("/auth/reset")
def reset_post():
    """Set a new password with a reset link, throttled per address like sign-in: an unknown,
    expired or used link counts as a failed attempt, and all of them get the same answer."""
    form = request.form
    token = (form.get("token") or "").strip()[:200]
    back = "/reset/" + quote(token or "invalid", safe="")
    attempt = _throttled(login_throttle.RESET_ADDRESS)
    if attempt.refused:
        return redirect(back + "?" + urlencode({"error": "throttled", "wait": math.ceil(attempt.wait)}))
    try:
        with context.db().session() as s:
            user = site_admin.use_reset_link(s, token, form.get("password") or "", form.get("password2") or "")
            login_throttle.settle(s, attempt, succeeded=user is not None)
    except HalleyError as exc:  # the link is good, the new password isn't: nothing was used up
        with context.db().session() as s:
            login_throttle.settle(s, attempt, succeeded=True)
        code = "mismatch" if "match" in exc.message else "short"
        return redirect(back + "?" + urlencode({"error": code}))
    if user is None:
        return redirect(back + "?" + urlencode({"error": "invalid"}))
    return redirect("/reset/done")


# --- messages on the form pages -------------------------------------------------------------
# A form page shows the message its POST sent it back with, signed: a crafted link can't put
# its own text on Halley's pages.

_MESSAGE_SALT = "halley-form-message"


def signed_message(message: str) -> str:
    return URLSafeSerializer(context.settings().secret_key, salt=_MESSAGE_SALT).dumps(message[:500])


def read_message(raw) -> str | None:
    """The text of a ``signed_message``, or None for anything else."""
    if not isinstance(raw, str) or not raw or len(raw) > 2000:
        return None
    try:
        message = URLSafeSerializer(context.settings().secret_key, salt=_MESSAGE_SALT).loads(raw)
    except BadSignature:
        return None
    return message if isinstance(message, str) else None


def _back(path: str, message: str, **fields):
    kept = {k: (v or "")[:254] for k, v in fields.items() if v}
    return redirect(path + "?" + urlencode({"error": signed_message(message), **kept}))


def _throttled(limit: login_throttle.Limit) -> login_throttle.Attempt:
    return login_throttle.begin_in_own_transaction(context.db(), limit, context.client_address())


# --- open sign-up ----------------------------------------------------------------------------

@auth_routes.post("/auth/signup")
def signup_post():
    """Open sign-up (HALLEY_OPEN_SIGNUP), limited to HALLEY_SIGNUP_EMAIL_DOMAINS when set; failed
    attempts are throttled per address like sign-in."""
    settings = context.settings()
    if not settings.open_signup:
        return render_template_string(NOT_FOUND_PAGE, message="Sign-up is not open on this server."), 404
    form = request.form
    username, email = form.get("username", ""), form.get("email", "")
    if form.get("password", "") != form.get("password2", ""):
        return _back("/signup", "The passwords don't match.", username=username, email=email)
    attempt = _throttled(login_throttle.SIGN_UP)
    if attempt.refused:
        return _back("/signup", own_account.refused_message(attempt), username=username, email=email)
    try:
        with context.db().session() as s:
            user = accounts.sign_up(s, username, email, form.get("password", ""), via="open sign-up",
                                    domains=settings.signup_email_domains)
            landing = onboarding.landing_path(s, Actor(user_id=user.id, username=user.username))
    except (HalleyError, IntegrityError) as exc:
        message = exc.message if isinstance(exc, HalleyError) else "That username or email was just taken."
        return _back("/signup", message, username=username, email=email)
    own_account.settle(context.db(), attempt, succeeded=True)
    login_user(user, remember=True)
    return _known_browser(redirect(landing), {}, user.id)


# --- invitations -----------------------------------------------------------------------------

def _invite_page(token: str) -> str:
    return "/invite/" + quote(token or "", safe="")


@auth_routes.post("/auth/invite/join")
def invite_join():
    """A signed-in user joins the workspace of an invitation link."""
    token = request.form.get("token", "")
    if not current_user.is_authenticated:
        return redirect("/login?" + urlencode({"next": _invite_page(token)}))
    attempt = _throttled(login_throttle.INVITE)
    if attempt.refused:
        return _back(_invite_page(token), own_account.refused_message(attempt))
    try:
        with context.db().session() as s:
            joined = invites.accept(s, token, accounts.get_user(s, current_user.id))
    except IntegrityError:  # the same user joining twice at once: the other request joined
        with context.db().session() as s:
            view = invites.find(s, token)
        own_account.settle(context.db(), attempt, succeeded=True)
        return redirect(quote(f"/{view.workspace}") if view else "/workspaces")
    except HalleyError as exc:
        return _back(_invite_page(token), exc.message)
    own_account.settle(context.db(), attempt, succeeded=True)
    return redirect(quote(f"/{joined.workspace}"))


@auth_routes.post("/auth/invite/signup")
def invite_signup():
    """A newcomer creates an account through an invitation link and joins its workspace, in one
    transaction: when the link is used up meanwhile, no account is made. Open sign-up need not
    be on."""
    form = request.form
    token = form.get("token", "")
    username, email = form.get("username", ""), form.get("email", "")
    page = _invite_page(token)
    if current_user.is_authenticated:
        return redirect(page)
    if form.get("password", "") != form.get("password2", ""):
        return _back(page, "The passwords don't match.", username=username, email=email)
    attempt = _throttled(login_throttle.INVITE)
    if attempt.refused:
        return _back(page, own_account.refused_message(attempt), username=username, email=email)
    try:
        with context.db().session() as s:
            view = invites.find(s, token)
            if view is None:
                raise HalleyError(invites.UNUSABLE)
            user = accounts.sign_up(s, username, email, form.get("password", ""),
                                    via=f"invitation to {view.workspace}")
            joined = invites.accept(s, token, user)
    except (HalleyError, IntegrityError) as exc:
        message = exc.message if isinstance(exc, HalleyError) else "That username or email was just taken."
        return _back(page, message, username=username, email=email)
    own_account.settle(context.db(), attempt, succeeded=True)
    login_user(user, remember=True)
    return _known_browser(redirect(quote(f"/{joined.workspace}")), {}, user.id)


@auth_routes.get("/shared/<token>")
def shared_link(token: str):
    """A valid share link remembers its token in this browser's session and opens the
    project; an unknown or deleted one answers 404."""
    from dashboard.services import projects, sharing

    with context.db().session() as s:
        project = sharing.project_for_token(s, token)
        target = f"/{projects.workspace_name(s, project)}/{project.name}" if project else None
    if project is None:
        body = render_template_string(NOT_FOUND_PAGE, message="This shared link does not exist or was deleted.")
        return body, 404
    flask_session[context.SHARE_SESSION_KEY] = sharing.remember_token(flask_session.get(context.SHARE_SESSION_KEY), token)
    return redirect(quote(target))


# A page outside Dash for the share-link 404; styled by the same Bootstrap file.
NOT_FOUND_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found - Halley</title>
<link rel="stylesheet" href="/assets/vendor/bootstrap.min.css"></head>
<body><div class="container py-5" id="not-found"><h2>Not found</h2>
<p class="text-muted" id="not-found-message">{{ message }}</p><a href="/">Go to Halley</a></div></body></html>"""


@auth_routes.route("/logout", methods=["GET", "POST"])
def logout():
    """Sign out; from Halley's own pages only (``changes_state_on_get`` below)."""
    # A GET signs out only when the browser navigates to it: an <img src="/logout"> in a
    # project's notes or a logged file must not sign out whoever views them. A HEAD never does.
    navigated = request.headers.get("Sec-Fetch-Dest", "document") == "document"
    if request.method == "HEAD" or (request.method == "GET" and not navigated):
        return "", 204
    if current_user.is_authenticated:
        with context.db().session() as s:
            accounts.signed_out(s, current_user.id)  # copies of this browser's cookies too
    flask_session.clear()
    logout_user()  # after clear(): it leaves the flag that deletes the remember-me cookie
    return redirect("/login")


changes_state_on_get("auth.logout")


def renew_browser_session(user) -> None:
    """Sign this browser in again after the user's sessions were ended (a new password): it
    keeps working, with "remember me" as it had it, while every other browser is signed out."""
    had_remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(user, remember=had_remember)


def forget_browser_session() -> None:
    """Sign this browser out (its cookies, the remember-me one too)."""
    flask_session.clear()
    logout_user()


def _origin_of(url: str) -> str | None:
    """The host (with its port, if any) an Origin or Referer value names; None for "null"."""
    try:
        parsed = urlparse(url.strip())
    except ValueError:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return None
    return parsed.netloc.rpartition("@")[2].lower()


def _own_hosts() -> set[str]:
    """The host this request was sent to: its Host header, the one a reverse proxy forwarded
    (a page on another site can set neither in a browser), and the addresses the operator
    listed in HALLEY_TRUSTED_ORIGINS for proxies that pass neither."""
    hosts = {request.host.lower()} | context.settings().trusted_hosts
    forwarded = request.headers.get("X-Forwarded-Host")
    if forwarded:
        hosts.update(h.strip().lower() for h in forwarded.split(",") if h.strip())
    return hosts


def cross_site_source() -> str | None:
    """The other site a browser says this request comes from, else None.

    Browsers send Origin with every POST (the string "null" when they hide it, which is
    refused too) and may send Referer; Sec-Fetch-Site can't be set by a page. Requests with
    none of them (curl, scripts) aren't made by a browser on someone else's behalf.
    """
    origin = request.headers.get("Origin")
    claimed = origin if origin is not None else request.headers.get("Referer")
    if claimed is not None:
        host = _origin_of(claimed)
        if host is None or host not in _own_hosts():
            return claimed.strip()[:200] or "an unknown site"
    if request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site"):
        return "another site"
    return None


CROSS_SITE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Refused - Halley</title>
<link rel="stylesheet" href="/assets/vendor/bootstrap.min.css"></head>
<body><div class="container py-5" id="cross-site-refused"><h2>Request refused</h2>
<p class="text-muted" id="cross-site-message">{{ message }}</p><a href="/login">Go to Halley</a></div></body></html>"""


def _refuse_cross_site(source: str):
    message = (f"This request was sent from another site ({source}), not from Halley's own pages "
               f"at {request.host}, so nothing was changed. If Halley runs behind a proxy, make it pass "
               "the original Host header (or X-Forwarded-Host), or list the address you open Halley at in "
               "HALLEY_TRUSTED_ORIGINS.")
    is_api = request.path.startswith(API_KEY_PREFIXES)
    if is_api:
        message += " Scripts call the API with an API key (Authorization header)."
    # Read (and drop) the body: unread bytes on a kept-alive connection can break the client's
    # next request on it. A body this small is all a sign-in or sign-out form ever sends.
    request.max_content_length = REFUSED_BODY_MAX_BYTES
    try:
        request.get_data(cache=False)
    except RequestEntityTooLarge:
        pass
    if is_api or request.path == "/_dash-update-component" or request.is_json:
        return jsonify(error=message, status=403), 403
    return render_template_string(CROSS_SITE_PAGE, message=message), 403


def _is_api_key_request(path: str) -> bool:
    return path.startswith(API_KEY_PREFIXES) and context.api_key_from_request() is not None


def _is_public_path(path: str) -> bool:
    return path in PUBLIC_PAGES or path.startswith(PUBLIC_PAGE_PREFIXES) or _is_workspace_path(path)


def _is_workspace_path(path: str) -> bool:
    """Workspace and project URLs may show public projects (or share-link ones) to anyone; their
    page layouts check access and send other anonymous visitors to sign in."""
    from dashboard.services.names import RESERVED

    first = path.strip("/").split("/", 1)[0]
    return bool(first) and first.lower() not in RESERVED and not first.startswith(("_", "."))


def callback_access(server: Flask) -> dict[str, str]:
    """The access decision of every Dash callback by the output key Dash uses in
    ``app.callback_map`` (the "output" of a callback request)."""
    return server.extensions["halley"].setdefault("callback_access", {})


def _callback_guard(signed_in: bool):
    """Signed-in users may call every server callback, anonymous visitors the public ones; a
    request naming no server callback (a clientside one, or none at all) is refused."""
    if not signed_in:
        request.max_content_length = ANONYMOUS_CALLBACK_MAX_BYTES  # larger bodies: 413, unread
    body = request.get_json(silent=True)
    if signed_in and body is None:
        return None  # not JSON: Dash's own reading of the body answers it
    output = body.get("output") if isinstance(body, dict) else None
    access = callback_access(current_app).get(output) if isinstance(output, str) else None
    if access == PUBLIC or (signed_in and access == PRIVATE):
        return None
    if not signed_in:
        return jsonify(error="Sign in required"), 401
    return jsonify(error="No such callback"), 404


def changes_state() -> bool:
    """Whether this request may change something: every method but GET, HEAD and OPTIONS, and
    the GETs declared with ``changes_state_on_get``."""
    if request.method not in SAFE_METHODS:
        return True
    when = STATEFUL_GETS.get(request.endpoint) if request.method != "OPTIONS" else None
    return when is not None and bool(when())


def guard():
    path = request.path
    if changes_state() and not _is_api_key_request(path):
        source = cross_site_source()
        if source is not None:
            return _refuse_cross_site(source)
    if path in STATIC_PATHS or path.startswith(STATIC_PREFIXES) or path.startswith(SELF_AUTHENTICATING_PREFIXES):
        return None
    if path == "/logout":
        return None
    with context.db().session() as s:
        needs_setup = accounts.user_count(s) == 0
    if path == "/_dash-update-component":
        return _callback_guard(current_user.is_authenticated and not needs_setup)
    if needs_setup:
        return None if path == "/setup" else redirect("/setup")
    if current_user.is_authenticated:
        return None
    if _is_public_path(path):
        return None
    return redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))


def init_login(server: Flask) -> LoginManager:
    manager = LoginManager()
    manager.login_view = None  # the guard redirects

    @manager.user_loader
    def load_user(session_id: str):
        with context.db().session() as s:
            return accounts.user_for_session(s, session_id)

    manager.init_app(server)
    server.register_blueprint(auth_routes)
    from dashboard.sso import oidc_routes

    server.register_blueprint(oidc_routes)  # single sign-on; answers 404 unless HALLEY_OIDC_ISSUER is set
    server.before_request(guard)
    return manager
