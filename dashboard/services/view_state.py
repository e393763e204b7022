"""The project view state: what the project page shows (columns, their order, widths, pins and
sort, filters and the saved query they came from, grouping, panels), what a saved view stores
and what the page's URL #hash carries. One pydantic model, ``ProjectViewState``, validated once
where a state enters (``from_untrusted``: a URL, a saved view, a callback's input); the rest of
the code reads its JSON form (``to_dict``)::

    {"columns": [column id, ...], "filters": <query.py filter model>, "queryId": int|None,
     "columnState": [{"colId", "width", "sort", "sortIndex", "pinned"}, ...],
     "groupBy": [column id, ...] (1-3)|None, "groupAgg": "mean"|"min"|"max"|"last",
     "hideConstant": bool, "panelsOpen": bool, "panels": [panel config, ...]}

Untrusted input is read leniently, as saved views always were: unknown keys are dropped, bad
flags, widths, sorts and panels fall back to defaults or are left out. A column, filter or
grouping the table can't show is an ``Invalid`` error (with its own message), and so is a state
over ``MAX_STATE_BYTES`` of JSON. Views saved before grouping have ``groupBy`` as one column id
or None and no ``groupAgg``; views saved before panel ids have panels without ``id``.
"""
from __future__ import annotations

import base64
import json
import zlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_serializer, field_validator, model_validator

from dashboard import query as q
from dashboard.db import is_id
from dashboard.errors import Invalid
from dashboard.panel_types import PanelConfig
from dashboard.services.panel_configs import normalize_panels

DEFAULT_COLUMNS = ["sys:status", "sys:visible", "sys:color", "tags", "sys:name", "sys:end_time",
                   "sys:file_name", "sys:duration"]
MAX_COLUMNS = 300
MAX_STATE_BYTES = 64 * 1024


def clean_column_state(items: Any, columns: list[str]) -> list[dict]:
    """The grid's column state for ``columns`` (others dropped): widths 20-2000, sorts, pins."""
    out = []
    if not isinstance(items, list):
        return out
    allowed = set(columns)
    for item in items[:MAX_COLUMNS]:
        if not isinstance(item, dict) or not isinstance(item.get("colId"), str) or item["colId"] not in allowed:
            continue
        clean = {"colId": item["colId"]}
        if isinstance(item.get("width"), (int, float)) and 20 <= item["width"] <= 2000:
            clean["width"] = int(item["width"])
        if item.get("sort") in ("asc", "desc"):
            clean["sort"] = item["sort"]
            clean["sortIndex"] = item.get("sortIndex") if isinstance(item.get("sortIndex"), int) else 0
        if item.get("pinned") in ("left", "right"):
            clean["pinned"] = item["pinned"]
        out.append(clean)
    return out


class ColumnState(BaseModel):
    """One column's width, sort and pin in the grid (unset ones are left out of the JSON)."""
    colId: str
    width: int | None = None
    sort: Literal["asc", "desc"] | None = None
    sortIndex: int | None = None
    pinned: Literal["left", "right"] | None = None


class ProjectViewState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # columns first: a bad column is the error reported, as it always was
    columns: list[str]
    filters: dict
    queryId: int | None
    columnState: list[ColumnState]
    groupBy: list[str] | None
    groupAgg: str
    hideConstant: bool
    panelsOpen: bool
    panels: list[PanelConfig]

    @classmethod
    def from_untrusted(cls, raw: Any) -> "ProjectViewState":
        """The state ``raw`` describes (a missing or non-dict ``raw``: the default view)."""
        raw = raw if isinstance(raw, dict) else {}
        return cls.model_validate({name: raw.get(name) for name in cls.model_fields})

    @classmethod
    def default(cls) -> "ProjectViewState":
        return cls.from_untrusted(None)

    def to_dict(self) -> dict:
        """The JSON form saved views keep and the page's ``project-state`` store holds."""
        d = self.model_dump()
        return {k: d[k] for k in ("filters", "queryId", "columns", "columnState", "groupBy", "groupAgg",
                                  "hideConstant", "panelsOpen", "panels")}

    @field_validator("columns", mode="before")
    @classmethod
    def _columns(cls, v):
        if not isinstance(v, list):
            return list(DEFAULT_COLUMNS)
        seen: list[str] = []
        for col in v[:MAX_COLUMNS]:
            q.parse_column(col)  # Invalid for a column the table doesn't have
            if col not in seen:
                seen.append(col)
        return seen

    @field_validator("filters", mode="before")
    @classmethod
    def _filters(cls, v):
        return q.validate_filters(v or None)

    @field_validator("queryId", mode="before")
    @classmethod
    def _query_id(cls, v):
        return v if is_id(v) else None

    @field_validator("columnState", mode="before")
    @classmethod
    def _column_state(cls, v, info: ValidationInfo):
        return clean_column_state(v, info.data.get("columns") or [])

    @field_serializer("columnState")
    def _dump_column_state(self, v: list[ColumnState]) -> list[dict]:
        return [c.model_dump(exclude_none=True) for c in v]

    @field_validator("groupBy", mode="before")
    @classmethod
    def _group_by(cls, v):
        from dashboard.services import table_groups  # it builds on the experiment table, which builds on this

        return table_groups.clean_group_by(v)

    @field_validator("groupAgg", mode="before")
    @classmethod
    def _group_agg(cls, v):
        from dashboard.services import table_groups

        return table_groups.clean_agg(v)

    @field_validator("hideConstant", mode="before")
    @classmethod
    def _hide_constant(cls, v):
        return v is True

    @field_validator("panelsOpen", mode="before")
    @classmethod
    def _panels_open(cls, v):
        return v is not False

    @field_validator("panels", mode="before")
    @classmethod
    def _panels(cls, v):
        return normalize_panels(v)  # invalid panels dropped, ids made unique, at most 50

    @model_validator(mode="after")
    def _size(self):
        if len(json.dumps(self.to_dict())) > MAX_STATE_BYTES:
            raise Invalid("The view is too large to keep")
        return self


def default_state() -> dict:
    return ProjectViewState.default().to_dict()


def normalize_state(state: Any) -> dict:
    """``ProjectViewState.from_untrusted(state)`` as JSON: what the code outside reads."""
    return ProjectViewState.from_untrusted(state).to_dict()


def encode_state(state: dict) -> str:
    """A compact URL-safe text for a state (compressed JSON, base64url without padding)."""
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def decode_state(text: str | None) -> dict | None:
    """The state in an URL, or None when it is missing or unreadable."""
    if not text or len(text) > MAX_STATE_BYTES:
        return None
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        decompressor = zlib.decompressobj()
        raw = decompressor.decompress(packed, MAX_STATE_BYTES)
        return normalize_state(json.loads(raw))
    except (ValueError, zlib.error, Invalid, TypeError):
        return None
