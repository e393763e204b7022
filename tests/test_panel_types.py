"""The panel-type registry, without a server: configs validate exactly as the hand-written
``normalize_panel`` did (saved views load identically), and every type is wired the same way."""
import hashlib
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dashboard.charts import grouping, line, parcoords, transforms
from dashboard.errors import Invalid
from dashboard.panel_types import REGISTRY, PanelConfig, parse_panel
from dashboard.services.panel_configs import (
    default_panel, featured_panels, is_complete, normalize_panel, normalize_panels, panel_title,
)

# --- the normalize_panel that views were saved with, kept as the reference ----------------

_X_AXES = ("step", "epoch", "duration", "wall")


def _text(value, limit: int = 300):
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > limit or any(ord(c) < 32 for c in value):
        return None
    return value


def _number(value, lo, hi, default):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return default
    return min(max(float(value), lo), hi)


def _axis(raw):
    if not isinstance(raw, dict) or not _text(raw.get("name")):
        return None
    source = raw.get("source") if raw.get("source") in ("metric", "param") else "metric"
    transform = raw.get("transform") if raw.get("transform") in transforms.AXIS_TRANSFORMS else "last"
    return {"source": source, "name": _text(raw["name"]), "transform": transform,
            "smoothing": _number(raw.get("smoothing"), 0, 0.99, 0.6), "window": int(_number(raw.get("window"), 1, 1000, 5))}


def _is_panel_id(value):
    return isinstance(value, str) and value.isalnum() and len(value) <= 32


def old_normalize_panel(raw) -> dict:
    if not isinstance(raw, dict) or raw.get("type") not in ("line", "bar", "scatter", "parcoords"):
        raise Invalid("A panel needs a type: line, bar, scatter or parcoords")
    kind = raw["type"]
    pid = raw.get("id") if _is_panel_id(raw.get("id")) else None
    if pid is None:
        pid = hashlib.sha1(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:12]
    panel = {"id": pid, "type": kind, "name": _text(raw.get("name"), 200) or "",
             "legend": "key" if raw.get("legend") == "key" else "name",
             "outliers": "ignore" if raw.get("outliers") == "ignore" else "show"}
    if kind == "line":
        names = [_text(m) for m in raw.get("metrics") or [] if _text(m)] if isinstance(raw.get("metrics"), list) else []
        x = raw.get("x")
        if not (x in _X_AXES or (isinstance(x, str) and x.startswith("metric:") and _text(x[7:]))):
            x = "step"
        group = raw.get("group") if isinstance(raw.get("group"), dict) else None
        if group and group.get("by") in ("param", "tag", "table") and (
                group.get("by") in ("tag", "table") or _text(group.get("name"))):
            group = {"by": group["by"], "name": _text(group.get("name")),
                     "stat": group.get("stat") if group.get("stat") in grouping.STATS else "mean",
                     "band": group.get("band") if group.get("band") in grouping.BANDS else "minmax"}
        else:
            group = None
        panel.update(metrics=list(dict.fromkeys(names))[:10], x=x, group=group,
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
        axes = list(dict.fromkeys(clean))[:30]
        scales = raw.get("scales") if isinstance(raw.get("scales"), dict) else {}
        panel.update(axes=axes, scales={a: v for a, v in scales.items()
                                        if a in axes and v in parcoords.SCALES and v != "auto"})
    return panel


# --- inputs: the shapes saved views hold, and garbage in every field ------------------------

CASES = [
    {"type": "line"}, {"type": "bar"}, {"type": "scatter"}, {"type": "parcoords"},
    {"type": "line", "metrics": ["a", "a", 3, "x" * 400], "smoothing": 7, "x": "bogus", "id": "../x", "extra": 1},
    {"id": "abc", "type": "line", "metrics": ["loss"], "logY": True},
    {"type": "line", "metrics": ["m"], "xTransform": "cube", "showLegend": 1, "logX": "yes"},
    {"type": "line", "metrics": ["loss"], "group": {"by": "table", "band": "minmax"}},
    {"type": "line", "metrics": ["loss"], "group": {"by": "param", "name": "lr", "stat": "median", "band": "std"}},
    {"type": "line", "metrics": ["loss"], "group": {"by": "param"}}, {"type": "line", "group": {"by": ["tag"]}},
    {"type": "line", "metrics": "loss", "x": "metric:acc", "window": 1e9, "smoothing": float("nan")},
    {"type": "line", "x": "metric:", "window": True, "smoothing": -1, "legend": "key", "outliers": "ignore"},
    {"type": "line", "x": ["step"], "metrics": [f"m{i}" for i in range(30)], "name": "  padded  "},
    {"type": "line", "name": "tab\there", "id": "A" * 33}, {"type": "line", "name": "x" * 201, "id": "ok1"},
    {"type": "bar", "metric": "acc", "aggregation": "average"}, {"type": "bar", "metric": 3, "aggregation": "pie"},
    {"type": "bar", "metric": " ", "aggregation": ["sum"]},
    {"type": "scatter", "xAxis": {"source": "param", "name": "lr"}, "yAxis": {"name": "acc", "transform": "log"}},
    {"type": "scatter", "xAxis": {"source": "x", "name": "lr", "smoothing": 2, "window": 0}, "yAxis": "acc"},
    {"type": "scatter", "xAxis": {"name": ""}, "yAxis": {"name": "a", "transform": "smoothing", "window": 7.9}},
    {"type": "parcoords", "axes": ["param:lr", "metric:acc", "param:lr", "bogus:x", "metric:", 5],
     "scales": {"param:lr": "log", "metric:acc": "auto", "param:zz": "linear"}},
    {"type": "parcoords", "axes": [f"param:p{i}" for i in range(40)], "scales": ["log"]},
    {"type": "parcoords", "axes": "param:lr", "scales": {"param:lr": ["log"]}},
    {"type": "pie"}, {"type": ["line"]}, {"type": None}, {}, [], "line", None, 3,
]


def _same(raw):
    try:
        expected = old_normalize_panel(raw)
    except Invalid as exc:
        with pytest.raises(Invalid) as new_exc:
            normalize_panel(raw)
        assert new_exc.value.message == exc.message
        return
    got = normalize_panel(raw)
    assert got == expected
    assert list(got) == list(expected)  # the same JSON, key for key
    assert normalize_panel(got) == got  # loading a saved panel keeps it as it is
    assert normalize_panel(expected) == expected


@pytest.mark.parametrize("raw", CASES)
def test_configs_validate_as_saved_views_were_written(raw):
    _same(raw)


garbage = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True)
                       | st.text(max_size=12) | st.sampled_from(["step", "metric:acc", "param:lr", "key", "log",
                                                                 "table", "tag", "param", "mean", "std", "auto"]),
                       lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner,
                                                                                    max_size=4), max_leaves=12)
FIELDS = ["id", "name", "legend", "outliers", "metrics", "x", "group", "smoothing", "window", "logY", "logX",
          "xTransform", "showLegend", "metric", "aggregation", "xAxis", "yAxis", "axes", "scales"]
AXIS = st.fixed_dictionaries({}, optional={"source": garbage | st.sampled_from(["metric", "param"]),
                                           "name": garbage, "transform": garbage | st.sampled_from(["log", "min"]),
                                           "smoothing": garbage, "window": garbage})
GROUP = st.fixed_dictionaries({}, optional={"by": st.sampled_from(["param", "tag", "table", "x"]) | garbage,
                                            "name": garbage, "stat": st.sampled_from(["median", "max"]) | garbage,
                                            "band": st.sampled_from(["sem", "none"]) | garbage})
panels_raw = st.fixed_dictionaries(
    {"type": st.sampled_from(["line", "bar", "scatter", "parcoords", "pie"])},
    optional={**{f: garbage for f in FIELDS}, "xAxis": AXIS | garbage, "yAxis": AXIS | garbage,
              "group": GROUP | garbage, "axes": st.lists(st.sampled_from(["param:lr", "metric:acc", "x:y", "metric:"])
                                                         | garbage, max_size=6)})


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panels_raw)
def test_any_untrusted_panel_validates_as_before(raw):
    _same(raw)


def test_every_type_is_one_registry_entry():
    assert list(REGISTRY) == ["line", "bar", "scatter", "parcoords"]
    union = PanelConfig.__origin__.__args__ if hasattr(PanelConfig, "__origin__") else ()
    assert {m.model_fields["type"].annotation.__args__[0] for m in union} == set(REGISTRY)
    controls = [f.control for p in REGISTRY.values() for f in p.fields]
    assert len(controls) == len(set(controls))  # each editor control belongs to one type
    for kind, entry in REGISTRY.items():
        cfg = default_panel(kind)
        assert isinstance(parse_panel(cfg), entry.config)
        assert not is_complete(cfg) and panel_title(cfg)
        values = entry.editor_values(cfg, {"metrics": ["loss"], "params": ["lr"]})
        assert set(values) == {f.control for f in entry.fields}
        assert all("options" in values[f.control] for f in entry.fields if f.dynamic)
        # what the editor shows reads back as the same panel
        flat = {c: v["value"] for c, v in values.items()}
        back = normalize_panel({**{k: cfg[k] for k in ("id", "type", "name", "legend", "outliers")},
                                **entry.from_editor(flat)})
        assert back == cfg
        filled = normalize_panel(entry.prefill(cfg, {"metrics": ["loss", "acc"], "params": ["lr"]}))
        assert is_complete(filled) and entry.describe(filled)
        flat = {c: v["value"] for c, v in entry.editor_values(filled, {}).items()}
        assert normalize_panel({**{k: filled[k] for k in ("id", "type", "name", "legend", "outliers")},
                                **entry.from_editor(flat)}) == filled
    # a type draws itself (re-read on zoom) or from the view's experiments, not both
    assert all((p.graph == "line") == (p.figure is not None) != (p.summary_figure is not None)
               for p in REGISTRY.values())


def test_titles_and_featured_panels_are_unchanged():
    assert panel_title(normalize_panel({"type": "line", "metrics": ["a", "b"]})) == "a, b"
    assert panel_title(normalize_panel({"type": "bar", "metric": "acc"})) == "acc (sum)"
    assert panel_title(normalize_panel({"type": "bar"})) == "Bar chart (sum)"
    assert panel_title(normalize_panel({"type": "scatter", "xAxis": {"name": "lr"}, "yAxis": {"name": "acc"}})) == \
        "acc vs lr"
    assert panel_title(normalize_panel({"type": "parcoords", "name": "Mine"})) == "Mine"
    featured = featured_panels({"metrics": ["loss", "acc"], "params": ["lr"]})
    assert [p["type"] for p in featured] == ["line", "line", "bar", "parcoords", "scatter"]
    assert normalize_panels(featured + [{"type": "pie"}, featured[0]])[:5] == featured
    with pytest.raises(Invalid, match="Unknown panel type 'pie'"):
        default_panel("pie")


def test_the_editor_has_a_section_per_type_built_from_its_fields():
    from layouts.components.panel_editor import panel_editor
    from layouts.components.panel_gallery import built_in_cards

    found = {}

    def walk(node):
        if hasattr(node, "id") and isinstance(getattr(node, "id", None), str):
            found[node.id] = node
        children = getattr(node, "children", None)
        for child in children if isinstance(children, (list, tuple)) else [children] if children is not None else []:
            walk(child)

    walk(panel_editor())
    for i, (kind, entry) in enumerate(REGISTRY.items()):
        section = found[f"project-editor-{kind}"]
        assert (getattr(section, "style", None) is None) == (i == 0)  # the first type's section shows first
        for f in entry.fields:
            control = found[f"project-editor-{f.control}"]
            assert type(control).__name__ == {"dropdown": "Dropdown", "slider": "Slider", "input": "Input",
                                              "checklist": "Checklist", "radio": "RadioItems"}[f.kind]
            assert getattr(control, "multi", False) == (f.multi and f.kind == "dropdown")
    cards = str(built_in_cards())
    assert all(p.label in cards and p.icon in cards and f"builtin:{p.type}" in cards for p in REGISTRY.values())
