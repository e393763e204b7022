"""Settings read from HALLEY_* environment variables, with embedded defaults.

Everything Halley writes lives under ``HALLEY_HOME`` (default ``./.halley``): the SQLite
database, asset files, the background-callback cache and the generated secret key.
``HALLEY_ASSET_STORE`` keeps the asset files in another folder or an S3-compatible bucket.
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


LOG_FORMATS = ("text", "json")


def _log_format(raw: str | None) -> str:
    value = (raw or "text").strip().lower()
    if value not in LOG_FORMATS:
        raise SystemExit(f"HALLEY_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {raw!r}")
    return value


def pool_sizing() -> tuple[int, int]:
    """``(pool_size, max_overflow)`` of each server process's database connection pool:
    ``HALLEY_DB_POOL_SIZE`` connections kept open (default 10), and up to
    ``HALLEY_DB_MAX_OVERFLOW`` more opened under load and closed after (default 20). A process
    never holds more than their sum; a request waits (up to 30 s) for a free one beyond."""
    size = _env_int("HALLEY_DB_POOL_SIZE", 10)
    overflow = _env_int("HALLEY_DB_MAX_OVERFLOW", 20)
    if size < 1:
        raise SystemExit(f"HALLEY_DB_POOL_SIZE must be at least 1, got {size}")
    if overflow < 0:
        raise SystemExit(f"HALLEY_DB_MAX_OVERFLOW must be 0 or more, got {overflow}")
    return size, overflow


def _start_grace() -> int:
    seconds = _env_int("HALLEY_OPTIMIZER_START_GRACE", 600)
    if seconds < 1:
        raise SystemExit(f"HALLEY_OPTIMIZER_START_GRACE must be at least 1 (seconds), got {seconds}")
    return seconds


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


def asset_store_of(raw: str, home: Path) -> str:
    """HALLEY_ASSET_STORE: a local folder (default ``HALLEY_HOME/assets``) or ``s3://bucket/prefix``."""
    from dashboard.asset_store import check_url

    try:
        return check_url(raw) if raw.strip() else str(home / "assets")
    except ValueError as exc:
        raise SystemExit(f"HALLEY_ASSET_STORE: {exc}") from None


def s3_credentials_of(env) -> dict:
    """HALLEY_S3_ACCESS_KEY_ID and HALLEY_S3_SECRET_ACCESS_KEY, both or neither."""
    key = env.get("HALLEY_S3_ACCESS_KEY_ID", "").strip() or None
    secret = env.get("HALLEY_S3_SECRET_ACCESS_KEY", "").strip() or None
    if (key is None) != (secret is None):
        raise SystemExit("set both HALLEY_S3_ACCESS_KEY_ID and HALLEY_S3_SECRET_ACCESS_KEY, or neither "
                         "(then AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are used)")
    return {"s3_access_key_id": key, "s3_secret_access_key": secret}


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


_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class OidcSettings:
    """Single sign-on with an OpenID Connect provider (HALLEY_OIDC_*)."""

    issuer: str
    client_id: str
    client_secret: str
    name: str = "single sign-on"  # the button reads "Sign in with <name>"
    allowed_domains: tuple[str, ...] = ()  # email domains that may sign in; empty: any
    create_users: bool = True  # create an account at a person's first sign-in
    # HALLEY_OIDC_ADMIN_CLAIM: ("groups", "halley-admins") for "groups=halley-admins" (the claim
    # equals or lists the value), ("is_admin", None) for a claim that must be true.
    admin_claim: tuple[str, str | None] | None = None
    scopes: str = "openid email profile"

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def domain_allowed(self, email: str) -> bool:
        if not self.allowed_domains:
            return True
        return email.rpartition("@")[2].lower() in self.allowed_domains


def _env_flag(env, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be 1 or 0 (true or false), got {raw!r}")


def oidc_settings_from_env(env=None) -> OidcSettings | None:
    """The OpenID Connect settings, or None when HALLEY_OIDC_ISSUER is unset (no single sign-on)."""
    env = os.environ if env is None else env
    issuer = env.get("HALLEY_OIDC_ISSUER", "").strip()
    if not issuer:
        return None
    parsed = urlparse(issuer)
    if (parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.query or parsed.fragment
            or (parsed.scheme == "http" and parsed.hostname not in _LOOPBACK_HOSTS)):
        raise SystemExit(f"HALLEY_OIDC_ISSUER: {issuer!r} is not an https address such as "
                         "https://login.example.com (http only for localhost)")
    client_id = env.get("HALLEY_OIDC_CLIENT_ID", "").strip()
    client_secret = env.get("HALLEY_OIDC_CLIENT_SECRET", "").strip()
    if not client_id or not client_secret:
        raise SystemExit("HALLEY_OIDC_ISSUER is set: set HALLEY_OIDC_CLIENT_ID and HALLEY_OIDC_CLIENT_SECRET too "
                         "(the client registered for Halley at the provider)")
    domains = []
    for item in env.get("HALLEY_OIDC_ALLOWED_DOMAINS", "").split(","):
        item = item.strip().lower().lstrip("@")
        if not item:
            continue
        if not re.match(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", item):
            raise SystemExit(f"HALLEY_OIDC_ALLOWED_DOMAINS: {item!r} is not an email domain such as example.com")
        domains.append(item)
    admin_claim = None
    raw_claim = env.get("HALLEY_OIDC_ADMIN_CLAIM", "").strip()
    if raw_claim:
        claim, sep, value = (part.strip() for part in raw_claim.partition("="))
        if not claim or (sep and not value):
            raise SystemExit(f"HALLEY_OIDC_ADMIN_CLAIM: {raw_claim!r} is not a claim such as groups=halley-admins "
                             "or a boolean claim's name such as is_admin")
        admin_claim = (claim, value if sep else None)
    scopes = " ".join(env.get("HALLEY_OIDC_SCOPES", "").split()) or "openid email profile"
    if "openid" not in scopes.split():
        raise SystemExit(f"HALLEY_OIDC_SCOPES: {scopes!r} must include openid")
    create = _env_flag(env, "HALLEY_OIDC_CREATE_USERS", True)
    return OidcSettings(issuer=issuer, client_id=client_id, client_secret=client_secret,
                        name=env.get("HALLEY_OIDC_NAME", "").strip()[:60] or "single sign-on",
                        allowed_domains=tuple(dict.fromkeys(domains)), create_users=create,
                        admin_claim=admin_claim, scopes=scopes)


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
    log_format: str = "text"  # HALLEY_LOG_FORMAT=json: one JSON object per log line, for log collectors
    metrics_token: str | None = None  # HALLEY_METRICS_TOKEN: the bearer token /api/v1/metrics asks for
    oidc: OidcSettings | None = None  # HALLEY_OIDC_*: single sign-on with an OpenID Connect provider
    open_signup: bool = False  # HALLEY_OPEN_SIGNUP=1: anyone may create an account at /signup
    # HALLEY_SIGNUP_EMAIL_DOMAINS: open sign-up only for these email domains (empty: any)
    signup_email_domains: tuple[str, ...] = ()
    # HALLEY_ASSET_STORE: a local folder or s3://bucket/prefix (empty: HALLEY_HOME/assets)
    asset_store: str = ""
    s3_endpoint_url: str | None = None  # HALLEY_S3_ENDPOINT_URL: MinIO and other S3-compatible services
    s3_region: str | None = None  # HALLEY_S3_REGION
    # HALLEY_S3_ACCESS_KEY_ID / HALLEY_S3_SECRET_ACCESS_KEY; unset: AWS_ACCESS_KEY_ID and the
    # other ways boto finds credentials (profile, instance role)
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = field(default=None, repr=False)
    # HALLEY_S3_PRESIGNED_DOWNLOADS=0: stream downloads through Halley instead of redirecting to
    # the bucket (when clients cannot reach the S3 endpoint)
    s3_presigned_downloads: bool = True
    # HALLEY_OPTIMIZER_START_GRACE: seconds an optimizer's parameter set may stay handed out with
    # no run of it before it is handed out again (its worker died before starting it)
    optimizer_start_grace: int = 600
    extra: dict = field(default_factory=dict)

    @property
    def assets_dir(self) -> Path:
        """The local asset folder (when the store is one)."""
        if self.asset_store and not self.asset_store.startswith("s3://"):
            return Path(self.asset_store)
        return self.home / "assets"

    @property
    def store_config(self):
        from dashboard.asset_store import StoreConfig

        url = self.asset_store if self.asset_store.startswith("s3://") else str(self.assets_dir)
        return StoreConfig(url, self.s3_endpoint_url, self.s3_region, self.s3_access_key_id,
                           self.s3_secret_access_key, self.s3_presigned_downloads)

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
        (home / "cache").mkdir(exist_ok=True)
        asset_store = asset_store_of(overrides.pop("asset_store", None) or os.environ.get("HALLEY_ASSET_STORE", ""),
                                     home)
        if not asset_store.startswith("s3://"):
            Path(asset_store).mkdir(parents=True, exist_ok=True)
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
            log_format=_log_format(os.environ.get("HALLEY_LOG_FORMAT")),
            metrics_token=os.environ.get("HALLEY_METRICS_TOKEN") or None,
            oidc=overrides.pop("oidc", None) or oidc_settings_from_env(),
            open_signup=os.environ.get("HALLEY_OPEN_SIGNUP", "").lower() in ("1", "true", "yes"),
            signup_email_domains=email_domains_of(os.environ.get("HALLEY_SIGNUP_EMAIL_DOMAINS", "")),
            asset_store=asset_store,
            s3_endpoint_url=os.environ.get("HALLEY_S3_ENDPOINT_URL", "").strip() or None,
            s3_region=os.environ.get("HALLEY_S3_REGION", "").strip() or None,
            **s3_credentials_of(os.environ),
            s3_presigned_downloads=_env_flag(os.environ, "HALLEY_S3_PRESIGNED_DOWNLOADS", True),
            optimizer_start_grace=_start_grace(),
            **overrides,
        )
