"""What every panel type is made of: its config model (pydantic, lenient with untrusted JSON),
its registry entry (``PanelType``) and the description its editor controls are built from."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, field_validator, model_validator


def text(value, limit: int = 300) -> str | None:
    """``value`` stripped, or None unless it is a short printable string."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > limit or any(ord(c) < 32 for c in value):
        return None
    return value


def number(value, lo: float, hi: float, default: float) -> float:
    """A finite number clamped to [lo, hi], or ``default`` for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return default
    return min(max(float(value), lo), hi)


def one_of(value, allowed, default):
    return value if isinstance(value, str) and value in allowed else default


def is_panel_id(value) -> bool:
    """Panel ids are 1-32 letters and digits (a panel without one gets one, see ``PanelConfigBase``)."""
    return isinstance(value, str) and value.isalnum() and len(value) <= 32


class PanelConfigBase(BaseModel):
    """The settings every panel has. Validation never fails on a value: unknown keys are
    dropped and bad values fall back to their defaults (saved views and URLs are untrusted)."""
    model_config = ConfigDict(extra="ignore")

    id: str
    type: str
    name: str = ""
    legend: str = "name"
    outliers: str = "show"

    @model_validator(mode="before")
    @classmethod
    def _stable_id(cls, raw: Any):
        """An id derived from the config when it has none, so a view written without ids
        doesn't look changed on every load."""
        if not isinstance(raw, dict):
            return raw
        pid = raw.get("id") if is_panel_id(raw.get("id")) else None
        if pid is None:
            pid = hashlib.sha1(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:12]
        return {**raw, "id": pid}

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v):
        return text(v, 200) or ""

    @field_validator("legend", mode="before")
    @classmethod
    def _legend(cls, v):
        return "key" if v == "key" else "name"

    @field_validator("outliers", mode="before")
    @classmethod
    def _outliers(cls, v):
        return "ignore" if v == "ignore" else "show"


@dataclass(frozen=True)
class EditorField:
    """One control of a panel type's editor section, ``project-editor-<control>``.

    ``kind`` picks the component (dropdown, slider, input, checklist, radio), ``props`` are
    passed to it as they are; ``label`` None puts the bare control in its column. ``multi``:
    its value is a list. ``dynamic``: its options come from the project (``editor_values``)."""
    control: str
    label: str | None
    kind: str
    props: dict = field(default_factory=dict)
    multi: bool = False
    dynamic: bool = False


@dataclass(frozen=True)
class PanelType:
    """A registry entry: all the code knows about one panel type.

    Hooks take and give plain config dicts (``config.model_dump()``), the JSON that views keep:
    ``title(cfg)`` (without a name), ``is_complete(cfg)``, ``describe(cfg)`` (gallery text),
    ``prefill(cfg, catalogue)`` (a new panel showing the project's data),
    ``editor_values(cfg, catalogue)`` (``{control: {"value": ..., "options": ...}}``),
    ``from_editor(values)`` (the config fields the controls describe), and the figure:
    ``graph="line"`` panels draw themselves (``figure(request)``, read again on zoom), the others
    draw from the view's experiments (``summary_figure(session, cfg, exps, title, constraints)``,
    cached by the experiments they show)."""
    type: str
    label: str
    icon: str
    description: str
    config: type[PanelConfigBase]
    editor_fields: tuple[tuple[EditorField, ...], ...]
    title: Callable[[dict], str]
    is_complete: Callable[[dict], bool]
    describe: Callable[[dict], str]
    prefill: Callable[[dict, dict], dict]
    editor_values: Callable[[dict, dict], dict]
    from_editor: Callable[[dict], dict]
    graph: str = "agg"
    figure: Callable | None = None
    summary_figure: Callable | None = None
    legend_keys: bool = True  # the editor offers "Legend keys"
    outliers: bool = False  # the editor offers "Outliers"
    brushable: bool = False  # its figure can be brushed to narrow the table

    @property
    def fields(self) -> list[EditorField]:
        return [f for row in self.editor_fields for f in row]


def metric_options(cat: dict) -> list[dict]:
    return [{"label": m, "value": m} for m in cat.get("metrics") or []]


def metric_and_param_options(cat: dict) -> list[dict]:
    return [{"label": f"Metric: {m}", "value": f"metric:{m}"} for m in cat.get("metrics") or []] + \
        [{"label": f"Parameter: {p}", "value": f"param:{p}"} for p in cat.get("params") or []]
