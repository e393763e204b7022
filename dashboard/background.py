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


def make_background_manager(settings: Settings):
    if settings.celery_broker:
        from celery import Celery
        from dash import CeleryManager

        celery_app = Celery(__name__, broker=settings.celery_broker, backend=settings.celery_broker)
        return CeleryManager(celery_app)
    import diskcache
    from dash import DiskcacheManager

    return DiskcacheManager(diskcache.Cache(str(settings.cache_dir / "background")))
