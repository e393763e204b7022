"""Readiness and Prometheus metrics: what an operator's probes and scrapers read.

``/api/v1/health`` says the process answers; ``/api/v1/ready`` (``readiness``) says whether it
can do its work: the database answers a query, the asset store is reachable (a local folder is
writable, an S3 bucket answers a HEAD request) and, when a Celery broker is set, the broker
answers a ping. Each failing part is named, with a 503.

``/api/v1/metrics`` serves Prometheus' text format when HALLEY_METRICS_TOKEN is set (the scraper
sends it as a bearer token): requests by route, method and status with their latencies, metric
points stored, and the database pool of the answering process. Under ``halley serve`` the worker
processes share their counts through prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set by the serve command), so any worker's answer covers them all.
"""
from __future__ import annotations

import hmac
import os
import time

from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest)
from sqlalchemy import text

from dashboard import asset_store

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("halley_http_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram("halley_http_request_duration_seconds", "Time to answer an HTTP request", ["route", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
POINTS = Counter("halley_metric_points_stored_total", "Metric points stored by ingestion")
POOL = Gauge("halley_db_pool_connections", "Database connections of the answering process's pool", ["state"],
             multiprocess_mode="liveall")


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def points_stored(count: int) -> None:
    if count:
        POINTS.inc(count)


# --- readiness ----------------------------------------------------------------------------

def readiness(settings, database) -> dict:
    """``{"ready": bool, "checks": {part: {"ok": bool, "error"?: str, "ms": float}}}``."""
    checks = {"database": _check(lambda: _database(database)),
              "asset_store": _check(lambda: asset_store.of(settings).check())}
    if settings.celery_broker:
        checks["broker"] = _check(lambda: _broker(settings.celery_broker))
    return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}


def _check(probe) -> dict:
    started = time.perf_counter()
    try:
        probe()
        out = {"ok": True}
    except Exception as exc:  # any failure makes the part not ready; its message says why
        out = {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"}
    out["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return out


def _database(database) -> None:
    with database.engine.connect() as connection:
        connection.execute(text("SELECT 1")).scalar_one()


def _broker(url: str) -> None:
    import redis  # the celery extra's broker client

    redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()


# --- the scrape ---------------------------------------------------------------------------

def token_matches(expected: str | None, header: str | None) -> bool:
    """The request's ``Authorization: Bearer TOKEN`` is the configured token (compared in constant time)."""
    if not expected:
        return False
    scheme, _, sent = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), expected.encode())


def scrape(database) -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    pool = database.engine.pool
    for state, read in (("checked_out", "checkedout"), ("idle", "checkedin"), ("size", "size")):
        value = getattr(pool, read, None)
        if callable(value):
            try:
                POOL.labels(state).set(value())
            except Exception:  # noqa: BLE001  (a pool kind without that figure)
                pass
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
