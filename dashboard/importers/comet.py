"""Import comet_ml offline archives into Halley through the ingest core.

``import_archive`` replays one archive (planned and fully checked by ``comet_archive``) with
the same service calls a live run makes: ``ingest.start_experiment``, ``apply_batch``,
``store_asset`` and ``end_experiment``, in ONE transaction. If anything fails, the
transaction is rolled back and the asset files already written are removed again, so a bad
archive leaves nothing behind.

Idempotency: the experiment key identifies the run. An archive whose key already exists in
Halley is skipped (reported as "already imported") and nothing is changed, so importing the
same archive twice, or a folder that was partly imported before, never duplicates data.
Archives written by ``ExistingOfflineExperiment`` (resume strategy "get"/"get_or_create")
add to the run with their key instead; their batches carry ids derived from the archive's
content, so the same one is recognised by the ingest core and skipped the second time.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from dashboard.auth import Actor
from dashboard.config import Settings
from dashboard.db import Database
from dashboard.errors import HalleyError, NotFound
from dashboard.importers.comet_archive import (
    Archive,
    ArchiveError,
    ImportPlan,
    find_archives,
    plan_archive,
    read_asset,
)
from dashboard.services import assets as asset_files
from dashboard.services import experiments, ingest
from models import ExperimentStatus

# Metric points per apply_batch call: keeps each statement set reasonably sized while the
# whole archive still commits (or rolls back) as one transaction.
METRICS_PER_BATCH = 5000


@dataclass
class ImportResult:
    path: Path
    status: str  # "imported" | "skipped" | "failed"
    key: str | None = None
    workspace: str | None = None
    project: str | None = None
    name: str | None = None
    message: str = ""
    counts: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)

    def describe(self) -> str:
        where = f"{self.workspace}/{self.project}/{self.key}" if self.workspace else (self.key or "")
        if self.status == "imported":
            parts = ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items()) if n)
            label = f" ({self.name})" if self.name else ""
            return f"imported {self.path.name} -> {where}{label}: {parts}"
        if self.status == "skipped":
            return f"skipped {self.path.name}: {self.message}"
        return f"failed {self.path.name}: {self.message}"


def _utc(ms) -> datetime | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)


class AlreadyImported(Exception):
    """This archive's data is already stored (its first batch id is known)."""


def _batches(batch: dict, digest: str) -> Iterable[dict]:
    """The archive's batch, with its metrics split over several apply_batch calls; the batch
    ids derive from the archive's digest (the first one is the digest itself)."""
    metrics = batch.get("metrics") or []
    rest = {k: v for k, v in batch.items() if k != "metrics"}
    yield {**rest, "batch_id": digest, "metrics": metrics[:METRICS_PER_BATCH]}
    for i in range(METRICS_PER_BATCH, len(metrics), METRICS_PER_BATCH):
        batch_id = hashlib.sha256(f"{digest}:{i}".encode()).hexdigest()
        yield {"batch_id": batch_id, "metrics": metrics[i:i + METRICS_PER_BATCH]}


def set_times(session, actor: Actor, key: str, start: datetime | None, end: datetime | None) -> None:
    """Give an experiment the start/end times its run recorded (offline archives and
    ``comet upload`` know them; a live run's are the server's own)."""
    exp = experiments.get_writable(session, actor, key)
    if start is not None:
        exp.start_time = start
    if end is not None:
        exp.end_time = end
    session.add(exp)
    session.flush()


def import_plan(session, settings: Settings, actor: Actor, archive: Archive, plan: ImportPlan,
                workspace: str | None, project: str | None, written: list[str]) -> tuple[str, str]:
    """Write one planned archive in the caller's transaction; returns (workspace, project).

    The relative path of every asset file written is appended to ``written`` so the caller
    can remove them if the transaction is rolled back.
    """
    exp, created = ingest.start_experiment(session, actor, workspace or plan.workspace, project or plan.project,
                                           key=plan.key, name=plan.name)
    for batch in _batches(plan.batch, plan.digest):
        if ingest.apply_batch(session, actor, plan.key, batch).get("duplicate"):
            raise AlreadyImported()
    for spec in plan.assets:
        data = read_asset(archive, spec) if spec.remote_url is None else None
        asset = ingest.store_asset(session, actor, plan.key, data=data, type=spec.type.value,
                                   name=spec.name, step=spec.step, epoch=spec.epoch, context=spec.context,
                                   metadata=spec.metadata, asset_id=spec.asset_id,
                                   content_type=spec.content_type, remote_url=spec.remote_url,
                                   settings=settings)
        written.append(asset.storage_path)
    ingest.end_experiment(session, actor, plan.key, ExperimentStatus.finished.value)
    set_times(session, actor, plan.key, _utc(plan.start_ms) if created else None, _utc(plan.stop_ms))
    return experiments.location(session, exp)


def import_archive(database: Database, settings: Settings, actor: Actor, path: str | Path,
                   workspace: str | None = None, project: str | None = None) -> ImportResult:
    """Import one archive (zip or extracted folder) as ``actor``; never raises for bad input."""
    path = Path(path)
    try:
        plan = plan_archive(path)
    except ArchiveError as exc:
        return ImportResult(path, "failed", message=str(exc))
    result = ImportResult(path, "failed", key=plan.key, name=plan.name, counts=dict(plan.counts),
                          skipped=dict(plan.skipped))
    limit = settings.max_asset_mb * 1024 * 1024
    archive = Archive(path)
    too_big = [spec.name for spec in plan.assets
               if (len(spec.data) if spec.data is not None else archive.size(spec.member)) > limit]
    archive.close()
    if too_big:
        result.message = f"asset {too_big[0]!r} is larger than HALLEY_MAX_ASSET_MB ({settings.max_asset_mb} MB)"
        return result
    with database.session() as s:
        if experiments.find_by_key(s, plan.key) is not None and not plan.appends:
            result.status = "skipped"
            result.message = f"an experiment with key {plan.key} already exists (imported before); nothing changed"
            return result
    written: list[str] = []
    archive = Archive(path)
    try:
        with database.session() as s:
            result.workspace, result.project = import_plan(s, settings, actor, archive, plan, workspace, project,
                                                           written)
        result.status = "imported"
    except AlreadyImported:
        asset_files.delete_files(settings, written)
        result.status = "skipped"
        result.message = f"this archive was already added to experiment {plan.key}; nothing changed"
    except (HalleyError, ArchiveError) as exc:
        asset_files.delete_files(settings, written)
        result.message = getattr(exc, "message", None) or str(exc)
        if isinstance(exc, NotFound) and plan.workspace and not workspace:
            result.message += " (the workspace recorded in the archive; pass --workspace to choose one)"
    except BaseException:
        asset_files.delete_files(settings, written)
        raise
    finally:
        archive.close()
    return result


def import_paths(database: Database, settings: Settings, actor: Actor, paths: list[str],
                 workspace: str | None = None, project: str | None = None) -> list[ImportResult]:
    """Import every archive found under ``paths`` (zips, folders of zips, extracted folders)."""
    results = []
    for archive_path in find_archives(paths):
        if not archive_path.exists():
            results.append(ImportResult(archive_path, "failed", message="no such file or folder"))
            continue
        results.append(import_archive(database, settings, actor, archive_path, workspace, project))
    return results
