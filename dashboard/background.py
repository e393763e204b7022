"""The background-callback manager: diskcache by default, Celery when a broker is set."""
from __future__ import annotations

import os
import signal

from dashboard.config import Settings


def _default_signals_in_child() -> None:
    """Diskcache jobs are forked from a server worker and inherit its signal handlers; gunicorn's
    SIGTERM handler only sets a flag, so Dash could never terminate a superseded job. Jobs get
    the default handler back, so cancelling one ends it."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


os.register_at_fork(after_in_child=_default_signals_in_child)


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


def make_background_manager(settings: Settings):
    if settings.celery_broker:
        from celery import Celery
        from dash import CeleryManager

        celery_app = Celery(__name__, broker=settings.celery_broker, backend=settings.celery_broker)
        return _fresh_start(CeleryManager)(celery_app)
    import diskcache
    from dash import DiskcacheManager

    return _fresh_start(DiskcacheManager)(diskcache.Cache(str(settings.cache_dir / "background")))
