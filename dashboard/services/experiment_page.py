"""Reads and small writes behind the single-experiment page.

Every entry point takes the experiment key (from the URL or a browser Store, so untrusted) and
an Actor, and goes through ``experiments.get_readable`` / ``get_writable`` for the access
decision. Asset contents are read from the asset store, by generated names only.
"""
from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from dashboard.asset_store import AssetStore
from dashboard.auth import Actor, can_write_project
from dashboard.charts.style import empty_figure, palette_color
from dashboard.errors import Invalid, NotFound
from dashboard.services import artifacts, experiments
from dashboard.services.names import check_no_bidi, generated_experiment_name
from models import (
    Asset,
    Experiment,
    ExperimentTag,
    MetricSeries,
    OutputLine,
    Parameter,
    Project,
    SavedView,
    utcnow,
)

OUTPUT_PAGE_SIZE = 1000
MAX_NAME = 300
MAX_TAG = 200
MAX_NOTES = 100_000
MAX_PATTERN = 200
PREVIEW_CAP = 200_000
PREVIEW_EXTENSIONS = (".csv", ".js", ".json", ".log", ".md", ".py", ".rst", ".tsv", ".txt", ".yaml", ".yml")
CHART_VIEW_NAME = "Experiment charts"
KNOWN_GIT_HOSTS = ("github.com", "gitlab.com", "bitbucket.org")
# A group that repeats something and is itself repeated: the shape of catastrophic backtracking.
NESTED_REPEAT = re.compile(r"\([^()]*[+*}][^()]*\)\s*[+*{]")
COLOR = re.compile(r"#[0-9a-fA-F]{3,8}")


@dataclass
class Page:
    """What the page needs about one experiment, decided once per request."""

    experiment: Experiment
    project: Project
    workspace: str
    can_write: bool
    status: str


def open_page(session: Session, actor: Actor, workspace: str, project: str, key: str) -> Page:
    """The experiment at /workspace/project/key if the actor may read it, else NotFound."""
    exp = experiments.get_readable(session, actor, key)
    ws_name, project_name = experiments.location(session, exp)
    if ws_name.lower() != (workspace or "").lower() or project_name.lower() != (project or "").lower():
        raise NotFound(f"Experiment '{key}' not found")
    proj = session.get(Project, exp.project_id)
    return Page(exp, proj, ws_name, can_write_project(session, actor, proj), experiments.effective_status(exp))


def open_key(session: Session, actor: Actor, key: str) -> Page:
    exp = experiments.get_readable(session, actor, key or "")
    ws_name, _project = experiments.location(session, exp)
    proj = session.get(Project, exp.project_id)
    return Page(exp, proj, ws_name, can_write_project(session, actor, proj), experiments.effective_status(exp))


# --- which tabs have data -----------------------------------------------------------------

def asset_type_counts(session: Session, exp_id: int) -> dict[str, int]:
    rows = session.exec(select(Asset.type, func.count()).where(Asset.experiment_id == exp_id).group_by(Asset.type))
    return {t: n for t, n in rows.all()}


def has_rows(session: Session, model, exp_id: int) -> bool:
    return session.exec(select(model.id).where(model.experiment_id == exp_id).limit(1)).first() is not None


def tabs_with_data(session: Session, exp: Experiment) -> set[str]:
    counts = asset_type_counts(session, exp.id)
    present = {"charts", "notes", "metrics"}
    has_sys = session.exec(select(MetricSeries.id).where(
        MetricSeries.experiment_id == exp.id, MetricSeries.name.like("sys.%")).limit(1)).first() is not None
    checks = {
        "code": counts.get("code", 0) + counts.get("notebook", 0) > 0,
        "hyperparameters": has_rows(session, Parameter, exp.id),
        "graph": bool(exp.graph) or counts.get("model-graph", 0) > 0,
        "output": has_rows(session, OutputLine, exp.id),
        "system": has_sys or any([exp.host, exp.os, exp.python_version, exp.ip, exp.os_user]),
        "packages": bool((exp.installed_packages or "").strip()),
        "html": bool((exp.html or "").strip()),
        "graphics": counts.get("image", 0) > 0,
        "audio": counts.get("audio", 0) > 0,
        "text": counts.get("text", 0) > 0,
        "confusion": counts.get("confusion-matrix", 0) > 0,
        "histograms": counts.get("histogram3d", 0) > 0,
        "points3d": counts.get("3d-points", 0) > 0,
        "models": counts.get("model-element", 0) > 0,
        "assets": sum(counts.values()) > 0,
        "artifacts": artifacts.has_artifacts(session, exp),
    }
    return present | {tab for tab, ok in checks.items() if ok}


# --- metrics ------------------------------------------------------------------------------

def metric_summaries(session: Session, exp_id: int) -> list[MetricSeries]:
    return list(session.exec(
        select(MetricSeries).where(MetricSeries.experiment_id == exp_id).order_by(MetricSeries.name)).all())


def chart_series(session: Session, exp: Experiment, names: list[str], x_axis: str = "step", cache=None,
                 colors: dict | None = None, order: list[str] | None = None) -> tuple[list[dict], int]:
    """The named metrics of one experiment as the project's line panels read them (downsampled,
    rollup and cache; see ``panels.line_series``), ready for ``line.line_figure(per_metric=True)``:
    each line in the color picked for its metric, else the palette color of its place in ``order``."""
    from dashboard.services import panels  # panels reads the table's services, which read this module's models

    if not names:
        return [], 0
    order = order or names
    base = {"id": exp.id, "key": exp.key, "name": exp.name or exp.key}
    series, invalid = panels.line_series(session, [base], {"metrics": names[:200], "x": x_axis}, cache=cache)
    for s in series:
        name = s["metric"]
        s["exp"] = {**base, "color": (colors or {}).get(name)
                    or palette_color(order.index(name) if name in order else len(order))}
    return series, invalid


def chart_figure(session: Session, exp: Experiment, state: dict, index: int, cache=None):
    """The figure of chart ``index`` of a (cleaned) chart layout, or None past its end."""
    from dashboard.charts import line

    if index >= len(state["charts"]):
        return None
    names = sorted({m for c in state["charts"] for m in c["metrics"]})
    series, invalid = chart_series(session, exp, state["charts"][index]["metrics"], state["x_axis"], cache,
                                   state["colors"], names)
    if not series:
        return empty_figure("No data for this metric")
    fig = line.line_figure(series, x_axis=state["x_axis"], smoothing=state["smoothing"], invalid=invalid,
                           outliers="ignore" if state["ignore_outliers"] else "show", per_metric=True,
                           show_legend="auto" if len(series) > 1 else "hide")
    fig.update_layout(uirevision=f"chart-{index}")
    return fig


def system_series(session: Session, exp: Experiment, cache=None) -> list[dict]:
    """The ``sys.*`` metrics against wall time (epoch ms), one series dict per metric."""
    names = sorted(session.exec(select(MetricSeries.name).where(
        MetricSeries.experiment_id == exp.id, MetricSeries.name.like("sys.%"))).all())
    return chart_series(session, exp, names, "wall", cache)[0]


# --- output -------------------------------------------------------------------------------

def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def output_page(session: Session, exp: Experiment, search: str = "", page: int = 0,
                page_size: int = OUTPUT_PAGE_SIZE) -> tuple[list[OutputLine], int]:
    """One page of output lines (in offset order), optionally only those containing ``search``."""
    cond = [OutputLine.experiment_id == exp.id]
    if search:
        cond.append(func.lower(OutputLine.text).like(like_pattern(search[:500]), escape="\\"))
    total = session.exec(select(func.count()).select_from(OutputLine).where(*cond)).one()
    page = max(0, min(int(page or 0), max(0, (total - 1) // page_size)))
    rows = session.exec(select(OutputLine).where(*cond).order_by(OutputLine.offset, OutputLine.id)
                        .offset(page * page_size).limit(page_size)).all()
    return list(rows), int(total)


# --- assets -------------------------------------------------------------------------------

def assets(session: Session, exp: Experiment, types: tuple[str, ...] | None = None) -> list[Asset]:
    stmt = select(Asset).where(Asset.experiment_id == exp.id)
    if types:
        stmt = stmt.where(Asset.type.in_(types))
    return list(session.exec(stmt.order_by(Asset.file_name, Asset.step.nulls_first(), Asset.id)).all())


def get_asset(session: Session, exp: Experiment, asset_id: str) -> Asset:
    asset = session.exec(select(Asset).where(Asset.asset_id == (asset_id or ""),
                                             Asset.experiment_id == exp.id)).first()
    if asset is None:
        raise NotFound("Asset not found")
    return asset


def read_bytes(store: AssetStore, asset, cap: int | None = None) -> bytes:
    """An asset's (or MediaItem's) bytes from the store, at most ``cap`` of them."""
    return store.read(asset.storage_path, cap)


def read_text(store: AssetStore, asset: Asset, cap: int = PREVIEW_CAP) -> tuple[str, bool]:
    """(text, truncated): at most ``cap`` bytes decoded as UTF-8 with replacement."""
    data = read_bytes(store, asset, cap + 1)
    return data[:cap].decode("utf-8", errors="replace"), len(data) > cap


def read_json(store: AssetStore, asset: Asset, cap: int = 50_000_000):
    try:
        return json.loads(read_bytes(store, asset, cap))
    except ValueError as exc:
        raise Invalid(f"{asset.file_name} is not valid JSON") from exc


def metadata_of(asset: Asset) -> dict:
    try:
        data = json.loads(asset.metadata_json or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def previewable(name: str) -> bool:
    return (name or "").lower().endswith(PREVIEW_EXTENSIONS)


# --- filtering helpers (pure) -------------------------------------------------------------

FILTER_MODES = ("substring", "exact", "regex")
# A repeated group with alternatives that can overlap, e.g. (a|aa)+: backtracking blows up too.
REPEATED_ALTERNATION = re.compile(r"\([^()]*\|[^()]*\)\s*[+*{]")


def compile_name_regex(pattern: str) -> re.Pattern:
    """A user's regex for name filters, refused (Invalid, with the reason) when it is too long,
    malformed, or has the shapes that backtrack catastrophically."""
    if len(pattern) > MAX_PATTERN:
        raise Invalid(f"The filter is too long (at most {MAX_PATTERN} characters)")
    if NESTED_REPEAT.search(pattern):
        raise Invalid("Nested repetition like (a+)+ is not supported in filters")
    if REPEATED_ALTERNATION.search(pattern):
        raise Invalid("A repeated group of alternatives like (a|ab)+ is not supported in filters")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise Invalid(f"Invalid regular expression: {exc}") from exc


def name_matcher(pattern: str, mode: str = "substring"):
    """A predicate on names: 'exact' (the whole name, as typed), 'substring' (contains it, any
    case) or 'regex' (re.search on the first 1,000 characters).

    Raises Invalid for an unknown mode or a bad or overlong pattern, so the UI can say so."""
    pattern = (pattern or "").strip()
    if mode not in FILTER_MODES:
        raise Invalid("Pick a filter mode: substring, exact or regex")
    if not pattern:
        return lambda _name: True
    if len(pattern) > MAX_PATTERN:
        raise Invalid(f"The filter is too long (at most {MAX_PATTERN} characters)")
    if mode == "regex":
        rx = compile_name_regex(pattern)
        return lambda name: rx.search((name or "")[:1000]) is not None
    if mode == "exact":
        return lambda name: (name or "") == pattern
    needle = pattern.lower()
    return lambda name: needle in (name or "").lower()


# --- writes -------------------------------------------------------------------------------

def rename(session: Session, actor: Actor, key: str, name: str) -> Experiment:
    exp = experiments.get_writable(session, actor, key)
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise Invalid(f"A name has at most {MAX_NAME} characters")
    # an empty name gets a generated one: every run has a readable name
    exp.name = check_no_bidi(name, "An experiment name") or generated_experiment_name(session, exp.project_id)
    exp.updated_at = utcnow()
    session.add(exp)
    return exp


def add_tag(session: Session, actor: Actor, key: str, tag: str) -> list[str]:
    exp = experiments.get_writable(session, actor, key)
    tag = (tag or "").strip()
    if not tag or len(tag) > MAX_TAG:
        raise Invalid(f"A tag has 1-{MAX_TAG} characters")
    if tag not in experiments.tags(session, exp):
        session.add(ExperimentTag(experiment_id=exp.id, name=tag))
        session.flush()
    return experiments.tags(session, exp)


def remove_tag(session: Session, actor: Actor, key: str, tag: str) -> list[str]:
    exp = experiments.get_writable(session, actor, key)
    row = session.exec(select(ExperimentTag).where(ExperimentTag.experiment_id == exp.id,
                                                   ExperimentTag.name == tag)).first()
    if row is not None:
        session.delete(row)
        session.flush()
    return experiments.tags(session, exp)


def set_notes(session: Session, actor: Actor, key: str, text: str) -> Experiment:
    exp = experiments.get_writable(session, actor, key)
    text = text or ""
    if len(text) > MAX_NOTES:
        raise Invalid(f"Notes are limited to {MAX_NOTES} characters")
    exp.notes = text
    exp.updated_at = utcnow()
    session.add(exp)
    return exp


# --- the Charts tab's saved layout --------------------------------------------------------

def chart_view(session: Session, project_id: int) -> dict | None:
    """The project's saved experiment-page chart layout, if any."""
    row = session.exec(select(SavedView).where(
        SavedView.project_id == project_id, SavedView.kind == "experiment", SavedView.deleted == False  # noqa: E712
    ).order_by(SavedView.updated_at.desc())).first()
    if row is None:
        return None
    try:
        state = json.loads(row.state_json)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def clean_chart_state(state: dict) -> dict:
    """Only known keys and sane values are kept from a browser-supplied chart layout."""
    if not isinstance(state, dict):
        raise Invalid("Chart layout must be an object")
    charts = []
    for chart in (state.get("charts") if isinstance(state.get("charts"), list) else [])[:100]:
        metrics = [str(m)[:MAX_NAME] for m in (chart.get("metrics") or [])[:20]] \
            if isinstance(chart, dict) and isinstance(chart.get("metrics"), list) else []
        if metrics:
            charts.append({"metrics": metrics})
    colors = {str(k)[:MAX_NAME]: str(v)[:16] for k, v in (state.get("colors") or {}).items()
              if COLOR.fullmatch(str(v))} if isinstance(state.get("colors"), dict) else {}
    try:
        smoothing = min(max(float(state.get("smoothing") or 0), 0.0), 0.99)
    except (TypeError, ValueError):
        smoothing = 0.0
    x_axis = state.get("x_axis") if state.get("x_axis") in ("step", "epoch", "duration", "wall") else "step"
    return {"charts": charts, "colors": colors, "smoothing": smoothing, "x_axis": x_axis,
            "ignore_outliers": bool(state.get("ignore_outliers"))}


def save_chart_view(session: Session, actor: Actor, key: str, state: dict) -> SavedView:
    exp = experiments.get_writable(session, actor, key)
    clean = clean_chart_state(state)
    row = session.exec(select(SavedView).where(
        SavedView.project_id == exp.project_id, SavedView.kind == "experiment", SavedView.deleted == False  # noqa: E712
    )).first()
    if row is None:
        row = SavedView(project_id=exp.project_id, kind="experiment", name=CHART_VIEW_NAME, is_default=True,
                        created_by_id=actor.user_id)
    row.state_json = json.dumps(clean)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


# --- Reproduce ----------------------------------------------------------------------------

def repository_web_url(remote: str | None) -> str | None:
    """https://host/owner/repo for a GitHub/GitLab/Bitbucket remote (https or git@ form)."""
    if not remote:
        return None
    remote = remote.strip()
    m = re.fullmatch(r"(?:ssh://)?git@([\w.-]+)[:/]([\w./-]+?)(?:\.git)?/?", remote)
    if not m:
        m = re.fullmatch(r"https?://(?:[^@/]+@)?([\w.-]+)/([\w./-]+?)(?:\.git)?/?", remote)
    if not m or m.group(1).lower() not in KNOWN_GIT_HOSTS:
        return None
    return f"https://{m.group(1).lower()}/{m.group(2)}"


def commit_url(remote: str | None, commit: str | None) -> str | None:
    base = repository_web_url(remote)
    if not base or not commit or not re.fullmatch(r"[0-9a-fA-F]{7,64}", commit):
        return None
    if "bitbucket.org" in base:
        return f"{base}/commits/{commit}"
    if "gitlab.com" in base:
        return f"{base}/-/commit/{commit}"
    return f"{base}/commit/{commit}"


def run_command(exp: Experiment) -> str | None:
    try:
        argv = json.loads(exp.command) if exp.command else None
    except ValueError:
        argv = None
    if isinstance(argv, list) and argv:
        argv = [str(a) for a in argv]
        if exp.python_executable and "python" not in Path(argv[0]).name:
            argv = [exp.python_executable] + argv
        return shlex.join(argv)
    if exp.file_path or exp.file_name:
        return shlex.join([exp.python_executable or "python", exp.file_path or exp.file_name])
    return None


def restore_commands(exp: Experiment, patch: Asset | None, base_url: str) -> list[str]:
    """The shell commands that bring a working tree back to where the run started."""
    lines = []
    if exp.git_branch:
        branch = exp.git_branch.removeprefix("refs/heads/")
        lines.append(f"git checkout {shlex.quote(branch)}")
    if exp.git_commit:
        lines.append(f"git checkout {shlex.quote(exp.git_commit)}")
    if patch is not None:
        url = f"{base_url.rstrip('/')}/api/v1/experiments/{exp.key}/assets/{patch.asset_id}"
        lines.append(f'curl -H "Authorization: $HALLEY_API_KEY" {shlex.quote(url)} > patch.zip')
        lines.append("unzip patch.zip")
        lines.append("git apply git_diff.patch")
    return lines


def started_label(value: datetime | None) -> str:
    value = experiments.as_utc(value)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


# --- Graphics and Audio lists -------------------------------------------------------------

@dataclass
class MediaItem:
    asset_id: str
    name: str
    step: int | None
    context: str | None
    storage_path: str
    size: int


def media_items(session: Session, exp: Experiment, asset_type: str) -> list[MediaItem]:
    rows = session.exec(select(Asset.asset_id, Asset.file_name, Asset.step, Asset.context, Asset.storage_path,
                               Asset.size).where(Asset.experiment_id == exp.id, Asset.type == asset_type)).all()
    return [MediaItem(*row) for row in rows]


def filter_media(items: list[MediaItem], *, pattern: str = "", mode: str = "substring", step=None,
                 sort: str = "name", descending: bool = False) -> list[MediaItem]:
    """Items whose name matches (exact, substring or regex) at the chosen step, sorted."""
    match = name_matcher(pattern, mode)
    try:
        wanted = None if step in (None, "", "all") else int(step)
    except (TypeError, ValueError):
        raise Invalid("Pick a step from the list") from None
    out = [i for i in items if match(i.name) and (wanted is None or i.step == wanted)]
    if sort == "step":
        key = lambda i: (i.step is None, i.step or 0, i.name)  # noqa: E731
    else:
        key = lambda i: (i.name.lower(), i.step or 0)  # noqa: E731
    return sorted(out, key=key, reverse=descending)


def steps_of(items: list[MediaItem]) -> list[int]:
    return sorted({i.step for i in items if i.step is not None})


# --- Confusion matrices and histograms ----------------------------------------------------

def confusion_matrix(session: Session, exp: Experiment, store: AssetStore, asset_id: str):
    """The parsed matrix, restricted to ``selected`` or to the 25 most confused categories."""
    from dashboard.charts import confusion_matrix as cmx

    asset = get_asset(session, exp, asset_id)
    if asset.type != "confusion-matrix":
        raise NotFound("Confusion matrix not found")
    doc = read_json(store, asset)
    if not isinstance(doc, dict):
        raise Invalid("Confusion matrix file is not a JSON object")
    try:
        cm = cmx.parse(doc)
    except (ValueError, TypeError) as exc:
        raise Invalid(f"Confusion matrix can't be shown: {exc}") from exc
    selected = doc.get("selected") or metadata_of(asset).get("selected")
    return cmx.restrict(cm, selected if isinstance(selected, list) else None)


def histograms(session: Session, exp: Experiment, store: AssetStore) -> dict[str, list]:
    """Every logged histogram, decoded and grouped by name (files that don't parse are skipped)."""
    from dashboard.charts import histogram3d

    out: dict[str, list] = {}
    for asset in assets(session, exp, ("histogram3d",)):
        try:
            doc = json.loads(read_bytes(store, asset, 20_000_000))
            out.setdefault(asset.file_name, []).append(histogram3d.decode(doc, asset.step))
        except (ValueError, TypeError, KeyError, NotFound):
            continue
    return out


def histogram_names(session: Session, exp: Experiment) -> list[str]:
    return sorted(set(session.exec(select(Asset.file_name).where(
        Asset.experiment_id == exp.id, Asset.type == "histogram3d")).all()))
