"""Artifacts, named like comet_ml's: ``Artifact`` collects files, folders and remote links;
``Experiment.log_artifact`` sends them as a new version and ``Experiment.get_artifact`` fetches
one back (``LoggedArtifact.download``). Unlike the rest of the SDK these calls talk to the
server directly and wait for it (an artifact is what other runs start from)."""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

from dashboard.sdk.transport import HttpClient


class Artifact:
    """``Artifact(name, artifact_type, metadata=None, version=None, aliases=None, version_tags=None)``."""

    def __init__(self, name: str, artifact_type: str, metadata: dict | None = None, version: str | None = None,
                 aliases=None, version_tags=None):
        self.name = name
        self.artifact_type = artifact_type
        self.metadata = dict(metadata or {})
        self.version = None if version is None else str(version)
        self.aliases = list(aliases or [])
        self.version_tags = list(version_tags or [])
        self._files: list[tuple[str, Path | None, str | None]] = []  # (logical path, local file, remote URI)

    def add(self, local_path, logical_path: str | None = None) -> None:
        """A file, or every file under a folder (kept at its path inside ``logical_path``)."""
        path = Path(local_path)
        if path.is_dir():
            root = logical_path or ""
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                self._files.append(("/".join(filter(None, [root, file.relative_to(path).as_posix()])), file, None))
        elif path.is_file():
            self._files.append((logical_path or path.name, path, None))
        else:
            raise FileNotFoundError(f"No file or folder at {local_path}")

    def add_remote(self, uri: str, logical_path: str | None = None) -> None:
        """A link to data kept elsewhere (s3://..., https://...): recorded, not uploaded."""
        self._files.append((logical_path or uri.rstrip("/").rsplit("/", 1)[-1] or uri, None, uri))


class LoggedArtifact:
    """A version on the server: name, artifact_type, version, aliases, version_tags, metadata,
    workspace, size, source_experiment_key and ``assets`` (its files)."""

    def __init__(self, client: HttpClient, info: dict):
        self._client = client
        self.id = info["artifact_id"]
        self.version_id = info["version_id"]
        self.name = info["name"]
        self.artifact_type = info["type"]
        self.workspace = info["workspace"]
        self.version = info["version"]
        self.aliases = list(info["aliases"])
        self.version_tags = list(info["tags"])
        self.metadata = dict(info["metadata"])
        self.size = info["size"]
        self.state = info["state"]
        self.source_experiment_key = info["logged_by"]
        self.assets = list(info["files"])

    def __repr__(self) -> str:
        return f"LoggedArtifact({self.workspace}/{self.name}:{self.version})"

    def download(self, path: str | os.PathLike | None = None) -> Path:
        """Every stored file under ``path`` (a new temporary folder by default) at its logical
        path; remote links are not fetched. Returns the folder."""
        root = Path(path) if path is not None else Path(tempfile.mkdtemp())
        for asset in self.assets:
            if asset["remote_url"]:
                continue
            target = (root / asset["name"]).resolve()
            if root.resolve() not in target.parents:
                raise ValueError(f"Refusing to write {asset['name']!r} outside {root}")
            target.parent.mkdir(parents=True, exist_ok=True)
            reply = self._client.request("GET", f"/artifact-versions/{self.version_id}/files/{asset['asset_id']}")
            target.write_bytes(reply.content)
        return root


def log_artifact(client: HttpClient, experiment_key: str, artifact: Artifact) -> LoggedArtifact:
    """A new version with the artifact's files, closed once they are in (ERROR if one fails)."""
    info = client.request("POST", f"/experiments/{experiment_key}/artifacts", json_body={
        "name": artifact.name, "type": artifact.artifact_type, "version": artifact.version,
        "aliases": artifact.aliases, "version_tags": artifact.version_tags, "metadata": artifact.metadata,
    }).json()
    files_url = f"/artifact-versions/{info['version_id']}/files"
    params = {"experiment_key": experiment_key}
    state = "ERROR"
    try:
        for logical, local, remote in artifact._files:
            form = {"name": logical, "asset_id": uuid.uuid4().hex}
            if remote is not None:
                client.request("POST", files_url, data={**form, "remote_url": remote}, params=params)
            else:
                with open(local, "rb") as fh:
                    client.request("POST", files_url, data=form, files={"file": (Path(logical).name, fh)},
                                   params=params)
        state = "CLOSED"
    finally:
        client.request("POST", f"/artifact-versions/{info['version_id']}/state",
                       json_body={"experiment_key": experiment_key, "state": state})
    return get_artifact(client, info["name"], info["workspace"], info["version"])


def get_artifact(client: HttpClient, name: str, workspace: str | None, version_or_alias: str | None = None,
                 consumer_key: str | None = None) -> LoggedArtifact:
    """``name`` may be ``workspace/name:version_or_alias``."""
    if "/" in name:
        workspace, name = name.split("/", 1)
    if ":" in name:
        name, version_or_alias = name.split(":", 1)
    if not workspace:
        raise ValueError("Name the workspace (workspace= or 'workspace/name')")
    params = {k: v for k, v in (("version_or_alias", version_or_alias), ("experiment_key", consumer_key)) if v}
    reply = client.request("GET", f"/workspaces/{quote(workspace, safe='')}/artifacts/{quote(name, safe='')}/version",
                           params=params)
    return LoggedArtifact(client, reply.json())
