"""Pydantic models of the REST request bodies (validation and the OpenAPI document).

The batch body is the write core's own input model (``dashboard.services.ingest.BatchIn``),
re-exported here so every request model can be found in one place.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from dashboard.services.ingest import BatchIn, ExperimentName

__all__ = ["BatchIn", "EndIn", "HeartbeatIn", "StartExperimentIn"]


class StartExperimentIn(BaseModel):
    """Create an experiment, or resume one by its key."""

    model_config = ConfigDict(extra="ignore")

    workspace: Annotated[str, Field(max_length=64)] | None = None
    project: Annotated[str, Field(max_length=100)] | None = None
    experiment_key: str | None = None
    name: ExperimentName | None = None


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EndIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["finished", "crashed", "stopped"] = "finished"
