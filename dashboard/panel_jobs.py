"""The background side of project panels: the signed tickets that tell a job who asks, and the
job that draws the bar, scatter and parallel-coordinates panels.

A background job has no request, so the page's foreground signs who is asking and for which
project (the user id and the share-link tokens of the session, never the access they grant).
The job re-resolves them (a deleted link or a disabled user opens nothing) and checks access
again. Tickets are short-lived; the page gets a new one with every refresh of its figures, so a
ticket outlives its session by minutes at most.

This module imports no page or callback module: jobs run in processes started by a fork server
(see ``dashboard.background``) that imports it on its own.
"""
from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

from dashboard import background, context
from dashboard.auth import Actor, can_read_project
from dashboard.charts.style import empty_figure
from dashboard.config import Settings
from dashboard.db import Database
from dashboard.errors import HalleyError, NotFound
from dashboard.services import panels as svc
from dashboard.services.sharing import project_ids_for_tokens
from models import Project, User

TICKET_SALT = "halley-panels"
TICKET_MAX_AGE = 10 * 60


def current_settings() -> Settings:
    """The app's settings in a request, the starting server's in a background job."""
    try:
        return context.settings()
    except RuntimeError:
        return background.job_settings() or Settings.from_env()


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=TICKET_SALT)


def make_ticket(actor: Actor, project: Project, share_tokens=()) -> str:
    """Sign who asks (user id, the workspace of their API key if they use one, share-link
    tokens) and for which project, for the background job."""
    return _serializer(current_settings()).dumps({"p": project.id, "u": actor.user_id, "w": actor.api_workspace_id,
                                                  "t": list(share_tokens)})


def read_ticket(session, ticket) -> tuple[Actor, int]:
    """The actor a ticket stands for now, and its project id.

    NotFound when the ticket is forged, expired, or its user no longer exists or was disabled.
    Share tokens are resolved again, so a deleted link grants nothing.
    """
    expired = NotFound("Reload the page to see its panels")
    try:
        data = _serializer(current_settings()).loads(ticket if isinstance(ticket, str) else "", max_age=TICKET_MAX_AGE)
    except BadSignature:
        raise expired from None
    if not isinstance(data, dict) or not isinstance(data.get("p"), int):
        raise expired
    user_id, username = data.get("u"), None
    if user_id is not None:
        user = session.get(User, user_id) if isinstance(user_id, int) else None
        if user is None or not user.is_active_user:
            raise expired
        username = user.username
    key_workspace = data.get("w") if isinstance(data.get("w"), int) else None
    share_ids = project_ids_for_tokens(session, data.get("t") if isinstance(data.get("t"), list) else [])
    return Actor(user_id=user_id, username=username, api_workspace_id=key_workspace,
                 share_project_ids=share_ids), data["p"]


def view_filters(state) -> dict | None:
    """The filters of a project page's view state."""
    return (state or {}).get("filters") if isinstance(state, dict) else None


def find_panel(panels, pid) -> dict | None:
    for p in svc.normalize_panels(panels):
        if p["id"] == pid:
            return p
    return None


def aggregate_figures(set_progress, ids, _refresh, panels, state, ticket, brush):
    """Bar, scatter and parallel-coordinates figures by panel index (the background job).

    The job writes one store rather than the wildcard outputs directly: Dash answers a
    cancelled background job with a bare no_update, which a wildcard output rejects. Its
    arguments come from the browser: graph ids that name no panel get no figure."""
    indexes = [gid.get("index") for gid in ids if isinstance(gid, dict)] if isinstance(ids, list) else []
    indexes = [index for index in indexes if svc.is_panel_id(index)]
    figures = _aggregate(set_progress, indexes, panels, state, ticket, brush if isinstance(brush, dict) else {})
    return {"figures": dict(zip(indexes, figures))}


def _aggregate(set_progress, indexes, panels, state, ticket, brush):
    total = len(indexes)
    if not total:
        return []
    set_progress((0, total))
    settings = current_settings()
    database = Database(settings.database_url)
    out = []
    with database.session() as s:
        try:
            actor, project_id = read_ticket(s, ticket)
        except NotFound as exc:
            return [empty_figure(exc.message)] * total
        project = s.get(Project, project_id)
        if project is None or not can_read_project(s, actor, project):
            return [empty_figure("Project not found")] * total
        cache = svc.open_cache(settings.cache_dir)
        for i, index in enumerate(indexes):
            panel = find_panel(panels, index)
            try:
                constraints = brush.get("constraints") if brush.get("panel") == index else None
                fig = svc.panel_figure(s, actor, project, view_filters(state), panel, cache=cache,
                                       constraints=constraints) if panel else empty_figure("Panel removed")
            except HalleyError as exc:
                fig = empty_figure(exc.message)
            out.append(fig)
            set_progress((i + 1, total))
    return out
