"""``OfflineExperiment``: the same logging calls, written to ``<offline_directory>/<key>.zip``
(format in spool.py) for ``halley upload`` to send later."""
from __future__ import annotations

import shutil
import time

from dashboard.sdk.config import offline_root
from dashboard.sdk.experiment import BaseExperiment
from dashboard.sdk.spool import SpoolDir, write_archive
from dashboard.sdk.transport import Sender, notice


class OfflineExperiment(BaseExperiment):
    """``OfflineExperiment(offline_directory=None, ...)``; the directory falls back to
    HALLEY_OFFLINE_DIRECTORY, then ./.halley-runs. ``api_key`` is ignored (give it to upload)."""

    def __init__(self, *args, offline_directory: str | None = None, **kwargs):
        self.offline_directory = offline_root(offline_directory)
        self.archive_path = None
        super().__init__(*args, **kwargs)

    def _start(self) -> None:
        self.offline_directory.mkdir(parents=True, exist_ok=True)
        self._spool = SpoolDir(self.offline_directory / f".{self.id}.partial", self._create_body(),
                               format_name="halley-offline")
        self._spool._prepare()
        self._sender = Sender(self._q, self.id, None, self._spool, interval=self._batch_interval)
        self._sender.start()
        self._q.append(("o", "offline_experiment", True))

    def flush(self, timeout: float | None = None) -> bool:
        if self._off or self._ended:
            return True
        return self._sender.flush(timeout or 60)

    def _finish(self, status: str) -> None:
        self._sender.close(600)
        self._spool.experiment = self._create_body()
        target = self.offline_directory / f"{self.id}.zip"
        self.archive_path = write_archive(self._spool, target, self._start_time, time.time(), status)
        shutil.rmtree(self._spool.path, ignore_errors=True)
        notice(f"offline experiment saved to {target}; send it with: halley upload {target}")
