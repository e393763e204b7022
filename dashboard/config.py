"""Settings read from HALLEY_* environment variables, with embedded defaults.

Everything Halley writes lives under ``HALLEY_HOME`` (default ``./.halley``): the SQLite
database, asset files, the background-callback cache and the generated secret key.
``HALLEY_DATABASE_URL`` puts the database on PostgreSQL instead (``postgresql://...``).
"""
from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from exc


def _load_or_create_secret(home: Path) -> str:
    """Return a stable secret key: generated once and kept in HALLEY_HOME."""
    path = home / "secret_key"
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_hex(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(secret)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return secret


def database_url_of(raw: str) -> str:
    """The SQLAlchemy URL for a configured database URL. PostgreSQL URLs without a driver
    (``postgres://``, ``postgresql://``, as hosting services hand them out) use psycopg 3,
    the driver Halley ships with its ``postgres`` extra."""
    scheme, sep, rest = raw.partition("://")
    if sep and scheme in ("postgres", "postgresql"):
        raw = f"postgresql+psycopg://{rest}"
    if raw.startswith("postgresql+psycopg:") and importlib.util.find_spec("psycopg") is None:
        raise SystemExit("HALLEY_DATABASE_URL names a PostgreSQL database, but its driver is not installed: "
                         "pip install 'halley-tracker[postgres]'")
    return raw


def trusted_hosts_of(raw: str) -> frozenset[str]:
    """The hosts (with port, if any) of a comma-separated list of origins such as
    ``https://halley.example.com,http://ml-box:8080``; a bare host name is taken as is."""
    hosts = set()
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        parsed = urlparse(item if "://" in item else "//" + item)
        if not parsed.netloc or parsed.path not in ("", "/"):
            raise SystemExit(f"HALLEY_TRUSTED_ORIGINS: {item!r} is not an origin such as https://halley.example.com")
        hosts.add(parsed.netloc.lower())
    return frozenset(hosts)


def public_url_of(raw: str) -> str | None:
    """HALLEY_PUBLIC_URL: the address users and scripts reach Halley at, such as
    ``https://halley.example.com`` or ``https://example.com/halley``; None when unset."""
    raw = raw.strip().rstrip("/")
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise SystemExit(f"HALLEY_PUBLIC_URL: {raw!r} is not an address such as https://halley.example.com")
    return raw


def trusted_proxies_of(raw: str) -> tuple:
    """The networks of a comma-separated list of proxy addresses such as
    ``127.0.0.1, 10.0.0.0/8, ::1``: requests from them may name the client in X-Forwarded-For."""
    networks = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SystemExit(f"HALLEY_TRUSTED_PROXIES: {item!r} is not an address or network such as "
                             "127.0.0.1 or 10.0.0.0/8") from None
    return tuple(networks)


def email_domains_of(raw: str) -> tuple[str, ...]:
    """HALLEY_SIGNUP_EMAIL_DOMAINS: a comma-separated list such as ``example.com, lab.example.org``
    (a leading "@" is allowed)."""
    domains = []
    for item in raw.split(","):
        item = item.strip().lower().lstrip("@")
        if not item:
            continue
        if not _HOST_NAME.match(item) or "." not in item:
            raise SystemExit(f"HALLEY_SIGNUP_EMAIL_DOMAINS: {item!r} is not an email domain such as example.com")
        domains.append(item)
    return tuple(dict.fromkeys(domains))


_HOST_NAME = re.compile(r"^([0-9a-f:.]*:[0-9a-f:.]*|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$")
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class ImageHost:
    """A server whose images notes may show inline: a host name, optionally with a scheme
    (else http and https) and a port (else the scheme's default)."""

    host: str
    scheme: str | None = None
    port: int | None = None

    def source(self) -> str:
        """The host as a Content-Security-Policy source."""
        scheme = f"{self.scheme}://" if self.scheme else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        return f"{scheme}{host}{port}"

    def serves(self, url: str) -> bool:
        """Whether an absolute http(s) URL points at this host."""
        try:
            parts = urlparse(url)
            port = parts.port
        except ValueError:
            return False
        if parts.scheme not in DEFAULT_PORTS or (self.scheme and parts.scheme != self.scheme):
            return False
        default = DEFAULT_PORTS[parts.scheme]
        return (parts.hostname or "") == self.host and (port or default) == (self.port or default)


def image_hosts_of(raw: str) -> tuple[ImageHost, ...]:
    """The hosts of a comma-separated list such as ``images.example.com,https://cdn.example.org:8443``."""
    hosts = []
    for item in raw.split(","):
        item = item.strip().lower()
        if not item:
            continue
        parsed = urlparse(item if "://" in item else "//" + item)
        try:
            port = parsed.port
        except ValueError:
            port = -1
        host = parsed.hostname or ""
        if (parsed.scheme not in ("", "http", "https") or parsed.path not in ("", "/") or parsed.query
                or parsed.fragment or "@" in parsed.netloc or parsed.netloc.endswith(":") or port == -1
                or not _HOST_NAME.match(host)):
            raise SystemExit(f"HALLEY_NOTE_IMAGE_HOSTS: {item!r} is not a host such as images.example.com "
                             "or https://images.example.com:8443")
        hosts.append(ImageHost(host, parsed.scheme or None, port))
    return tuple(dict.fromkeys(hosts))


@dataclass
class Settings:
    home: Path
    database_url: str
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 8050
    max_request_mb: int = 64
    max_asset_mb: int = 200
    celery_broker: str | None = None
    remember_days: int = 30  # lifetime of the "remember me" cookie
    secure_cookies: bool = False  # set HALLEY_SECURE_COOKIES=1 when served over HTTPS
    trusted_hosts: frozenset[str] = frozenset()  # HALLEY_TRUSTED_ORIGINS: the addresses users open
    trusted_proxies: tuple = ()  # HALLEY_TRUSTED_PROXIES: reverse proxies whose X-Forwarded-For counts
    public_url: str | None = None  # HALLEY_PUBLIC_URL: the address shown in SDK snippets
    # HALLEY_NOTE_IMAGE_HOSTS: servers whose images notes show inline (others become links)
    note_image_hosts: tuple[ImageHost, ...] = ()
    access_log: bool = True  # HALLEY_ACCESS_LOG=0 or `halley serve --quiet`: no line per request
    metrics_token: str | None = None  # HALLEY_METRICS_TOKEN: the bearer token /api/v1/metrics asks for
    open_signup: bool = False  # HALLEY_OPEN_SIGNUP=1: anyone may create an account at /signup
    # HALLEY_SIGNUP_EMAIL_DOMAINS: open sign-up only for these email domains (empty: any)
    signup_email_domains: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def assets_dir(self) -> Path:
        return self.home / "assets"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        home = Path(overrides.pop("home", None) or os.environ.get("HALLEY_HOME") or ".halley").resolve()
        home.mkdir(parents=True, exist_ok=True)
        for sub in ("assets", "cache"):
            (home / sub).mkdir(exist_ok=True)
        database_url = database_url_of(overrides.pop("database_url", None) or os.environ.get("HALLEY_DATABASE_URL")
                                       or f"sqlite:///{home / 'halley.db'}")
        secret_key = overrides.pop("secret_key", None) or os.environ.get("HALLEY_SECRET_KEY") or (
            _load_or_create_secret(home)
        )
        return cls(
            home=home,
            database_url=database_url,
            secret_key=secret_key,
            host=overrides.pop("host", None) or os.environ.get("HALLEY_HOST", "127.0.0.1"),
            port=int(overrides.pop("port", None) or _env_int("HALLEY_PORT", 8050)),
            max_request_mb=_env_int("HALLEY_MAX_REQUEST_MB", 64),
            max_asset_mb=_env_int("HALLEY_MAX_ASSET_MB", 200),
            celery_broker=os.environ.get("HALLEY_CELERY_BROKER") or None,
            remember_days=_env_int("HALLEY_REMEMBER_DAYS", 30),
            secure_cookies=os.environ.get("HALLEY_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
            trusted_hosts=trusted_hosts_of(os.environ.get("HALLEY_TRUSTED_ORIGINS", "")),
            trusted_proxies=trusted_proxies_of(os.environ.get("HALLEY_TRUSTED_PROXIES", "")),
            public_url=public_url_of(os.environ.get("HALLEY_PUBLIC_URL", "")),
            note_image_hosts=image_hosts_of(os.environ.get("HALLEY_NOTE_IMAGE_HOSTS", "")),
            access_log=os.environ.get("HALLEY_ACCESS_LOG", "1").lower() not in ("0", "false", "no"),
            metrics_token=os.environ.get("HALLEY_METRICS_TOKEN") or None,
            open_signup=os.environ.get("HALLEY_OPEN_SIGNUP", "").lower() in ("1", "true", "yes"),
            signup_email_domains=email_domains_of(os.environ.get("HALLEY_SIGNUP_EMAIL_DOMAINS", "")),
            **overrides,
        )
