"""Experiments and everything logged to them.

Metric points are the hot path: a point references its series (one row per experiment and
metric name) and carries only step, epoch, timestamp and value. NaN is stored as NULL value
with ``invalid`` set (SQLite turns NaN into NULL anyway); +/-Inf are stored as floats.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, false
from sqlmodel import Field, SQLModel, UniqueConstraint

from .accounts import utcnow

# Steps, epochs, offsets, sizes and pids are whatever the client logs, up to 64 bits (the API
# accepts that range). SQLite's INTEGER holds 64 bits already; PostgreSQL's is 32 bits, so
# there they are BIGINT. SQLite keeps INTEGER: an INTEGER PRIMARY KEY is its rowid.
Int64 = BigInteger().with_variant(Integer(), "sqlite")


class Experiment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True, max_length=50)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    name: str | None = Field(default=None, max_length=300)
    status: str = Field(default="running", max_length=16, index=True)
    archived: bool = Field(default=False, index=True)
    visible: bool = True
    color: str | None = Field(default=None, max_length=16)  # picked by a user; wins over color_index
    color_index: int | None = None  # order in its project (0 = first), picks its palette color
    file_name: str | None = Field(default=None, max_length=500)
    file_path: str | None = Field(default=None, max_length=1000)
    command: str | None = None  # JSON list (argv)
    start_time: datetime = Field(default_factory=utcnow, index=True)
    end_time: datetime | None = Field(default=None, index=True)
    last_heartbeat: datetime | None = None
    host: str | None = Field(default=None, max_length=255)
    os_user: str | None = Field(default=None, max_length=255)
    python_version: str | None = Field(default=None, max_length=100)
    python_executable: str | None = Field(default=None, max_length=1000)
    os: str | None = Field(default=None, max_length=255)
    os_type: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)
    pid: int | None = Field(default=None, sa_type=Int64)
    git_commit: str | None = Field(default=None, max_length=64)
    git_branch: str | None = Field(default=None, max_length=255)
    git_remote: str | None = Field(default=None, max_length=1000)
    git_root: str | None = Field(default=None, max_length=64)
    git_user: str | None = Field(default=None, max_length=255)
    installed_packages: str | None = None  # pip freeze lines
    system_info_json: str = "{}"  # extra key/values from log_system_info and details
    graph: str | None = None
    html: str = ""
    notes: str = ""
    stop_requested: bool = False
    stop_requested_by: str | None = Field(default=None, max_length=64)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow)


class ExperimentTag(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("experiment_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200, index=True)


class Parameter(SQLModel, table=True):
    """The current (last logged) value of a parameter; history is in ParameterValue."""

    __table_args__ = (UniqueConstraint("experiment_id", "name"), Index("ix_parameter_name_num", "name", "value_num"))
    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=300)
    value_text: str | None = None  # JSON-free display text
    value_num: float | None = None  # set when the value is numeric (or boolean)
    value_json: str | None = None  # original value as JSON (lists, dicts, bools)
    source: str = Field(default="manual", max_length=16)
    step: int | None = Field(default=None, sa_type=Int64)
    updated_at: datetime = Field(default_factory=utcnow)


class ParameterValue(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=300)
    value_text: str | None = None
    step: int | None = Field(default=None, sa_type=Int64)
    logged_at: datetime = Field(default_factory=utcnow)


class MetricSeries(SQLModel, table=True):
    """One metric of one experiment, with the summary the table and panels read."""

    __table_args__ = (UniqueConstraint("experiment_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=300, index=True)
    count: int = 0
    last_value: float | None = None
    last_step: int | None = Field(default=None, sa_type=Int64)
    first_step: int | None = Field(default=None, sa_type=Int64)
    min_value: float | None = None
    max_value: float | None = None
    min_step: int | None = Field(default=None, sa_type=Int64)
    max_step: int | None = Field(default=None, sa_type=Int64)
    invalid_count: int = 0
    first_timestamp: float | None = None
    last_timestamp: float | None = None


class MetricRollup(SQLModel, table=True):
    """A series reduced to blocks of ``ROLLUP_BLOCK`` consecutive points (in arrival order),
    each keeping its lowest and highest valid point: what a line panel draws when a series is
    too long to read raw. Maintained at ingest, so a cold panel reads ~1/32 of the points."""

    series_id: int = Field(foreign_key="metricseries.id", primary_key=True, ondelete="CASCADE")
    block: int = Field(primary_key=True)  # point ordinal // ROLLUP_BLOCK
    count: int = 0  # points in the block so far, invalid ones included
    first_step: int | None = Field(default=None, sa_type=Int64)
    last_step: int | None = Field(default=None, sa_type=Int64)
    min_value: float | None = None  # NULL while the block has no valid point
    min_step: int | None = Field(default=None, sa_type=Int64)
    min_epoch: int | None = Field(default=None, sa_type=Int64)
    min_timestamp: float | None = None
    max_value: float | None = None
    max_step: int | None = Field(default=None, sa_type=Int64)
    max_epoch: int | None = Field(default=None, sa_type=Int64)
    max_timestamp: float | None = None


class MetricPoint(SQLModel, table=True):
    __table_args__ = (Index("ix_metricpoint_series_step", "series_id", "step"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=Int64)  # billions of points
    series_id: int = Field(foreign_key="metricseries.id", ondelete="CASCADE")
    step: int | None = Field(default=None, sa_type=Int64)
    epoch: int | None = Field(default=None, sa_type=Int64)
    timestamp: float | None = None  # epoch seconds
    value: float | None = None  # NULL when NaN
    invalid: bool = False  # NaN or +/-Inf
    context: str | None = Field(default=None, max_length=64)


class Other(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("experiment_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True, ondelete="CASCADE")
    key: str = Field(max_length=300)
    value: str | None = None
    value_num: float | None = None


class Asset(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    asset_id: str = Field(index=True, unique=True, max_length=64)  # public id
    experiment_id: int = Field(foreign_key="experiment.id", index=True, ondelete="CASCADE")
    type: str = Field(max_length=32, index=True)
    file_name: str = Field(max_length=1000)
    step: int | None = Field(default=None, sa_type=Int64)
    epoch: int | None = Field(default=None, sa_type=Int64)
    context: str | None = Field(default=None, max_length=64)
    metadata_json: str = "{}"
    size: int = Field(default=0, sa_type=Int64)
    storage_path: str = Field(max_length=255)  # relative to HALLEY_HOME/assets, generated
    content_type: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    # An example image of a confusion-matrix cell: shown from the matrix, not in Graphics.
    cm_example: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # A remote asset (log_remote_asset) is a link to data kept elsewhere: no stored bytes
    # (storage_path is empty, size 0), shown with its URL.
    remote_url: str | None = Field(default=None, max_length=2000)


class OutputLine(SQLModel, table=True):
    __table_args__ = (Index("ix_outputline_experiment_offset", "experiment_id", "offset"),)
    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", ondelete="CASCADE")
    offset: int = Field(default=0, sa_type=Int64)
    stderr: bool = False
    text: str = ""
    timestamp: float | None = None


class ReceivedBatch(SQLModel, table=True):
    """Batch ids already stored, so an SDK retry after a lost response adds nothing twice."""

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True, ondelete="CASCADE")
    batch_id: str = Field(max_length=64, unique=True, index=True)
    received_at: datetime = Field(default_factory=utcnow)
