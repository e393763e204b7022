"""The background-callback manager: diskcache by default, Celery when a broker is set."""
from __future__ import annotations

from dashboard.config import Settings


def make_background_manager(settings: Settings):
    if settings.celery_broker:
        from celery import Celery
        from dash import CeleryManager

        celery_app = Celery(__name__, broker=settings.celery_broker, backend=settings.celery_broker)
        return CeleryManager(celery_app)
    import diskcache
    from dash import DiskcacheManager

    return DiskcacheManager(diskcache.Cache(str(settings.cache_dir / "background")))
