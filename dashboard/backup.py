"""``halley backup`` and ``halley restore``: one archive holding a consistent snapshot of the
database, the files it refers to and a manifest.

The archive is a gzipped tar (``PATH``, conventionally ``*.tar.gz``, written atomically, mode
0600: it holds password and API-key hashes)::

    manifest.json          format, Halley version, migration revision, row counts, checksums
    database.sqlite3       SQLite: a copy made with SQLite's online backup API
    database.pgdump        PostgreSQL: ``pg_dump --format=custom`` of an exported snapshot
    assets/...             every asset file and project icon the snapshot refers to, read from
                           the asset store (a local folder or an S3 bucket) and restored into
                           the store the restoring home is set to

Consistency: the database copy is one snapshot (SQLite's backup API copies a live database,
writers carry on; on PostgreSQL pg_dump reads a snapshot exported by a REPEATABLE READ
transaction), and the files copied are exactly those the snapshot's rows name. Files are
written before their rows and never changed afterwards, so every one of them exists (a file
deleted after the snapshot with its experiment is reported as missing).

Restore checks every checksum before touching anything, refuses a database that holds data
unless forced, puts the database and the files in place, checks the row counts, then runs the
migrations forward when the backup was made by an older Halley.
"""
from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from dashboard import asset_store
from dashboard.config import Settings
from dashboard.errors import HalleyError, NotFound

FORMAT = "halley-backup"
FORMAT_VERSION = 1
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
# the file names rows may refer to (Asset.storage_path, ArtifactFile.storage_path,
# Project.icon_path); a remote asset (a link to data kept elsewhere) has an empty storage path
# and no file
FILE_QUERIES = (("asset", "SELECT storage_path FROM asset WHERE storage_path <> ''"),
                ("artifactfile", "SELECT storage_path FROM artifactfile WHERE storage_path <> ''"),
                ("project", "SELECT icon_path FROM project WHERE icon_path IS NOT NULL"))
FILE_RE = re.compile(r"^(?:[0-9a-f]{2}/[0-9a-f]{32}|icons/[0-9a-f]{32}\.png)$")
CHUNK = 1 << 20


class BackupError(HalleyError):
    status = 400


def _fail(message: str) -> None:
    raise BackupError(message)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _halley_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("halley-tracker")
    except PackageNotFoundError:
        return "unknown"


def _kind(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    _fail(f"backups support SQLite and PostgreSQL databases, not {url.split(':', 1)[0]}")


def _sqlite_path(url: str) -> Path:
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        _fail("the database is not a SQLite file")
    return Path(database).resolve()


def _rw_uri(path: Path) -> str:
    """A URI opening an existing SQLite file (never creating one)."""
    return f"file:{urllib.parse.quote(str(path))}?mode=rw"


# --- PostgreSQL client programs ----------------------------------------------------------------

def pg_program(name: str) -> Path:
    """pg_dump or pg_restore: from HALLEY_PG_BIN, else PATH, else Debian's newest
    /usr/lib/postgresql/N/bin."""
    given = os.environ.get("HALLEY_PG_BIN")
    candidates = [Path(given) / name] if given else []
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    debian = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                    key=lambda p: int(re.sub(r"\D", "", Path(p).parent.parent.name) or 0), reverse=True)
    candidates += [Path(p) for p in debian]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    _fail(f"{name} was not found, and PostgreSQL databases are backed up and restored with it: install "
          "PostgreSQL's client programs (Debian: apt-get install postgresql-client, of the server's major "
          "version or newer) or name their folder in HALLEY_PG_BIN")


def _libpq(url: str) -> tuple[str, dict]:
    """A libpq connection string for a SQLAlchemy PostgreSQL URL, and the environment carrying
    its password (kept out of the process list)."""
    from psycopg.conninfo import make_conninfo
    from sqlalchemy.engine import make_url

    u = make_url(url)
    params = {k: (v[-1] if isinstance(v, tuple) else v) for k, v in u.query.items()}
    for key, value in (("host", u.host), ("port", u.port), ("user", u.username), ("dbname", u.database)):
        if value is not None:
            params[key] = str(value)
    env = dict(os.environ)
    if u.password is not None:
        env["PGPASSWORD"] = str(u.password)
    return make_conninfo(**params), env


def _run(cmd: list[str], env: dict, what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        _fail(f"{what} failed ({Path(cmd[0]).name} exited with {done.returncode}): "
              f"{(done.stderr or done.stdout).strip()[-2000:]}")


# --- what a database holds ---------------------------------------------------------------------

def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _sqlite_tables(conn)}


def _sqlite_files(conn: sqlite3.Connection) -> list[str]:
    tables = set(_sqlite_tables(conn))
    return [r[0] for table, query in FILE_QUERIES if table in tables for r in conn.execute(query)]


def _revision_of(rows) -> str | None:
    revisions = [r[0] for r in rows]
    return revisions[0] if len(revisions) == 1 else None


def _pg_tables(conn, halleys_only: bool = False) -> list[str]:
    """The tables of the connection's schema (only Halley's own, when asked: a database may
    hold other applications' tables too)."""
    tables = [r[0] for r in conn.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")]
    if halleys_only:
        from sqlmodel import SQLModel

        import models  # noqa: F401  (registers every table)

        own = set(SQLModel.metadata.tables) | {"alembic_version"}
        tables = [t for t in tables if t in own]
    return tables


def _pg_counts(conn, halleys_only: bool = False) -> dict[str, int]:
    return {t: conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar() for t in _pg_tables(conn, halleys_only)}


def _holds_data(counts: dict[str, int]) -> bool:
    return any(n for t, n in counts.items() if t != "alembic_version")


# --- backup ------------------------------------------------------------------------------------

@dataclass
class Snapshot:
    kind: str
    file: Path
    revision: str | None
    counts: dict[str, int]
    files: list[str]
    server_version: str | None = None


def _snapshot_sqlite(url: str, work: Path) -> Snapshot:
    source = _sqlite_path(url)
    if not source.exists():
        _fail(f"there is no database at {source}")
    target = work / SQLITE_FILE
    src = sqlite3.connect(_rw_uri(source), uri=True, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # one consistent copy, while the server keeps writing
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file
            counts = _sqlite_counts(dst)
            files = _sqlite_files(dst)
            revision = (_revision_of(dst.execute("SELECT version_num FROM alembic_version"))
                        if "alembic_version" in counts else None)
        finally:
            dst.close()
    finally:
        src.close()
    return Snapshot("sqlite", target, revision, counts, files, sqlite3.sqlite_version)


def _snapshot_postgresql(url: str, work: Path) -> Snapshot:
    from dashboard.db import get_engine

    pg_dump = pg_program("pg_dump")
    target = work / PG_FILE
    conninfo, env = _libpq(url)
    with get_engine(url).connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            # pg_dump reads the very snapshot this transaction sees, so the counts and the files
            # below describe exactly what it dumps
            _run([str(pg_dump), "--format=custom", f"--snapshot={snapshot}", "--file", str(target),
                  "--dbname", conninfo], env, "pg_dump")
            counts = _pg_counts(conn)
            tables = set(counts)
            files = [r[0] for table, query in FILE_QUERIES if table in tables for r in conn.exec_driver_sql(query)]
            revision = (_revision_of(conn.exec_driver_sql("SELECT version_num FROM alembic_version"))
                        if "alembic_version" in tables else None)
            server_version = conn.exec_driver_sql("SHOW server_version").scalar()
    return Snapshot("postgresql", target, revision, counts, files, server_version)


def backup(settings: Settings, path: Path, echo: Callable[[str], None] = lambda _: None) -> dict:
    """Write the backup archive ``path``; returns its manifest."""
    path = Path(path).resolve()
    if path.is_dir():
        _fail(f"{path} is a folder: name the archive to write, such as {path / 'halley-backup.tar.gz'}")
    if not path.parent.is_dir():
        _fail(f"the folder {path.parent} does not exist")
    kind = _kind(settings.database_url)
    with tempfile.TemporaryDirectory(prefix=".halley-backup-", dir=path.parent) as tmp:
        work = Path(tmp)
        snap = (_snapshot_sqlite if kind == "sqlite" else _snapshot_postgresql)(settings.database_url, work)
        echo(f"database snapshot: {sum(snap.counts.values())} rows in {len(snap.counts)} tables "
             f"(revision {snap.revision})")
        store = asset_store.of(settings)
        sizes, missing = {}, []
        for name in sorted(set(snap.files)):
            size = store.size(name) if FILE_RE.match(name or "") else None
            if size is None:
                missing.append(name)
            else:
                sizes[name] = size
        partial = work / "archive.tar.gz"
        files = {}
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
            tar.add(snap.file, arcname=snap.file.name, recursive=False)
            for name, size in sizes.items():  # streamed from the store, hashed on the way
                try:
                    source = store.open(name)
                except NotFound:  # deleted with its experiment since the snapshot
                    missing.append(name)
                    continue
                with source:
                    reader = _Hashing(source)
                    tar.addfile(_member(f"assets/{name}", size), reader)
                files[name] = reader.digest.hexdigest()
            total = sum(sizes[name] for name in files)
            manifest = {
                "format": FORMAT, "format_version": FORMAT_VERSION, "halley_version": _halley_version(),
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "database": {"kind": kind, "file": snap.file.name, "sha256": _sha256(snap.file),
                             "size": snap.file.stat().st_size, "revision": snap.revision,
                             "server_version": snap.server_version},
                "counts": snap.counts,
                "assets": {"count": len(files), "bytes": total, "sha256": files},
                "missing_assets": missing,
            }
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            tar.addfile(_member("manifest.json", len(data)), io.BytesIO(data))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
    for name in missing:
        echo(f"warning: {name} is named by the database but was not found (deleted meanwhile?)")
    echo(f"wrote {path}: {len(files)} files ({total} bytes)")
    return manifest


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(datetime.now().timestamp()), 0o600
    return info


class _Hashing:
    """A reader that hashes what is read through it."""

    def __init__(self, source):
        self.source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data


# --- restore -----------------------------------------------------------------------------------

def _read_archive(path: Path, work: Path) -> dict:
    """Unpack the archive into ``work`` (plain files only, names checked) and verify it."""
    try:
        tar = tarfile.open(path, mode="r:*")
    except (OSError, tarfile.TarError) as exc:
        _fail(f"{path} is not a Halley backup archive: {exc}")
    with tar:
        try:
            members = tar.getmembers()
        except (OSError, tarfile.TarError, EOFError) as exc:
            _fail(f"{path} is damaged: {exc}")
        names = {}
        for m in members:
            if m.isdir():
                continue
            ok = m.isfile() and (m.name in ("manifest.json", SQLITE_FILE, PG_FILE)
                                 or (m.name.startswith("assets/") and FILE_RE.match(m.name[7:])))
            if not ok:
                _fail(f"{path} holds an unexpected entry {m.name!r}: not a Halley backup")
            names[m.name] = m
        if "manifest.json" not in names:
            _fail(f"{path} has no manifest.json: not a Halley backup")
        try:
            manifest = json.loads(tar.extractfile(names["manifest.json"]).read())
        except ValueError as exc:
            _fail(f"{path}: the manifest is not valid JSON ({exc})")
        if manifest.get("format") != FORMAT:
            _fail(f"{path} is not a Halley backup archive")
        if manifest.get("format_version", 0) > FORMAT_VERSION:
            _fail(f"{path} was written by a newer Halley ({manifest.get('halley_version')}): upgrade Halley first")
        for name, member in names.items():
            if name == "manifest.json":
                continue
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with tar.extractfile(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
            except (OSError, tarfile.TarError, EOFError) as exc:
                _fail(f"{path} is damaged ({name}): {exc}")
    db = manifest["database"]
    db_file = work / db["file"]
    if not db_file.is_file() or _sha256(db_file) != db["sha256"]:
        _fail(f"{path}: the database copy is missing or damaged (checksum mismatch)")
    for name, digest in manifest["assets"]["sha256"].items():
        f = work / "assets" / name
        if not f.is_file() or _sha256(f) != digest:
            _fail(f"{path}: the file {name} is missing or damaged (checksum mismatch)")
    return manifest


def _check_revision(url: str, revision: str | None) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    from dashboard.db import alembic_config

    if revision is None:
        return
    try:
        ScriptDirectory.from_config(alembic_config(url)).get_revision(revision)
    except CommandError:
        _fail(f"the backup's schema (revision {revision}) is newer than this Halley's: upgrade Halley first")


def _restore_sqlite(settings: Settings, work: Path, manifest: dict, force: bool) -> None:
    target = _sqlite_path(settings.database_url)
    if target.exists():
        conn = sqlite3.connect(_rw_uri(target), uri=True, timeout=30)
        try:
            holds = _holds_data(_sqlite_counts(conn))
        finally:
            conn.close()
        if holds and not force:
            _fail(f"the database {target} already holds data: pass --force to replace it "
                  "(stop every server using it first)")
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(work / SQLITE_FILE, staged)
    conn = sqlite3.connect(staged)
    try:
        counts = _sqlite_counts(conn)
    finally:
        conn.close()
    _check_counts(counts, manifest)
    from dashboard.db import _engines

    for url in [u for u in _engines if u.startswith("sqlite")]:  # no pooled handle on the old file
        database = _engines[url].url.database
        if database and not database.startswith("file:") and Path(database).resolve() == target:
            _engines[url].dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(staged, target)


def _restore_postgresql(settings: Settings, work: Path, manifest: dict, force: bool) -> None:
    from dashboard.db import get_engine

    pg_restore = pg_program("pg_restore")
    url = settings.database_url
    engine = get_engine(url)
    with engine.connect() as conn:
        counts = _pg_counts(conn, halleys_only=True)
    if _holds_data(counts) and not force:
        _fail("the database already holds data: pass --force to replace it (stop every server using it first)")
    with engine.begin() as conn:  # no Halley tables left (a server may have created them)
        for table in _pg_tables(conn, halleys_only=True):
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    conninfo, env = _libpq(url)
    _run([str(pg_restore), "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
          "--dbname", conninfo, str(work / PG_FILE)], env, "pg_restore")
    engine.dispose()
    with engine.connect() as conn:
        _check_counts(_pg_counts(conn), manifest)


def _check_counts(counts: dict[str, int], manifest: dict) -> None:
    expected = manifest["counts"]
    wrong = [f"{t}: {counts.get(t)} rows, expected {n}" for t, n in expected.items() if counts.get(t) != n]
    if wrong:
        _fail("the restored database differs from the backup's manifest: " + "; ".join(wrong[:10]))


def restore(settings: Settings, path: Path, force: bool = False, echo: Callable[[str], None] = lambda _: None) -> dict:
    """Restore the archive ``path`` into this home's database and asset store; returns its manifest."""
    from dashboard.db import migrate

    path = Path(path).resolve()
    if not path.is_file():
        _fail(f"there is no backup archive at {path}")
    kind = _kind(settings.database_url)
    # unpacked inside the home, so the files move into place without a second copy
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=settings.home) as tmp:
        work = Path(tmp)
        manifest = _read_archive(path, work)
        db = manifest["database"]
        if db["kind"] != kind:
            _fail(f"this backup holds a {db['kind']} database and this home uses {kind}: restore it into a "
                  f"{db['kind']} database (HALLEY_DATABASE_URL)")
        _check_revision(settings.database_url, db.get("revision"))
        echo(f"backup of {manifest['created_at']} by Halley {manifest['halley_version']} "
             f"(revision {db.get('revision')}): {sum(manifest['counts'].values())} rows, "
             f"{manifest['assets']['count']} files")
        (_restore_sqlite if kind == "sqlite" else _restore_postgresql)(settings, work, manifest, force)
        store = asset_store.of(settings)
        restored = manifest["assets"]["sha256"]
        if force:  # the replaced database's files go with it
            store.delete(obj.name for obj in store.walk() if obj.name not in restored)
        for name in restored:
            store.put_file(work / "assets" / name, name, move=True)
    migrate(settings.database_url)  # a backup of an older Halley is brought up to date
    echo(f"restored {sum(manifest['counts'].values())} rows and {manifest['assets']['count']} files "
         f"into {settings.home}")
    return manifest
