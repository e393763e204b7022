"""The query builder's filter model, compiled to SQLAlchemy expressions over ``Experiment``.

A filter model is a group::

    {"op": "and" | "or", "rules": [rule | group, ...]}

nested at most ``MAX_DEPTH`` levels, where a rule is::

    {"attr": "<column id>", "operator": "<operator>", "value": ..., "value2": ...}

Column ids name what a rule (or a table column) reads:

* ``sys:<field>`` -- a field of the experiment (``sys:status``, ``sys:name``, ``sys:start_time``...,
  see ``SYSTEM_FIELDS``), ``tags`` -- the experiment's tags,
* ``param:<name>`` / ``other:<name>`` -- the last logged value of a parameter / an "other",
* ``metric:<last|min|max>:<name>`` -- a metric summary.

Names of parameters, metrics and others are free text chosen by users: they are validated
(length, no control characters) and always travel as bound parameters, never into the SQL
text. Values are bound the same way. Parameters and others may hold numbers in some
experiments and text in others: number operators compare the numeric column (rows whose
value is not numeric don't match), text operators the text column.

Negative operators (not equal, does not contain, has not) also match experiments that lack
the attribute altogether, as a person reading "lr != 0.1" expects.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Float, and_, case, exists, false, func, literal, not_, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from dashboard.charts.numbers import fmt
from dashboard.charts.style import PALETTE
from dashboard.errors import Invalid
from models import Experiment, ExperimentTag, MetricSeries, Other, Parameter

MAX_DEPTH = 3  # the top group plus two levels of nested groups
MAX_RULES = 60
MAX_NAME = 300
MAX_TEXT = 1000
# Running experiments silent for this long are shown as crashed (as services.experiments reads them).
LOST_HEARTBEAT = timedelta(seconds=60)

TEXT_OPS = ("contains", "not_contains", "equals", "not_equals", "begins_with", "ends_with", "is_null",
            "is_not_null")
NUMBER_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "between", "is_null", "is_not_null")
BOOL_OPS = ("is_true", "is_false")
DATE_OPS = ("before", "after", "between", "is_null", "is_not_null")
TAG_OPS = ("has", "has_not")
CHOICE_OPS = ("equals", "not_equals")

OPERATOR_LABELS = {
    "contains": "contains", "not_contains": "does not contain", "equals": "equals",
    "not_equals": "not equal", "begins_with": "begins with", "ends_with": "ends with",
    "is_null": "is null", "is_not_null": "is not null", "eq": "=", "ne": "!=", "lt": "<", "le": "<=",
    "gt": ">", "ge": ">=", "between": "between", "is_true": "is true", "is_false": "is false",
    "before": "before", "after": "after", "has": "has", "has_not": "has not",
}
OPS_BY_TYPE = {"text": TEXT_OPS, "number": NUMBER_OPS, "boolean": BOOL_OPS, "date": DATE_OPS,
               "tags": TAG_OPS, "choice": CHOICE_OPS,
               # parameters/others holding numbers in some experiments and text in others
               "mixed": NUMBER_OPS + tuple(op for op in TEXT_OPS if op not in NUMBER_OPS) + BOOL_OPS}
NEEDS_NO_VALUE = {"is_null", "is_not_null", "is_true", "is_false"}
NEEDS_TWO_VALUES = {"between"}

METRIC_AGGS = {"last": MetricSeries.last_value, "min": MetricSeries.min_value, "max": MetricSeries.max_value}
NAME_RE = re.compile(r"[^\x00-\x1f\x7f]{1,%d}" % MAX_NAME)


class seconds_between(FunctionElement):
    """``end - start`` in seconds, written per dialect (SQLite has no interval arithmetic)."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_between_default(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element, compiler, **kw):
    # julianday() is a double of ~2.4 million days: rounded to the millisecond, its tens of
    # microseconds of error go, and a duration such as 600.5 s reads exactly as on PostgreSQL.
    start, end = list(element.clauses)
    return (f"round((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}))"
            " * 86400.0, 3)")


@dataclass(frozen=True)
class Column:
    """What a column id resolves to: its kind, name and the attribute type it filters as."""

    id: str
    kind: str  # sys | param | other | metric | tags
    name: str
    agg: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "sys":
            return SYSTEM_FIELDS[self.name][0]
        if self.kind == "metric":
            return f"{self.name} ({self.agg})"
        if self.kind == "tags":
            return "Tags"
        return self.name


def _now() -> datetime:
    return datetime.now(timezone.utc)


def status_expression() -> ColumnElement:
    """The status as reads report it: a running experiment whose heartbeat was lost is crashed."""
    cutoff = _now() - LOST_HEARTBEAT
    seen = func.coalesce(Experiment.last_heartbeat, Experiment.start_time)
    return case((and_(Experiment.status == "running", seen < cutoff), literal("crashed")), else_=Experiment.status)


def duration_expression() -> ColumnElement:
    return seconds_between(Experiment.start_time, func.coalesce(Experiment.end_time, Experiment.last_heartbeat))


def color_expression() -> ColumnElement:
    """The color the experiment is shown in (``style.experiment_color``, in SQL): the picked
    one, else the palette color of its order in the project."""
    by_order = case({i: c for i, c in enumerate(PALETTE)}, value=Experiment.color_index % len(PALETTE))
    return func.coalesce(Experiment.color, by_order)


# field -> (label, type, expression factory)
SYSTEM_FIELDS: dict[str, tuple[str, str, Any]] = {
    "status": ("Status", "choice", status_expression),
    "name": ("Name", "text", lambda: func.coalesce(Experiment.name, Experiment.key)),
    "key": ("Experiment key", "text", lambda: Experiment.key),
    "file_name": ("File name", "text", lambda: Experiment.file_name),
    "start_time": ("Start time", "date", lambda: Experiment.start_time),
    "end_time": ("Server end time", "date", lambda: Experiment.end_time),
    "duration": ("Duration (s)", "number", duration_expression),
    "host": ("Host", "text", lambda: Experiment.host),
    "user": ("User", "text", lambda: Experiment.os_user),
    "visible": ("Visible", "boolean", lambda: Experiment.visible),
    "color": ("Color", "text", color_expression),
    "python_version": ("Python version", "text", lambda: Experiment.python_version),
    "os": ("OS", "text", lambda: Experiment.os),
    "git_branch": ("Git branch", "text", lambda: Experiment.git_branch),
    "git_commit": ("Git commit", "text", lambda: Experiment.git_commit),
    "command": ("Command", "text", lambda: Experiment.command),
}
STATUS_CHOICES = ("running", "finished", "stopped", "crashed")


def check_name(name: Any, what: str = "Attribute name") -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise Invalid(f"{what} must be 1-{MAX_NAME} printable characters")
    return name


def parse_column(col_id: Any) -> Column:
    """Validate a column id and split it into its parts (Invalid for anything unknown)."""
    if not isinstance(col_id, str) or len(col_id) > MAX_NAME + 20:
        raise Invalid("Unknown attribute")
    if col_id == "tags":
        return Column(col_id, "tags", "tags")
    kind, _, rest = col_id.partition(":")
    if kind == "sys" and rest in SYSTEM_FIELDS:
        return Column(col_id, "sys", rest)
    if kind in ("param", "other"):
        return Column(col_id, kind, check_name(rest))
    if kind == "metric":
        agg, _, name = rest.partition(":")
        if agg in METRIC_AGGS:
            return Column(col_id, "metric", check_name(name), agg)
    raise Invalid(f"Unknown attribute '{col_id[:80]}'")


def _param_value(model, name: str, numeric: bool) -> ColumnElement:
    value_col = model.value_num if numeric else (model.value_text if model is Parameter else model.value)
    name_col = model.name if model is Parameter else model.key
    return (select(value_col).where(model.experiment_id == Experiment.id, name_col == name)
            .limit(1).scalar_subquery())


def value_expression(col: Column, numeric: bool = False) -> ColumnElement:
    """A per-experiment scalar expression for the column (correlated on ``Experiment.id``)."""
    if col.kind == "sys":
        return SYSTEM_FIELDS[col.name][2]()
    if col.kind == "param":
        return _param_value(Parameter, col.name, numeric)
    if col.kind == "other":
        return _param_value(Other, col.name, numeric)
    if col.kind == "metric":
        return (select(METRIC_AGGS[col.agg]).where(MetricSeries.experiment_id == Experiment.id,
                                                    MetricSeries.name == col.name).scalar_subquery())
    raise Invalid("Tags have no single value")


def sort_expressions(col: Column) -> list[ColumnElement]:
    """ORDER BY terms for a column: numbers numerically, then text (mixed parameters)."""
    if col.kind in ("param", "other"):
        return [value_expression(col, numeric=True), value_expression(col)]
    if col.kind == "tags":
        raise Invalid("The tags column can't be sorted")
    return [value_expression(col)]


# --- values --------------------------------------------------------------------------------

def _number(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        f = float(value)
    elif isinstance(value, str):
        try:
            f = float(value.strip())
        except ValueError:
            raise Invalid(f"'{value[:40]}' is not a number") from None
    else:
        raise Invalid("Expected a number")
    if math.isnan(f):
        raise Invalid("NaN can't be compared")
    return f


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise Invalid("Expected a text value")
    text = str(value)
    if "\x00" in text:
        raise Invalid("Filter values can't contain NUL characters")
    if len(text) > MAX_TEXT:
        raise Invalid(f"Filter values are limited to {MAX_TEXT} characters")
    return text


def _date(value: Any) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise Invalid("Expected a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"'{value}' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    if parsed.tzinfo is None:  # dates typed without a zone are UTC, as stored
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def is_numeric_text(value: Any) -> bool:
    try:
        _number(value)
        return True
    except Invalid:
        return False


# --- compiling -----------------------------------------------------------------------------

def attribute_type(col: Column, param_type: str = "mixed") -> str:
    """The operator family of a column; parameters/others pass their detected type."""
    if col.kind == "sys":
        return SYSTEM_FIELDS[col.name][1]
    if col.kind == "metric":
        return "number"
    if col.kind == "tags":
        return "tags"
    return param_type


def _negate(match: ColumnElement, present: ColumnElement) -> ColumnElement:
    """``not match``, true also where the attribute is absent (``present`` is false)."""
    return or_(not_(present), not_(match))


def _compile_tags(operator: str, value: Any) -> ColumnElement:
    tag = _text(value)
    has = exists().where(ExperimentTag.experiment_id == Experiment.id, ExperimentTag.name == tag)
    if operator == "has":
        return has
    if operator == "has_not":
        return not_(has)
    raise Invalid(f"Operator '{operator}' doesn't apply to tags")


def _compile_text(expr: ColumnElement, operator: str, value: Any) -> ColumnElement:
    if operator == "is_null":
        return or_(expr.is_(None), expr == "")
    if operator == "is_not_null":
        return and_(expr.is_not(None), expr != "")
    text = _text(value)
    present = expr.is_not(None)
    if operator == "contains":
        return expr.icontains(text, autoescape=True)
    if operator == "not_contains":
        return _negate(expr.icontains(text, autoescape=True), present)
    if operator == "equals":
        return expr == text
    if operator == "not_equals":
        return _negate(expr == text, present)
    if operator == "begins_with":
        return expr.istartswith(text, autoescape=True)
    if operator == "ends_with":
        return expr.iendswith(text, autoescape=True)
    raise Invalid(f"Operator '{operator}' doesn't apply to text")


def _is_nan(expr: ColumnElement) -> ColumnElement:
    """True where a float column holds NaN. Ingest stores NaN as NULL, but a NaN written
    otherwise stays NaN on PostgreSQL, where it equals itself and is above every number; SQLite
    turns NaN into NULL, so there the comparison is NULL and this is false."""
    return func.coalesce(expr == literal(math.nan, Float()), false())


def _compile_number(expr: ColumnElement, operator: str, value: Any, value2: Any) -> ColumnElement:
    if operator == "is_null":
        return or_(expr.is_(None), _is_nan(expr))
    if operator == "is_not_null":
        return and_(expr.is_not(None), not_(_is_nan(expr)))
    if operator == "between":
        lo, hi = sorted((_number(value), _number(value2)))
        return and_(expr.between(lo, hi), not_(_is_nan(expr)))
    v = _number(value)
    if operator == "eq":
        return expr == v
    if operator == "ne":
        return _negate(expr == v, expr.is_not(None))
    comparisons = {"lt": expr < v, "le": expr <= v, "gt": expr > v, "ge": expr >= v}
    if operator in comparisons:
        return and_(comparisons[operator], not_(_is_nan(expr)))
    raise Invalid(f"Operator '{operator}' doesn't apply to numbers")


def _compile_date(expr: ColumnElement, operator: str, value: Any, value2: Any) -> ColumnElement:
    if operator == "is_null":
        return expr.is_(None)
    if operator == "is_not_null":
        return expr.is_not(None)
    if operator == "before":
        return expr < _date(value)
    if operator == "after":
        return expr > _date(value)
    if operator == "between":
        lo, hi = sorted((_date(value), _date(value2)))
        return expr.between(lo, hi)
    raise Invalid(f"Operator '{operator}' doesn't apply to dates")


def _compile_bool(expr: ColumnElement, operator: str) -> ColumnElement:
    if operator == "is_true":
        return and_(expr.is_not(None), expr != 0)
    if operator == "is_false":
        return expr == 0
    raise Invalid(f"Operator '{operator}' doesn't apply to booleans")


def compile_rule(rule: Any) -> ColumnElement:
    if not isinstance(rule, dict):
        raise Invalid("A filter must be an object")
    col = parse_column(rule.get("attr"))
    operator = rule.get("operator")
    if not isinstance(operator, str) or operator not in OPERATOR_LABELS:
        raise Invalid("Unknown operator")
    value, value2 = rule.get("value"), rule.get("value2")
    if col.kind == "tags":
        return _compile_tags(operator, value)
    if col.kind == "sys":
        kind = SYSTEM_FIELDS[col.name][1]
        expr = value_expression(col)
        if kind == "choice":
            choice = _text(value)
            if choice not in STATUS_CHOICES:
                raise Invalid(f"Unknown status '{choice[:40]}'")
            if operator not in CHOICE_OPS:
                raise Invalid(f"Operator '{operator}' doesn't apply to the status")
            return expr == choice if operator == "equals" else expr != choice
        if kind == "date":
            return _compile_date(expr, operator, value, value2)
        if kind == "number":
            return _compile_number(expr, operator, value, value2)
        if kind == "boolean":
            if operator not in BOOL_OPS:
                raise Invalid(f"Operator '{operator}' doesn't apply to booleans")
            return expr == (operator == "is_true")
        return _compile_text(expr, operator, value)
    if col.kind == "metric":
        return _compile_number(value_expression(col), operator, value, value2)
    # parameters and others: numeric column for number/boolean operators, text column otherwise
    if operator in BOOL_OPS:
        return _compile_bool(value_expression(col, numeric=True), operator)
    if operator in NUMBER_OPS and operator not in ("is_null", "is_not_null"):
        return _compile_number(value_expression(col, numeric=True), operator, value, value2)
    if operator in ("equals", "not_equals") and is_numeric_text(value):
        # "lr equals 0.1" also matches a value logged as 0.10
        num = value_expression(col, numeric=True)
        match = or_(and_(num.is_not(None), num == _number(value)), value_expression(col) == _text(value))
        if operator == "equals":
            return match
        return _negate(match, value_expression(col).is_not(None))
    return _compile_text(value_expression(col), operator, value)


def compile_filters(model: Any, _depth: int = 1, _count: list[int] | None = None) -> ColumnElement:
    """The WHERE clause for a filter model (``true()`` for an empty or missing model)."""
    if model is None or model == {}:
        return true()
    if not isinstance(model, dict):
        raise Invalid("A filter group must be an object")
    if _depth > MAX_DEPTH:
        raise Invalid(f"Filter groups nest at most {MAX_DEPTH} levels")
    op = model.get("op", "and")
    if op not in ("and", "or"):
        raise Invalid("A filter group combines with 'and' or 'or'")
    rules = model.get("rules") or []
    if not isinstance(rules, list):
        raise Invalid("A filter group's rules must be a list")
    count = _count if _count is not None else [0]
    parts = []
    for item in rules:
        count[0] += 1
        if count[0] > MAX_RULES:
            raise Invalid(f"A query holds at most {MAX_RULES} filters")
        if isinstance(item, dict) and "rules" in item:
            parts.append(compile_filters(item, _depth + 1, count))
        else:
            parts.append(compile_rule(item))
    if not parts:
        return true()
    return and_(*parts) if op == "and" else or_(*parts)


def validate_filters(model: Any) -> dict:
    """The model if it compiles, else Invalid; an empty model for None."""
    if model is None:
        return {"op": "and", "rules": []}
    compile_filters(model)
    return model


def describe_rule(rule: dict) -> str:
    """A one-line reading of a rule, e.g. ``lr > 0.01`` (numbers to 4 significant digits)."""
    try:
        label = parse_column(rule.get("attr")).label
    except Invalid:
        label = str(rule.get("attr"))[:40]
    op = rule.get("operator")
    text = f"{label} {OPERATOR_LABELS.get(op, op)}"
    if op in NEEDS_NO_VALUE:
        return text
    if op in NEEDS_TWO_VALUES:
        return f"{text} {fmt(rule.get('value'))} and {fmt(rule.get('value2'))}"
    return f"{text} {fmt(rule.get('value'))}"


def project_scope(project_id: int, include_archived: bool = False) -> ColumnElement:
    cond = Experiment.project_id == project_id
    return cond if include_archived else and_(cond, Experiment.archived == false())
