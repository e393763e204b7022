"""What comet_ml's messages mean in Halley's terms.

Pure translations shared by the offline-archive importer and the live ``/clientlib`` adapter,
so both paths store a comet_ml run the same way: upload types to ``models.AssetType``,
system details and git metadata to the ingest batch's ``details``, parameter sources, and
output chunks to lines.
"""
from __future__ import annotations

import io
import math
import mimetypes
import os
import re
import zipfile
from typing import Any, Iterable

from dashboard.errors import Invalid
from models import AssetType

KEY_RE = re.compile(r"^[A-Za-z0-9]{32,50}$")

# comet_ml upload_type -> Halley asset type. Kinds Halley has no viewer for land on "file"
# (data the user can download) or "other" and keep their comet_ml kind in the metadata.
UPLOAD_TYPES: dict[str, AssetType] = {
    "visualization": AssetType.image,
    "image": AssetType.image,
    "shap": AssetType.image,
    "prophet": AssetType.image,
    "audio": AssetType.audio,
    "video": AssetType.video,
    "text-sample": AssetType.text,
    "confusion-matrix": AssetType.confusion_matrix,
    "histogram3d": AssetType.histogram,
    "histogram_combined_3d": AssetType.histogram,
    "curve": AssetType.curve,
    "asset": AssetType.file,
    "source_code": AssetType.code,
    "notebook": AssetType.notebook,
    "git-patch": AssetType.git_patch,
    "model-element": AssetType.model,
    "html": AssetType.html,
    "dataframe": AssetType.file,
    "dataframe-profile": AssetType.html,
    "tensorflow-file": AssetType.file,
    "conda-environment-definition": AssetType.file,
    "conda-specification": AssetType.file,
    "conda-info": AssetType.file,
    "embeddings": AssetType.other,
    "asset-item": AssetType.other,
    "3d-points": AssetType.points_3d,
}
# Halley asset type -> the upload_type comet_ml's read API reports (for asset/list).
COMET_TYPES: dict[str, str] = {
    AssetType.image.value: "image",
    AssetType.text.value: "text-sample",
    AssetType.file.value: "asset",
    AssetType.code.value: "source_code",
    AssetType.model.value: "model-element",
    AssetType.histogram.value: "histogram3d",
}
LOSSY_TYPES = {AssetType.file, AssetType.other, AssetType.html}

TEXT_SAMPLE_NAME = "auto-generated-in-the-backend"
# OS packages (dpkg, often thousands of lines) are kept as a downloadable file, not as a
# system-info value.
OS_PACKAGES_NAME = "os_packages.txt"
OS_PACKAGES_KIND = "os-packages"
PATCH_MEMBER = "git_diff.patch"
# log_other keys comet_ml sets itself; they are kept as others like any other key.
NAME_KEY = "Name"
STOPPED_BY_USER_KEY = "experiment_stopped_by_user"
# curr_step / curr_epoch are emitted on every step change: markers, not hyperparameters.
STEP_MARKER_PARAMS = {"curr_step", "curr_epoch"}


NON_FINITE = {"NaN", "Infinity", "-Infinity"}


def metric_value(value: Any) -> float | str | None:
    """A metric value as the ingest core takes it: a number or one of the non-finite
    strings; None when comet_ml recorded something that isn't a number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        if value in NON_FINITE:
            return value
        try:
            return metric_value(float(value))
        except ValueError:
            return None
    return None


def metric(item: dict, context: str | None, timestamp_ms: Any) -> dict | None:
    """A comet_ml metric record ({metricName, metricValue, step, epoch}) -> a batch metric."""
    name, value = item.get("metricName"), metric_value(item.get("metricValue"))
    if not isinstance(name, str) or not name or value is None:
        return None
    return {"name": name, "value": value, "step": int_or_none(item.get("step")),
            "epoch": int_or_none(item.get("epoch"), "epoch"), "timestamp": seconds(timestamp_ms), "context": context or None}


def parameter(name: Any, value: Any, step: Any, source: Any) -> dict | None:
    """A comet_ml parameter -> a batch parameter; None for step markers and malformed ones."""
    if not isinstance(name, str) or not name:
        return None
    if source == "auto-logged" and name in STEP_MARKER_PARAMS:
        return None
    return {"name": name, "value": value, "step": int_or_none(step), "source": param_source(source)}


def seconds(ms: Any) -> float | None:
    if isinstance(ms, bool) or not isinstance(ms, (int, float)):
        return None
    return ms / 1000.0


def dependencies(current: Any, items: Iterable[dict]) -> dict:
    """``log_dependency`` records merged into the {name: version} kept under system_info
    "dependencies"."""
    merged = dict(current) if isinstance(current, dict) else {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
            merged[item["name"]] = item.get("version")
    return merged


def os_packages_file(packages: Iterable[Any]) -> bytes:
    return "\n".join(str(p) for p in packages).encode("utf-8")


def os_packages_asset_id(key: str) -> str:
    """One OS-packages file per experiment: a fixed asset id makes a resent list a no-op."""
    return f"ospackages{key}"


def valid_key(key: Any) -> bool:
    return isinstance(key, str) and bool(KEY_RE.match(key))


def asset_type(upload_type: str | None) -> AssetType:
    return UPLOAD_TYPES.get(upload_type or "asset", AssetType.other)


def comet_upload_type(halley_type: str, metadata: dict | None = None) -> str:
    """The comet_ml upload type of a stored asset (the original one when it was kept)."""
    original = (metadata or {}).get("comet_upload_type")
    return original if isinstance(original, str) else COMET_TYPES.get(halley_type, halley_type)


def asset_metadata(upload_type: str | None, metadata: Any, extra: dict | None = None) -> dict:
    """The user's metadata, plus the original comet_ml kind where Halley's type loses it and
    the model name for model files."""
    out = dict(metadata) if isinstance(metadata, dict) else {}
    kind = asset_type(upload_type)
    if upload_type and kind in LOSSY_TYPES and upload_type != "asset":
        out.setdefault("comet_upload_type", upload_type)
    for k, v in (extra or {}).items():
        if v is not None:
            out.setdefault(k, v)
    return out


def asset_name(upload_type: str | None, params: dict, fallback: str) -> str:
    """The display name of an upload: figName for images, fileName otherwise (the text sample
    placeholder name is replaced), never a path we'd write to (stored names are generated)."""
    name = params.get("figName") if asset_type(upload_type) == AssetType.image else None
    name = name or params.get("fileName")
    if not isinstance(name, str) or not name or name == TEXT_SAMPLE_NAME:
        name = fallback
    return name[:1000]


def extension_content_type(extension: Any) -> str | None:
    """The content type named by the ``extension`` comet_ml sends with a figure ("svg", "png"):
    a figure's name carries none."""
    if not isinstance(extension, str) or not extension.isalnum() or len(extension) > 8:
        return None
    return mimetypes.guess_type(f"figure.{extension.lower()}")[0]


def int_or_none(value: Any, what: str = "step") -> int | None:
    """A whole number as comet_ml sends steps, epochs and pids (a number or its text); None for
    what isn't one. An infinite or NaN number is refused: it can't be a step. The range is
    checked where the value is stored."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"{what} must be a finite number, got {value}")
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def param_source(source: Any) -> str:
    if not isinstance(source, str):
        return "manual"
    return {"cli": "cli", "auto-logged": "auto", "auto": "auto"}.get(source, "manual")


def system_details(payload: dict) -> tuple[dict, list[dict]]:
    """A comet_ml system-details record -> (batch ``details`` subset, extra system_info items).

    Accepts both the offline field names (``python_exe``, ``os_release``) and the online
    ones (``executable``, ``osRelease``).
    """
    def pick(*names):
        for n in names:
            if payload.get(n) not in (None, ""):
                return payload[n]
        return None

    details = {
        "host": pick("hostname"),
        "ip": pick("ip"),
        "os_user": pick("user"),
        "os": pick("os"),
        "os_type": pick("os_type", "osType"),
        "python_version": pick("python_version", "pythonVersion"),
        "python_executable": pick("python_exe", "executable"),
        "pid": int_or_none(pick("pid"), "pid"),
        "command": pick("command"),
    }
    if isinstance(details["command"], str):
        details["command"] = details["command"].split()
    if details["command"] is not None and not isinstance(details["command"], list):
        details["command"] = None
    extra = []
    for key, names in (("machine", ("machine",)), ("processor", ("processor",)),
                       ("os_release", ("os_release", "osRelease")),
                       ("python_version_verbose", ("python_version_verbose", "pythonVersionVerbose"))):
        value = pick(*names)
        if value is not None:
            extra.append({"key": key, "value": value})
    return {k: v for k, v in details.items() if v is not None}, extra


def git_details(meta: dict) -> dict:
    """comet_ml git metadata (user, root, branch, parent, origin) -> batch ``details.git``."""
    git = {"commit": meta.get("parent"), "branch": meta.get("branch"), "remote": meta.get("origin"),
           "root": meta.get("root"), "user": meta.get("user")}
    return {k: v for k, v in git.items() if isinstance(v, str) and v}


def file_details(path: str) -> dict:
    return {"file_name": os.path.basename(path) or path, "file_path": path}


def patch_text(data: bytes) -> bytes:
    """The unified diff inside comet_ml's git-patch zip (or the bytes as they are when they
    are already a plain patch)."""
    if not data.startswith(b"PK"):
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            member = PATCH_MEMBER if PATCH_MEMBER in names else (names[0] if names else None)
            return zf.read(member) if member else b""
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ValueError(f"git patch upload is not a readable zip: {exc}") from exc


def patch_zip(patch: bytes) -> bytes:
    """A stored patch, packed the way comet_ml's ``get_git_patch`` returns it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(PATCH_MEMBER, patch)
    return buf.getvalue()


def output_lines(chunks: Iterable[tuple[str, bool, float | None]]) -> list[dict]:
    """Raw write() chunks (text, stderr, timestamp) -> complete lines per stream.

    comet_ml records each write() call, so a ``print`` arrives as the text and then a lone
    newline; lines are rebuilt per stream, in order, and a trailing partial line is kept.
    """
    lines: list[dict] = []
    pending: dict[bool, tuple[str, float | None]] = {}
    for text, stderr, ts in chunks:
        if not isinstance(text, str) or text == "":
            continue
        buf, first_ts = pending.pop(stderr, ("", ts))
        buf += text
        *complete, rest = buf.split("\n")
        for line in complete:
            lines.append({"text": line, "stderr": stderr, "timestamp": first_ts})
            first_ts = ts
        if rest:
            pending[stderr] = (rest, first_ts)
    for stderr, (rest, ts) in pending.items():
        lines.append({"text": rest, "stderr": stderr, "timestamp": ts})
    return lines
