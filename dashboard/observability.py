"""Readiness and Prometheus metrics: what an operator's probes and scrapers read.

``/api/v1/health`` says the process answers; ``/api/v1/ready`` (``readiness``) says whether it
can do its work: the database answers a query, the asset store is reachable (a local folder is
writable, an S3 bucket answers a HEAD request) and, when a Celery broker is set, the broker
answers a ping and at least one ``halley worker`` answers Celery's ping within a second. Each
failing part is named, with a 503.

``/api/v1/metrics`` serves Prometheus' text format when HALLEY_METRICS_TOKEN is set (the scraper
sends it as a bearer token): requests by route, method and status with their latencies, metric
points stored, the database pool of the answering process, background jobs ended (by job and
outcome, with their durations) and, with a Celery broker, the jobs waiting in its queue. Under
``halley serve`` the worker processes share their counts through prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by the serve command), so any worker's answer
covers them all.

A job is counted as it ends (``run_job``). In a ``halley worker`` it counts there, and the worker
serves its own counts (``serve_metrics``, ``halley worker --metrics-port``). A job process of the
server's fork server lives for one job only: it hands the count to the server's workers through a
queue next to the shared folder (``count_ended_jobs``, at each scrape and when a job's result is
read), so the folder holds files of the long-lived processes only, however many jobs ran.
A cancelled job is ended with SIGTERM (Celery's revoke; the diskcache manager sends it before its
kill): the job counts itself cancelled, then ends as the signal would have ended it.
"""
from __future__ import annotations

import hmac
import os
import signal
import threading
import time

from dash.exceptions import PreventUpdate
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text

from dashboard import asset_store
from dashboard.background import broker_answers, queued_jobs, workers_answering

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
WORKER_PING_SECONDS = 1.0

REQUESTS = Counter("halley_http_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram("halley_http_request_duration_seconds", "Time to answer an HTTP request", ["route", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
POINTS = Counter("halley_metric_points_stored_total", "Metric points stored by ingestion")
POOL = Gauge("halley_db_pool_connections", "Database connections of the answering process's pool", ["state"],
             multiprocess_mode="liveall")
JOBS = Counter("halley_background_jobs_total", "Background jobs ended, by outcome (completed, failed, cancelled)",
               ["job", "outcome"])
JOB_DURATION = Histogram("halley_background_job_duration_seconds", "Time from a background job's start to its end",
                         ["job", "outcome"], buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600))


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def points_stored(count: int) -> None:
    if count:
        POINTS.inc(count)


def job_ended(job: str, outcome: str, seconds: float) -> None:
    """Counts a job that ended; in a job process of the server's fork server, hands it to the
    server instead (``count_ended_jobs``): that process ends with its job, and its own count
    would leave files in the shared folder behind (``dashboard.job_process``)."""
    if _handed_to is not None:
        with _ended_jobs(_handed_to) as queue:
            queue.push((job, outcome, seconds))
        return
    JOBS.labels(job, outcome).inc()
    JOB_DURATION.labels(job, outcome).observe(seconds)


_handed_to: str | None = None  # in a job process: the shared metrics folder of the server that started it


def hand_job_counts_to_server(shared: str) -> None:
    """In a job process (of the server whose workers share the metrics folder ``shared``): jobs
    ended here are counted by the server."""
    global _handed_to
    _handed_to = shared


def _ended_jobs(shared: str):
    """The jobs that ended in job processes and wait to be counted: a queue next to the shared
    metrics folder (not in it: every file there is read as metrics), safe across processes."""
    import diskcache

    return diskcache.Cache(shared.rstrip("/") + "-jobs")


def count_ended_jobs() -> None:
    """In a server worker: count the jobs its job processes ended (any worker may take any
    of them; the scrape adds up every worker's counts)."""
    shared = os.environ.get(MULTIPROC_ENV)
    if not shared or _handed_to is not None:
        return
    with _ended_jobs(shared) as queue:
        while len(queue):
            key, ended = queue.pull()
            if key is None:
                break
            JOBS.labels(ended[0], ended[1]).inc()
            JOB_DURATION.labels(ended[0], ended[1]).observe(ended[2])


def run_job(job: str, run):
    """``run()``, counted as job ``job``: completed when it returns (or prevents an update: nothing
    to show), failed when it raises, cancelled when SIGTERM ends it meanwhile."""
    started = time.perf_counter()

    def cancelled(signum, _frame):
        signal.signal(signum, signal.SIG_DFL)
        job_ended(job, "cancelled", time.perf_counter() - started)
        os.kill(os.getpid(), signum)  # ends as the signal would have

    in_main_thread = threading.current_thread() is threading.main_thread()  # only it may take signals
    previous = signal.signal(signal.SIGTERM, cancelled) if in_main_thread else None
    outcome = "failed"
    try:
        result = run()
        outcome = "completed"
        return result
    except PreventUpdate:
        outcome = "completed"
        raise
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        job_ended(job, outcome, time.perf_counter() - started)


# --- readiness ----------------------------------------------------------------------------

def readiness(settings, database) -> dict:
    """``{"ready": bool, "checks": {part: {"ok": bool, "error"?: str, "ms": float}}}``."""
    checks = {"database": _check(lambda: _database(database)),
              "asset_store": _check(lambda: asset_store.of(settings).check())}
    if settings.celery_broker:
        checks["broker"] = _check(lambda: broker_answers(settings.celery_broker))
        checks["worker"] = (_check(lambda: _worker(settings.celery_broker)) if checks["broker"]["ok"]
                            else {"ok": False, "error": "the broker does not answer", "ms": 0.0})
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


def _worker(broker: str) -> None:
    if not workers_answering(broker, timeout=WORKER_PING_SECONDS):
        raise LookupError(f"no worker answered a ping within {WORKER_PING_SECONDS:g} s: start `halley worker`")


# --- the scrape ---------------------------------------------------------------------------

def token_matches(expected: str | None, header: str | None) -> bool:
    """The request's ``Authorization: Bearer TOKEN`` is the configured token (compared in constant time)."""
    if not expected:
        return False
    scheme, _, sent = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), expected.encode())


def scrape(settings, database) -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    pool = database.engine.pool
    for state, read in (("checked_out", "checkedout"), ("idle", "checkedin"), ("size", "size")):
        value = getattr(pool, read, None)
        if callable(value):
            try:
                POOL.labels(state).set(value())
            except Exception:  # noqa: BLE001  (a pool kind without that figure)
                pass
    if not settings.celery_broker:  # jobs of the server's own job processes
        count_ended_jobs()
    body = generate_latest(_process_registry())
    if settings.celery_broker:
        body += generate_latest(_QueuedJobs(settings.celery_broker).registry())
    return body, CONTENT_TYPE_LATEST


def _process_registry():
    """This process's metrics, or under multiprocess mode those of every process sharing its folder."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


class _QueuedJobs:
    """The jobs waiting in the broker's queue, read at the scrape (left out when the broker
    doesn't answer: readiness names that)."""

    def __init__(self, broker: str):
        self.broker = broker

    def registry(self) -> CollectorRegistry:
        registry = CollectorRegistry()
        registry.register(self)
        return registry

    def collect(self):
        try:
            waiting = queued_jobs(self.broker)
        except Exception:  # noqa: BLE001  (no answer: no figure)
            return
        yield GaugeMetricFamily("halley_background_jobs_queued", "Background jobs waiting in the broker's queue",
                                value=waiting)


def serve_metrics(host: str, port: int, token: str):
    """Serve this process's metrics (those of every process sharing its multiprocess folder) at
    ``http://host:port/`` to a scraper sending ``token`` as a bearer token, from a thread."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    metrics = make_wsgi_app(_process_registry())

    def guarded(environ, start_response):
        if not token_matches(token, environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Metrics need the bearer token set in HALLEY_METRICS_TOKEN\n"]
        return metrics(environ, start_response)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *_args):
            pass

    server = make_server(host, port, guarded, ThreadingWSGIServer, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, name="halley-metrics", daemon=True).start()
    return server
