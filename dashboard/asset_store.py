"""Where asset bytes live: a local folder (default: ``HALLEY_HOME/assets``) or an S3-compatible
bucket (``HALLEY_ASSET_STORE=s3://bucket/prefix``), both reached through fsspec.

Every server pointed at the same store sees the same files, so with S3 nothing is kept on the
local disk (uploads stream through in parts, downloads stream back or redirect to a presigned
URL). Names are generated, never user paths: ``<2 hex>/<32 hex>`` for asset files and
``icons/<32 hex>.png`` for project icons; any other name is refused as not found.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from dashboard.errors import NotFound, TooLarge

NAME_RE = re.compile(r"^(?:[0-9a-f]{2}/[0-9a-f]{32}|icons/[0-9a-f]{32}\.png)$")
CHUNK = 1 << 20
PART = 8 << 20  # an S3 upload's part: what a streamed upload keeps in memory at most
READ_BLOCK = 4 << 20  # what a download fetches from S3 at a time
URL_SECONDS = 300  # how long a presigned download URL works


@dataclass(frozen=True)
class StoreConfig:
    """How to reach a store: its URL and, for S3, the endpoint, region and credentials."""

    url: str
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    presigned_downloads: bool = True

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    def with_url(self, url: str) -> "StoreConfig":
        return StoreConfig(url, self.endpoint_url, self.region, self.access_key_id, self.secret_access_key,
                           self.presigned_downloads)


def check_url(raw: str) -> str:
    """``s3://bucket[/prefix]`` (prefix without a trailing slash) or an absolute local folder."""
    raw = raw.strip()
    if raw.startswith("s3://"):
        bucket, _, prefix = raw[5:].partition("/")
        prefix = prefix.strip("/")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket) or ".." in prefix or "//" in prefix:
            raise ValueError(f"{raw!r} is not a bucket address such as s3://halley-assets or s3://bucket/prefix")
        return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    if "://" in raw:
        raise ValueError(f"{raw!r}: the asset store is a local folder or an s3://bucket/prefix address")
    return str(Path(raw).expanduser().resolve())


@dataclass(frozen=True)
class StoredObject:
    name: str
    size: int
    modified: datetime


class AssetStore(ABC):
    """The files of one store; subclasses say how to write atomically, check and presign."""

    def __init__(self, config: StoreConfig, fs, root: str):
        self.config = config
        self.fs = fs
        self.root = root.rstrip("/")

    @property
    def url(self) -> str:
        return self.config.url

    def _path(self, name: str) -> str:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise NotFound("Asset file not found")
        return f"{self.root}/{name}"

    # --- writes ---------------------------------------------------------------------------

    def write(self, name: str, data: bytes | BinaryIO, max_bytes: int | None = None) -> int:
        """Store bytes (or stream a file object) under ``name``; returns the size. Stops with
        TooLarge, keeping nothing, as soon as ``max_bytes`` is exceeded."""
        path = self._path(name)
        if isinstance(data, (bytes, bytearray, memoryview)):
            if max_bytes is not None and len(data) > max_bytes:
                raise TooLarge(too_large(max_bytes))
        out = self._open_for_write(path)
        size = 0
        try:
            if isinstance(data, (bytes, bytearray, memoryview)):
                out.write(data)
                size = len(data)
            else:
                while chunk := data.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(too_large(max_bytes))
                    out.write(chunk)
        except BaseException:
            self._discard(out, path)
            raise
        self._commit(out, path)
        return size

    def put_file(self, local: Path, name: str, move: bool = False) -> int:
        with open(local, "rb") as fh:
            return self.write(name, fh)

    def delete(self, names: Iterable[str]) -> int:
        """Remove stored files; returns how many were there. Names that are not generated ones
        are skipped."""
        removed = 0
        for name in names:
            try:
                path = self._path(name)
            except NotFound:
                continue
            try:
                self.fs.rm_file(path)
                removed += 1
            except FileNotFoundError:
                continue
        return removed

    # --- reads ----------------------------------------------------------------------------

    def open(self, name: str) -> BinaryIO:
        """A seekable binary reader of a stored file (NotFound when it is gone)."""
        path = self._path(name)
        try:
            return self.fs.open(path, "rb", block_size=READ_BLOCK, cache_type="readahead")
        except FileNotFoundError as exc:
            raise NotFound("Asset file not found") from exc

    def read(self, name: str, cap: int | None = None) -> bytes:
        with self.open(name) as fh:
            return fh.read(cap) if cap else fh.read()

    def size(self, name: str) -> int | None:
        """The stored size, or None when the file is not there."""
        try:
            return int(self.fs.info(self._path(name))["size"])
        except FileNotFoundError:
            return None

    def walk(self) -> Iterator[StoredObject]:
        """Every stored file with a generated name (partial uploads and strays are left out)."""
        try:
            found = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return
        prefix = self.root + "/"
        for path, info in sorted(found.items()):
            name = path[len(prefix):] if path.startswith(prefix) else None
            if name and NAME_RE.match(name) and info.get("type", "file") == "file":
                yield StoredObject(name, int(info["size"]), _modified(info))

    def download_url(self, name: str, download_name: str, content_type: str) -> str | None:
        """A short-lived URL clients may fetch the file from directly, or None (serve it here)."""
        return None

    @abstractmethod
    def check(self) -> None:
        """Raise when the store cannot be written (readiness)."""
        raise NotImplementedError

    # --- per kind -------------------------------------------------------------------------

    @abstractmethod
    def _open_for_write(self, path: str):
        raise NotImplementedError

    @abstractmethod
    def _discard(self, out, path: str) -> None:
        raise NotImplementedError

    @abstractmethod
    def _commit(self, out, path: str) -> None:
        raise NotImplementedError


class LocalStore(AssetStore):
    """A folder: files are written under a temporary name and renamed into place."""

    def __init__(self, config: StoreConfig):
        from fsspec.implementations.local import LocalFileSystem

        super().__init__(config, LocalFileSystem(), config.url)
        self.folder = Path(config.url)

    def _open_for_write(self, path: str):
        final = Path(path)
        final.parent.mkdir(parents=True, exist_ok=True)
        return open(final.with_name(final.name + ".part"), "wb")

    def _discard(self, out, path: str) -> None:
        out.close()
        Path(path + ".part").unlink(missing_ok=True)

    def _commit(self, out, path: str) -> None:
        try:
            out.close()
            os.replace(path + ".part", path)
        except BaseException:
            Path(path + ".part").unlink(missing_ok=True)
            raise

    def put_file(self, local: Path, name: str, move: bool = False) -> int:
        if not move:
            return super().put_file(local, name)
        final = Path(self._path(name))
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(local, final)
        return final.stat().st_size

    def check(self) -> None:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"{self.folder} is missing")
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.folder} is not writable")


class S3Store(AssetStore):
    """A bucket (and key prefix) of an S3-compatible service; uploads go in parts of PART bytes."""

    def __init__(self, config: StoreConfig):
        import s3fs

        client_kwargs = {"region_name": config.region} if config.region else {}
        fs = s3fs.S3FileSystem(
            key=config.access_key_id or None, secret=config.secret_access_key or None,
            endpoint_url=config.endpoint_url or None, client_kwargs=client_kwargs,
            config_kwargs={"connect_timeout": 5, "read_timeout": 60, "retries": {"max_attempts": 3}},
            default_block_size=PART, use_listings_cache=False, skip_instance_cache=True)
        super().__init__(config, fs, config.url[5:])
        self.bucket = self.root.split("/", 1)[0]

    def _open_for_write(self, path: str):
        return self.fs.open(path, "wb", block_size=PART)

    def _discard(self, out, path: str) -> None:
        try:
            out.discard()  # aborts a multipart upload begun for the parts sent so far
        finally:
            out.closed = True

    def _commit(self, out, path: str) -> None:
        out.close()

    def put_file(self, local: Path, name: str, move: bool = False) -> int:
        size = super().put_file(local, name)
        if move:
            Path(local).unlink()
        return size

    def delete(self, names: Iterable[str]) -> int:
        # S3 answers a delete of a missing key with success: count what was there
        return super().delete([n for n in names if NAME_RE.match(n or "") and self.size(n) is not None])

    def download_url(self, name: str, download_name: str, content_type: str) -> str | None:
        if not self.config.presigned_downloads:
            return None
        return self.fs.url(self._path(name), expires=URL_SECONDS,
                           ResponseContentDisposition=content_disposition(download_name),
                           ResponseContentType=content_type or "application/octet-stream")

    def check(self) -> None:
        self.fs.call_s3("head_bucket", Bucket=self.bucket)


def content_disposition(download_name: str) -> str:
    """``attachment`` with a file name, as werkzeug writes it (RFC 6266 for non-ASCII names)."""
    from urllib.parse import quote
    import unicodedata

    try:
        download_name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", download_name).encode("ascii", "ignore").decode("ascii")
        return f"attachment; filename=\"{simple or 'asset'}\"; filename*=UTF-8''{quote(download_name, safe='')}"
    return f'attachment; filename="{download_name}"'


def too_large(max_bytes: int) -> str:
    return f"Asset too large (limit {max_bytes // (1024 * 1024)} MB: HALLEY_MAX_ASSET_MB)"


def _modified(info: dict) -> datetime:
    value = info.get("LastModified") or info.get("mtime") or info.get("created")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(value or 0), tz=timezone.utc)


_stores: dict = {}
_lock = threading.Lock()


def open_store(config: StoreConfig) -> AssetStore:
    """The store for a configuration, one per process (a forked worker builds its own client)."""
    key = (config, os.getpid())
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = (S3Store if config.is_s3 else LocalStore)(config)
        return store


def of(settings) -> AssetStore:
    """The asset store a server's settings name."""
    return open_store(settings.store_config)
