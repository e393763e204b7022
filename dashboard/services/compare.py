"""The diff of two experiments: everything the compare page shows, gathered with access checks."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from sqlmodel import Session

from dashboard.auth import Actor
from dashboard.charts.style import experiment_color
from dashboard.config import Settings
from dashboard.errors import Invalid, NotFound
from dashboard.services import assets, experiments, metrics
from dashboard.services.projects import get_readable as get_project
from models import AssetType, Experiment

MAX_CODE_BYTES = 256 * 1024  # larger code files are compared by size only
MAX_CHART_METRICS = 24


@dataclass
class Side:
    experiment: Experiment
    label: str
    color: str  # how the experiment is drawn everywhere (style.experiment_color)
    parameters: dict[str, str]
    metrics: dict[str, dict]
    others: dict[str, str]
    tags: list[str]
    system: dict[str, str]
    packages: list[str]
    code: dict[str, str | None] = field(default_factory=dict)  # file name -> text (None: too large)


@dataclass
class Comparison:
    a: Side
    b: Side

    def shared_metrics(self) -> list[str]:
        """Metrics both logged, the user's own first and system metrics (sys.*) after them."""
        return metrics.display_order(set(self.a.metrics) & set(self.b.metrics))


def parse_keys(raw: str | None) -> list[str]:
    keys = [k.strip() for k in (raw or "").split(",") if k.strip()]
    if len(keys) != 2 or keys[0] == keys[1]:
        raise Invalid("Choose exactly two different experiments to compare")
    return keys


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        finite = value == value and abs(value) != float("inf")
        return f"{value:.6g}" if finite else metrics.encode_value(value)
    return str(value)


def _side(session: Session, settings: Settings, exp: Experiment) -> Side:
    sys = experiments.system(exp)
    details = {k: (" ".join(v) if isinstance(v, list) else _text(v)) for k, v in sys["details"].items()}
    details.update({f"git_{k}": _text(v) for k, v in sys["git"].items()})
    details.update({f"info: {k}": _text(v) for k, v in sys["system_info"].items()})
    summary = {  # the last value stays when retention purged a series' points
        s.name: {"last": _text(s.last_value), "min": _text(s.min_value),
                 "max": _text(s.max_value)}
        for s in metrics.summaries(session, [exp.id])
    }
    code: dict[str, str | None] = {}
    for asset in assets.list_for(session, exp, AssetType.code.value):
        if asset.size > MAX_CODE_BYTES:
            code[asset.file_name] = None
            continue
        try:
            code[asset.file_name] = assets.read_asset(settings, asset).decode("utf-8", errors="replace")
        except (OSError, NotFound):
            code[asset.file_name] = None
    return Side(
        experiment=exp,
        label=exp.name or exp.key,
        color=experiment_color(exp),
        parameters={p.name: p.value_text if p.value_text is not None else _text(p.value_num)
                    for p in experiments.parameters(session, exp)},
        metrics=summary,
        others={o.key: o.value or "" for o in experiments.others(session, exp)},
        tags=experiments.tags(session, exp),
        system=details,
        packages=sys["installed_packages"],
        code=code,
    )


def load(session: Session, settings: Settings, actor: Actor, workspace: str, project: str,
         raw_keys: str | None) -> Comparison:
    """Both experiments, each readable by the actor and in this project (else NotFound)."""
    proj = get_project(session, actor, workspace, project)
    sides = []
    for key in parse_keys(raw_keys):
        exp = experiments.get_readable(session, actor, key)
        if exp.project_id != proj.id:
            raise NotFound(f"Experiment '{key}' not found in {workspace}/{project}")
        sides.append(_side(session, settings, exp))
    return Comparison(*sides)


def metric_series(session: Session, comparison: Comparison, names: list[str]) -> dict[str, dict[int, metrics.Series]]:
    """The shared metrics' series of both experiments (one query per metric)."""
    ids = [comparison.a.experiment.id, comparison.b.experiment.id]
    return {name: metrics.series_many(session, ids, name) for name in names[:MAX_CHART_METRICS]}


# --- pure diff helpers --------------------------------------------------------------------

def keyed_rows(a: dict, b: dict) -> list[tuple[str, str, str, bool]]:
    """(key, a value, b value, differs) for the union of keys, sorted by key."""
    return [(k, _text(a.get(k)), _text(b.get(k)), _text(a.get(k)) != _text(b.get(k)))
            for k in sorted(set(a) | set(b))]


def text_diff(a: list[str], b: list[str], context: int | None = 3) -> list[tuple]:
    """Side-by-side rows (tag, a line no, a text, b line no, b text) from difflib opcodes.

    ``tag`` is equal / replace / delete / insert / skip (a folded run of unchanged lines).
    """
    rows: list[tuple] = []
    groups = ([difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()] if context is None
              else list(difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context)))
    for gi, group in enumerate(groups):
        if gi and context is not None:
            rows.append(("skip", None, "", None, ""))
        for tag, i1, i2, j1, j2 in group:
            n = max(i2 - i1, j2 - j1)
            for k in range(n):
                ai, bj = i1 + k, j1 + k
                rows.append((
                    tag,
                    ai + 1 if ai < i2 else None, a[ai] if ai < i2 else "",
                    bj + 1 if bj < j2 else None, b[bj] if bj < j2 else "",
                ))
    return rows


def packages_map(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        name, sep, version = line.partition("==")
        out[name.strip().lower()] = version.strip() if sep else line
    return out
