"""Optimizer sweeps (comet_ml's Optimizer protocol): a sweep's configuration and the parameter
sets it has handed out. The sweep's id is the text the client sees (``Optimizer(id)``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel, UniqueConstraint

from .accounts import utcnow


class OptimizerSweep(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=300)
    algorithm: str = Field(max_length=16)
    config_json: str  # {"parameters", "spec", "trials", "name"} as the client sent them (completed)
    status: str = Field(default="running", max_length=16)  # running | completed
    total: int = 0  # parameter sets to hand out: combinations x trials
    handed: int = 0  # how many of them were handed out so far (retries not counted)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class OptimizerTrial(SQLModel, table=True):
    """One parameter set handed out: ``pid`` names the combination, ``trial`` its repetition
    (1..trials); status running | retry (failed, to be handed out again) | completed | aborted
    (ended without a value of the sweep's metric) | failed."""
    __table_args__ = (UniqueConstraint("sweep_id", "pid", "trial"),
                      Index("ix_optimizertrial_sweep_status", "sweep_id", "status"))
    id: int | None = Field(default=None, primary_key=True)
    sweep_id: str = Field(foreign_key="optimizersweep.id", max_length=32, ondelete="CASCADE")
    pid: str = Field(max_length=64)
    trial: int = 1
    count: int = 0  # its place in the sweep's sequence, from 1
    params_json: str
    status: str = Field(default="running", max_length=16)
    score: float | None = None
    epoch: int | None = None
    tries: int = 0  # failures so far
    experiment_key: str | None = Field(default=None, max_length=50)
    metadata_json: str | None = None
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)
