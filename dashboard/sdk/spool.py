"""The on-disk form of a run's pending deliveries, shared by the spool directory (data kept
while the server is unreachable) and the offline archive.

Spool directory (``<HALLEY_SPOOL_DIR or ~/.halley/spool>/<experiment_key>/``)::

    experiment.json                 {"format": "halley-spool", "version": 1, "experiment": <create body>}
    entries/000000001.batch.json    a batch body exactly as POSTed (it carries its batch_id)
    entries/000000002.asset.json    {"asset_id", "type", "name", "step", "epoch", "context", "metadata"}
    entries/000000002.asset.bin     the asset bytes
    end.json                        {"status": "finished" | "crashed" | "stopped"}

Offline archive (``<offline_directory>/<experiment_key>.zip``), format version 1: the same
members plus ``manifest.json``::

    {"format": "halley-offline", "version": 1, "experiment": <create body>,
     "start_time": epoch s, "end_time": epoch s,
     "entries": [{"kind": "batch", "path": "entries/..batch.json"},
                 {"kind": "asset", "path": "entries/..asset.json", "data": "entries/..asset.bin"}],
     "end": {"status": ...} | null}

An OfflineExperiment builds its archive in ``<offline_directory>/.<key>.partial/`` (the spool
layout); if the process dies before ``end()``, ``halley upload`` accepts that folder too.

Entries are delivered in order. Batch ids and asset ids are fixed when the entry is written,
so delivering an entry twice stores it once.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

FORMAT_VERSION = 1


@dataclass
class Delivery:
    """One request to make, in order: a batch (JSON bytes) or an asset upload."""
    kind: str                       # "batch" | "asset"
    payload: bytes = b""            # batch: the JSON body
    fields: dict = field(default_factory=dict)   # asset: form fields (asset_id, type, name, ...)
    data: bytes | None = None       # asset bytes in memory
    data_path: str | None = None    # ... or a file to read them from
    spool_paths: tuple = ()         # files holding this entry on disk
    items: int = 0
    ends: bool = False              # batch: carries the run's end

    def asset_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        with open(self.data_path, "rb") as fh:
            return fh.read()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


class SpoolDir:
    """Append-only directory of pending entries; a delivered entry's files are deleted."""

    def __init__(self, path: Path, experiment: dict, format_name: str = "halley-spool"):
        self.path = Path(path)
        self.experiment = experiment
        self.format_name = format_name
        self._seq = 0
        self._ready = False
        self._lock = threading.Lock()

    def _prepare(self) -> None:
        """Called holding ``_lock``."""
        if self._ready and (self.path / "entries").is_dir():
            return
        (self.path / "entries").mkdir(parents=True, exist_ok=True)
        existing = sorted((self.path / "entries").glob("*.json"))
        if existing:
            self._seq = int(existing[-1].name.split(".")[0])
        _atomic_write(self.path / "experiment.json", json.dumps(
            {"format": self.format_name, "version": FORMAT_VERSION, "experiment": self.experiment}).encode())
        self._ready = True

    def add(self, d: Delivery) -> None:
        with self._lock:
            if d.spool_paths:
                return
            self._prepare()
            self._seq += 1
            self._write(d, self.path / "entries" / f"{self._seq:09d}")

    def _write(self, d: Delivery, base: Path) -> None:
        if d.kind == "batch":
            p = base.with_name(base.name + ".batch.json")
            _atomic_write(p, d.payload)
            d.spool_paths = (p,)
        else:
            data_p = base.with_name(base.name + ".asset.bin")
            if d.data is not None:
                _atomic_write(data_p, d.data)
            else:
                shutil.copyfile(d.data_path, data_p)
            meta_p = base.with_name(base.name + ".asset.json")
            _atomic_write(meta_p, json.dumps(d.fields).encode())
            d.data_path = str(data_p)  # path first: a concurrent reader always finds the bytes
            d.data = None
            d.spool_paths = (meta_p, data_p)

    def write_end(self, status: str) -> None:
        with self._lock:
            self._prepare()
            _atomic_write(self.path / "end.json", json.dumps({"status": status}).encode())

    @staticmethod
    def remove(d: Delivery) -> None:
        for p in d.spool_paths:
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        d.spool_paths = ()

    def clear_if_done(self) -> None:
        """Deletes the directory once no entry is left in it. Under ``_lock``: an entry being
        added meanwhile (the sender delivers while the run keeps logging) would lose its folder."""
        with self._lock:
            if not self.path.exists():
                return
            if not any((self.path / "entries").glob("*.json")):
                shutil.rmtree(self.path, ignore_errors=True)
                self._ready = False


@dataclass
class SpoolContents:
    """What a spool directory or an offline archive holds, ready to deliver."""
    source: str
    experiment: dict
    entries: list[Delivery]
    end: dict | None
    start_time: float | None = None
    end_time: float | None = None


def read_spool_dir(path: Path) -> SpoolContents:
    head = json.loads((path / "experiment.json").read_text())
    entries = []
    for meta in sorted((path / "entries").glob("*.json")):
        if meta.name.endswith(".batch.json"):
            entries.append(Delivery("batch", payload=meta.read_bytes(), spool_paths=(meta,)))
        elif meta.name.endswith(".asset.json"):
            data_p = meta.with_name(meta.name[:-len(".json")] + ".bin")
            entries.append(Delivery("asset", fields=json.loads(meta.read_text()), data_path=str(data_p),
                                    spool_paths=(meta, data_p)))
    end_p = path / "end.json"
    end = json.loads(end_p.read_text()) if end_p.exists() else None
    return SpoolContents(str(path), head["experiment"], entries, end)


def write_archive(spool: SpoolDir, target: Path, start_time: float, end_time: float,
                  end_status: str) -> Path:
    """Zips an offline run's directory with its manifest."""
    contents = read_spool_dir(spool.path) if (spool.path / "experiment.json").exists() else \
        SpoolContents(str(spool.path), spool.experiment, [], None)
    manifest = {"format": "halley-offline", "version": FORMAT_VERSION, "experiment": spool.experiment,
                "start_time": start_time, "end_time": end_time, "entries": [], "end": {"status": end_status}}
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for d in contents.entries:
            rel = [str(Path(p).relative_to(spool.path)) for p in d.spool_paths]
            for p, r in zip(d.spool_paths, rel):
                z.write(p, r)
            entry = {"kind": d.kind, "path": rel[0]}
            if d.kind == "asset":
                entry["data"] = rel[1]
            manifest["entries"].append(entry)
        z.writestr("manifest.json", json.dumps(manifest, indent=1))
    os.replace(tmp, target)
    return target


def read_archive(path: Path) -> SpoolContents:
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json")) if "manifest.json" in names else {}
        if manifest.get("format") != "halley-offline":
            hint = " (a comet_ml archive? use: halley import comet)" if "messages.json" in names else ""
            raise ValueError(f"not a Halley offline archive{hint}")
        if int(manifest.get("version", 0)) > FORMAT_VERSION:
            raise ValueError(f"archive format {manifest['version']} is newer than this SDK reads")
        entries = []
        for e in manifest["entries"]:
            if e["kind"] == "batch":
                entries.append(Delivery("batch", payload=z.read(e["path"])))
            else:
                entries.append(Delivery("asset", fields=json.loads(z.read(e["path"])), data=z.read(e["data"])))
    return SpoolContents(str(path), manifest["experiment"], entries, manifest.get("end"),
                         manifest.get("start_time"), manifest.get("end_time"))


def find_sources(paths: list[str]) -> Iterator[Path]:
    """Zip archives and spool directories under the given paths (files or folders)."""
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_file() and p.suffix == ".zip":
            yield p
        elif p.is_dir():
            if (p / "experiment.json").exists():
                yield p
                continue
            for child in sorted(p.iterdir()):
                if child.is_file() and child.suffix == ".zip":
                    yield child
                elif child.is_dir() and (child / "experiment.json").exists():
                    yield child
