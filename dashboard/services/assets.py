"""Asset files: stored under ``Settings.assets_dir`` with generated names, never user paths.

The file name a user logs is data only (shown and offered as a download name); the bytes
live at ``<assets_dir>/<2 hex>/<uuid hex>``, recorded in ``Asset.storage_path``.
"""
from __future__ import annotations

import json
import mimetypes
import os
import re
import uuid
from pathlib import Path
from typing import BinaryIO, Iterable

from sqlmodel import Session, select

from dashboard import safe_json
from dashboard.config import Settings
from dashboard.errors import Invalid, NotFound, TooLarge
from dashboard.services.experiments import iso
from dashboard.services.names import without_bidi
from models import Asset, AssetType, Experiment

ASSET_TYPES = {t.value for t in AssetType}
ASSET_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
STORAGE_RE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}$")
CHUNK = 1024 * 1024
_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]')
# The names log_confusion_matrix(images=...) gives the example images it uploads, in the comet_ml
# SDK and ours ("confusion-matrix-00042.png"); migration 0007 marks older ones the same way.
CM_EXAMPLE_NAME = re.compile(r"confusion-matrix-\d+\.(png|jpe?g|gif|webp|bmp)", re.IGNORECASE)


def check_type(value: str | None) -> str:
    if value not in ASSET_TYPES:
        raise Invalid(f"Asset type must be one of: {', '.join(sorted(ASSET_TYPES))}")
    return value


def is_cm_example(type: str, name: str) -> bool:
    """Whether an asset is an example image of a confusion-matrix cell (by its generated name)."""
    return type == "image" and CM_EXAMPLE_NAME.fullmatch(name or "") is not None


def check_asset_id(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if not ASSET_ID_RE.match(value):
        raise Invalid("asset_id must be 1-64 characters: letters, digits, '-' or '_'")
    return value


def check_metadata(value) -> str:
    """Metadata as a JSON object (dict or JSON text) -> its JSON text."""
    if value in (None, ""):
        return "{}"
    if isinstance(value, (str, bytes)):
        try:
            value = safe_json.loads(value)
        except ValueError as exc:
            raise Invalid(f"metadata must be a JSON object ({exc})") from exc
    if not isinstance(value, dict):
        raise Invalid("metadata must be a JSON object")
    return json.dumps(value)


# A URI with a scheme (s3://, gs://, https://, ...), as comet_ml's log_remote_asset takes it.
_REMOTE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{0,30}:\S+$")
REMOTE_URL_MAX = 2000


def check_remote_url(value) -> str:
    if not isinstance(value, str) or not _REMOTE_URL.match(value.strip()):
        raise Invalid("A remote asset's URL must be a URI with a scheme, like s3://bucket/key or https://host/path")
    value = value.strip()
    if len(value) > REMOTE_URL_MAX:
        raise Invalid(f"A remote asset's URL must be at most {REMOTE_URL_MAX} characters")
    if without_bidi(value) != value:
        raise Invalid("A remote asset's URL must not hold bidirectional control characters")
    return value


def display_name(name: str | None) -> str:
    """The logged name, kept as data: control characters (bidirectional ones too) removed,
    length capped."""
    name = without_bidi(re.sub(r"[\x00-\x1f\x7f]", "", name or "")).strip()
    return name[:1000] or "asset"


def safe_download_name(name: str | None) -> str:
    """A file name safe for Content-Disposition: the last path segment, no quotes or separators."""
    last = re.split(r"[\\/]", name or "")[-1]
    last = _UNSAFE_NAME_CHARS.sub("_", last).strip(" .")
    return last[:200] or "asset"


def content_type_for(name: str, given: str | None = None) -> str:
    if given and given != "application/octet-stream" and "/" in given and len(given) <= 100:
        return given
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def path_of(settings: Settings, storage_path: str) -> Path:
    """The absolute path of a stored file; refuses anything but a generated name."""
    if not STORAGE_RE.match(storage_path or ""):
        raise NotFound("Asset file not found")
    return settings.assets_dir / storage_path


def open_asset(settings: Settings, asset: Asset) -> Path:
    """The file path of an asset's bytes (NotFound when the file is gone, or for a remote
    asset, whose data is kept elsewhere)."""
    if asset.remote_url:
        raise NotFound(f"This asset is a remote link with no stored bytes: {asset.remote_url}")
    path = path_of(settings, asset.storage_path)
    if not path.is_file():
        raise NotFound("Asset file not found")
    return path


def write_file(settings: Settings, data: bytes | BinaryIO, max_bytes: int) -> tuple[str, int]:
    """Store bytes under a new generated name; returns (storage_path, size). Streams file-like
    input and stops with TooLarge (nothing kept) as soon as ``max_bytes`` is exceeded."""
    token = uuid.uuid4().hex
    storage_path = f"{token[:2]}/{token}"
    final = settings.assets_dir / storage_path
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(token + ".part")
    size = 0
    try:
        with open(tmp, "wb") as out:
            if isinstance(data, (bytes, bytearray, memoryview)):
                size = len(data)
                if size > max_bytes:
                    raise TooLarge(_too_large(max_bytes))
                out.write(data)
            else:
                while True:
                    chunk = data.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(_too_large(max_bytes))
                    out.write(chunk)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return storage_path, size


def _too_large(max_bytes: int) -> str:
    return f"Asset too large (limit {max_bytes // (1024 * 1024)} MB: HALLEY_MAX_ASSET_MB)"


def delete_files(settings: Settings, storage_paths: Iterable[str]) -> int:
    """Remove stored files (after their rows are deleted); returns how many were removed."""
    removed = 0
    for storage_path in storage_paths:
        try:
            path_of(settings, storage_path).unlink()
            removed += 1
        except (FileNotFoundError, NotFound):
            continue
    return removed


# --- reads --------------------------------------------------------------------------------

def list_for(session: Session, exp: Experiment, type: str | None = None) -> list[Asset]:
    """Assets of an experiment (already access-checked), oldest first, optionally of one type."""
    stmt = select(Asset).where(Asset.experiment_id == exp.id)
    if type:
        stmt = stmt.where(Asset.type == type)
    return list(session.exec(stmt.order_by(Asset.id)).all())


def find(session: Session, exp: Experiment, asset_id: str) -> Asset:
    asset = session.exec(select(Asset).where(Asset.asset_id == asset_id, Asset.experiment_id == exp.id)).first()
    if asset is None:
        raise NotFound(f"Asset '{asset_id}' not found")
    return asset


def asset_dict(asset: Asset) -> dict:
    try:
        meta = json.loads(asset.metadata_json or "{}")
    except ValueError:
        meta = {}
    return {"asset_id": asset.asset_id, "type": asset.type, "name": asset.file_name, "step": asset.step,
            "epoch": asset.epoch, "context": asset.context, "metadata": meta, "size": asset.size,
            "content_type": asset.content_type, "created_at": iso(asset.created_at),
            "remote_url": asset.remote_url}
