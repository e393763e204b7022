"""``halley assets sweep`` and ``halley assets migrate``: the asset store against the database.

Sweep removes stored files no row names (an asset whose row was never committed, a file left by
a crash), sparing those younger than a grace period: an upload writes its file before its row
commits. Migrate copies every file the database names from the current store to another one
(a folder or an S3 bucket), skipping those already there with the right size, so a stopped run
picks up where it left off; the setting is switched by the operator afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import inspect, text

from dashboard import asset_store
from dashboard.asset_store import NAME_RE, AssetStore
from dashboard.config import Settings
from dashboard.errors import Invalid

DEFAULT_GRACE = timedelta(hours=1)


def referenced(database) -> set[str]:
    """Every stored-file name a row refers to (the files a backup holds): asset files, artifact
    files and project icons."""
    from dashboard.backup import FILE_QUERIES

    with database.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        names = {r[0] for table, query in FILE_QUERIES if table in tables for r in conn.execute(text(query))}
    return {n for n in names if NAME_RE.match(n or "")}


@dataclass
class SweepReport:
    orphans: list[str] = field(default_factory=list)  # removed (or, in a dry run, to remove)
    young: int = 0  # unreferenced but within the grace period: kept
    kept: int = 0
    bytes: int = 0

    def describe(self, dry_run: bool) -> str:
        verb = "would remove" if dry_run else "removed"
        return (f"{verb} {len(self.orphans)} unreferenced files ({self.bytes} bytes); kept {self.kept} referenced "
                f"and {self.young} unreferenced younger than the grace period")


def sweep(database, settings: Settings, grace: timedelta = DEFAULT_GRACE, dry_run: bool = False) -> SweepReport:
    store = asset_store.of(settings)
    before = datetime.now(timezone.utc) - grace
    report = SweepReport()
    listed = list(store.walk())
    names = referenced(database)  # read after listing: a file whose row commits meanwhile is named
    for obj in listed:
        if obj.name in names:
            report.kept += 1
        elif obj.modified > before:
            report.young += 1
        else:
            report.orphans.append(obj.name)
            report.bytes += obj.size
    if not dry_run:
        store.delete(report.orphans)
    return report


@dataclass
class MigrateReport:
    target: str
    copied: int = 0
    present: int = 0  # already in the target with the right size
    missing: list[str] = field(default_factory=list)  # named by the database, absent from the source
    wrong: list[str] = field(default_factory=list)  # copied, yet the target's size differs

    @property
    def ok(self) -> bool:
        return not self.wrong


def target_store(settings: Settings, url: str) -> AssetStore:
    """The store at ``url`` (a folder or s3://bucket/prefix; S3 with this server's S3 settings)."""
    try:
        url = asset_store.check_url(url)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    if url == settings.store_config.url:
        raise Invalid(f"{url} is already the asset store (HALLEY_ASSET_STORE)")
    if not url.startswith("s3://"):
        from pathlib import Path

        Path(url).mkdir(parents=True, exist_ok=True)
    return asset_store.open_store(settings.store_config.with_url(url))


def migrate(database, settings: Settings, url: str, echo: Callable[[str], None] = lambda _: None) -> MigrateReport:
    source, target = asset_store.of(settings), target_store(settings, url)
    try:
        target.check()
    except Exception as exc:  # any failure to reach it: say which store and why
        raise Invalid(f"the store {target.url} cannot be written: {type(exc).__name__}: {exc}") from exc
    report = MigrateReport(target.url)
    names = sorted(referenced(database))
    for i, name in enumerate(names, 1):
        size = source.size(name)
        if size is None:
            report.missing.append(name)
            continue
        if target.size(name) == size:
            report.present += 1
            continue
        with source.open(name) as fh:
            target.write(name, fh)
        if target.size(name) != size:
            report.wrong.append(name)
        else:
            report.copied += 1
        if i % 100 == 0:
            echo(f"{i} of {len(names)} files")
    return report
