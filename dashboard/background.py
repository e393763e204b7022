"""The background-callback manager: diskcache by default, Celery when a broker is set.

Diskcache jobs run in processes started by a fork server (one per server worker), never forked
from the worker itself: a worker runs many threads, and a child forked while another thread
held a lock inside SQLite, the allocator or a library waits on that lock for ever (a panel job
hung that way and its panels stayed empty). The fork server is a fresh single-threaded
interpreter, so a job starts clean; it starts with the first job.

No page uses a background callback today: project panels draw in ordinary requests, one per
panel (they take well under a second each, and a job's start and Dash's one-second polling of
its result cost more than that). The manager stays for long-running work.
"""
from __future__ import annotations

from dashboard.config import Settings

_job_settings: Settings | None = None


def job_settings() -> Settings | None:
    """Inside a background job: the settings of the server that started it."""
    return _job_settings


def _run_job(settings: Settings, job_fn, *job_args) -> None:
    global _job_settings
    _job_settings = settings
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
            try:
                super().terminate_job(job)
            except psutil.NoSuchProcess:
                pass

        def job_running(self, job):
            try:
                return super().job_running(job)
            except psutil.NoSuchProcess:
                return False

    return _fresh_start(ForkServerDiskcacheManager)(diskcache.Cache(str(settings.cache_dir / "background")))


def make_background_manager(settings: Settings):
    if settings.celery_broker:
        from celery import Celery
        from dash import CeleryManager

        celery_app = Celery(__name__, broker=settings.celery_broker, backend=settings.celery_broker)
        return _fresh_start(CeleryManager)(celery_app)
    return _diskcache_manager(settings)
