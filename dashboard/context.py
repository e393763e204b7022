"""Per-request access to the database and to who is asking, for REST routes and callbacks."""
from __future__ import annotations

import ipaddress
import re

from flask import current_app, g, request, session as flask_session
from flask_login import current_user

from dashboard.auth import Actor, actor_from_api_key
from dashboard.config import Settings
from dashboard.db import Database

# Share-link tokens this browser opened; resolved to project ids on every request, so a
# deleted link stops working for sessions that already used it.
SHARE_SESSION_KEY = "share_tokens"


def settings() -> Settings:
    return current_app.extensions["halley"]["settings"]


def db() -> Database:
    return current_app.extensions["halley"]["db"]


def api_key_from_request() -> str | None:
    """The API key from the Authorization header (the bare key or "Bearer <key>") or X-API-Key.

    Other Authorization schemes carry no Halley key: a proxy's Basic credentials, say, which
    the browser attaches to every request to that address, form posts from other sites too.
    """
    header = (request.headers.get("Authorization") or "").strip()
    scheme, sep, _ = header.partition(" ")
    if header and (not sep or scheme.lower() == "bearer"):
        return header
    return request.headers.get("X-API-Key") or None


def current_actor() -> Actor:
    """An API-key holder when the request carries a key (valid or not: the browser's cookies
    then count for nothing), else a signed-in user, else a share-link visitor, else anonymous."""
    if "halley_actor" in g:
        return g.halley_actor
    raw = api_key_from_request()
    share_ids: tuple[int, ...] = ()
    tokens = None if raw else flask_session.get(SHARE_SESSION_KEY)
    if tokens:
        from dashboard.services.sharing import project_ids_for_tokens

        with db().session() as s:
            share_ids = project_ids_for_tokens(s, tokens if isinstance(tokens, list) else [])
    actor: Actor | None = None
    if raw:
        with db().engine.connect() as connection:  # one read; no ORM session needed
            actor = actor_from_api_key(connection, raw)
    elif current_user.is_authenticated:
        actor = Actor(user_id=current_user.id, username=current_user.username)
    if actor is None:
        actor = Actor.anonymous()
    if share_ids:
        actor = Actor(actor.user_id, actor.username, actor.api_workspace_id, share_project_ids=share_ids)
    g.halley_actor = actor
    return actor


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address() -> str:
    """The address the request comes from: the peer, or, when the peer is a reverse proxy listed
    in HALLEY_TRUSTED_PROXIES, the nearest address in X-Forwarded-For that is not one of them
    (the one a trusted proxy saw; whatever a client wrote further left can't stand in for it)."""
    remote = request.remote_addr or ""
    proxies = settings().trusted_proxies

    def trusted(address) -> bool:
        return address is not None and any(address in network for network in proxies)

    if proxies and trusted(_ip(remote)):
        for hop in reversed(request.headers.get("X-Forwarded-For", "").split(",")):
            address = _ip(hop)
            if address is None:
                break
            remote = str(address)
            if not trusted(address):
                break
    return remote


# A host with an optional port, as X-Forwarded-Host carries it (names, IPv4, [IPv6]).
_FORWARDED_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


def public_url() -> str:
    """The address the user opened Halley at, for SDK snippets: HALLEY_PUBLIC_URL when set;
    else, for a request from a proxy listed in HALLEY_TRUSTED_PROXIES, the host and scheme it
    forwarded (X-Forwarded-Host/-Proto, the values that proxy appended); else the request's own."""
    configured = settings().public_url
    if configured:
        return configured
    own = request.host_url.rstrip("/")
    proxies = settings().trusted_proxies
    remote = _ip(request.remote_addr or "")
    if not proxies or remote is None or not any(remote in network for network in proxies):
        return own
    host = request.headers.get("X-Forwarded-Host", "").split(",")[-1].strip()
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
    if not host or not _FORWARDED_HOST.match(host):
        return own
    if proto not in ("http", "https"):
        proto = request.scheme
    return f"{proto}://{host}"
