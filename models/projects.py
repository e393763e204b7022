"""Projects and what is saved per project: queries and views."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from .accounts import utcnow


class Project(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=2000)
    is_public: bool = False
    icon_path: str | None = Field(default=None, max_length=255)
    notes: str = ""
    github_url: str | None = Field(default=None, max_length=500)
    share_token: str | None = Field(default=None, index=True, unique=True, max_length=64)
    next_color_index: int = 0  # color_index of the next experiment created in or moved to it
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)


class SavedQuery(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    filters_json: str = "{}"
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    deleted: bool = False


class SavedView(SQLModel, table=True):
    """A view as one JSON state blob: a project view (query, columns, panels, ...) or, with
    ``kind="experiment"``, the chart layout of the single-experiment page."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    kind: str = Field(default="project", max_length=16)
    name: str = Field(max_length=200)
    state_json: str = "{}"
    is_default: bool = False
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted: bool = False


class PanelTemplate(SQLModel, table=True):
    """A panel configuration a user saved to their own collection in the Panel Gallery."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    config_json: str = "{}"
    created_at: datetime = Field(default_factory=utcnow)
