"""Imported by the fork server that starts the server's background jobs, before any job.

Under ``halley serve`` the workers keep their Prometheus counts in files of a shared folder, one
set per process id (prometheus_client's multiprocess mode). A job process ends after one job, so
counting there left a set of files per job in that folder until the server restarted (and every
scrape read them all). Job processes keep their metrics in memory instead (the folder is taken
out of this process's environment before prometheus_client is first imported) and hand a job's
outcome to the server, whose long-lived workers count it (``observability.job_ended``).
"""
from __future__ import annotations

import os

_shared = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

from dashboard import observability  # noqa: E402  (after the folder left the environment)

if _shared:
    observability.hand_job_counts_to_server(_shared)
