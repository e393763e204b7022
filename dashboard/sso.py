"""Single sign-on with an OpenID Connect provider (HALLEY_OIDC_*), Authlib as the client.

``/auth/oidc/login`` starts the authorization code flow with PKCE (S256): it keeps the state, the
nonce, the code verifier and where to go next in this browser's (signed) session and sends the
browser to the provider. ``/auth/oidc/callback`` takes the browser back: the state must be one
this browser started (compared in constant time, used once, at most ``PENDING_TTL`` old); the
code is exchanged with the verifier; the ID token's signature (the provider's published keys),
issuer, audience, expiry and nonce are checked; then ``services.oidc`` picks the account.

The provider's discovery document is fetched once per process and kept for ``DISCOVERY_TTL``.
Callbacks are throttled per address like password sign-ins. Every failure shows the same
message; the audit log keeps the reason. Without HALLEY_OIDC_ISSUER both routes answer 404.
"""
from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, redirect, request, session as flask_session
from flask_login import login_user
from sqlalchemy.exc import IntegrityError, OperationalError

from dashboard import context
from dashboard.errors import HalleyError
from dashboard.services import accounts, audit, login_throttle, oidc

log = logging.getLogger(__name__)

oidc_routes = Blueprint("oidc", __name__)

CALLBACK_PATH = "/auth/oidc/callback"
PENDING_KEY = "oidc_pending"
PENDING_MAX = 5  # sign-ins one browser may have started at once (several tabs)
PENDING_TTL = 600  # seconds a started sign-in may take at the provider
DISCOVERY_TTL = 3600
HTTP_TIMEOUT = 10

_clients_lock = threading.Lock()


class Failed(Exception):
    """The callback can't sign anyone in; ``reason`` goes to the audit log only."""

    def __init__(self, reason: str, target: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.target = target


def _settings():
    settings = context.settings().oidc
    if settings is None:
        abort(404)
    return settings


def _client():
    """This process's Authlib client for the provider, its discovery document refreshed once
    it is older than ``DISCOVERY_TTL``."""
    from authlib.integrations.flask_client import FlaskOAuth2App
    from authlib.integrations.flask_client.integration import FlaskIntegration

    settings = _settings()
    store = current_app.extensions["halley"]
    with _clients_lock:
        client = store.get("oidc_client")
        if client is None:
            client = FlaskOAuth2App(
                FlaskIntegration("oidc"), name="oidc", client_id=settings.client_id,
                client_secret=settings.client_secret, server_metadata_url=settings.discovery_url,
                client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256",
                               "default_timeout": HTTP_TIMEOUT})
            store["oidc_client"] = client
        loaded = client.server_metadata.get("_loaded_at")
        if loaded is not None and time.time() - loaded > DISCOVERY_TTL:
            client.server_metadata.clear()
        metadata = client.load_server_metadata()
    if str(metadata.get("issuer", "")).rstrip("/") != settings.issuer.rstrip("/"):
        client.server_metadata.clear()
        raise Failed(f"the discovery document names another issuer: {str(metadata.get('issuer'))[:200]!r}")
    return client


def _redirect_uri() -> str:
    base = context.settings().public_url or request.url_root.rstrip("/")
    return base + CALLBACK_PATH


def _to_login(error: str, next_url: str = "/", **extra):
    return redirect("/login?" + urlencode({"error": error, **extra, "next": next_url}))


def _pending() -> list[dict]:
    now = time.time()
    entries = flask_session.get(PENDING_KEY)
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("exp"), (int, float)) and e["exp"] > now
            and all(isinstance(e.get(k), str) for k in ("state", "nonce", "verifier", "next", "redirect_uri"))]


def _take_pending(state: str | None) -> dict | None:
    """The sign-in this browser started with ``state`` (removed: a state works once), compared
    in constant time against every pending one."""
    entries = _pending()
    found = None
    if state:
        given = state.encode()
        for entry in entries:
            if hmac.compare_digest(entry["state"].encode(), given):
                found = entry
    flask_session[PENDING_KEY] = [e for e in entries if e is not found]
    return found


@oidc_routes.route("/auth/oidc/login", methods=["GET", "POST"])
def login():
    """Send the browser to the provider to sign in; ``next`` is where it lands afterwards."""
    from dashboard.webauth import safe_next

    _settings()
    next_url = safe_next(request.values.get("next"))
    with context.db().session() as s:
        if accounts.user_count(s) == 0:
            return redirect("/setup")  # the first account is made by first-run setup
    try:
        client = _client()
        redirect_uri = _redirect_uri()
        started = client.create_authorization_url(redirect_uri)
    except Exception as exc:  # the provider is unreachable or answers nonsense
        log.warning("single sign-on could not start: %s", exc)
        _record_failure(f"the provider could not be reached: {str(exc)[:300]}")
        return _to_login("sso_unavailable", next_url)
    entries = _pending()[-(PENDING_MAX - 1):]
    entries.append({"state": started["state"], "nonce": started["nonce"], "verifier": started["code_verifier"],
                    "next": next_url, "redirect_uri": redirect_uri, "exp": time.time() + PENDING_TTL})
    flask_session[PENDING_KEY] = entries
    return redirect(started["url"])


def _begin_attempt() -> login_throttle.Attempt:
    for tries in (1, 2):
        try:
            with context.db().session() as s:
                return login_throttle.begin_from_address(s, context.client_address())
        except (IntegrityError, OperationalError):
            if tries == 2:
                raise
    raise AssertionError("unreachable")


def _record_failure(reason: str, target: str = "", attempt: login_throttle.Attempt | None = None) -> None:
    with context.db().session() as s:
        audit.record(s, "sign_in.oidc_failed", target=target, detail=reason)
        if attempt is not None:
            login_throttle.settle(s, attempt, succeeded=False)


def _checked_claims(pending: dict) -> dict:
    """Exchange the code and check the ID token; its claims, with the userinfo endpoint's added."""
    from authlib.common.errors import AuthlibBaseError

    try:
        from joserfc.errors import JoseError
    except ImportError:  # Authlib before joserfc
        from authlib.jose.errors import JoseError

    if request.args.get("error"):
        raise Failed(f"the provider answered {request.args.get('error', '')[:100]!r}: "
                     f"{request.args.get('error_description', '')[:300]}")
    code = request.args.get("code")
    if not code:
        raise Failed("the callback carries no code")
    try:
        client = _client()
        # RFC 9207: a provider that names itself in the response must be this one (no mix-up).
        if "iss" in request.args and request.args["iss"] != client.server_metadata.get("issuer"):
            raise Failed("the authorization response names another issuer")
        token = client.fetch_access_token(redirect_uri=pending["redirect_uri"], code=code,
                                          code_verifier=pending["verifier"])
        if "id_token" not in token:
            raise Failed("the provider returned no ID token")
        claims = dict(client.parse_id_token(token, nonce=pending["nonce"]))
        # Checked again here, in constant time, whatever the library does with it.
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), pending["nonce"].encode()):
            raise Failed("the ID token's nonce is not the one this sign-in sent")
        if claims.get("iss") != client.server_metadata.get("issuer"):
            raise Failed("the ID token names another issuer")
        if client.server_metadata.get("userinfo_endpoint") and token.get("access_token"):
            info = dict(client.userinfo(token=token))
            if info.get("sub") != claims.get("sub"):
                raise Failed("the userinfo endpoint names another subject")
            claims = {**info, **claims}
    except Failed:
        raise
    except (AuthlibBaseError, JoseError, ValueError, KeyError) as exc:
        raise Failed(f"the code or the ID token was refused: {type(exc).__name__}: {str(exc)[:300]}") from exc
    except Exception as exc:  # network errors talking to the provider
        raise Failed(f"the provider could not be reached: {type(exc).__name__}: {str(exc)[:300]}") from exc
    return claims


@oidc_routes.get(CALLBACK_PATH)
def callback():
    settings = _settings()
    from dashboard.webauth import _known_browser

    attempt = _begin_attempt()
    if attempt.refused:
        return _to_login("throttled", wait=math.ceil(attempt.wait))
    pending = _take_pending(request.args.get("state"))
    if pending is None:
        _record_failure("the state is not one this browser started (forged, replayed or expired)", attempt=attempt)
        return _to_login("sso")
    try:
        claims = _checked_claims(pending)
        issuer = claims["iss"]
        user = None
        for tries in (1, 2):  # twice: a parallel first sign-in of the same person may win the insert
            try:
                with context.db().session() as s:
                    user = oidc.sign_in(s, settings, issuer, claims)
                    login_throttle.settle(s, attempt, succeeded=True)
                break
            except IntegrityError:
                if tries == 2:
                    raise Failed("the account could not be linked (a parallel sign-in)") from None
    except HalleyError as exc:
        _record_failure(f"the account could not be signed in: {exc.message}", "", attempt)
        return _to_login("sso", pending["next"])
    except (Failed, oidc.Refused) as exc:
        log.info("single sign-on refused: %s", exc.reason)
        _record_failure(exc.reason, exc.target, attempt)
        return _to_login("sso", pending["next"])
    devices = login_throttle.read_devices(context.settings().secret_key,
                                          request.cookies.get(login_throttle.DEVICE_COOKIE))
    login_user(user, remember=True)
    return _known_browser(redirect(pending["next"]), devices, user.id)
