"""Projects: lookup with access checks, creation (also on first log), the workspace page's
search, editing, icons, notes, the GitHub link and the project's files."""
from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, update as sa_update
from sqlmodel import Session, select

from dashboard import asset_store
from dashboard.auth import Actor, actor_role, can_read_project, can_write_project, can_write_workspace
from dashboard.db import is_id
from dashboard.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from dashboard.services import audit, workspaces
from dashboard.services.names import check_no_bidi
from models import Asset, Experiment, Project, User, Workspace, utcnow

MAX_PROJECT_NAME = 100


@dataclass
class ProjectSummary:
    id: int
    name: str
    description: str
    is_public: bool
    experiment_count: int
    updated_at: datetime
    created_at: datetime


def check_project_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_PROJECT_NAME or "/" in name or name.startswith(".") or name in ("compare",):
        raise Invalid("Project name must be 1-100 characters, without '/', not starting with '.'")
    return check_no_bidi(name, "Project name")


def find(session: Session, workspace_id: int, name: str) -> Project | None:
    """The project named ``name`` in any case. The database lowers both sides: SQLite's lower()
    changes only ASCII letters, so a name lowered by Python ("Öl" -> "öl") would never match."""
    return session.exec(
        select(Project).where(Project.workspace_id == workspace_id, func.lower(Project.name) == func.lower(name))
    ).first()


def get_readable(session: Session, actor: Actor, workspace_name: str, project_name: str) -> Project:
    """The project if the actor may read it; NotFound otherwise (no existence leak)."""
    ws = workspaces.find_by_name(session, workspace_name)
    project = find(session, ws.id, project_name) if ws is not None else None
    if project is None or not can_read_project(session, actor, project):
        raise NotFound(f"Project '{workspace_name}/{project_name}' not found")
    return project


def get_or_create_for_logging(session: Session, actor: Actor, workspace_name: str | None,
                              project_name: str | None) -> Project:
    """The project an SDK run logs into, created on first use in a workspace the actor can write."""
    ws_name = workspace_name or workspaces.default_workspace_name(session, actor)
    ws = workspaces.find_by_name(session, ws_name or "")
    if ws is None or actor_role(session, actor, ws.id) is None:
        raise NotFound(f"Workspace '{ws_name}' not found")
    if not can_write_workspace(session, actor, ws.id):
        raise Forbidden(f"You can't log experiments in workspace '{ws.name}' (read-only role)")
    name = check_project_name(project_name or "general")
    project = find(session, ws.id, name)
    if project is None:
        project = Project(workspace_id=ws.id, name=name, created_by_id=actor.user_id)
        session.add(project)
        session.flush()
    return project


def take_color_indexes(session: Session, project_id: int, count: int = 1) -> int:
    """Reserve the next ``count`` color indexes of a project (see ``Experiment.color_index``)
    in the caller's transaction; returns the first. The counter is bumped in place before it
    is read: the UPDATE takes the write lock (the row's on PostgreSQL, the database's on
    SQLite) until the transaction ends, so experiments created at once each get their own."""
    session.execute(sa_update(Project).where(Project.id == project_id)
                    .values(next_color_index=Project.next_color_index + count)
                    .execution_options(synchronize_session=False))
    bumped = session.execute(select(Project.next_color_index).where(Project.id == project_id)).scalar_one()
    return bumped - count


def list_readable(session: Session, actor: Actor, workspace_id: int) -> list[ProjectSummary]:
    stmt = select(Project).where(Project.workspace_id == workspace_id)
    if actor_role(session, actor, workspace_id) is None:
        stmt = stmt.where(Project.is_public == True)  # noqa: E712
    items = session.exec(stmt.order_by(Project.name)).all()
    ids = [p.id for p in items]
    counts = dict(session.exec(
        select(Experiment.project_id, func.count()).where(
            Experiment.project_id.in_(ids), Experiment.archived == False  # noqa: E712
        ).group_by(Experiment.project_id)
    ).all()) if ids else {}
    return [ProjectSummary(p.id, p.name, p.description, p.is_public, counts.get(p.id, 0), p.updated_at,
                           p.created_at) for p in items]


# --- access by id (ids from the browser are untrusted) -------------------------------------

def get_by_id_readable(session: Session, actor: Actor, project_id) -> Project:
    try:
        pid = int(project_id)
    except (TypeError, ValueError) as exc:
        raise NotFound("Project not found") from exc
    project = session.get(Project, pid) if is_id(pid) else None
    if project is None or not can_read_project(session, actor, project):
        raise NotFound("Project not found")
    return project


def _require_write(session: Session, actor: Actor, project: Project) -> Project:
    if not can_write_project(session, actor, project):
        raise Forbidden("You have read-only access to this project")
    return project


def get_by_id_writable(session: Session, actor: Actor, project_id) -> Project:
    return _require_write(session, actor, get_by_id_readable(session, actor, project_id))


def get_writable(session: Session, actor: Actor, workspace_name: str, project_name: str) -> Project:
    return _require_write(session, actor, get_readable(session, actor, workspace_name, project_name))


def access(session: Session, actor: Actor, workspace_name: str, project_name: str) -> tuple[Project, bool]:
    """The readable project and whether the actor may change it."""
    project = get_readable(session, actor, workspace_name, project_name)
    return project, can_write_project(session, actor, project)


def can_delete(session: Session, actor: Actor, project: Project) -> bool:
    """Workspace owners/admins delete any project; members only the ones they created."""
    role = actor_role(session, actor, project.workspace_id)
    if role is None or not role.can_write:
        return False
    return role.can_manage or (project.created_by_id is not None and project.created_by_id == actor.user_id)


# --- the workspace page: search, filter, sort and page in SQL ------------------------------

SORTS = ("name", "updated", "experiments", "created")
PAGE_SIZE = 24


@dataclass
class ProjectCard:
    id: int
    name: str
    description: str
    is_public: bool
    icon_path: str | None
    experiment_count: int
    last_updated: datetime
    created_at: datetime
    owner: str | None
    can_write: bool
    can_delete: bool


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(session: Session, actor: Actor, workspace_id: int, *, query: str = "", owner_id=None,
           visibility: str | None = None, sort: str = "updated", descending: bool = True,
           page: int = 0, page_size: int = PAGE_SIZE) -> tuple[list[ProjectCard], int]:
    """One page of the projects the actor can see, and how many match in all."""
    role = actor_role(session, actor, workspace_id)
    stats = (
        select(Experiment.project_id.label("pid"), func.count().label("n"),
               func.max(Experiment.updated_at).label("last"))
        .where(Experiment.archived == False)  # noqa: E712
        .group_by(Experiment.project_id)
        .subquery()
    )
    count = func.coalesce(stats.c.n, 0)
    last = case((stats.c.last > Project.updated_at, stats.c.last), else_=Project.updated_at)
    conditions = [Project.workspace_id == workspace_id]
    if role is None:
        conditions.append(Project.is_public == True)  # noqa: E712
    if visibility in ("public", "private"):
        conditions.append(Project.is_public == (visibility == "public"))
    if owner_id not in (None, ""):
        try:
            conditions.append(Project.created_by_id == int(owner_id))
        except (TypeError, ValueError):
            raise Invalid("Unknown owner") from None
    text = (query or "").strip()[:200]
    if text:
        pattern = _like(text)
        conditions.append(or_(Project.name.ilike(pattern, escape="\\"),
                              Project.description.ilike(pattern, escape="\\")))
    total = session.exec(select(func.count()).select_from(Project).where(*conditions)).one()
    order = {"name": func.lower(Project.name), "updated": last, "experiments": count,
             "created": Project.created_at}.get(sort if sort in SORTS else "updated")
    stmt = (
        select(Project, User.username, count, last)
        .outerjoin(stats, stats.c.pid == Project.id)
        .outerjoin(User, User.id == Project.created_by_id)
        .where(*conditions)
        .order_by(order.desc() if descending else order.asc(), Project.id)
        .offset(max(0, int(page)) * page_size)
        .limit(page_size)
    )
    can_write = role is not None and role.can_write
    cards = [
        ProjectCard(p.id, p.name, p.description, p.is_public, p.icon_path, n, last_at or p.updated_at,
                    p.created_at, owner, can_write,
                    can_write and (role.can_manage or (p.created_by_id is not None and p.created_by_id == actor.user_id)))
        for p, owner, n, last_at in session.exec(stmt).all()
    ]
    return cards, total


def owners(session: Session, actor: Actor, workspace_id: int) -> list[tuple[int, str]]:
    """Users who created projects the actor can see in this workspace (for the owner filter)."""
    stmt = (select(User.id, User.username).join(Project, Project.created_by_id == User.id)
            .where(Project.workspace_id == workspace_id).distinct().order_by(User.username))
    if actor_role(session, actor, workspace_id) is None:
        stmt = stmt.where(Project.is_public == True)  # noqa: E712
    return [(uid, name) for uid, name in session.exec(stmt).all()]


# --- create, edit, delete ------------------------------------------------------------------

MAX_DESCRIPTION = 2000


def _check_unique(session: Session, workspace_id: int, name: str, except_id: int | None = None) -> None:
    other = find(session, workspace_id, name)
    if other is not None and other.id != except_id:
        raise Conflict(f"A project named '{name}' already exists in this workspace")


def _check_description(description: str | None) -> str:
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(f"The description is limited to {MAX_DESCRIPTION} characters")
    return description


def create(session: Session, actor: Actor, workspace_id: int, name: str, description: str = "",
           is_public: bool = False) -> Project:
    if actor_role(session, actor, workspace_id) is None:
        raise NotFound("Workspace not found")
    if not can_write_workspace(session, actor, workspace_id):
        raise Forbidden("Viewers can't create projects")
    name = check_project_name(name)
    _check_unique(session, workspace_id, name)
    project = Project(workspace_id=workspace_id, name=name, description=_check_description(description),
                      is_public=bool(is_public), created_by_id=actor.user_id)
    session.add(project)
    session.flush()
    return project


def update(session: Session, actor: Actor, project_id, *, name: str | None = None,
           description: str | None = None, is_public: bool | None = None) -> Project:
    project = get_by_id_writable(session, actor, project_id)
    if name is not None:
        name = check_project_name(name)
        _check_unique(session, project.workspace_id, name, project.id)
        project.name = name
    if description is not None:
        project.description = _check_description(description)
    if is_public is not None:
        project.is_public = bool(is_public)
    project.updated_at = utcnow()
    session.add(project)
    session.flush()
    return project


def deletion_summary(session: Session, actor: Actor, project_id) -> tuple[Project, int, int]:
    """What deleting the project loses: (project, experiments incl. archived, asset files)."""
    project = get_by_id_readable(session, actor, project_id)
    experiments = session.exec(select(func.count()).select_from(Experiment)
                               .where(Experiment.project_id == project.id)).one()
    assets = session.exec(select(func.count()).select_from(Asset).join(Experiment, Experiment.id == Asset.experiment_id)
                          .where(Experiment.project_id == project.id)).one()
    return project, experiments, assets


def delete(session: Session, actor: Actor, project_id, settings) -> int:
    """Delete the project, its experiments and everything logged to them, files included.

    Commits before removing files, so a failed commit never leaves rows pointing at
    deleted files. Returns the number of experiments deleted.
    """
    from dashboard.services import archive

    project = get_by_id_readable(session, actor, project_id)
    if not can_delete(session, actor, project):
        raise Forbidden("Only the project's creator or the workspace's owners and admins can delete it")
    ids = list(session.exec(select(Experiment.id).where(Experiment.project_id == project.id)).all())
    paths = archive.asset_paths(session, ids)
    icon = project.icon_path
    audit.record(session, "project.deleted", actor_user_id=actor.user_id,
                 target=f"{workspace_name(session, project)}/{project.name}",
                 detail=f"{len(ids)} experiment{'s' if len(ids) != 1 else ''} deleted with it")
    session.delete(project)
    session.commit()
    from dashboard.services import assets

    assets.delete_files(settings, paths)
    _remove_icon(settings, icon)
    return len(ids)


# --- icon ----------------------------------------------------------------------------------

MAX_ICON_BYTES = 1024 * 1024
ICON_RE = re.compile(r"^icons/[0-9a-f]{32}\.png$")
ICON_SIZE = 256


def _decode_icon(data: bytes) -> bytes:
    """A re-encoded PNG of an uploaded PNG/JPEG, or Invalid/TooLarge."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_ICON_BYTES:
        raise TooLarge("The icon must be at most 1 MB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ("PNG", "JPEG"):
                raise Invalid("The icon must be a PNG or JPEG image")
            if probe.width * probe.height > 40_000_000:
                raise Invalid("The image is too large in pixels")
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img = img.convert("RGBA")
            img.thumbnail((ICON_SIZE, ICON_SIZE))
            out = io.BytesIO()
            img.save(out, format="PNG")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise Invalid("The file is not a valid PNG or JPEG image") from exc
    return out.getvalue()


def set_icon(session: Session, actor: Actor, project_id, data: bytes, settings) -> Project:
    project = get_by_id_writable(session, actor, project_id)
    png = _decode_icon(data)
    relative = f"icons/{uuid.uuid4().hex}.png"
    asset_store.of(settings).write(relative, png)
    old = project.icon_path
    project.icon_path = relative
    project.updated_at = utcnow()
    session.add(project)
    session.commit()
    _remove_icon(settings, old)
    return project


def _remove_icon(settings, relative: str | None) -> None:
    if not relative or not ICON_RE.match(relative):
        return
    asset_store.of(settings).delete([relative])


def icon_file(session: Session, actor: Actor, workspace_name: str, project_name: str) -> str:
    """The name of the project's icon in the asset store."""
    project = get_readable(session, actor, workspace_name, project_name)
    if not project.icon_path or not ICON_RE.match(project.icon_path):
        raise NotFound("This project has no icon")
    return project.icon_path


# --- notes and GitHub link -----------------------------------------------------------------

MAX_NOTES = 200_000
GITHUB_RE = re.compile(r"^https://github\.com/[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def set_notes(session: Session, actor: Actor, project_id, text: str) -> Project:
    project = get_by_id_writable(session, actor, project_id)
    text = text or ""
    if not isinstance(text, str) or len(text) > MAX_NOTES:
        raise TooLarge(f"Notes are limited to {MAX_NOTES} characters")
    project.notes = text
    project.updated_at = utcnow()
    session.add(project)
    session.flush()
    return project


def check_github_url(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    if url.endswith(".git"):
        url = url[:-4]
    if not GITHUB_RE.match(url) or url.rsplit("/", 1)[-1] in (".", ".."):
        raise Invalid("Enter a GitHub repository URL like https://github.com/owner/repository")
    return url


def set_github_url(session: Session, actor: Actor, project_id, url: str | None) -> Project:
    """Link (or, with an empty URL, unlink) the project's GitHub repository."""
    project = get_by_id_writable(session, actor, project_id)
    project.github_url = check_github_url(url) if (url or "").strip() else None
    project.updated_at = utcnow()
    session.add(project)
    session.flush()
    return project


# --- files of the project's experiments ----------------------------------------------------

FILE_ASSET_TYPES = ("code", "file", "other", "notebook")


@dataclass
class ProjectFile:
    name: str
    kind: str  # "source" (the experiment's script) or an asset type
    experiment_count: int


def files(session: Session, actor: Actor, project_id, limit: int = 1000) -> list[ProjectFile]:
    """Every file the project's experiments logged (code and file assets) or ran from."""
    project = get_by_id_readable(session, actor, project_id)
    live = [Experiment.project_id == project.id, Experiment.archived == False]  # noqa: E712
    scripts = session.exec(
        select(Experiment.file_name, func.count(func.distinct(Experiment.id)))
        .where(*live, Experiment.file_name.is_not(None), Experiment.file_name != "")
        .group_by(Experiment.file_name).order_by(Experiment.file_name).limit(limit)
    ).all()
    assets = session.exec(
        select(Asset.file_name, Asset.type, func.count(func.distinct(Asset.experiment_id)))
        .join(Experiment, Experiment.id == Asset.experiment_id)
        .where(*live, Asset.type.in_(FILE_ASSET_TYPES))
        .group_by(Asset.file_name, Asset.type).order_by(Asset.file_name).limit(limit)
    ).all()
    out = [ProjectFile(name, "source", n) for name, n in scripts]
    out += [ProjectFile(name, kind, n) for name, kind, n in assets]
    return sorted(out, key=lambda f: (f.name.lower(), f.kind))


def file_experiments(session: Session, actor: Actor, project_id, name: str, kind: str) -> list[Experiment]:
    """The project's (not archived) experiments that use the file ``name``."""
    project = get_by_id_readable(session, actor, project_id)
    live = [Experiment.project_id == project.id, Experiment.archived == False]  # noqa: E712
    if kind == "source":
        stmt = select(Experiment).where(*live, Experiment.file_name == name)
    elif kind in FILE_ASSET_TYPES:
        stmt = (select(Experiment).where(*live, Experiment.id.in_(
            select(Asset.experiment_id).where(Asset.file_name == name, Asset.type == kind))))
    else:
        raise Invalid("Unknown file kind")
    return list(session.exec(stmt.order_by(Experiment.start_time.desc()).limit(500)).all())


def workspace_name(session: Session, project: Project) -> str:
    """The name of the workspace a (readable) project belongs to."""
    return session.get(Workspace, project.workspace_id).name
