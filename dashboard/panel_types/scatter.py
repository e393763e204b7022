"""Scatter chart: a metric or parameter against another, one point per experiment."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, field_validator

from dashboard.charts import scatter as scatter_chart, transforms
from dashboard.panel_types.base import (
    EditorField, PanelConfigBase, PanelType, metric_and_param_options, number, one_of, text,
)

TRANSFORMS = [{"label": "Last value logged", "value": "last"}, {"label": "First value logged", "value": "first"},
              {"label": "Minimum value", "value": "min"}, {"label": "Maximum value", "value": "max"},
              {"label": "Smoothing (last smoothed value)", "value": "smoothing"},
              {"label": "Moving average (last value)", "value": "moving_average"},
              {"label": "Log scale", "value": "log"}]


class Axis(BaseModel):
    """A metric (reduced to one value per experiment by ``transform``) or a parameter."""
    source: Literal["metric", "param"]
    name: str
    transform: str
    smoothing: float
    window: int


def _axis(raw) -> dict | None:
    if not isinstance(raw, dict) or not text(raw.get("name")):
        return None
    return {"source": one_of(raw.get("source"), ("metric", "param"), "metric"), "name": text(raw["name"]),
            "transform": one_of(raw.get("transform"), transforms.AXIS_TRANSFORMS, "last"),
            "smoothing": number(raw.get("smoothing"), 0, 0.99, 0.6),
            "window": int(number(raw.get("window"), 1, 1000, 5))}


class ScatterConfig(PanelConfigBase):
    type: Literal["scatter"]
    xAxis: Axis | None = None
    yAxis: Axis | None = None

    @field_validator("xAxis", "yAxis", mode="before")
    @classmethod
    def _axes(cls, v):
        return _axis(v)


EDITOR_FIELDS = (
    (EditorField("sx", "X axis", "dropdown", {"placeholder": "Metric or parameter"}, dynamic=True),),
    (EditorField("sx-transform", "X transform", "dropdown", {"options": TRANSFORMS, "value": "last",
                                                             "clearable": False}),),
    (EditorField("sy", "Y axis", "dropdown", {"placeholder": "Metric or parameter"}, dynamic=True),),
    (EditorField("sy-transform", "Y transform", "dropdown", {"options": TRANSFORMS, "value": "last",
                                                             "clearable": False}),),
)


def title(cfg: dict) -> str:
    x, y = cfg.get("xAxis"), cfg.get("yAxis")
    return f"{y['name']} vs {x['name']}" if x and y else "Scatter chart"


def is_complete(cfg: dict) -> bool:
    return bool(cfg.get("xAxis") and cfg.get("yAxis"))


def describe(cfg: dict) -> str:
    return f"Scatter chart: {cfg['yAxis']['name']} against {cfg['xAxis']['name']}"


def prefill(cfg: dict, cat: dict) -> dict:
    metrics_, params = cat.get("metrics") or [], cat.get("params") or []
    if not metrics_:
        return cfg
    x = {"source": "param", "name": params[0]} if params else {"source": "metric", "name": metrics_[0]}
    return {**cfg, "xAxis": x, "yAxis": {"source": "metric", "name": metrics_[-1]}}


def _axis_value(axis: dict | None) -> str | None:
    return f"{axis['source']}:{axis['name']}" if axis else None


def editor_values(cfg: dict, cat: dict) -> dict:
    both = metric_and_param_options(cat)
    return {"sx": {"options": both, "value": _axis_value(cfg["xAxis"])},
            "sx-transform": {"value": (cfg["xAxis"] or {}).get("transform", "last")},
            "sy": {"options": both, "value": _axis_value(cfg["yAxis"])},
            "sy-transform": {"value": (cfg["yAxis"] or {}).get("transform", "last")}}


def from_editor(v: dict) -> dict:
    raw = {}
    for key, val, transform in (("xAxis", v.get("sx"), v.get("sx-transform")),
                                ("yAxis", v.get("sy"), v.get("sy-transform"))):
        if val:
            source, _, aname = str(val).partition(":")
            raw[key] = {"source": source, "name": aname, "transform": transform}
    return raw


def summary_figure(session, cfg: dict, exps: list[dict], title: str, constraints=None):
    from dashboard.services import panels  # it builds on the registry

    xa, ya = cfg["xAxis"], cfg["yAxis"]
    xs, ys = panels.axis_values(session, exps, xa), panels.axis_values(session, exps, ya)
    rows = [{"exp": e, "x": xs.get(e["id"]), "y": ys.get(e["id"])} for e in exps]
    return scatter_chart.scatter_figure(
        rows, title=title, legend=cfg["legend"], outliers=cfg["outliers"],
        x_title=scatter_chart.axis_title(xa["name"], xa["transform"], xa["source"] == "param"),
        y_title=scatter_chart.axis_title(ya["name"], ya["transform"], ya["source"] == "param"),
        log_x=xa["transform"] == "log", log_y=ya["transform"] == "log")


PANEL = PanelType(
    type="scatter", label="Scatter Chart", icon="bi-diagram-3",
    description="A metric or parameter against another, one point per experiment.",
    config=ScatterConfig, editor_fields=EDITOR_FIELDS, title=title, is_complete=is_complete, describe=describe,
    prefill=prefill, editor_values=editor_values, from_editor=from_editor, summary_figure=summary_figure,
    outliers=True,
)
