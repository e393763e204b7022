"""Panel configurations: the JSON a view state's ``panels`` list and a user's collection
(``PanelTemplate``) hold, validated from untrusted input, plus the gallery's Featured panels."""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlmodel import Session

from dashboard.auth import Actor
from dashboard.errors import Invalid
from dashboard.panel_types import PANEL_TYPES, REGISTRY, is_panel_id, panel_type, parse_panel  # noqa: F401
from dashboard.panel_types.line import MAX_METRICS, X_AXES  # noqa: F401
from dashboard.panel_types.parcoords import MAX_AXES  # noqa: F401
from models import PanelTemplate


def default_panel(kind: str) -> dict:
    panel_type(kind)
    return normalize_panel({"type": kind})


def normalize_panel(raw) -> dict:
    """A valid panel config from untrusted JSON (unknown keys dropped, values clamped), as the
    JSON views keep; see ``dashboard.panel_types``."""
    return parse_panel(raw).model_dump()


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
    return panel.get("name") or REGISTRY[panel["type"]].title(panel)


def is_complete(panel: dict) -> bool:
    return REGISTRY[panel["type"]].is_complete(panel)


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
