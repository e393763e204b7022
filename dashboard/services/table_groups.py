"""The experiment table grouped by one to three columns, computed in SQL.

The grid keeps its infinite row model: the grouped table is a flat list of rows, group rows
and the experiment rows of open groups, in display order, paged like the plain table.
Placing the rows needs only the groups, never the experiments: one GROUP BY query per level
shown (the top level and each open group above the last level) gives each group's value,
count and aggregates; the experiments of an open last-level group are a page of the plain
table's query (``experiment_table.fetch_rows``) narrowed to the group.

A missing value (and an experiment without tags) is the group ``None``, shown "(none)".
Grouping by tags puts an experiment under each of its tags.

Group order: by the sort column's aggregate when the table is sorted (by the group value
when the sort column is the grouped one), else by the group value; "(none)" last.
"""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from dashboard import query as q
from dashboard.errors import Invalid
from dashboard.services import experiment_table as table
from models import Experiment, ExperimentTag, Project

AGGS = ("mean", "min", "max", "last")
MAX_LEVELS = 3
MAX_GROUPS = 1000  # groups listed per parent; more are left out (and said so)
MAX_OPEN = 200  # open groups kept per table
NONE_LABEL = "(none)"


def groupable(col: q.Column) -> bool:
    """Dates are one value per experiment and colors a display choice: neither groups."""
    return not (col.kind == "sys" and (col.name == "color" or q.SYSTEM_FIELDS[col.name][1] == "date"))


def clean_group_by(value: Any) -> list[str] | None:
    """The group-by columns of a view state (a column id or a list of up to three), None for none."""
    if value is None or value == [] or value == "":
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise Invalid("Group by takes a list of columns")
    out: list[str] = []
    for item in items:
        if not groupable(q.parse_column(item)):  # skipped: a view may have grouped by a date before
            continue
        if item not in out:
            out.append(item)
    if len(out) > MAX_LEVELS:
        raise Invalid(f"Group by at most {MAX_LEVELS} columns")
    return out or None


def clean_agg(value: Any) -> str:
    return value if value in AGGS else "mean"


def _numeric(col: q.Column):
    """The per-experiment number a column aggregates, or None when it holds no numbers."""
    if col.kind in ("param", "other"):
        return q.value_expression(col, numeric=True)
    if col.kind == "metric":
        return q.value_expression(col)
    if col.kind == "sys" and q.SYSTEM_FIELDS[col.name][1] == "number":
        return q.value_expression(col)
    return None


def _display(value: Any) -> Any:
    return table._iso(value) if isinstance(value, datetime) else value


def _path_conditions(cols: list[q.Column], path: list[Any]) -> list:
    return [table.group_condition(col, value) for col, value in zip(cols, path)]


def level_groups(session: Session, project: Project, state: dict, path: list[Any],
                 sort_model: list[dict] | None = None) -> tuple[list[dict], bool]:
    """The groups under ``path`` (a value per level above), in display order, and whether
    some were left out: ``[{"value", "count", "aggs": {column id: aggregate}}]``."""
    group_by = state.get("groupBy") or []
    cols = [q.parse_column(c) for c in group_by]
    level = len(path)
    col = cols[level]
    agg = clean_agg(state.get("groupAgg"))
    numeric_cols = [(c.id, expr) for c in map(q.parse_column, state.get("columns") or [])
                    if (expr := _numeric(c)) is not None]
    sort = next((s for s in sort_model or [] if isinstance(s, dict)), None)
    sort_col = None
    if sort is not None:
        try:
            sort_col = q.parse_column(sort.get("colId"))
        except Invalid:
            sort_col = None
    desc = bool(sort and sort.get("sort") == "desc")

    tag = aliased(ExperimentTag) if col.kind == "tags" else None
    value = tag.name if tag is not None else q.value_expression(col)
    fields = [value.label("g"), (_numeric(col) if col.kind in ("param", "other") else value).label("gn")]
    for i, (_, expr) in enumerate(numeric_cols):
        fields.append(expr.label(f"c{i}"))
    by_sort = sort_col is not None and sort_col.kind != "tags" and sort_col.id != col.id
    if by_sort:
        expr = _numeric(sort_col)
        fields.append((expr if expr is not None else q.value_expression(sort_col)).label("s"))
    fields += [Experiment.start_time.label("t"), Experiment.id.label("eid")]
    where = and_(q.project_scope(project.id), q.compile_filters(state.get("filters")),
                 *_path_conditions(cols, path))
    inner = select(*fields).select_from(Experiment)
    if tag is not None:  # an experiment counts once under each of its tags
        inner = inner.outerjoin(tag, tag.experiment_id == Experiment.id)
    inner = inner.where(where).subquery()

    if agg == "last":  # the values of the group's most recently started experiment
        latest = func.row_number().over(partition_by=inner.c.g, order_by=[inner.c.t.desc(), inner.c.eid.desc()])
        inner = select(*inner.c, latest.label("rn")).subquery()

        def reduce(c):
            return func.max(case((inner.c.rn == 1, c)))
    else:
        reduce = {"mean": func.avg, "min": func.min, "max": func.max}[agg]
    sort_reduce = reduce
    if by_sort and _numeric(sort_col) is None and agg == "mean":
        sort_reduce = func.min  # text sort columns: the first value in order
    aggregates = [reduce(inner.c[f"c{i}"]) for i in range(len(numeric_cols))]
    key_num, key_text = func.max(inner.c.gn), inner.c.g
    if col.kind == "tags" or q.attribute_type(col) != "mixed":  # numbers first: parameters, others
        key_num = None
    if by_sort:
        s = sort_reduce(inner.c.s)
        order = [s.desc().nulls_last() if desc else s.asc().nulls_last()]
    else:
        order = []
    keys = ([key_num] if key_num is not None else []) + [key_text]
    for k in keys:
        order.append(k.desc().nulls_last() if desc and sort_col is not None and sort_col.id == col.id
                     else k.asc().nulls_last())
    stmt = (select(inner.c.g, func.count(), *aggregates).group_by(inner.c.g)
            .order_by(*order).limit(MAX_GROUPS + 1))
    groups = []
    for g, n, *values in session.execute(stmt):
        groups.append({"value": _display(g), "count": n,
                       "aggs": {cid: float(v) if isinstance(v, Decimal) else v
                                for (cid, _), v in zip(numeric_cols, values)}})
    return groups[:MAX_GROUPS], len(groups) > MAX_GROUPS


def _path_key(path: list[Any]) -> str:
    """A path as text for matching the open paths the browser sends back (where 2.0 reads 2);
    the browser's values are only compared, never put into a query."""
    return json.dumps([float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in path])


def experiment_labels(session: Session, ids: list[int], group_by: list[str]) -> dict[int, str]:
    """Each experiment's group as a line panel names it, e.g. "adam › gpu0". An experiment with
    several tags is in one group here, of its tags together ("best, v2")."""
    parts: dict[int, list[str]] = {eid: [] for eid in ids}
    if not ids:
        return {}
    for col_id in group_by:
        col = q.parse_column(col_id)
        if col.kind == "tags":
            tags: dict[int, list[str]] = {}
            for eid, name in session.execute(select(ExperimentTag.experiment_id, ExperimentTag.name)
                                             .where(ExperimentTag.experiment_id.in_(ids))
                                             .order_by(ExperimentTag.name)):
                tags.setdefault(eid, []).append(name)
            values = {eid: ", ".join(names) for eid, names in tags.items()}
        else:
            values = dict(session.execute(select(Experiment.id, q.value_expression(col))
                                          .where(Experiment.id.in_(ids))).all())
        for eid in ids:
            value = values.get(eid)
            parts[eid].append(NONE_LABEL if value is None or value == "" else str(_display(value)))
    return {eid: " › ".join(p) for eid, p in parts.items()}


def _open_set(open_paths: Any, levels: int) -> set[str]:
    if not isinstance(open_paths, list):
        return set()
    return {_path_key(p) for p in open_paths[:MAX_OPEN]
            if isinstance(p, list) and 0 < len(p) <= levels
            and all(v is None or isinstance(v, (str, int, float, bool)) for v in p)}


def _layout(session: Session, project: Project, state: dict, open_keys: set[str], sort_model) -> tuple[list, bool]:
    """The table as segments in display order: ``("group", path, group)`` for a group row,
    ``("rows", path, count)`` for the experiment rows of an open last-level group."""
    levels = len(state["groupBy"])
    segments: list = []
    truncated = False

    def walk(path):
        nonlocal truncated
        groups, more = level_groups(session, project, state, path, sort_model)
        truncated = truncated or more
        for group in groups:
            sub = path + [group["value"]]
            segments.append(("group", sub, group))
            if _path_key(sub) in open_keys:
                if len(sub) < levels:
                    walk(sub)
                else:
                    segments.append(("rows", sub, group["count"]))

    walk([])
    return segments, truncated


def group_key(path: list[Any]) -> str:
    return "group:" + json.dumps(path, separators=(",", ":"))


def _group_row(state: dict, path: list[Any], group: dict, is_open: bool) -> dict:
    col = q.parse_column(state["groupBy"][len(path) - 1])
    value = group["value"]
    return {"key": group_key(path), **group["aggs"],
            "_group": {"path": path, "level": len(path) - 1, "count": group["count"], "label": col.label,
                       "value": NONE_LABEL if value is None else str(value), "open": is_open}}


def fetch_grouped_rows(session: Session, project: Project, state: dict, start: int, end: int,
                       sort_model: Any = None, open_paths: Any = None) -> tuple[list[dict], int, int, bool]:
    """One page of the grouped table: (rows, number of rows, number of matching experiments,
    whether some groups were left out: ``MAX_GROUPS`` per parent at most).

    Experiment rows carry ``_depth`` (the number of group levels above them); grouped by tags,
    where an experiment may be listed more than once, also a grid row id of their own,
    ``_rowId`` = "<key>@<n>". The caller has checked read access to ``project``.
    """
    start = max(0, int(start or 0))
    end = max(start, min(int(end or start + 100), start + table.MAX_PAGE))
    sort_model = sort_model if sort_model is not None else table.sort_model_of(state)
    open_keys = _open_set(open_paths, len(state["groupBy"]))
    segments, truncated = _layout(session, project, state, open_keys, sort_model)
    rows: list[dict] = []
    position = 0
    by_tags = "tags" in state["groupBy"]
    for n, (kind, path, item) in enumerate(segments):
        size = 1 if kind == "group" else item
        lo, hi = max(start, position), min(end, position + size)
        if lo < hi:
            if kind == "group":
                rows.append(_group_row(state, path, item, _path_key(path) in open_keys))
            else:
                page, _ = table.fetch_rows(session, project, state, lo - position, hi - position, sort_model,
                                           list(zip(state["groupBy"], path)))
                rows += [{**r, "_depth": len(path), **({"_rowId": f"{r['key']}@{n}"} if by_tags else {})}
                         for r in page]
        position += size
    experiments = session.execute(
        select(func.count(Experiment.id)).where(table.matching_select(project, state.get("filters")).whereclause)
    ).scalar_one()
    return rows, position, experiments, truncated
