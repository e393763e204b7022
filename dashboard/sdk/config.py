"""SDK settings: explicit arguments first, then HALLEY_* environment variables, then defaults.

Kept free of any other Halley import so ``dashboard.sdk`` works on a machine that only has
``requests`` installed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8050"


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() not in ("0", "false", "no", "off")


def env_float(name: str, default: float) -> float:
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return default


def resolve_flag(value: bool, env_name: str) -> bool:
    """Comet's rule: the literal default True counts as "not set", so the environment can turn
    a feature off; an explicit False always wins."""
    if value is False:
        return False
    return env_bool(env_name, True)


@dataclass
class ClientConfig:
    """``end_timeout_s`` (HALLEY_END_TIMEOUT, formerly HALLEY_END_TIMEOUT_S) bounds the whole of
    ``end()``: finishing the environment collection and delivering what is queued; whatever is
    still undelivered then stays in the spool for ``halley upload``."""

    api_key: str | None
    url: str
    retry_max_s: float = 30.0
    end_timeout_s: float = 120.0
    offline_end_wait_s: float = 10.0
    request_timeout_s: float = 30.0

    @classmethod
    def resolve(cls, api_key: str | None = None, url: str | None = None) -> "ClientConfig":
        return cls(
            api_key=api_key or os.environ.get("HALLEY_API_KEY") or None,
            url=(url or os.environ.get("HALLEY_URL") or DEFAULT_URL).rstrip("/"),
            retry_max_s=env_float("HALLEY_RETRY_MAX_S", 30.0),
            end_timeout_s=env_float("HALLEY_END_TIMEOUT", env_float("HALLEY_END_TIMEOUT_S", 120.0)),
            offline_end_wait_s=env_float("HALLEY_OFFLINE_END_WAIT_S", 10.0),
            request_timeout_s=env_float("HALLEY_TIMEOUT_S", 30.0),
        )


def spool_root() -> Path:
    raw = os.environ.get("HALLEY_SPOOL_DIR")
    return Path(raw).expanduser() if raw else Path.home() / ".halley" / "spool"


def offline_root(directory: str | None) -> Path:
    raw = directory or os.environ.get("HALLEY_OFFLINE_DIRECTORY") or ".halley-runs"
    return Path(raw).expanduser()
