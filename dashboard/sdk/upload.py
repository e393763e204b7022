"""Sends offline archives and spool directories to a server (``halley upload PATH...``).

Safe to repeat: the experiment key, batch ids and asset ids are fixed in the files, so an
entry the server already has is acknowledged and ignored.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dashboard.sdk.config import ClientConfig
from dashboard.sdk.spool import SpoolDir, find_sources, read_archive, read_spool_dir
from dashboard.sdk.transport import HttpClient, Rejected, Transient


@dataclass
class UploadResult:
    source: str
    ok: bool
    experiment_key: str | None = None
    url: str | None = None
    batches: int = 0
    assets: int = 0
    rejected: int = 0
    error: str | None = None

    def describe(self) -> str:
        if not self.ok:
            return f"{self.source}: FAILED ({self.error})"
        text = (f"{self.source}: experiment {self.experiment_key}: {self.batches} batches, "
                f"{self.assets} assets sent -> {self.url}")
        return text + (f" ({self.rejected} refused by the server)" if self.rejected else "")


def upload(paths: list[str], api_key: str | None = None, url: str | None = None,
           workspace: str | None = None, project: str | None = None,
           echo: Callable[[str], None] | None = None) -> list[UploadResult]:
    """Uploads every archive / spool directory found under ``paths``; returns one result each.
    A spool directory is deleted once everything in it has been delivered."""
    config = ClientConfig.resolve(api_key, url)
    client = HttpClient(config)
    results = []
    for src in find_sources(paths):
        result = _upload_one(client, src, workspace, project)
        results.append(result)
        if echo:
            echo(result.describe())
    return results


def _upload_one(client: HttpClient, src: Path, workspace: str | None, project: str | None) -> UploadResult:
    result = UploadResult(str(src), ok=False)
    try:
        contents = read_archive(src) if src.is_file() else read_spool_dir(src)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        result.error = f"unreadable: {exc}"
        return result
    body = dict(contents.experiment)
    if workspace:
        body["workspace"] = workspace
    if project:
        body["project"] = project
    try:
        info = client.request("POST", "/experiments", json_body=body).json()
        key = result.experiment_key = info["experiment_key"]
        result.url = client.config.url + info.get("url", "")
        for d in contents.entries:
            try:
                client.deliver(key, d)
            except Rejected as exc:
                result.rejected += 1
                result.error = exc.message
            if d.kind == "batch":
                result.batches += 1
            else:
                result.assets += 1
            SpoolDir.remove(d)
        if contents.end:
            client.request("POST", f"/experiments/{key}/end", json_body=contents.end)
    except (Transient, Rejected) as exc:
        result.error = str(exc)
        return result
    if src.is_dir():
        (src / "end.json").unlink(missing_ok=True)
        SpoolDir(src, contents.experiment).clear_if_done()
    result.ok = True
    return result
