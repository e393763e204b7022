"""The Celery app of ``halley worker``: ``celery -A dashboard.worker worker`` works too.

Importing this module builds Halley's app with the settings of the environment (the same
HALLEY_* settings as ``halley serve``: secret key, database, asset store, home), which
registers every background callback as a Celery task on the app the servers queue them on
(``dashboard.background.celery_app``), and lets jobs open the database.
"""
from __future__ import annotations

from dashboard import background
from dashboard.config import Settings

settings = Settings.from_env()
if not settings.celery_broker:
    raise SystemExit("HALLEY_CELERY_BROKER is not set: without a broker, background jobs run in the "
                     "server's own processes and there is nothing for a worker to do")


def _build() -> None:
    from app import create_app

    dash_app = create_app(settings)
    # the worker's jobs open their own connections (job_database); none is kept from set-up
    dash_app.server.extensions["halley"]["db"].engine.dispose()


_build()
background.run_jobs_with(settings)
app = celery = background.celery_app(settings.celery_broker)
