"""Bar chart: one bar per experiment, a metric aggregated over its values."""
from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from dashboard.charts import bar as bar_chart, transforms
from dashboard.panel_types.base import EditorField, PanelConfigBase, PanelType, metric_options, one_of, text


class BarConfig(PanelConfigBase):
    type: Literal["bar"]
    metric: str | None = None
    aggregation: str = "sum"

    @field_validator("metric", mode="before")
    @classmethod
    def _metric(cls, v):
        return text(v)

    @field_validator("aggregation", mode="before")
    @classmethod
    def _aggregation(cls, v):
        return one_of(v, transforms.AGGREGATIONS, "sum")


EDITOR_FIELDS = (
    (EditorField("bar-metric", "Metric", "dropdown", {"placeholder": "Pick a metric"}, dynamic=True),),
    (EditorField("aggregation", "Aggregation", "dropdown",
                 {"value": "sum", "clearable": False,
                  "options": [{"label": v, "value": k} for k, v in bar_chart.AGGREGATION_LABELS.items()]}),),
)


def title(cfg: dict) -> str:
    return f"{cfg.get('metric') or 'Bar chart'} ({cfg.get('aggregation')})"


def is_complete(cfg: dict) -> bool:
    return bool(cfg.get("metric"))


def describe(cfg: dict) -> str:
    return f"Bar chart: {cfg['aggregation']} of {cfg['metric']}"


def prefill(cfg: dict, cat: dict) -> dict:
    metrics_ = cat.get("metrics") or []
    return {**cfg, "metric": metrics_[0]} if metrics_ else cfg


def editor_values(cfg: dict, cat: dict) -> dict:
    return {"bar-metric": {"options": metric_options(cat), "value": cfg["metric"]},
            "aggregation": {"value": cfg["aggregation"]}}


def from_editor(v: dict) -> dict:
    return {"metric": v.get("bar-metric"), "aggregation": v.get("aggregation")}


def summary_figure(session, cfg: dict, exps: list[dict], title: str, constraints=None):
    from dashboard.services import panels  # it builds on the registry

    rows, invalid = panels.bar_values(session, exps[:bar_chart.MAX_BARS], cfg["metric"], cfg["aggregation"])
    return bar_chart.bar_figure(rows, metric=cfg["metric"], aggregation=cfg["aggregation"], title=title,
                                legend=cfg["legend"], invalid=invalid, total=len(exps))


PANEL = PanelType(
    type="bar", label="Bar Chart", icon="bi-bar-chart",
    description="One bar per experiment: a metric aggregated over its values.",
    config=BarConfig, editor_fields=EDITOR_FIELDS, title=title, is_complete=is_complete, describe=describe,
    prefill=prefill, editor_values=editor_values, from_editor=from_editor, summary_figure=summary_figure,
)
