"""Parallel coordinates: parameters and metrics as axes, the right-most one the target
variable that colors the lines; brushing an axis narrows the experiment table."""
from __future__ import annotations

from typing import Literal

from pydantic import ValidationInfo, field_validator

from dashboard.charts import parcoords as parcoords_chart
from dashboard.panel_types.base import (
    EditorField, PanelConfigBase, PanelType, metric_and_param_options, text,
)

MAX_AXES = 30


class ParcoordsConfig(PanelConfigBase):
    type: Literal["parcoords"]
    axes: list[str] = []  # "param:<name>" or "metric:<name>"
    scales: dict[str, str] = {}  # axis -> "log" or "linear" (absent: automatic)

    @field_validator("axes", mode="before")
    @classmethod
    def _axes(cls, v):
        axes = v if isinstance(v, list) else []
        clean = [a for a in axes if isinstance(a, str) and a.split(":", 1)[0] in ("param", "metric")
                 and text(a[a.find(":") + 1:])]
        return list(dict.fromkeys(clean))[:MAX_AXES]

    @field_validator("scales", mode="before")
    @classmethod
    def _scales(cls, v, info: ValidationInfo):
        axes = info.data.get("axes") or []
        scales = v if isinstance(v, dict) else {}
        return {a: s for a, s in scales.items() if a in axes and s in parcoords_chart.SCALES and s != "auto"}


EDITOR_FIELDS = (
    (EditorField("axes", "Axes (left to right)", "dropdown", {"placeholder": "Parameters and metrics"}, multi=True,
                 dynamic=True),),
    (EditorField("target", "Target variable (right-most axis, colors the lines)", "dropdown",
                 {"placeholder": "Usually the loss or accuracy"}, dynamic=True),),
    (EditorField("scales", "Axis scales", "dropdown",
                 {"placeholder": "Automatic: log when positive values span 2+ decades"}, multi=True, dynamic=True),),
)


def title(cfg: dict) -> str:
    return "Parallel coordinates"


def is_complete(cfg: dict) -> bool:
    return len(cfg.get("axes") or []) >= 2


def describe(cfg: dict) -> str:
    return f"Parallel coordinates over {len(cfg['axes'])} axes, colored by {cfg['axes'][-1].split(':', 1)[1]}"


def prefill(cfg: dict, cat: dict) -> dict:
    metrics_, params = cat.get("metrics") or [], cat.get("params") or []
    return {**cfg, "axes": [f"param:{p}" for p in params[:5]] + [f"metric:{metrics_[0]}"]} if metrics_ else cfg


def editor_values(cfg: dict, cat: dict) -> dict:
    both, axes = metric_and_param_options(cat), cfg["axes"]
    # per metric or parameter, a forced log and a forced linear choice (none: automatic)
    scale_opts = [{"label": f"{o['label']}: {scale}", "value": f"{scale}|{o['value']}"}
                  for o in both for scale in ("log", "linear")]
    return {"axes": {"options": both, "value": axes[:-1]},
            "target": {"options": both, "value": axes[-1] if axes else None},
            "scales": {"options": scale_opts, "value": [f"{v}|{a}" for a, v in cfg["scales"].items()]}}


def from_editor(v: dict) -> dict:
    target = v.get("target")
    chosen = [a for a in v.get("axes") or [] if a != target]
    return {"axes": chosen + ([target] if target else []),
            "scales": {a: scale for scale, _, a in (str(s).partition("|") for s in v.get("scales") or [])}}


def summary_figure(session, cfg: dict, exps: list[dict], title: str, constraints=None):
    from dashboard.services import panels  # it builds on the registry

    rows = panels.parcoords_rows(session, exps, cfg["axes"])
    return parcoords_chart.parcoords_figure(rows, cfg["axes"], title=title, constraints=constraints,
                                            labels={a: a.split(":", 1)[1] for a in cfg["axes"]},
                                            scales=cfg["scales"])


PANEL = PanelType(
    type="parcoords", label="Parallel Coordinates", icon="bi-distribute-horizontal",
    description="Parameters and metrics as axes; the right-most is the target variable.",
    config=ParcoordsConfig, editor_fields=EDITOR_FIELDS, title=title, is_complete=is_complete, describe=describe,
    prefill=prefill, editor_values=editor_values, from_editor=from_editor, summary_figure=summary_figure,
    legend_keys=False, brushable=True,
)
