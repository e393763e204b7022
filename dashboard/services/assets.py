"""Asset files: kept in the asset store (dashboard.asset_store) under generated names, never
user paths.

The file name a user logs is data only (shown and offered as a download name); the bytes
live at ``<2 hex>/<uuid hex>`` in the store, recorded in ``Asset.storage_path``.
"""
from __future__ import annotations

import json
import mimetypes
import re
import uuid
from typing import BinaryIO, Iterable

from sqlmodel import Session, select

from dashboard import asset_store, safe_json
from dashboard.asset_store import AssetStore
from dashboard.config import Settings
from dashboard.errors import Invalid, NotFound
from dashboard.services.experiments import iso
from dashboard.services.names import without_bidi
from models import Asset, AssetType, Experiment

ASSET_TYPES = {t.value for t in AssetType}
ASSET_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
STORAGE_RE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}$")
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


def store(settings: Settings) -> AssetStore:
    """The store holding asset bytes (a local folder or an S3 bucket: HALLEY_ASSET_STORE)."""
    return asset_store.of(settings)


def stored_name(asset) -> str:
    """The generated name of an asset's bytes in the store (NotFound for a remote asset, whose
    data is kept elsewhere)."""
    if getattr(asset, "remote_url", None):
        raise NotFound(f"This asset is a remote link with no stored bytes: {asset.remote_url}")
    if not STORAGE_RE.match(asset.storage_path or ""):
        raise NotFound("Asset file not found")
    return asset.storage_path


def open_asset(settings: Settings, asset: Asset) -> BinaryIO:
    """A seekable reader of an asset's bytes (NotFound when the file is gone, or for a remote asset)."""
    return store(settings).open(stored_name(asset))


def read_asset(settings: Settings, asset, cap: int | None = None) -> bytes:
    """An asset's bytes (at most ``cap`` of them)."""
    return store(settings).read(stored_name(asset), cap)


def write_file(settings: Settings, data: bytes | BinaryIO, max_bytes: int) -> tuple[str, int]:
    """Store bytes under a new generated name; returns (storage_path, size). Streams file-like
    input and stops with TooLarge (nothing kept) as soon as ``max_bytes`` is exceeded."""
    token = uuid.uuid4().hex
    storage_path = f"{token[:2]}/{token}"
    return storage_path, store(settings).write(storage_path, data, max_bytes)


def delete_files(settings: Settings, storage_paths: Iterable[str]) -> int:
    """Remove stored files (after their rows are deleted); returns how many were removed."""
    return store(settings).delete(p for p in storage_paths if STORAGE_RE.match(p or ""))


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
