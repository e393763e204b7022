"""The project's experiment table, computed in SQL: pages of rows, sorting, filtering,
group-by counts, constant-column detection and CSV export.

Nothing here loads every experiment of a project: a page is one SELECT with OFFSET/LIMIT
over the filtered, sorted experiments, and the values of the page's parameter, metric and
"other" columns come from one query per kind for the page's ids only.

The view state they read (columns, filters, grouping, panels) is ``view_state.ProjectViewState``;
its functions are imported here too for older callers.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Callable, Iterator

from sqlalchemy import Select, case, func, select
from sqlmodel import Session

from dashboard import query as q
from dashboard.auth import Actor
from dashboard.charts.style import experiment_color
from dashboard.errors import Invalid
from dashboard.services.view_state import (  # noqa: F401  (the view state's home; kept for callers)
    DEFAULT_COLUMNS, MAX_COLUMNS, MAX_STATE_BYTES, clean_column_state, decode_state, default_state, encode_state,
    normalize_state,
)
from models import Experiment, ExperimentTag, MetricSeries, Other, Parameter, Project

MAX_PAGE = 1000
CSV_CHUNK = 2000


def sort_model_of(state: dict) -> list[dict]:
    """The AG Grid sort model the column state describes."""
    sorted_cols = [c for c in state.get("columnState", []) if c.get("sort")]
    sorted_cols.sort(key=lambda c: c.get("sortIndex") or 0)
    return [{"colId": c["colId"], "sort": c["sort"]} for c in sorted_cols]


def shown_columns(state: dict) -> list[str]:
    """The view's columns in display order (the column state's order first)."""
    columns = list(state.get("columns") or [])
    ordered = [c["colId"] for c in state.get("columnState", []) if c["colId"] in columns]
    return ordered + [c for c in columns if c not in ordered]


# --- the compiled query, reusable by the project panels ------------------------------------

def group_condition(col: q.Column, value: Any):
    """Experiments whose ``col`` displays ``value`` (None = empty)."""
    if col.kind == "tags":
        if value is None:
            return ~select(ExperimentTag.id).where(ExperimentTag.experiment_id == Experiment.id).exists()
        return select(ExperimentTag.id).where(ExperimentTag.experiment_id == Experiment.id,
                                              ExperimentTag.name == str(value)).exists()
    expr = q.value_expression(col)
    if value is None:
        return expr.is_(None)
    if q.attribute_type(col) == "number":
        return expr == q._number(value)
    return expr == value


def matching_select(project: Project, filters: Any, group: tuple[str, Any] | list[tuple[str, Any]] | None = None,
                    include_archived: bool = False) -> Select:
    """SELECT Experiment.id of the project's experiments that match a filter model (and are
    in a group: a (column id, value) pair, or a list of them for nested groups).

    The caller must have checked read access to ``project`` (see ``matching_ids``).
    """
    stmt = select(Experiment.id).where(q.project_scope(project.id, include_archived), q.compile_filters(filters))
    for col_id, value in [group] if isinstance(group, tuple) else group or []:
        stmt = stmt.where(group_condition(q.parse_column(col_id), value))
    return stmt


def matching_ids(session: Session, actor: Actor, project: Project, filters: Any) -> Select:
    """The matching-experiments SELECT for a project the actor may read (Forbidden otherwise)."""
    from dashboard.auth import can_read_project
    from dashboard.errors import NotFound

    if not can_read_project(session, actor, project):
        raise NotFound("Project not found")
    return matching_select(project, filters)


# --- rows ----------------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def _cell(text: str | None, num: float | None):
    """A parameter/other value for the table: a number when it reads as one, else its text."""
    if num is not None and (text is None or q.is_numeric_text(text)):
        return num
    return text


def _order_terms(sort_model: Any) -> list:
    terms = []
    for item in (sort_model or [])[:5]:
        if not isinstance(item, dict):
            continue
        try:
            col = q.parse_column(item.get("colId"))
        except Invalid:
            continue
        if col.kind == "tags":
            continue
        desc = item.get("sort") == "desc"
        for expr in q.sort_expressions(col):
            terms.append(expr.desc().nulls_last() if desc else expr.asc().nulls_last())
    return terms


def _fill_values(session: Session, rows: dict[int, dict], columns: list[q.Column]) -> None:
    """Add the values of parameter, metric, other and tags columns to rows keyed by id."""
    ids = list(rows)
    if not ids:
        return
    params = {c.name for c in columns if c.kind == "param"}
    others = {c.name for c in columns if c.kind == "other"}
    metrics = {c.name for c in columns if c.kind == "metric"}
    if params:
        for eid, name, text, num in session.execute(
            select(Parameter.experiment_id, Parameter.name, Parameter.value_text, Parameter.value_num)
            .where(Parameter.experiment_id.in_(ids), Parameter.name.in_(params))
        ):
            rows[eid][f"param:{name}"] = _cell(text, num)
    if others:
        for eid, key, text, num in session.execute(
            select(Other.experiment_id, Other.key, Other.value, Other.value_num)
            .where(Other.experiment_id.in_(ids), Other.key.in_(others))
        ):
            rows[eid][f"other:{key}"] = _cell(text, num)
    if metrics:
        for eid, name, last, lo, hi in session.execute(
            select(MetricSeries.experiment_id, MetricSeries.name, MetricSeries.last_value,
                   MetricSeries.min_value, MetricSeries.max_value)
            .where(MetricSeries.experiment_id.in_(ids), MetricSeries.name.in_(metrics))
        ):
            rows[eid].update({f"metric:last:{name}": last, f"metric:min:{name}": lo, f"metric:max:{name}": hi})
    for row in rows.values():
        row["tags"] = []
    for eid, tag in session.execute(
        select(ExperimentTag.experiment_id, ExperimentTag.name)
        .where(ExperimentTag.experiment_id.in_(ids)).order_by(ExperimentTag.name)
    ):
        rows[eid]["tags"].append(tag)


def _base_row(e: Experiment, status: str, duration: float | None) -> dict:
    return {
        "key": e.key, "sys:key": e.key, "sys:name": e.name or e.key, "sys:status": status,
        "sys:visible": e.visible, "sys:color": experiment_color(e),
        "sys:file_name": e.file_name,
        "sys:start_time": _iso(e.start_time), "sys:end_time": _iso(e.end_time),
        "sys:duration": round(duration, 3) if duration is not None else None, "sys:host": e.host,
        "sys:user": e.os_user, "sys:python_version": e.python_version, "sys:os": e.os,
        "sys:git_branch": e.git_branch, "sys:git_commit": e.git_commit, "sys:command": e.command,
    }


def fetch_rows(session: Session, project: Project, state: dict, start: int, end: int,
               sort_model: Any = None, group: tuple[str, Any] | list[tuple[str, Any]] | None = None
               ) -> tuple[list[dict], int]:
    """One page of rows (``start`` to ``end``) and the number of matching experiments.

    The caller has checked read access to ``project``.
    """
    start = max(0, int(start or 0))
    end = max(start, min(int(end or start + 100), start + MAX_PAGE))
    where = matching_select(project, state.get("filters"), group).whereclause
    total = session.execute(select(func.count(Experiment.id)).where(where)).scalar_one()
    stmt = (select(Experiment, q.status_expression(), q.duration_expression()).where(where)
            .order_by(*_order_terms(sort_model if sort_model is not None else sort_model_of(state)),
                      Experiment.start_time.desc(), Experiment.id.desc())
            .offset(start).limit(end - start))
    rows: dict[int, dict] = {}
    for e, status, duration in session.execute(stmt):
        rows[e.id] = _base_row(e, status, duration)
    _fill_values(session, rows, [q.parse_column(c) for c in state.get("columns") or []])
    return list(rows.values()), total


def group_counts(session: Session, project: Project, state: dict, limit: int = 200) -> list[tuple[Any, int]]:
    """(value, number of matching experiments) per value of the group-by column, largest first."""
    group_by = state.get("groupBy")
    if isinstance(group_by, list):  # the first level of a nested grouping
        group_by = group_by[0] if group_by else None
    if not group_by:
        return []
    col = q.parse_column(group_by)
    matching = matching_select(project, state.get("filters")).subquery()
    if col.kind == "tags":
        stmt = (select(ExperimentTag.name, func.count()).where(ExperimentTag.experiment_id.in_(select(matching.c.id)))
                .group_by(ExperimentTag.name))
        untagged = session.execute(
            select(func.count()).select_from(matching).where(
                ~select(ExperimentTag.id).where(ExperimentTag.experiment_id == matching.c.id).exists())
        ).scalar_one()
        counted = [(v, n) for v, n in session.execute(
            stmt.order_by(func.count().desc(), ExperimentTag.name).limit(limit))]
        return counted + ([(None, untagged)] if untagged else [])
    expr = q.value_expression(col).label("group_value")
    inner = select(expr).where(q.project_scope(project.id), q.compile_filters(state.get("filters"))).subquery()
    stmt = (select(inner.c.group_value, func.count()).group_by(inner.c.group_value)
            .order_by(func.count().desc(), inner.c.group_value.asc().nulls_first()).limit(limit))
    return [(_iso(v) if isinstance(v, datetime) else v, n) for v, n in session.execute(stmt)]


def constant_columns(session: Session, project: Project, state: dict) -> list[str]:
    """Shown columns whose value is the same for every matching experiment."""
    matching = matching_select(project, state.get("filters"))
    total = session.execute(select(func.count()).select_from(matching.subquery())).scalar_one()
    if total <= 1:
        return []
    ids = select(matching.subquery().c.id)
    cols = [q.parse_column(c) for c in shown_columns(state)]
    constant = []

    def spread(model, name_col, value_col, names):
        if not names:
            return {}
        stmt = (select(name_col, func.count(func.distinct(value_col)), func.count(value_col))
                .where(model.experiment_id.in_(ids), name_col.in_(names)).group_by(name_col))
        return {name: (distinct, count) for name, distinct, count in session.execute(stmt)}

    by_kind = {
        "param": spread(Parameter, Parameter.name, Parameter.value_text,
                        {c.name for c in cols if c.kind == "param"}),
        "other": spread(Other, Other.key, Other.value, {c.name for c in cols if c.kind == "other"}),
    }
    metric_names = {c.name for c in cols if c.kind == "metric"}
    if metric_names:  # last, min and max in one pass
        aggs = list(q.METRIC_AGGS.items())
        stmt = (select(MetricSeries.name, *[x for _, col in aggs for x in (func.count(func.distinct(col)), func.count(col))])
                .where(MetricSeries.experiment_id.in_(ids), MetricSeries.name.in_(metric_names))
                .group_by(MetricSeries.name))
        for name, *counts in session.execute(stmt):
            for i, (agg, _) in enumerate(aggs):
                by_kind.setdefault(f"metric:{agg}", {})[name] = (counts[2 * i], counts[2 * i + 1])
    for col in cols:
        if col.kind in ("param", "other", "metric"):
            key = col.kind if col.kind != "metric" else f"metric:{col.agg}"
            distinct, count = by_kind.get(key, {}).get(col.name, (0, 0))
            # constant: one value everywhere, or missing everywhere
            if (distinct == 1 and count == total) or count == 0:
                constant.append(col.id)
        elif col.kind == "sys" and col.name not in ("name", "key", "color"):  # colors default by order
            expr = q.value_expression(col)
            distinct, nulls = session.execute(
                select(func.count(func.distinct(expr)), func.count() - func.count(expr))
                .where(q.project_scope(project.id), q.compile_filters(state.get("filters")))
            ).one()
            if (distinct == 1 and nulls == 0) or (distinct == 0):
                constant.append(col.id)
    return constant


# --- column catalogue ------------------------------------------------------------------------

# The attribute catalogues read last, per database, project, experiment count and latest change
# (logging, renaming, archiving, moving: every change to what an experiment holds touches its
# ``updated_at``), so a project page doesn't scan every parameter of the project on each load.
_ATTRIBUTES: dict[tuple, list[dict]] = {}
_ATTRIBUTES_KEPT = 64


def attributes(session: Session, project: Project) -> list[dict]:
    """Every column the project can show or filter on: ``{"id", "label", "type", "group"}``.

    Parameters and others report "number", "text", "boolean" or "mixed" from their values.
    """
    count, changed = session.execute(
        select(func.count(Experiment.id), func.max(Experiment.updated_at)).where(q.project_scope(project.id))
    ).one()
    key = (str(session.get_bind().url), project.id, count, str(changed))
    out = _ATTRIBUTES.get(key)
    if out is None:
        out = _read_attributes(session, project)
        if len(_ATTRIBUTES) >= _ATTRIBUTES_KEPT:
            _ATTRIBUTES.clear()
        _ATTRIBUTES[key] = out
    return [dict(a) for a in out]  # callers may add to the list and its items


def _read_attributes(session: Session, project: Project) -> list[dict]:
    in_project = select(Experiment.id).where(q.project_scope(project.id))
    out = [{"id": f"sys:{f}", "label": label, "type": kind, "group": "System"}
           for f, (label, kind, _) in q.SYSTEM_FIELDS.items()]
    out.append({"id": "tags", "label": "Tags", "type": "tags", "group": "System"})

    def kinds(model, name_col, text_col):
        bools = func.sum(case((text_col.in_(["True", "False", "true", "false"]), 1), else_=0))
        stmt = (select(name_col, func.count(), func.count(model.value_num), bools)
                .where(model.experiment_id.in_(in_project)).group_by(name_col).order_by(name_col))
        for name, count, numeric, boolean in session.execute(stmt):
            if boolean and boolean == count:
                kind = "boolean"
            elif numeric == count:
                kind = "number"
            elif numeric == 0:
                kind = "text"
            else:
                kind = "mixed"
            yield name, kind

    out += [{"id": f"param:{n}", "label": n, "type": k, "group": "Parameters"}
            for n, k in kinds(Parameter, Parameter.name, Parameter.value_text)]
    metric_names = session.execute(
        select(MetricSeries.name).where(MetricSeries.experiment_id.in_(in_project)).distinct()
        .order_by(MetricSeries.name)).scalars().all()
    for name in metric_names:
        out += [{"id": f"metric:{agg}:{name}", "label": f"{name} ({agg})", "type": "number", "group": "Metrics"}
                for agg in q.METRIC_AGGS]
    out += [{"id": f"other:{n}", "label": n, "type": k, "group": "Others"}
            for n, k in kinds(Other, Other.key, Other.value)]
    return out


def project_tags(session: Session, project: Project) -> list[str]:
    return session.execute(
        select(ExperimentTag.name).join(Experiment, Experiment.id == ExperimentTag.experiment_id)
        .where(q.project_scope(project.id)).distinct().order_by(ExperimentTag.name)
    ).scalars().all()


# --- CSV -------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(text: str) -> str:
    """``text`` as a cell no spreadsheet evaluates: one that could start a formula gets a
    leading quote (plain numbers such as -0.5 stay numbers)."""
    if text[:1] in FORMULA_STARTS and not (text[:1] in "+-" and text == text.strip() and q.is_numeric_text(text)):
        return "'" + text
    return text


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return _csv_cell(", ".join(str(v) for v in value))
    return _csv_cell(str(value))


def iter_csv(session: Session, project: Project, state: dict,
             report: Callable[[int, int], None] | None = None) -> Iterator[str]:
    """The CSV of every matching experiment with the view's shown columns, in chunks;
    ``report(rows written, matching rows)`` after each chunk."""
    columns = [c for c in shown_columns(state) if c != "sys:visible"]
    labels = [q.parse_column(c).label for c in columns]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["Experiment key"] + [_csv_cell(label) for label in labels])
    yield buf.getvalue()
    start = 0
    while True:
        rows, total = fetch_rows(session, project, state, start, start + CSV_CHUNK)
        buf.seek(0)
        buf.truncate()
        for row in rows:
            writer.writerow([row["key"]] + [_csv_value(row.get(c)) for c in columns])
        yield buf.getvalue()
        if report:
            report(min(start + len(rows), total), total)
        start += CSV_CHUNK
        if start >= total or not rows:
            break


def all_columns_state(session: Session, project: Project, state: dict) -> dict:
    """The view ``state`` (its filters and sort) with every column the project has, the
    view's shown ones first."""
    shown = shown_columns(state)
    every = [a["id"] for a in attributes(session, project)]
    return {**state, "columns": shown + [c for c in every if c not in shown]}
