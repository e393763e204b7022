"""Read and check a comet_ml offline archive, and turn it into an import plan.

An archive is the zip ``OfflineExperiment`` writes (``experiment.json``, ``messages.json``
and one member per logged file), or the same files extracted into a folder. Everything is
read and checked here, before anything is written: a damaged zip (bad CRC, truncated), a
foreign zip (no comet_ml files), unreadable JSON or a message pointing at a missing member
raises ``ArchiveError`` and the archive imports nothing.

The plan is expressed in the ingest core's vocabulary (the ``apply_batch`` dict and
``store_asset`` arguments), so the importer only replays it.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboard.errors import Invalid
from dashboard.importers import comet_format as cf
from dashboard.services import ingest
from models import AssetType

EXPERIMENT_FILE = "experiment.json"
MESSAGES_FILE = "messages.json"
# Model-registry operations have no counterpart in Halley; they are counted, not imported.
IGNORED_TYPES = {"remote_model", "register_model"}


class ArchiveError(Exception):
    """The file is not a readable comet_ml offline archive; nothing of it is imported."""


@dataclass
class AssetSpec:
    member: str  # zip member (or file in the folder) holding the bytes; "" when ``data`` is set
    type: AssetType
    name: str
    step: int | None = None
    epoch: int | None = None
    context: str | None = None
    metadata: dict = field(default_factory=dict)
    asset_id: str | None = None
    data: bytes | None = None  # content already converted while planning (the git patch)
    content_type: str | None = None  # a figure's, from the extension comet_ml names
    remote_url: str | None = None  # a remote asset: a link, no bytes


@dataclass
class ImportPlan:
    key: str
    workspace: str | None
    project: str | None
    name: str | None
    start_ms: int | None
    stop_ms: int | None
    batch: dict
    assets: list[AssetSpec]
    counts: Counter
    skipped: Counter
    appends: bool = False  # written by ExistingOfflineExperiment: adds to an existing run
    digest: str = ""  # of experiment.json + messages.json: identifies this archive's data


class Archive:
    """Read access to the members of a zip or of an extracted folder."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            self.names = {p.name for p in self.path.iterdir() if p.is_file()}
        else:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise ArchiveError(f"not a readable zip archive ({exc})") from exc
            self.names = set(self._zip.namelist())

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def check_integrity(self) -> None:
        """Read every member once so a damaged archive fails before anything is written."""
        if self._zip is None:
            return
        try:
            bad = self._zip.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
            raise ArchiveError(f"damaged zip archive ({exc})") from exc
        if bad is not None:
            raise ArchiveError(f"damaged zip archive (bad checksum in member {bad!r})")

    def read(self, name: str) -> bytes:
        if name not in self.names or "/" in name or "\\" in name or name in (".", ".."):
            raise ArchiveError(f"member {name!r} is missing")
        try:
            if self._zip is not None:
                return self._zip.read(name)
            return (self.path / name).read_bytes()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ArchiveError(f"can't read member {name!r} ({exc})") from exc

    def size(self, name: str) -> int:
        if self._zip is not None:
            return self._zip.getinfo(name).file_size
        return (self.path / name).stat().st_size


def find_archives(paths: list[str | os.PathLike]) -> list[Path]:
    """Zip files as given, plus the zips (and extracted archives) inside given folders, with
    the archives that add to an existing run after the ones that create runs."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir() and not (p / MESSAGES_FILE).exists():
            found.extend(sorted(x for x in p.iterdir() if x.suffix == ".zip" and x.is_file()))
            found.extend(sorted(x for x in p.iterdir() if x.is_dir() and (x / MESSAGES_FILE).exists()))
        else:
            found.append(p)
    # ExistingOfflineExperiment archives (<key>-<suffix>.zip) add to a run: import them last
    return sorted(found, key=lambda p: "-" in p.stem)


def _load_meta(archive: Archive) -> dict:
    missing = [n for n in (EXPERIMENT_FILE, MESSAGES_FILE) if n not in archive.names]
    if missing:
        raise ArchiveError(f"not a comet_ml offline archive (no {' or '.join(missing)})")
    try:
        meta = json.loads(archive.read(EXPERIMENT_FILE).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArchiveError(f"experiment.json is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise ArchiveError("experiment.json is not a JSON object")
    for k in ("workspace", "project_name"):
        if meta.get(k) is not None and not isinstance(meta[k], str):
            raise ArchiveError(f"experiment.json '{k}' must be a string or null")
    for k in ("start_time", "stop_time"):
        if meta.get(k) is not None and (isinstance(meta[k], bool) or not isinstance(meta[k], (int, float))):
            raise ArchiveError(f"experiment.json '{k}' must be epoch milliseconds")
    tags = meta.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ArchiveError("experiment.json 'tags' must be a list of strings")
    return meta


def _experiment_key(archive: Archive, meta: dict) -> str:
    key = meta.get("offline_id")
    if not key:  # older archives: the key is the zip's base name (key[-suffix].zip)
        key = archive.path.name.split("-")[0].removesuffix(".zip")
    if not cf.valid_key(key):
        raise ArchiveError(f"experiment key {key!r} is not 32-50 letters and digits")
    return key


def _load_messages(archive: Archive) -> list[tuple[str, dict]]:
    try:
        text = archive.read(MESSAGES_FILE).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArchiveError(f"messages.json is not UTF-8 ({exc})") from exc
    messages = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ArchiveError(f"messages.json line {lineno} is not valid JSON ({exc.msg})") from exc
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str) or not isinstance(msg.get("payload"), dict):
            raise ArchiveError(f"messages.json line {lineno} is not a comet_ml message")
        messages.append((msg["type"], msg["payload"]))
    return messages


def _ws_message(payload: dict) -> list[tuple[str, dict]]:
    """A legacy ``ws_msg`` -> the equivalent modern message(s)."""
    out: list[tuple[str, dict]] = []
    ts = payload.get("local_timestamp")
    if payload.get("stdout") is not None:
        out.append(("standard_output", {"output": payload["stdout"], "stderr": bool(payload.get("stderr")),
                                        "local_timestamp": ts}))
    if isinstance(payload.get("log_other"), dict):
        out.append(("log_other", {"key": payload["log_other"].get("key"), "value": payload["log_other"].get("val")}))
    if isinstance(payload.get("env_details"), dict):
        out.append(("system_details", payload["env_details"]))
    if isinstance(payload.get("git_meta"), dict):
        out.append(("git_metadata", {"git_metadata": payload["git_meta"]}))
    for k in ("installed_packages", "os_packages", "graph", "html", "htmlOverride", "gpu_static_info"):
        if payload.get(k) is not None:
            out.append((k, {k: payload[k]}))
    if payload.get("fileName"):
        out.append(("file_name", {"file_name": payload["fileName"]}))
    if isinstance(payload.get("log_dependency"), dict):
        out.append(("log_dependency", payload["log_dependency"]))
    if isinstance(payload.get("log_system_info"), dict):
        out.append(("system_info", {"system_info": payload["log_system_info"]}))
    if payload.get("code"):
        out.append(("legacy_code", {"code": payload["code"]}))
    if isinstance(payload.get("metric"), dict):
        out.append(("metric_msg", {"metric": payload["metric"], "context": payload.get("context"), "local_timestamp": ts}))
    for k in ("param", "params"):
        if isinstance(payload.get(k), dict):
            out.append(("parameter_msg", {k: payload[k], "local_timestamp": ts}))
    return out


class _Planner:
    def __init__(self, archive: Archive, key: str):
        self.archive = archive
        self.key = key
        self.batch: dict[str, Any] = {"metrics": [], "parameters": [], "others": [], "system_info": [],
                                      "output": [], "html": [], "details": {}}
        self.assets: list[AssetSpec] = []
        self.name: str | None = None
        self.chunks: list[tuple[str, bool, float | None]] = []
        self.packages: list[str] | None = None
        self.dependencies: list[dict] = []
        self.counts: Counter = Counter()
        self.skipped: Counter = Counter()

    def add(self, kind: str, p: dict) -> None:
        handler = getattr(self, "_" + kind.replace("-", "_"), None)
        if kind in IGNORED_TYPES or handler is None:
            self.skipped[kind] += 1
            return
        handler(p)

    def _metric_msg(self, p: dict) -> None:
        m = cf.metric(p.get("metric") or {}, p.get("context"), p.get("local_timestamp"))
        if m is None:
            self.skipped["metric_msg (not a number)"] += 1
            return
        self.batch["metrics"].append(m)
        self.counts["metrics"] += 1

    def _parameter_msg(self, p: dict) -> None:
        m = p.get("param") if isinstance(p.get("param"), dict) else p.get("params")
        m = m if isinstance(m, dict) else {}
        param = cf.parameter(m.get("paramName"), m.get("paramValue"), m.get("step"), m.get("source"))
        if param is None:
            self.skipped["parameter_msg (step markers and malformed)"] += 1
            return
        self.batch["parameters"].append(param)
        self.counts["parameters"] += 1

    def _log_other(self, p: dict) -> None:
        if not isinstance(p.get("key"), str) or not p["key"]:
            self.skipped["log_other (malformed)"] += 1
            return
        self.batch["others"].append({"key": p["key"], "value": p.get("value")})
        if p["key"] == cf.NAME_KEY and p.get("value") is not None:
            self.name = str(p["value"])
        self.counts["others"] += 1

    def _html(self, p: dict) -> None:
        self.batch["html"].append({"html": str(p.get("html") or ""), "override": False})
        self.counts["html"] += 1

    def _htmlOverride(self, p: dict) -> None:
        self.batch["html"].append({"html": str(p.get("htmlOverride") or ""), "override": True})
        self.counts["html"] += 1

    def _standard_output(self, p: dict) -> None:
        self.chunks.append((p.get("output"), bool(p.get("stderr")), cf.seconds(p.get("local_timestamp"))))

    def _system_details(self, p: dict) -> None:
        details, extra = cf.system_details(p)
        self.batch["details"].update(details)
        self.batch["system_info"].extend(extra)
        self.counts["system_details"] += 1

    def _installed_packages(self, p: dict) -> None:
        pkgs = p.get("installed_packages")
        if isinstance(pkgs, list):
            self.packages = [str(x) for x in pkgs]
            self.counts["installed_packages"] += 1

    def _os_packages(self, p: dict) -> None:
        pkgs = p.get("os_packages")
        if isinstance(pkgs, list):
            self.assets.append(AssetSpec(member="", type=AssetType.file, name=cf.OS_PACKAGES_NAME,
                                         metadata={"comet_upload_type": cf.OS_PACKAGES_KIND},
                                         asset_id=cf.os_packages_asset_id(self.key), data=cf.os_packages_file(pkgs)))
            self.counts["os_packages"] += 1

    def _gpu_static_info(self, p: dict) -> None:
        self.batch["system_info"].append({"key": "gpu_static_info", "value": p.get("gpu_static_info")})

    def _cloud_details(self, p: dict) -> None:
        self.batch["system_info"].append({"key": "cloud_provider", "value": p.get("provider")})
        self.batch["system_info"].append({"key": "cloud_metadata", "value": p.get("cloud_metadata")})

    def _file_name(self, p: dict) -> None:
        if isinstance(p.get("file_name"), str) and p["file_name"]:
            self.batch["details"].update(cf.file_details(p["file_name"]))

    def _git_metadata(self, p: dict) -> None:
        meta = p.get("git_metadata")
        if isinstance(meta, dict):
            self.batch["details"]["git"] = cf.git_details(meta)
            if meta.get("repo_name"):
                self.batch["system_info"].append({"key": "git_repo_name", "value": meta["repo_name"]})
            self.counts["git_metadata"] += 1

    def _graph(self, p: dict) -> None:
        if isinstance(p.get("graph"), str):
            self.batch["graph"] = p["graph"]
            self.counts["graph"] += 1

    def _system_info(self, p: dict) -> None:
        info = p.get("system_info")
        if isinstance(info, dict) and isinstance(info.get("key"), str):
            self.batch["system_info"].append({"key": info["key"], "value": info.get("value")})
            self.counts["system_info"] += 1

    def _log_dependency(self, p: dict) -> None:
        if isinstance(p.get("name"), str):
            self.dependencies.append({"name": p["name"], "version": p.get("version")})
            self.counts["dependencies"] += 1

    def _ws_msg(self, p: dict) -> None:
        for kind, payload in _ws_message(p):
            self.add(kind, payload)

    def _legacy_code(self, p: dict) -> None:
        """Old SDKs' ``set_code`` sent the source text itself."""
        self.assets.append(AssetSpec(member="", type=AssetType.code, name="code.py",
                                     metadata={"source_code_type": "manual"}, data=str(p["code"]).encode("utf-8")))
        self.counts["assets"] += 1

    def _file_upload(self, p: dict) -> None:
        member = p.get("file_path")
        if not isinstance(member, str) or member not in self.archive.names:
            raise ArchiveError(f"upload refers to missing member {member!r}")
        upload_type = p.get("upload_type")
        params = p.get("additional_params") or {}
        kind = cf.asset_type(upload_type)
        data = None
        if kind == AssetType.git_patch:
            try:
                data = cf.patch_text(self.archive.read(member))
            except ValueError as exc:
                raise ArchiveError(f"{exc}") from exc
        extra = {"groupingName": params.get("groupingName")}
        name = cf.asset_name(upload_type, params, fallback=self._fallback_name(upload_type, kind))
        self.assets.append(AssetSpec(
            member=member, type=kind, name=name, step=cf.int_or_none(params.get("step")),
            epoch=cf.int_or_none(params.get("epoch"), "epoch"), context=params.get("context") or None,
            metadata=cf.asset_metadata(upload_type, p.get("metadata"), extra),
            asset_id=self._asset_id(params.get("assetId") or params.get("imageId")),
            data=data, content_type=cf.extension_content_type(params.get("extension")),
        ))
        self.counts["assets"] += 1

    def _fallback_name(self, upload_type: str | None, kind: AssetType) -> str:
        if kind == AssetType.git_patch:
            return cf.PATCH_MEMBER
        if kind == AssetType.text:
            return "text-sample"
        return upload_type or "asset"

    @staticmethod
    def _asset_id(value: Any) -> str | None:
        return value if isinstance(value, str) and value.isalnum() and 8 <= len(value) <= 64 else None

    def _3d_image(self, p: dict) -> None:
        scene = str(p.get("name") or "scene")
        meta = p.get("metadata") if isinstance(p.get("metadata"), dict) else {}
        members = [(i.get("file_path"), i.get("file_name") or "points.jsonl", i.get("type"))
                   for i in (p.get("items") or []) if isinstance(i, dict)]
        if p.get("thumbnail_path"):
            members.append((p["thumbnail_path"], "thumbnail.png", "thumbnail"))
        for member, file_name, item_type in members:
            if not isinstance(member, str) or member not in self.archive.names:
                raise ArchiveError(f"3D scene refers to missing member {member!r}")
            self.assets.append(AssetSpec(
                member=member, type=AssetType.points_3d, name=f"{scene}/{file_name}",
                step=cf.int_or_none(p.get("step")),
                metadata={**meta, "comet_upload_type": "3d-points", "scene": scene, "item_type": item_type}))
            self.counts["assets"] += 1

    def _remote_file(self, p: dict) -> None:
        params = p.get("additional_params") or {}
        uri = p.get("remote_uri")
        if not isinstance(uri, str) or not uri:
            raise ArchiveError("remote asset without a URI")
        name = params.get("fileName") or uri.rstrip("/").rsplit("/", 1)[-1] or "remote"
        self.assets.append(AssetSpec(
            member="", type=cf.asset_type(p.get("upload_type") or "asset"), name=str(name),
            step=cf.int_or_none(params.get("step")), metadata=cf.asset_metadata("asset", p.get("metadata"), {}),
            asset_id=self._asset_id(params.get("assetId")), remote_url=uri))
        self.counts["remote_assets"] += 1

    def finish(self) -> None:
        for i, line in enumerate(cf.output_lines(self.chunks)):
            self.batch["output"].append({**line, "offset": i})
        self.counts["output_lines"] = len(self.batch["output"])
        if self.packages is not None:
            self.batch["details"]["installed_packages"] = self.packages
        if self.dependencies:
            self.batch["system_info"].append({"key": "dependencies", "value": cf.dependencies({}, self.dependencies)})
        if self.name:
            self.batch["name"] = self.name


def plan_archive(path: str | os.PathLike) -> ImportPlan:
    """Read, check and translate one archive; raises ArchiveError and writes nothing."""
    archive = Archive(Path(path))
    try:
        archive.check_integrity()
        meta = _load_meta(archive)
        key = _experiment_key(archive, meta)
        planner = _Planner(archive, key)
        for kind, payload in _load_messages(archive):
            planner.add(kind, payload)
        planner.finish()
        planner.batch["tags"] = [t for t in (meta.get("tags") or []) if t]
        try:  # the ingest core's own validation, before anything is written
            ingest.parse_batch({**planner.batch, "batch_id": "check"})
        except Invalid as exc:
            raise ArchiveError(exc.message) from exc
        digest = hashlib.sha256(archive.read(EXPERIMENT_FILE) + b"\0" + archive.read(MESSAGES_FILE)).hexdigest()
        appends = meta.get("resume_strategy") in ("get", "get_or_create") or meta.get("mode") == "append"
        return ImportPlan(key=key, workspace=meta.get("workspace") or None, project=meta.get("project_name") or None,
                          name=planner.name, start_ms=meta.get("start_time"), stop_ms=meta.get("stop_time"),
                          batch=planner.batch, assets=planner.assets, counts=planner.counts, skipped=planner.skipped,
                          appends=appends, digest=digest)
    finally:
        archive.close()


def read_asset(archive: Archive, spec: AssetSpec) -> bytes:
    """The bytes of one planned asset."""
    return spec.data if spec.data is not None else archive.read(spec.member)
