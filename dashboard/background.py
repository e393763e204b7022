"""The background-callback manager: diskcache by default, Celery when a broker is set.

Diskcache jobs run in processes started by a fork server (one per server worker), never forked
from the worker itself: a worker runs many threads, and a child forked while another thread
held a lock inside SQLite, the allocator or a library waits on that lock for ever (a panel job
hung that way and its panels stayed empty). The fork server is a fresh single-threaded
interpreter, so a job starts clean; it starts with the first job.

With ``HALLEY_CELERY_BROKER`` set, jobs run in ``halley worker`` processes instead (any server
may start a job and any server may answer its polls: results and progress live in the broker's
Redis, and Dash signs job handles with the secret key every server shares). ``celery_app`` builds the one Celery app both the
servers and the worker use; ``dashboard.worker`` is the module ``celery -A`` loads.

Project panels draw in ordinary requests, one per panel (they take well under a second each,
and a job's start and Dash's one-second polling of its result cost more than that); jobs are
for work a user would otherwise wait minutes on (the export of a whole experiment table).

A job knows who started it: a Dash custom-data hook (``_requesting_actor``) carries the
requesting actor into the job's callback context (``job_actor``), and the job opens its own
database (``job_database``).
"""
from __future__ import annotations

import dataclasses
import functools
import os

from dashboard.config import Settings

JOB_TERM_SECONDS = 2.0  # a cancelled diskcache job's time to end on SIGTERM before it is killed

_job_settings: Settings | None = None
_job_database = None  # (pid, Database): one per job process


def job_settings() -> Settings | None:
    """Inside a background job: the settings of the server (or worker) that runs it."""
    return _job_settings


def run_jobs_with(settings: Settings) -> None:
    """Jobs of this process use ``settings`` (the worker calls this once at start)."""
    global _job_settings
    _job_settings = settings


def job_database():
    """Inside a background job: the database, opened once per job process (a connection
    inherited over a fork is never used)."""
    global _job_database
    if _job_database is None or _job_database[0] != os.getpid():
        from dashboard.db import Database

        _job_database = (os.getpid(), Database(_job_settings.database_url))
    return _job_database[1]


ACTOR_DATA = "halley_actor"


def _requesting_actor(context) -> dict | None:
    """Who sends a request for a background callback, for the job it may start (the job has no
    request). Dash marks those requests by setting ``ignore_register_page`` to the callback's
    background options."""
    if not context.get("ignore_register_page"):
        return None
    from dashboard.context import current_actor

    return dataclasses.asdict(current_actor())


@functools.lru_cache(maxsize=None)
def _carry_the_actor_into_jobs() -> None:
    """Dash's hooks are global and read at each callback: registered once per process."""
    from dash import hooks

    hooks.custom_data(ACTOR_DATA)(_requesting_actor)


def job_actor():
    """Inside a background job: the actor whose request started it."""
    from dash import ctx

    from dashboard.auth import Actor

    data = ctx.custom_data.get(ACTOR_DATA) or {}
    fields = {f.name for f in dataclasses.fields(Actor)}
    actor = Actor(**{k: v for k, v in data.items() if k in fields})
    return dataclasses.replace(actor, share_project_ids=tuple(actor.share_project_ids or ()))


def _run_job(settings: Settings, job_fn, *job_args) -> None:
    run_jobs_with(settings)
    job_fn(*job_args)


def _fresh_start(manager_class: type) -> type:
    """A Dash background-callback manager whose jobs start with no result stored under their
    key, and whose result is never taken for a cancel. Dash keys a job's result by its arguments
    and deletes it when the page reads it; a superseded job can still finish and store its
    result, which nobody reads. A later job with the same arguments (the same panels again) was
    then answered with that leftover and killed, and a leftover from a cancelled job left the
    panels empty. Clearing the key first means the page reads only what this job computes."""

    class FreshStart(manager_class):
        def call_job_fn(self, key, job_fn, args, context):
            for entry in (key, self._make_progress_key(key), self._make_set_props_key(key)):
                self.clear_cache_entry(entry)
            return super().call_job_fn(key, job_fn, args, context)

        def get_result(self, key, job):
            """Dash reads the result, then asks whether the job still runs, and takes "no result
            and not running" for a cancelled job: the page stops waiting. A job that stores its
            result and ends between those two steps was lost that way (its panels stayed empty).
            A job stores its result before it ends, so once it has ended one more read is final."""
            result = super().get_result(key, job)
            if result is self.UNDEFINED and job is not None and not self.job_running(job):
                result = super().get_result(key, job)
            return result

    FreshStart.__name__ = FreshStart.__qualname__ = f"FreshStart{manager_class.__name__}"
    return FreshStart


def _diskcache_manager(settings: Settings):
    import diskcache
    import multiprocess
    import psutil
    from dash import DiskcacheManager

    processes = multiprocess.get_context("forkserver")
    # jobs keep their metrics in memory and hand their counts to the server (dashboard/job_process.py);
    # the fork server imports nothing else first (not the server's main module either)
    processes.set_forkserver_preload(["dashboard.job_process"])

    class ForkServerDiskcacheManager(DiskcacheManager):
        """Jobs from the fork server. Dash checks that a job's process exists, then opens it to
        kill it or read its state; a job that ends in between (a superseded one, when filters
        change quickly) made that raise NoSuchProcess and the request answer 500. A job that
        already ended is simply gone."""

        def call_job_fn(self, key, job_fn, args, context):
            process = processes.Process(target=_run_job,
                                        args=(settings, job_fn, key, self._make_progress_key(key), args, context))
            process.start()
            return process.pid

        def terminate_job(self, job):
            """SIGTERM first, so the job counts itself cancelled (``observability.run_job``),
            then Dash's kill for a job that hasn't ended within a second or two."""
            try:
                if job is not None:
                    process = psutil.Process(int(job))
                    process.terminate()
                    process.wait(JOB_TERM_SECONDS)
            except (psutil.NoSuchProcess, psutil.TimeoutExpired):
                pass
            try:
                super().terminate_job(job)
            except psutil.NoSuchProcess:
                pass

        def job_running(self, job):
            try:
                return super().job_running(job)
            except psutil.NoSuchProcess:
                return False

        def get_result(self, key, job):
            result = super().get_result(key, job)
            if result is not self.UNDEFINED:  # the job ended: its count waits for this process
                from dashboard.observability import count_ended_jobs

                count_ended_jobs()
            return result

    return _fresh_start(ForkServerDiskcacheManager)(diskcache.Cache(str(settings.cache_dir / "background")))


@functools.lru_cache(maxsize=None)
def celery_app(broker: str):
    """The Celery app of a broker: the servers queue jobs on it, ``halley worker`` runs them.
    One per broker and process, so the tasks Dash registers on the server's app are the ones
    the worker serves."""
    from celery import Celery

    app = Celery("halley", broker=broker, backend=broker)
    app.conf.update(
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_prefetch_multiplier=1,  # a long job doesn't hold queued ones back from idle processes
        task_acks_late=False,
        result_expires=24 * 3600,
    )
    return app


def broker_answers(broker: str, timeout: float = 2.0) -> None:
    """Raises when the broker's Redis doesn't answer a ping within ``timeout`` seconds."""
    import redis  # the celery extra's broker client

    redis.Redis.from_url(broker, socket_connect_timeout=timeout, socket_timeout=timeout).ping()


def queued_jobs(broker: str, timeout: float = 1.0) -> int:
    """How many jobs wait in the broker's default queue (a Redis list Celery pushes them on)."""
    import redis

    client = redis.Redis.from_url(broker, socket_connect_timeout=timeout, socket_timeout=timeout)
    return int(client.llen(celery_app(broker).conf.task_default_queue))


def workers_answering(broker: str, timeout: float = 1.0) -> list[str]:
    """The names of the workers that answer a ping within ``timeout`` seconds."""
    replies = celery_app(broker).control.ping(timeout=timeout) or []
    return sorted(name for reply in replies for name in reply)


def _cancellable(manager_class: type) -> type:
    """A Celery manager whose cancelled jobs stay cancelled. Celery ends a job by telling the
    workers that run it; a job still queued when nobody runs a worker kept its "pending" state,
    so the page waited on it for ever, and a worker started later ran it anyway. The job is
    also marked revoked in the result store: the page stops waiting, and ``job_cancelled``
    tells a worker that picks it up later to skip it."""

    class Cancellable(manager_class):
        def terminate_job(self, job):
            if job is None:
                return
            super().terminate_job(job)
            if self.handle.AsyncResult(job).state in ("PENDING", "RECEIVED", "STARTED", "RETRY"):
                self.handle.backend.mark_as_revoked(job, "cancelled")

    return Cancellable


def job_cancelled() -> bool:
    """Inside a Celery job: whether it was cancelled before it started (see ``_cancellable``)."""
    from celery import current_task

    request = getattr(current_task, "request", None)
    task_id = getattr(request, "id", None)
    return bool(task_id) and current_task.AsyncResult(task_id).state == "REVOKED"


def make_background_manager(settings: Settings):
    _carry_the_actor_into_jobs()
    if settings.celery_broker:
        from dash import CeleryManager

        return _fresh_start(_cancellable(CeleryManager))(celery_app(settings.celery_broker))
    return _diskcache_manager(settings)
