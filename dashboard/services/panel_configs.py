"""Panel configurations: the JSON a view state's ``panels`` list and a user's collection
(``PanelTemplate``) hold, validated from untrusted input, plus the gallery's Featured panels."""
from __future__ import annotations

import hashlib
import json
import math

from sqlalchemy import select
from sqlmodel import Session

from dashboard.auth import Actor
from dashboard.charts import grouping, line, parcoords, transforms
from dashboard.errors import Invalid
from models import PanelTemplate

PANEL_TYPES = ("line", "bar", "scatter", "parcoords")
X_AXES = ("step", "epoch", "duration", "wall")
MAX_METRICS = 10
MAX_AXES = 30


def _text(value, limit: int = 300) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > limit or any(ord(c) < 32 for c in value):
        return None
    return value


def _number(value, lo: float, hi: float, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return default
    return min(max(float(value), lo), hi)


def _axis(raw) -> dict | None:
    """A scatter axis: ``{"source": "metric"|"param", "name", "transform"}``."""
    if not isinstance(raw, dict) or not _text(raw.get("name")):
        return None
    source = raw.get("source") if raw.get("source") in ("metric", "param") else "metric"
    transform = raw.get("transform") if raw.get("transform") in transforms.AXIS_TRANSFORMS else "last"
    return {"source": source, "name": _text(raw["name"]), "transform": transform,
            "smoothing": _number(raw.get("smoothing"), 0, 0.99, 0.6), "window": int(_number(raw.get("window"), 1, 1000, 5))}


def is_panel_id(value) -> bool:
    """Panel ids are 1-32 letters and digits (``normalize_panel`` makes one for a panel without)."""
    return isinstance(value, str) and value.isalnum() and len(value) <= 32


def default_panel(kind: str) -> dict:
    if kind not in PANEL_TYPES:
        raise Invalid(f"Unknown panel type '{kind}'")
    return normalize_panel({"type": kind})


def normalize_panel(raw) -> dict:
    """A valid panel config from untrusted JSON (unknown keys dropped, values clamped)."""
    if not isinstance(raw, dict) or raw.get("type") not in PANEL_TYPES:
        raise Invalid("A panel needs a type: line, bar, scatter or parcoords")
    kind = raw["type"]
    pid = raw.get("id") if is_panel_id(raw.get("id")) else None
    if pid is None:  # stable, so a view written without ids doesn't look changed on every load
        pid = hashlib.sha1(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:12]
    panel = {"id": pid, "type": kind, "name": _text(raw.get("name"), 200) or "",
             "legend": "key" if raw.get("legend") == "key" else "name",
             "outliers": "ignore" if raw.get("outliers") == "ignore" else "show"}
    if kind == "line":
        names = [_text(m) for m in raw.get("metrics") or [] if _text(m)] if isinstance(raw.get("metrics"), list) else []
        x = raw.get("x")
        if not (x in X_AXES or (isinstance(x, str) and x.startswith("metric:") and _text(x[7:]))):
            x = "step"
        group = raw.get("group") if isinstance(raw.get("group"), dict) else None
        # "table": the experiment table's grouping, whatever it is when the panel is drawn
        if group and group.get("by") in ("param", "tag", "table") and (
                group.get("by") in ("tag", "table") or _text(group.get("name"))):
            group = {"by": group["by"], "name": _text(group.get("name")),
                     "stat": group.get("stat") if group.get("stat") in grouping.STATS else "mean",
                     "band": group.get("band") if group.get("band") in grouping.BANDS else "minmax"}
        else:
            group = None
        panel.update(metrics=list(dict.fromkeys(names))[:MAX_METRICS], x=x, group=group,
                     smoothing=_number(raw.get("smoothing"), 0, 0.99, 0.0),
                     window=int(_number(raw.get("window"), 1, 1000, 1)),
                     logY=raw.get("logY") is True, logX=raw.get("logX") is True,
                     xTransform=raw.get("xTransform") if raw.get("xTransform") in line.X_TRANSFORMS else "none",
                     showLegend=raw.get("showLegend") if raw.get("showLegend") in line.LEGENDS else "auto")
    elif kind == "bar":
        panel.update(metric=_text(raw.get("metric")),
                     aggregation=raw.get("aggregation") if raw.get("aggregation") in transforms.AGGREGATIONS else "sum")
    elif kind == "scatter":
        panel.update(xAxis=_axis(raw.get("xAxis")), yAxis=_axis(raw.get("yAxis")))
    else:
        axes = raw.get("axes") if isinstance(raw.get("axes"), list) else []
        clean = [a for a in axes if isinstance(a, str) and a.split(":", 1)[0] in ("param", "metric") and _text(a[a.find(":") + 1:])]
        axes = list(dict.fromkeys(clean))[:MAX_AXES]
        scales = raw.get("scales") if isinstance(raw.get("scales"), dict) else {}
        panel.update(axes=axes, scales={a: v for a, v in scales.items()
                                        if a in axes and v in parcoords.SCALES and v != "auto"})
    return panel


def normalize_panels(items) -> list[dict]:
    """The valid panels of a view state's ``panels`` list (invalid entries are dropped)."""
    out, seen = [], set()
    for item in items if isinstance(items, list) else []:
        try:
            panel = normalize_panel(item)
        except Invalid:
            continue
        while panel["id"] in seen:
            panel["id"] = hashlib.sha1(panel["id"].encode()).hexdigest()[:12]
        seen.add(panel["id"])
        out.append(panel)
    return out[:50]


def find_panel(panels, pid) -> dict | None:
    """The valid panel with id ``pid`` in a view state's ``panels`` list, if any."""
    return next((p for p in normalize_panels(panels) if p["id"] == pid), None)


def panel_title(panel: dict) -> str:
    if panel.get("name"):
        return panel["name"]
    kind = panel["type"]
    if kind == "line":
        return ", ".join(panel.get("metrics") or []) or "Line chart"
    if kind == "bar":
        return f"{panel.get('metric') or 'Bar chart'} ({panel.get('aggregation')})"
    if kind == "scatter":
        x, y = panel.get("xAxis"), panel.get("yAxis")
        return f"{y['name']} vs {x['name']}" if x and y else "Scatter chart"
    return "Parallel coordinates"


def is_complete(panel: dict) -> bool:
    kind = panel["type"]
    if kind == "line":
        return bool(panel.get("metrics"))
    if kind == "bar":
        return bool(panel.get("metric"))
    if kind == "scatter":
        return bool(panel.get("xAxis") and panel.get("yAxis"))
    return len(panel.get("axes") or []) >= 2


# --- templates (the user's own collection) -------------------------------------------------

def list_templates(session: Session, actor: Actor) -> list[dict]:
    if not actor.is_authenticated:
        return []
    rows = session.execute(select(PanelTemplate).where(PanelTemplate.user_id == actor.user_id)
                           .order_by(PanelTemplate.created_at.desc())).scalars().all()
    out = []
    for t in rows:
        try:
            out.append({"id": t.id, "name": t.name, "config": normalize_panel(_json_loads(t.config_json))})
        except Invalid:
            continue
    return out


def save_template(session: Session, actor: Actor, panel: dict) -> PanelTemplate:
    if not actor.is_authenticated:
        raise Invalid("Sign in to keep panels in your collection")
    panel = normalize_panel(panel)
    row = PanelTemplate(user_id=actor.user_id, name=panel_title(panel)[:200], config_json=json.dumps(panel))
    session.add(row)
    session.flush()
    return row


def delete_template(session: Session, actor: Actor, template_id: int) -> None:
    row = session.get(PanelTemplate, template_id) if isinstance(template_id, int) else None
    if row is None or row.user_id != actor.user_id:
        raise Invalid("No such panel in your collection")
    session.delete(row)


def _json_loads(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


def featured_panels(cat: dict) -> list[dict]:
    """Ready-made panels for this project's metrics and parameters (the gallery's Featured tab)."""
    metrics_, params = cat.get("metrics") or [], cat.get("params") or []
    if not metrics_ and not params:
        return []

    def prefer(words):
        for w in words:
            for m in metrics_:
                if w in m.lower():
                    return m
        return metrics_[0] if metrics_ else None

    loss = prefer(("loss",))
    target = prefer(("acc", "loss"))
    out = []
    if metrics_:
        out.append({"type": "line", "name": "Training curves", "metrics": metrics_[:3], "x": "step"})
        out.append({"type": "line", "name": f"{loss} (smoothed)", "metrics": [loss], "smoothing": 0.8})
        out.append({"type": "bar", "name": f"Average {target} per experiment", "metric": target,
                    "aggregation": "average"})
    if params and metrics_:
        out.append({"type": "parcoords", "name": "Hyperparameter sweep",
                    "axes": [f"param:{p}" for p in params[:7]] + [f"metric:{target}"]})
        out.append({"type": "scatter", "name": f"{target} by {params[0]}",
                    "xAxis": {"source": "param", "name": params[0]},
                    "yAxis": {"source": "metric", "name": target, "transform": "last"}})
    return [normalize_panel(p) for p in out]
