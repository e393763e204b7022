"""Artifacts (comet_ml's ``Artifact``): named, typed, versioned collections of files kept per
workspace. Each ``log_artifact`` adds a version with its own files (stored bytes or remote
links), aliases, tags and metadata; experiments that fetch a version are recorded as its users.
Ids are the UUID text the client sees (``artifactId``, ``artifactVersionId``)."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from .accounts import utcnow
from .experiments import Int64


class Artifact(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: str = Field(primary_key=True, max_length=36)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255)
    type: str = Field(max_length=100)
    description: str | None = None
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ArtifactVersion(SQLModel, table=True):
    """One version; ``aliases_json``/``tags_json`` are JSON lists, ``metadata_json`` the JSON
    object the client sent. State: OPEN while its files upload, then CLOSED (or ERROR)."""
    __table_args__ = (UniqueConstraint("artifact_id", "version"),)
    id: str = Field(primary_key=True, max_length=36)
    artifact_id: str = Field(foreign_key="artifact.id", index=True, max_length=36, ondelete="CASCADE")
    version: str = Field(max_length=64)
    major: int = Field(default=0, sa_type=Int64)
    minor: int = Field(default=0, sa_type=Int64)
    patch: int = Field(default=0, sa_type=Int64)
    aliases_json: str = "[]"
    tags_json: str = "[]"
    metadata_json: str | None = None
    state: str = Field(default="OPEN", max_length=8)
    experiment_id: int | None = Field(default=None, foreign_key="experiment.id", index=True, ondelete="SET NULL")
    size: int = Field(default=0, sa_type=Int64)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ArtifactFile(SQLModel, table=True):
    """A file of a version: bytes under the asset store (``storage_path``) or a remote link."""
    __table_args__ = (UniqueConstraint("version_id", "asset_id"),)
    id: int | None = Field(default=None, primary_key=True)
    version_id: str = Field(foreign_key="artifactversion.id", index=True, max_length=36, ondelete="CASCADE")
    asset_id: str = Field(max_length=64, index=True)
    file_name: str = Field(max_length=1000)
    type: str = Field(default="asset", max_length=100)
    size: int = Field(default=0, sa_type=Int64)
    storage_path: str = Field(default="", max_length=64)
    remote_url: str | None = Field(default=None, max_length=2000)
    metadata_json: str | None = None
    content_type: str = Field(default="application/octet-stream", max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


class ArtifactUse(SQLModel, table=True):
    """An experiment fetched a version (``get_artifact``)."""
    __table_args__ = (UniqueConstraint("version_id", "experiment_id"),)
    id: int | None = Field(default=None, primary_key=True)
    version_id: str = Field(foreign_key="artifactversion.id", index=True, max_length=36, ondelete="CASCADE")
    experiment_id: int = Field(foreign_key="experiment.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)
