"""``comet_ml.API`` project calls under /api/rest/v2: create and get a project (by name or
id), its notes and saved views, its query variables, ``API.query`` and
``get_metrics_for_chart`` / ``get_metrics_df``."""
from __future__ import annotations

from flask import request

from dashboard import context
from dashboard.api.comet import body, comet_route, ok, rest
from dashboard.auth import Actor
from dashboard.errors import Invalid
from dashboard.services import comet_query, project_views, projects, workspaces


def _project(session, actor: Actor, data: dict | None = None, write: bool = False):
    """The project a request names: ``projectId``, or ``workspaceName`` + ``projectName``."""
    data = data if data is not None else {}
    pid = data.get("projectId") or request.args.get("projectId")
    if pid is not None:
        if write:
            return projects.get_by_id_writable(session, actor, pid)
        return projects.get_by_id_readable(session, actor, pid)
    workspace = data.get("workspaceName") or request.args.get("workspaceName")
    name = data.get("projectName") or request.args.get("projectName")
    if not isinstance(workspace, str) or not workspace or not isinstance(name, str) or not name:
        raise Invalid("Give projectId, or workspaceName and projectName")
    if write:
        return projects.get_writable(session, actor, workspace, name)
    return projects.get_readable(session, actor, workspace, name)


@comet_route(rest("project"), methods=("GET",))
def project_details(actor: Actor):
    with context.db().session() as s:
        return ok(comet_query.project_json(s, actor, _project(s, actor)))


@comet_route(rest("write/project/create"))
def create_project(actor: Actor):
    data = body()
    workspace, name = data.get("workspaceName"), data.get("projectName")
    if not isinstance(workspace, str) or not workspace:
        raise Invalid("workspaceName is required")
    if not isinstance(name, str):
        raise Invalid("projectName is required")
    description = data.get("projectDescription")
    if description is not None and not isinstance(description, str):
        raise Invalid("projectDescription must be a string")
    with context.db().session() as s:
        ws = workspaces.get_readable(s, actor, workspace)
        project = projects.create(s, actor, ws.id, name, description or "", bool(data.get("isPublic")))
        return ok(comet_query.project_json(s, actor, project))


@comet_route(rest("project/notes"), methods=("GET",))
def project_notes(actor: Actor):
    with context.db().session() as s:
        return ok({"notes": _project(s, actor).notes or ""})


@comet_route(rest("write/project/notes"))
def set_project_notes(actor: Actor):
    data = body()
    notes = data.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise Invalid("notes must be a string")
    with context.db().session() as s:
        project = _project(s, actor, data)
        projects.set_notes(s, actor, project.id, notes or "")
    return ok({"notes": notes or ""})


@comet_route(rest("views/get-all"), methods=("GET",))
def project_view_list(actor: Actor):
    """The project's saved views (experiment-scoped views: none)."""
    with context.db().session() as s:
        project = _project(s, actor)
        if request.args.get("experimentKey"):
            return ok({"views": []})
        return ok({"views": [comet_query.view_json(v, project) for v in project_views.list_views(s, actor, project)]})


@comet_route(rest("views/chart-templates"), methods=("GET",))
def chart_template_views(actor: Actor):
    with context.db().session() as s:
        _project(s, actor)
    return ok({"views": []})


@comet_route(rest("project/column-names"), methods=("GET",))
def project_columns(actor: Actor):
    """``API.get_query_variables``: what ``API.query`` can filter on."""
    with context.db().session() as s:
        return ok({"columns": comet_query.columns(s, actor, request.args.get("workspaceName") or "",
                                                  request.args.get("projectName") or "")})


@comet_route(rest("project/query"))
def project_query(actor: Actor):
    """``API.query``: comet_ml's predicates, compiled into Halley's filter model."""
    data = body()
    workspace, name = data.get("workspaceName"), data.get("projectName")
    if not isinstance(workspace, str) or not isinstance(name, str):
        raise Invalid("workspaceName and projectName are required")
    with context.db().session() as s:
        keys = comet_query.query(s, actor, workspace, name, data.get("predicates"), bool(data.get("archived")))
    return ok({"experimentKeys": keys})


@comet_route(rest("experiments/multi-metric-chart"))
def multi_metric_chart(actor: Actor):
    """``API.get_metrics_for_chart`` (and ``get_metrics_df``, built on it)."""
    data = body()
    with context.db().session() as s:
        found = comet_query.metrics_for_chart(s, actor, data.get("targetedExperiments"), data.get("metrics"),
                                              data.get("params"), bool(data.get("fetchFull")))
    return ok({"experiments": found, "empty": not found})
