"""The ``halley`` command: serve, manage users, workspaces and keys, demo data, uploads."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from dashboard.config import Settings


def _database():
    from dashboard.db import Database, migrate

    settings = Settings.from_env()
    migrate(settings.database_url)
    return settings, Database(settings.database_url)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group()
def main() -> None:
    """Halley, a self-hosted experiment tracker."""


@main.command()
@click.option("--host", default=None, help="Interface to bind (HALLEY_HOST, default 127.0.0.1)")
@click.option("--port", default=None, type=int, help="Port (HALLEY_PORT, default 8050)")
@click.option("--workers", default=2, show_default=True, type=int, help="Server processes")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per process")
@click.option("--quiet", is_flag=True, help="No access log line per request (HALLEY_ACCESS_LOG=0)")
@click.option("--control-socket", default=None, metavar="PATH",
              help="gunicorn's control socket for gunicornc (HALLEY_CONTROL_SOCKET; default: one per "
                   "home and port, $HALLEY_HOME/run/gunicorn-PORT.ctl; 'off' for none)")
def serve(host, port, workers, threads, quiet, control_socket) -> None:
    """Serve the web app and the REST API.

    Each server has its own gunicorn control socket (``gunicornc -s PATH``), so several
    servers on one machine never take over or remove each other's.
    """
    from gunicorn.app.base import BaseApplication

    settings = Settings.from_env(**({"host": host} if host else {}), **({"port": port} if port else {}),
                                 **({"access_log": False} if quiet else {}))
    from dashboard.db import migrate

    _require_broker(settings)
    # before anything imports prometheus_client (migrations import services that count)
    _share_metrics_between_workers(settings.cache_dir / f"prometheus-{settings.port}")
    migrate(settings.database_url)  # once, before the workers start
    control = control_socket_path(settings, control_socket or os.environ.get("HALLEY_CONTROL_SOCKET"))

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 120)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("accesslog", None)  # Halley logs each request itself, with who asked (dashboard/access_log.py)
            self.cfg.set("child_exit", _worker_exited)
            # X-Forwarded-Proto & co. count only from the proxies the operator listed (gunicorn's
            # default trusts any local process)
            self.cfg.set("forwarded_allow_ips", ",".join(str(n) for n in settings.trusted_proxies))
            if "control_socket" in self.cfg.settings:  # gunicorn 25.1+
                if control is None:
                    self.cfg.set("control_socket_disable", True)
                else:
                    self.cfg.set("control_socket", str(control))

        def load(self):
            from app import create_app
            from dashboard.access_log import log_to_stderr

            server = create_app(settings).server
            log_to_stderr(settings.log_format, server.logger)
            return server

    click.echo(f"Halley serving on http://{settings.host}:{settings.port} (data in {settings.home})")
    Server().run()


def _require_broker(settings: Settings) -> None:
    """With a broker configured, it must answer: background jobs would otherwise fail only
    when a user starts one."""
    if not settings.celery_broker:
        return
    from dashboard.background import broker_answers

    try:
        broker_answers(settings.celery_broker)
    except Exception as exc:  # noqa: BLE001  (any failure to reach it)
        _fail(f"HALLEY_CELERY_BROKER {_without_password(settings.celery_broker)} does not answer "
              f"({type(exc).__name__}: {exc}); start it, or unset HALLEY_CELERY_BROKER to run "
              "background jobs in the server's own processes")


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


@main.command()
@click.option("--concurrency", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Jobs run at once (one process each)")
@click.option("--loglevel", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--metrics-port", default=None, type=click.IntRange(1, 65535),
              help="Serve the jobs' Prometheus metrics on this port (off by default; needs HALLEY_METRICS_TOKEN)")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Interface the metrics port binds")
def worker(concurrency, loglevel, metrics_port, metrics_host) -> None:
    """Run the background jobs the servers queue on HALLEY_CELERY_BROKER (exports and other
    long work started in the web app).

    Uses the servers' settings: run it with the same HALLEY_* environment (database, secret
    key, asset store, home). Start as many as the jobs need, on any machine that reaches the
    broker and the database.
    """
    settings = Settings.from_env()
    if not settings.celery_broker:
        _fail("HALLEY_CELERY_BROKER is not set: without a broker, background jobs run in the "
              "server's own processes and need no worker")
    _require_broker(settings)
    if metrics_port:
        if not settings.metrics_token:
            _fail("--metrics-port needs HALLEY_METRICS_TOKEN: scrapers send it as a bearer token")
        # the job processes count into one folder (set before anything imports prometheus_client)
        _share_metrics_between_workers(settings.cache_dir / f"prometheus-worker-{metrics_port}")
        from dashboard import observability

        try:
            observability.serve_metrics(metrics_host, metrics_port, settings.metrics_token)
        except OSError as exc:
            _fail(f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc}")
        click.echo(f"Metrics on http://{metrics_host}:{metrics_port}/ (bearer HALLEY_METRICS_TOKEN)")
    from dashboard.worker import celery

    click.echo(f"Halley worker on {_without_password(settings.celery_broker)} (data in {settings.home})")
    celery.worker_main(["worker", f"--loglevel={loglevel.upper()}", f"--concurrency={concurrency}",
                        "--pool=prefork", "--without-gossip", "--without-mingle"])


# The longest path a unix socket can bind on Linux (sun_path holds 108 bytes with its NUL).
UNIX_SOCKET_PATH_MAX = 107


def control_socket_path(settings: Settings, given: str | None) -> Path | None:
    """Where ``halley serve`` puts gunicorn's control socket; None when turned off. gunicorn's
    own default is one path per user account, which a second server on the machine would take
    over (and remove when it stops), so by default each home and port gets its own; a home
    whose path is too long for a socket gets one in the temporary folder, named after it."""
    if given is not None and given.strip().lower() in ("off", "0", "none", "false", "no"):
        return None
    if given:
        path = Path(given).expanduser().resolve()
    else:
        path = settings.home / "run" / f"gunicorn-{settings.port}.ctl"
        if len(os.fsencode(str(path))) > UNIX_SOCKET_PATH_MAX:
            import hashlib
            import tempfile

            digest = hashlib.sha256(f"{settings.home}:{settings.port}".encode()).hexdigest()[:16]
            path = Path(tempfile.gettempdir()) / f"halley-{digest}.ctl"
    if len(os.fsencode(str(path))) > UNIX_SOCKET_PATH_MAX:
        _fail(f"the control socket path {path} is longer than {UNIX_SOCKET_PATH_MAX} bytes; "
              "pass a shorter --control-socket (or 'off')")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _share_metrics_between_workers(folder: Path) -> None:
    """An empty folder where the workers (and their job processes) keep their Prometheus counts,
    named in the environment before anything imports prometheus_client (it picks its storage at
    import)."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
    shutil.rmtree(f"{folder}-jobs", ignore_errors=True)  # job counts handed over before a restart
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def _worker_exited(_server, worker) -> None:
    """A worker's live gauges leave the shared metrics with it."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


@main.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.argument("name")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
def user_create(name, email, password_stdin) -> None:
    """Create a user (and their default workspace)."""
    from dashboard.errors import HalleyError
    from dashboard.services import site_admin

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _, database = _database()
    try:
        with database.session() as s:
            u = site_admin.create_user(s, site_admin.OPERATOR, name, email, password)
    except HalleyError as exc:
        _fail(exc.message)
    click.echo(f"created user {u.username} with workspace {u.username}")


@user.command("unlock")
@click.argument("name")
def user_unlock(name) -> None:
    """Lift the sign-in lockout of user NAME (username or email).

    Forgets every failed sign-in counted against the account, from any address or browser.
    Limits on an address (failures across accounts) stay: they wear off by themselves.
    """
    from dashboard.services import accounts, login_throttle

    _, database = _database()
    with database.session() as s:
        u = accounts.find_user(s, name)
        if u is None:
            _fail(f"no user '{name}'")
        counted = login_throttle.unlock(s, u)
    click.echo(f"unlocked {u.username}" if counted else f"{u.username} has no failed sign-ins to forget")


@user.command("list")
@click.option("--search", default="", help="Only users whose username, email or display name contains this")
@click.option("--state", type=click.Choice(["all", "active", "deactivated", "admins"]), default="all",
              show_default=True)
def user_list(search, state) -> None:
    """List users: state, site admin, last sign-in and workspaces (role)."""
    from dashboard.services import site_admin

    _, database = _database()
    with database.session() as s:
        page, shown = 0, 0
        while True:
            rows, total = site_admin.list_users(s, site_admin.OPERATOR, search, page, page_size=500, state=state)
            for r in rows:
                seen = r.last_sign_in_at.strftime("%Y-%m-%d %H:%M") if r.last_sign_in_at else "never"
                spaces = ", ".join(f"{name} ({role})" for name, role in r.workspaces) or "-"
                flags = ("active" if r.active else "deactivated") + (", site admin" if r.site_admin else "")
                click.echo(f"{r.username}\t{r.email}\t{flags}\tlast sign-in {seen}\t{spaces}")
            shown += len(rows)
            page += 1
            if not rows or shown >= total:
                break
    click.echo(f"{shown} user{'s' if shown != 1 else ''}", err=True)


def _admin_act(name: str, act):
    """Run ``act(session, user)`` as the operator, failing cleanly on a refused act."""
    from dashboard.errors import HalleyError
    from dashboard.services import site_admin

    _, database = _database()
    try:
        with database.session() as s:
            u = site_admin.find(s, site_admin.OPERATOR, name)
            return act(s, u)
    except HalleyError as exc:
        _fail(exc.message)


@user.command("deactivate")
@click.argument("name")
def user_deactivate(name) -> None:
    """Deactivate user NAME: no sign-in, browser sessions end and API keys are refused at once."""
    from dashboard.services import site_admin

    u = _admin_act(name, lambda s, u: site_admin.deactivate(s, site_admin.OPERATOR, u.id))
    click.echo(f"deactivated {u.username}")


@user.command("reactivate")
@click.argument("name")
def user_reactivate(name) -> None:
    """Let a deactivated user NAME sign in (and use their API keys) again."""
    from dashboard.services import site_admin

    u = _admin_act(name, lambda s, u: site_admin.reactivate(s, site_admin.OPERATOR, u.id))
    click.echo(f"reactivated {u.username}")


@user.command("reset-link")
@click.argument("name")
def user_reset_link(name) -> None:
    """Print a one-use password-reset link for user NAME (valid 24 hours; older links stop working).

    The link starts with HALLEY_PUBLIC_URL, else http://127.0.0.1:8050.
    """
    from dashboard.services import site_admin

    settings = Settings.from_env()
    base = (settings.public_url or "http://127.0.0.1:8050").rstrip("/")
    token = _admin_act(name, lambda s, u: site_admin.issue_reset_link(s, site_admin.OPERATOR, u.id))
    click.echo(base + site_admin.reset_path(token))


@user.command("admin")
@click.argument("name")
@click.option("--grant/--revoke", required=True, help="Make NAME a site admin, or no longer one")
def user_admin(name, grant) -> None:
    """Grant or revoke site administration for user NAME (the last site admin stays one)."""
    from dashboard.services import site_admin

    u = _admin_act(name, lambda s, u: site_admin.set_site_admin(s, site_admin.OPERATOR, u.id, grant))
    click.echo(f"{u.username} is {'now' if grant else 'no longer'} a site admin")


@main.command()
@click.argument("name")
@click.option("--workspace", default=None, help="Workspace (default: the user's own)")
@click.option("--rotate", is_flag=True, help="Replace an existing key (the old one stops working)")
def apikey(name, workspace, rotate) -> None:
    """Print a new API key for user NAME in a workspace.

    Keys are stored only as hashes, so an existing key can't be shown again: without
    --rotate the command creates a key only when the user has none there.
    """
    from dashboard.auth import Actor
    from dashboard.errors import HalleyError
    from dashboard.services import accounts, workspaces

    _, database = _database()
    try:
        with database.session() as s:
            u = accounts.find_user(s, name)
            if u is None:
                _fail(f"no user '{name}'")
            actor = Actor(user_id=u.id, username=u.username)
            ws = workspaces.get_readable(s, actor, workspace or u.username)
            if workspaces.api_key_hint(s, actor, ws.id) and not rotate:
                _fail(f"{u.username} already has a key for {ws.name} (only its hash is kept); "
                      "pass --rotate to replace it")
            raw = workspaces.generate_api_key(s, actor, ws.id)
    except HalleyError as exc:
        _fail(exc.message)
    click.echo(raw)


@main.group()
def workspace() -> None:
    """Manage workspaces."""


@workspace.command("create")
@click.argument("name")
@click.option("--owner", required=True, help="Username of the owner")
def workspace_create(name, owner) -> None:
    """Create a workspace owned by a user."""
    from dashboard.auth import Actor
    from dashboard.errors import HalleyError
    from dashboard.services import accounts, workspaces

    _, database = _database()
    try:
        with database.session() as s:
            u = accounts.find_user(s, owner)
            if u is None:
                _fail(f"no user '{owner}'")
            ws = workspaces.create(s, Actor(user_id=u.id, username=u.username), name)
    except HalleyError as exc:
        _fail(exc.message)
    click.echo(f"created workspace {ws.name} owned by {owner}")


@main.command()
@click.option("--workspace", default="demo", show_default=True, help="Workspace to log into")
@click.option("--project", default="digits-mlp", show_default=True, help="Project to log into")
@click.option("--runs", default=24, show_default=True, type=click.IntRange(1, 500), help="Runs in the sweep")
@click.option("--epochs", default=12, show_default=True, type=click.IntRange(1, 200), help="Epochs per run")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds an experiment")
@click.option("--url", default=None, help="Log into this running server instead of a temporary one")
@click.option("--api-key", default=None, help="API key for --url (or HALLEY_API_KEY)")
def demo(workspace, project, runs, epochs, if_empty, url, api_key) -> None:
    """Train a sweep of small networks on scikit-learn's digits and log it as a demo project.

    Without --url the demo starts a temporary server on this HALLEY_HOME and logs as the
    system 'demo' user; the first account created afterwards owns the demo workspace.
    """
    from dashboard.demo import run_demo
    from dashboard.errors import HalleyError

    try:
        run_demo(workspace, project, runs, epochs, url, api_key, if_empty)
    except HalleyError as exc:
        _fail(exc.message)


@main.group("import")
def import_() -> None:
    """Bring runs in from other trackers."""


@import_.command("comet")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--workspace", default=None, help="Workspace to import into (default: the archive's, else the user's own)")
@click.option("--project", default=None, help="Project to import into (default: the archive's, else 'general')")
@click.option("--user", "username", default=None, help="Import as this user (default: the instance's first owner)")
def import_comet(paths, workspace, project, username) -> None:
    """Import comet_ml offline archives (zip files, or folders holding them).

    Each archive becomes one experiment with everything it recorded. Runs are identified by
    their experiment key: an archive whose key already exists is skipped, so importing the
    same archives again changes nothing. A damaged or foreign zip is reported and nothing of
    it is imported; the command exits with status 1 when any archive failed.
    """
    from dashboard.auth import Actor
    from dashboard.importers.comet import import_paths
    from dashboard.services import accounts, demo_owner

    settings, database = _database()
    with database.session() as s:
        u = accounts.find_user(s, username) if username else demo_owner.first_person(s)
        if u is None:
            _fail(f"no user '{username}'" if username else "no user yet: create one with 'halley user create'")
        actor = Actor(user_id=u.id, username=u.username)
    results = import_paths(database, settings, actor, list(paths), workspace, project)
    if not results:
        _fail("no comet_ml archives found")
    for r in results:
        click.echo(r.describe(), err=r.status == "failed")
    failed = sum(r.status == "failed" for r in results)
    click.echo(f"{sum(r.status == 'imported' for r in results)} imported, "
               f"{sum(r.status == 'skipped' for r in results)} skipped, {failed} failed")
    if failed:
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--api-key", default=None, help="API key (default: HALLEY_API_KEY)")
@click.option("--url", default=None, help="Server URL (default: HALLEY_URL, else http://127.0.0.1:8050)")
@click.option("--workspace", default=None, help="Log into this workspace instead of the recorded one")
@click.option("--project", default=None, help="Log into this project instead of the recorded one")
def upload(paths, api_key, url, workspace, project) -> None:
    """Send offline runs and spooled data to a server.

    PATHS are OfflineExperiment zip archives, folders holding them, or SDK spool folders
    (~/.halley/spool/<key>). Uploading the same data again stores nothing twice.
    """
    from dashboard.sdk.upload import upload as upload_paths

    results = upload_paths(list(paths), api_key=api_key, url=url, workspace=workspace, project=project,
                           echo=click.echo)
    if not results:
        _fail("no offline archives or spool folders found")
    if not all(r.ok for r in results):
        sys.exit(1)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
def backup(path) -> None:
    """Write a backup of this home's database and files to PATH (a .tar.gz archive).

    The database is copied as one consistent snapshot while servers keep running (SQLite's
    online backup API; pg_dump on PostgreSQL), with every asset file and project icon it names
    and a manifest of row counts and checksums. The archive holds password and API-key hashes:
    it is written readable by its owner only.
    """
    from dashboard.backup import backup as write_backup
    from dashboard.errors import HalleyError

    try:
        write_backup(Settings.from_env(), Path(path), echo=click.echo)
    except HalleyError as exc:
        _fail(exc.message)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that already holds data (and its files)")
def restore(path, force) -> None:
    """Restore a backup archive written by 'halley backup' into this home.

    Checks the archive's checksums first; refuses a database that already holds data unless
    --force; then restores the database and the files, checks the row counts and migrates the
    schema forward when the backup was made by an older Halley. Stop the servers of this home
    before restoring into it. Browsers sign in again unless HALLEY_SECRET_KEY (or the home's
    secret_key file) is the one the backed-up server used; API keys keep working.
    """
    from dashboard.backup import restore as read_backup
    from dashboard.errors import HalleyError

    try:
        read_backup(Settings.from_env(), Path(path), force=force, echo=click.echo)
    except HalleyError as exc:
        _fail(exc.message)


@main.command()
@click.option("--archived-older-than", "age", required=True, metavar="AGE",
              help="Archived experiments whose last change is older than AGE (30d, 12h, 2w, 90m)")
@click.option("--purge-points", is_flag=True, help="Delete every metric point (the summaries stay)")
@click.option("--downsample", type=int, default=None, metavar="N",
              help="Keep at most N points per series (each bucket's lowest and highest, first and last)")
@click.option("--dry-run", is_flag=True, help="Only say what would change")
def retention(age, purge_points, downsample, dry_run) -> None:
    """Purge or downsample the metric points of old archived experiments.

    An experiment's age is the time since its last change (archiving it is one). The summary
    the experiment table and the bar and scatter panels read (last, min, max, steps) is kept
    either way; line charts of a downsampled series draw the kept points.
    """
    from dashboard.errors import HalleyError
    from dashboard.services import retention as service

    if purge_points == (downsample is not None):
        _fail("pass one of --purge-points or --downsample N")
    try:
        older_than = service.parse_age(age)
        _, database = _database()
        report = service.apply(database, older_than, purge=purge_points, downsample=downsample, dry_run=dry_run)
    except HalleyError as exc:
        _fail(exc.message)
    click.echo(("dry run: " if dry_run else "") + report.describe(dry_run))


@main.group()
def assets() -> None:
    """The asset store (HALLEY_ASSET_STORE): orphan sweep and migration to another store."""


@assets.command("sweep")
@click.option("--grace", default="1h", show_default=True, metavar="AGE",
              help="Spare unreferenced files younger than AGE (an upload in flight writes its file first)")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed")
def assets_sweep(grace, dry_run) -> None:
    """Delete stored files that no asset or project icon refers to."""
    from dashboard.errors import HalleyError
    from dashboard.services import asset_upkeep
    from dashboard.services.retention import parse_age

    try:
        age = parse_age(grace)
        settings, database = _database()
        report = asset_upkeep.sweep(database, settings, age, dry_run=dry_run)
    except HalleyError as exc:
        _fail(exc.message)
    for name in report.orphans:
        click.echo(("would remove " if dry_run else "removed ") + name)
    click.echo(("dry run: " if dry_run else "") + report.describe(dry_run))


@assets.command("migrate")
@click.option("--to", "url", required=True, metavar="URL",
              help="The new store: a local folder or s3://bucket/prefix (S3 with the HALLEY_S3_* settings)")
def assets_migrate(url) -> None:
    """Copy every asset file from the current store to another one, verifying sizes.

    Files already in the target with the right size are skipped, so an interrupted run is
    resumed by running it again. Servers keep using the current store until HALLEY_ASSET_STORE
    is switched; run it once more after stopping them to copy what was logged meanwhile.
    """
    from dashboard.errors import HalleyError
    from dashboard.services import asset_upkeep

    try:
        settings, database = _database()
        report = asset_upkeep.migrate(database, settings, url, echo=click.echo)
    except HalleyError as exc:
        _fail(exc.message)
    for name in report.missing:
        click.echo(f"warning: {name} is named by the database but is not in the current store", err=True)
    click.echo(f"copied {report.copied} files, {report.present} were already there, "
               f"{len(report.missing)} missing from the current store")
    if not report.ok:
        _fail(f"{len(report.wrong)} files differ in size after copying ({', '.join(report.wrong[:5])}): "
              "run the migration again")
    click.echo(f"Every asset file is in {report.target}. To switch, set HALLEY_ASSET_STORE={report.target} for every "
               "server (and command) of this database and restart them.")


if __name__ == "__main__":
    main()
