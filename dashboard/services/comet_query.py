"""``comet_ml.API.query`` / ``get_query_variables`` / ``get_metrics_for_chart`` over Halley's
own query and metric paths.

comet_ml turns ``Metric("loss") < 0.5 & Tag("best")`` into a list of predicates, each
``{"source": "metrics", "query": {"condition": "AND", "rules": [{"field", "type",
"operator", "value"}]}}`` (an ``|`` becomes one ``"nested"`` predicate whose rules carry
their own ``source``). ``to_filters`` rewrites them into the filter model of
``dashboard/query.py``, which compiles and checks them as the query builder's filters are;
what has no equivalent there is refused with a clear ``Invalid``.
"""
from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from dashboard import query as q
from dashboard.auth import Actor
from dashboard.errors import Forbidden, Invalid, NotFound
from dashboard.services import experiment_table, experiments, metrics, panels, projects
from models import Experiment

# Comet "metadata" / "env_details" variables and the experiment fields they read.
METADATA = {
    "experiment_key": ("key", "string"),
    "experiment_name": ("name", "string"),
    "name": ("name", "string"),
    "file_name": ("file_name", "string"),
    "start_server_timestamp": ("start_time", "datetime"),
    "end_server_timestamp": ("end_time", "datetime"),
    "duration": ("duration", "timenumber"),
    "status": ("status", "string"),
}
ENVIRONMENT = {
    "hostname": ("host", "string"),
    "user": ("user", "string"),
    "os": ("os", "string"),
    "python_version": ("python_version", "string"),
    "command": ("command", "string"),
    "git_branch": ("git_branch", "string"),
    "git_commit": ("git_commit", "string"),
}
COMET_TYPES = {"number": "double", "text": "string", "boolean": "boolean", "mixed": "string"}
MAX_PREDICATES = 60
SOURCES = ("metrics", "params", "log_other", "tag", "metadata", "env_details", "nested")

NUMBER_OPS = {"equal": "eq", "not_equal": "ne", "less": "lt", "less_or_equal": "le", "greater": "gt",
              "greater_or_equal": "ge", "between": "between", "is_null": "is_null", "is_not_null": "is_not_null",
              "is_empty": "is_null", "is_not_empty": "is_not_null"}
TEXT_OPS = {"equal": "equals", "not_equal": "not_equals", "contains": "contains", "not_contains": "not_contains",
            "begins_with": "begins_with", "ends_with": "ends_with", "is_null": "is_null",
            "is_not_null": "is_not_null", "is_empty": "is_null", "is_not_empty": "is_not_null"}
DATE_OPS = {"less": "before", "less_or_equal": "before", "greater": "after", "greater_or_equal": "after",
            "between": "between", "is_null": "is_null", "is_not_null": "is_not_null"}
UNSUPPORTED = "Query operator '{op}' is not supported for {what} (supported: {ops})"


# --- query variables ------------------------------------------------------------------------

def columns(session: Session, actor: Actor, workspace: str, project_name: str) -> list[dict]:
    """The project's query variables as ``project/column-names`` lists them."""
    project = projects.get_readable(session, actor, workspace, project_name)
    out = [{"name": name, "source": "metadata", "type": kind} for name, (_, kind) in METADATA.items()]
    out += [{"name": name, "source": "env_details", "type": kind} for name, (_, kind) in ENVIRONMENT.items()]
    for attr in experiment_table.attributes(session, project):
        kind, _, rest = attr["id"].partition(":")
        if kind == "param":
            out.append({"name": rest, "source": "params", "type": COMET_TYPES[attr["type"]]})
        elif kind == "other":
            out.append({"name": rest, "source": "log_other", "type": COMET_TYPES[attr["type"]]})
        elif kind == "metric" and rest.startswith("last:"):
            out.append({"name": rest[5:], "source": "metrics", "type": "double"})
    out += [{"name": tag, "source": "tag", "type": "string"} for tag in experiment_table.project_tags(session, project)]
    return out


# --- predicates -> filter model -----------------------------------------------------------

def _rule(source: Any, rule: dict) -> dict:
    field, op, value = rule.get("field", rule.get("id")), rule.get("operator"), rule.get("value")
    if not isinstance(field, str) or not field:
        raise Invalid("Each query rule needs a field")
    if not isinstance(op, str):
        raise Invalid("Each query rule needs an operator")
    value2 = None
    if op in ("between", "not_between"):
        if not isinstance(value, list) or len(value) != 2:
            raise Invalid(f"'{op}' takes two values")
        value, value2 = value
    if source == "tag":
        if op not in ("equal", "not_equal"):
            raise Invalid(UNSUPPORTED.format(op=op, what="tags", ops="==, !="))
        return {"attr": "tags", "operator": "has" if op == "equal" else "has_not", "value": field}
    if source in ("metadata", "env_details"):
        fields = METADATA if source == "metadata" else ENVIRONMENT
        if field not in fields:
            raise Invalid(f"Unknown {'Metadata' if source == 'metadata' else 'Environment'} variable '{field[:80]}' "
                          f"(known: {', '.join(fields)})")
        name, kind = fields[field]
        attr = f"sys:{name}"
        if name == "status":
            if op not in ("equal", "not_equal"):
                raise Invalid(UNSUPPORTED.format(op=op, what="the status", ops="==, !="))
            return {"attr": attr, "operator": "equals" if op == "equal" else "not_equals", "value": value}
        table = DATE_OPS if kind == "datetime" else NUMBER_OPS if kind == "timenumber" else TEXT_OPS
    elif source == "metrics":
        attr, table = f"metric:last:{q.check_name(field, 'A metric name')}", NUMBER_OPS
    elif source in ("params", "log_other"):
        kind = "param" if source == "params" else "other"
        attr = f"{kind}:{q.check_name(field)}"
        numeric = rule.get("type") in ("double", "integer", "timenumber") or (
            isinstance(value, (int, float)) and not isinstance(value, bool) and op not in TEXT_OPS)
        if rule.get("type") == "boolean" and op in ("equal", "not_equal") and isinstance(value, bool):
            truth = value if op == "equal" else not value
            return {"attr": attr, "operator": "is_true" if truth else "is_false"}
        table = NUMBER_OPS if numeric and op in NUMBER_OPS else TEXT_OPS
    else:
        raise Invalid(f"Unknown query source '{str(source)[:40]}'")
    if op == "not_between" and "between" in table:
        lo, hi = sorted((value, value2), key=q._date if table is DATE_OPS else q._number)
        return {"op": "or", "rules": [{"attr": attr, "operator": table["less"], "value": lo},
                                      {"attr": attr, "operator": table["greater"], "value": hi}]}
    if op not in table:
        raise Invalid(UNSUPPORTED.format(op=op, what=f"{source} '{field[:80]}'", ops=", ".join(table)))
    out = {"attr": attr, "operator": table[op], "value": value}
    if value2 is not None:
        out["value2"] = value2
    return out


def _group(source: Any, query: Any, depth: int) -> dict:
    if not isinstance(query, dict):
        raise Invalid("A query group must be an object")
    condition = query.get("condition", "AND")
    if condition not in ("AND", "OR"):
        raise Invalid("A query group's condition is AND or OR")
    rules = query.get("rules")
    if not isinstance(rules, list):
        raise Invalid("A query group's rules must be a list")
    if depth > q.MAX_DEPTH:
        raise Invalid(f"Queries nest at most {q.MAX_DEPTH} levels")
    out = []
    for rule in rules:
        if not isinstance(rule, dict):
            raise Invalid("A query rule must be an object")
        own = rule.get("source", source)
        out.append(_group(own, rule, depth + 1) if "rules" in rule else _rule(own, rule))
    return {"op": condition.lower(), "rules": out}


def to_filters(predicates: Any) -> dict:
    """The filter model for comet_ml's predicate list (all predicates must hold)."""
    if not isinstance(predicates, list) or not predicates:
        raise Invalid("predicates must be a non-empty list")
    if len(predicates) > MAX_PREDICATES:
        raise Invalid(f"At most {MAX_PREDICATES} predicates")
    rules = []
    for p in predicates:
        if not isinstance(p, dict) or not isinstance(p.get("query"), dict):
            raise Invalid("Each predicate is an object with a source and a query")
        if p.get("source") not in SOURCES:
            raise Invalid(f"Unknown query source '{str(p.get('source'))[:40]}' (known: {', '.join(SOURCES)})")
        rules.append(_group(p.get("source"), p["query"], 2))
    return q.validate_filters({"op": "and", "rules": rules})


def query(session: Session, actor: Actor, workspace: str, project_name: str, predicates, archived: bool) -> list[str]:
    """Keys of the project's experiments that match (archived ones only with ``archived``)."""
    project = projects.get_readable(session, actor, workspace, project_name)
    filters = to_filters(predicates)
    experiment_table.matching_ids(session, actor, project, None)  # access check
    stmt = experiment_table.matching_select(project, filters, include_archived=archived)
    stmt = stmt.where(Experiment.archived == bool(archived))
    return list(session.execute(select(Experiment.key).where(Experiment.id.in_(stmt))
                                .order_by(Experiment.start_time, Experiment.id)).scalars())


# --- get_metrics_for_chart ----------------------------------------------------------------

MAX_CHART_EXPERIMENTS = 1000
MAX_CHART_METRICS = 100


def _list_of_names(value, what: str, limit: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{what} must be a list of strings")
    if len(value) > limit:
        raise Invalid(f"At most {limit} {what}")
    return list(dict.fromkeys(v for v in value if v))


def _num(values) -> list:
    """Values as JSON numbers: NaN and infinities (kept apart by Halley) become null."""
    return [v if v is not None and math.isfinite(v) else None for v in values]


def _ints(values) -> list:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v) for v in values]


def metrics_for_chart(session: Session, actor: Actor, keys, metric_names, param_names, full: bool) -> dict:
    """``experiments/multi-metric-chart``: each readable experiment's series of the metrics
    (read through the panels' series path, downsampled like a chart unless ``full``) and the
    values of the parameters. Keys the caller can't read are left out."""
    keys = _list_of_names(keys, "targetedExperiments", MAX_CHART_EXPERIMENTS)
    metric_names = _list_of_names(metric_names, "metrics", MAX_CHART_METRICS)
    param_names = _list_of_names(param_names, "params", MAX_CHART_METRICS) if param_names is not None else None
    readable = []
    for key in keys:
        try:
            readable.append(experiments.get_readable(session, actor, key))
        except (NotFound, Forbidden):
            continue
    by_id = {e.id: e for e in readable}
    out: dict[str, dict] = {}
    for e in readable:
        out[e.key] = {"experimentKey": e.key, "experiment_key": e.key, "experimentName": e.name, "metrics": [],
                      "params": {} if param_names is not None else None, "steps": None, "epochs": None}
    ids = list(by_id)
    for name in metric_names:
        if full:
            found = {eid: {"step": s.steps, "value": s.values, "epoch": s.epochs, "timestamp": s.timestamps}
                     for eid, s in metrics.series_many(session, ids, name).items()}
        else:
            found = panels.read_series(session, ids, name)
        for eid, entry in found.items():
            stamps = [None if t is None or (isinstance(t, float) and math.isnan(t)) else t
                      for t in (float(x) for x in entry["timestamp"])]
            start = experiments.as_utc(by_id[eid].start_time).timestamp()
            out[by_id[eid].key]["metrics"].append({
                "metricName": name,
                "values": _num([float(v) for v in entry["value"]]),
                "steps": _ints([float(v) for v in entry["step"]]),
                "epochs": _ints([float(v) for v in entry["epoch"]]),
                "timestamps": [int(t * 1000) if t is not None else None for t in stamps],
                "durations": [int((t - start) * 1000) if t is not None else None for t in stamps],
            })
    if param_names and ids:
        for e in readable:
            for p in experiments.parameters(session, e):
                if p.name in param_names:
                    out[e.key]["params"][p.name] = p.value_text
    return out



# --- projects -------------------------------------------------------------------------------

def project_json(session: Session, actor: Actor, project) -> dict:
    """A readable project as comet_ml's ``project`` endpoint describes it."""
    from dashboard.auth import can_write_project
    from models import User, Workspace

    count = session.execute(select(func.count()).select_from(Experiment).where(
        Experiment.project_id == project.id, Experiment.archived == False)).scalar_one()  # noqa: E712
    workspace = session.get(Workspace, project.workspace_id)
    owner = session.get(User, project.created_by_id) if project.created_by_id is not None else None
    return {
        "projectId": str(project.id), "projectName": project.name, "workspaceName": workspace.name,
        "projectDescription": project.description or "", "ownerUserName": owner.username if owner else None,
        "public": bool(project.is_public), "isPublic": bool(project.is_public), "numberOfExperiments": count,
        "lastUpdated": int(experiments.as_utc(project.updated_at).timestamp() * 1000),
        "isOwner": can_write_project(session, actor, project), "isShared": False, "isStarterProject": False,
    }


def view_json(view, project) -> dict:
    """A saved project view as ``views/get-all`` lists it (comet_ml's ``View``)."""
    return {
        "templateId": str(view.id), "templateName": view.name, "projectId": str(project.id), "experimentKey": None,
        "projectDefault": bool(view.is_default), "viewSource": "dashboard_template", "source": "halley",
        "lastUpdate": int(experiments.as_utc(view.updated_at).timestamp() * 1000),
    }
