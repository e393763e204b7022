"""Line chart: metrics against step, epoch, duration, wall time or another metric, optionally
grouped (by a parameter, tags or the table's grouping) into a statistic and a band."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, field_validator

from dashboard.charts import grouping, line as line_chart
from dashboard.panel_types.base import (
    EditorField, PanelConfigBase, PanelType, metric_options, number, one_of, text,
)

X_AXES = ("step", "epoch", "duration", "wall")
MAX_METRICS = 10
X_OPTIONS = [{"label": "Step", "value": "step"}, {"label": "Epoch", "value": "epoch"},
             {"label": "Duration", "value": "duration"}, {"label": "Wall time", "value": "wall"}]
X_TRANSFORMS = [{"label": "None", "value": "none"}, {"label": "Smoothing (the weight below)", "value": "smoothing"},
                {"label": "Moving average (the window below)", "value": "moving_average"}]
LEGEND_MODES = [{"label": "Auto", "value": "auto"}, {"label": "Show", "value": "show"},
                {"label": "Hide", "value": "hide"}]
BAND_OPTIONS = [{"label": "Min - max", "value": "minmax"}, {"label": "Mean ± std", "value": "std"},
                {"label": "Mean ± standard error", "value": "sem"}, {"label": "None", "value": "none"}]


class LineGroup(BaseModel):
    """``by``: a parameter (``name``), tags, or "table": the experiment table's grouping,
    whatever it is when the panel is drawn."""
    by: Literal["param", "tag", "table"]
    name: str | None = None
    stat: str = "mean"
    band: str = "minmax"


class LineConfig(PanelConfigBase):
    type: Literal["line"]
    metrics: list[str] = []
    x: str = "step"
    group: LineGroup | None = None
    smoothing: float = 0.0
    window: int = 1
    logY: bool = False
    logX: bool = False
    xTransform: str = "none"
    showLegend: str = "auto"

    @field_validator("metrics", mode="before")
    @classmethod
    def _metrics(cls, v):
        names = [text(m) for m in v if text(m)] if isinstance(v, list) else []
        return list(dict.fromkeys(names))[:MAX_METRICS]

    @field_validator("x", mode="before")
    @classmethod
    def _x(cls, v):
        ok = v in X_AXES if isinstance(v, str) else False
        return v if ok or (isinstance(v, str) and v.startswith("metric:") and text(v[7:])) else "step"

    @field_validator("group", mode="before")
    @classmethod
    def _group(cls, v):
        if not (isinstance(v, dict) and v.get("by") in ("param", "tag", "table")
                and (v.get("by") in ("tag", "table") or text(v.get("name")))):
            return None
        return {"by": v["by"], "name": text(v.get("name")), "stat": one_of(v.get("stat"), grouping.STATS, "mean"),
                "band": one_of(v.get("band"), grouping.BANDS, "minmax")}

    @field_validator("smoothing", mode="before")
    @classmethod
    def _smoothing(cls, v):
        return number(v, 0, 0.99, 0.0)

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, v):
        return int(number(v, 1, 1000, 1))

    @field_validator("logY", "logX", mode="before")
    @classmethod
    def _flag(cls, v):
        return v is True

    @field_validator("xTransform", mode="before")
    @classmethod
    def _x_transform(cls, v):
        return one_of(v, line_chart.X_TRANSFORMS, "none")

    @field_validator("showLegend", mode="before")
    @classmethod
    def _show_legend(cls, v):
        return one_of(v, line_chart.LEGENDS, "auto")


EDITOR_FIELDS = (
    (EditorField("metrics", "Y axis: metrics", "dropdown", {"placeholder": "Pick metrics"}, multi=True,
                 dynamic=True),),
    (EditorField("x", "X axis", "dropdown", {"options": X_OPTIONS, "value": "step", "clearable": False}, dynamic=True),
     EditorField("x-transform", "X transform", "dropdown",
                 {"options": X_TRANSFORMS, "value": "none", "clearable": False})),
    (EditorField("smoothing", "Smoothing", "slider",
                 {"min": 0, "max": 0.99, "step": 0.01, "value": 0, "marks": {0: "0", 0.5: "0.5", 0.99: "0.99"},
                  "tooltip": {"placement": "bottom", "always_visible": False}}),),
    (EditorField("window", "Moving average window", "input",
                 {"type": "number", "min": 1, "max": 1000, "step": 1, "value": 1, "size": "sm"}),
     EditorField("logy", None, "checklist",
                 {"options": [{"label": "Log scale (Y)", "value": "y"}, {"label": "Log scale (X)", "value": "x"}],
                  "value": [], "switch": True, "className": "mt-3 small"}, multi=True)),
    (EditorField("group", "Group experiments by", "dropdown", {"placeholder": "No grouping"}, dynamic=True),),
    (EditorField("group-stat", "Line", "dropdown",
                 {"value": "mean", "clearable": False,
                  "options": [{"label": s.capitalize(), "value": s} for s in ("mean", "median", "min", "max")]}),
     EditorField("group-band", "Band", "dropdown", {"value": "minmax", "clearable": False, "options": BAND_OPTIONS})),
    (EditorField("legend-show", "Legend (Auto: under the chart, hidden past 10 lines)", "radio",
                 {"inline": True, "value": "auto", "options": LEGEND_MODES, "className": "small"}),),
)


def title(cfg: dict) -> str:
    return ", ".join(cfg.get("metrics") or []) or "Line chart"


def is_complete(cfg: dict) -> bool:
    return bool(cfg.get("metrics"))


def describe(cfg: dict) -> str:
    return f"Line chart of {', '.join(cfg['metrics'])} against {cfg['x']}"


def prefill(cfg: dict, cat: dict) -> dict:
    metrics_ = cat.get("metrics") or []
    return {**cfg, "metrics": metrics_[:1]} if metrics_ else cfg


def editor_values(cfg: dict, cat: dict) -> dict:
    group = cfg.get("group") or {}
    group_value = (group["by"] if group.get("by") in ("tag", "table") else f"param:{group['name']}") if group else None
    group_opts = [{"label": "Follow the table's grouping", "value": "table"}, {"label": "Tags", "value": "tag"}] + [
        {"label": f"Parameter: {p}", "value": f"param:{p}"} for p in cat.get("params") or []]
    return {
        "metrics": {"options": metric_options(cat), "value": cfg["metrics"]},
        "x": {"options": X_OPTIONS + [{"label": f"Metric: {m}", "value": f"metric:{m}"}
                                      for m in cat.get("metrics") or []], "value": cfg["x"]},
        "x-transform": {"value": cfg["xTransform"]},
        "smoothing": {"value": cfg["smoothing"]},
        "window": {"value": cfg["window"]},
        "logy": {"value": ["y"] * cfg["logY"] + ["x"] * cfg["logX"]},
        "group": {"options": group_opts, "value": group_value},
        "group-stat": {"value": group.get("stat", "mean")},
        "group-band": {"value": group.get("band", "minmax")},
        "legend-show": {"value": cfg["showLegend"]},
    }


def from_editor(v: dict) -> dict:
    logy = v.get("logy") or []
    raw = {"metrics": v.get("metrics") or [], "x": v.get("x"), "smoothing": v.get("smoothing") or 0,
           "window": v.get("window") or 1, "logY": "y" in logy, "logX": "x" in logy,
           "xTransform": v.get("x-transform"), "showLegend": v.get("legend-show")}
    if v.get("group"):
        by, _, gname = str(v["group"]).partition(":")
        raw["group"] = {"by": by if by in ("tag", "table") else "param", "name": gname or None,
                        "stat": v.get("group-stat"), "band": v.get("group-band")}
    return raw


def figure(session, actor, project, filters, cfg: dict, *, title: str, x_range=None, cache=None,
           table_group_by: list[str] | None = None, **_):
    """The lines of the visible experiments (the first ``MAX_LINE_EXPERIMENTS``); a panel that
    follows the table's grouping groups by ``table_group_by`` (no grouping without it)."""
    from dashboard.services import panels, table_groups  # they build on the registry

    group = cfg.get("group")
    if group and group["by"] == "table" and not table_group_by:
        group = None
    exps = panels.panel_experiments(session, actor, project, filters, panels.MAX_LINE_EXPERIMENTS,
                                    params=[group["name"]] if group and group["by"] == "param" else (),
                                    with_tags=bool(group and group["by"] == "tag"))
    if group and group["by"] == "table":
        labels = table_groups.experiment_labels(session, [e["id"] for e in exps], table_group_by)
        for e in exps:
            e["group"] = labels.get(e["id"])
    series, invalid = panels.line_series(session, exps, cfg, x_range, cache)
    x_axis = cfg["x"]
    return line_chart.line_figure(series, title=title, x_axis=x_axis,
                                  x_label=x_axis[7:] if x_axis.startswith("metric:") else None,
                                  legend=cfg["legend"], smoothing=cfg["smoothing"], window=cfg["window"],
                                  log_y=cfg["logY"], log_x=cfg["logX"], outliers=cfg["outliers"],
                                  group=group, invalid=invalid, x_transform=cfg["xTransform"],
                                  show_legend=cfg["showLegend"])


PANEL = PanelType(
    type="line", label="Line Chart", icon="bi-graph-up",
    description="Metrics against step, epoch, duration, wall time or another metric.",
    config=LineConfig, editor_fields=EDITOR_FIELDS, title=title, is_complete=is_complete, describe=describe,
    prefill=prefill, editor_values=editor_values, from_editor=from_editor, graph="line", figure=figure,
    outliers=True,
)
