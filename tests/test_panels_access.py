"""The ticket a project page hands to its background panel job grants no more than the session
that asked for it: share links and accounts are checked again when the job runs."""
import base64

import numpy as np
import pytest
from flask import session as flask_session

from dashboard.auth import Actor
from dashboard.config import Settings
from dashboard.services import accounts, ingest, projects, sharing

BAR = {"id": "p1", "type": "bar", "metric": "acc", "aggregation": "sum"}
IDS = [{"type": "project-panel-agg", "index": "p1"}]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from app import create_app

    home = tmp_path_factory.mktemp("panels-access")
    app = create_app(Settings.from_env(home=home, database_url=f"sqlite:///{home / 'halley.db'}",
                                       secret_key="panels-access-secret"))
    import callbacks.panels as panels_callbacks
    from dashboard import panel_jobs

    db = app.server.extensions["halley"]["db"]
    with db.session() as s:
        owner = accounts.create_user(s, "tickets", "tickets@example.org", "pw-123456")
    actor = Actor(user_id=owner.id, username=owner.username)
    with db.session() as s:
        exp, _ = ingest.start_experiment(s, actor, "tickets", "private", name="run")
        ingest.apply_batch(s, actor, exp.key, {"batch_id": "b", "metrics": [
            {"name": "acc", "value": v, "step": k} for k, v in enumerate([1.0, 2.0, 3.0])]})
    return {"app": app, "db": db, "owner": actor, "cb": panels_callbacks, "jobs": panel_jobs}


def _project(s, world):
    return projects.get_readable(s, world["owner"], "tickets", "private")


def _ticket(world, share_tokens=(), actor=None):
    """A ticket issued the way the page issues it, in a request of a session holding ``share_tokens``."""
    from dashboard import context

    cb = world["cb"]
    with world["app"].server.test_request_context("/"):
        flask_session[context.SHARE_SESSION_KEY] = list(share_tokens)
        actor = actor or context.current_actor()
        with world["db"].session() as s:
            return world["jobs"].make_ticket(actor, _project(s, world), cb.session_share_tokens())


def _figures(world, ticket):
    """The job's figures (with the server's settings, as a job has them), handed to the graphs the
    way the page does it."""
    with world["app"].server.app_context():
        data = world["jobs"].aggregate_figures(lambda _progress: None, IDS, None, [BAR], None, ticket, None)
    return world["cb"].figures_by_graph(data, IDS)


def _drawn(fig) -> bool:
    """The bar of the run (sum of acc = 6), whether fresh or from the figure cache (typed array)."""
    if len(fig.data) != 1:
        return False
    y = fig.data[0].y
    if isinstance(y, dict):
        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
    return list(y) == [6.0]


def test_share_link_ticket_stops_working_once_the_link_is_deleted(world):
    with world["db"].session() as s:
        token = sharing.create_link(s, world["owner"], _project(s, world).id)
    ticket = _ticket(world, [token])
    assert _drawn(_figures(world, ticket)[0])
    with world["db"].session() as s:
        sharing.delete_link(s, world["owner"], _project(s, world).id)
    fig = _figures(world, ticket)[0]
    assert not fig.data and fig.layout.annotations[0].text == "Project not found"


def test_ticket_of_a_disabled_or_deleted_user_stops_working(world):
    from models import User

    ticket = _ticket(world, actor=world["owner"])
    assert _drawn(_figures(world, ticket)[0])
    with world["db"].session() as s:
        user = s.get(User, world["owner"].user_id)
        user.is_active_user = False
        s.add(user)
    try:
        fig = _figures(world, ticket)[0]
        assert not fig.data and fig.layout.annotations[0].text == "Reload the page to see its panels"
    finally:
        with world["db"].session() as s:
            user = s.get(User, world["owner"].user_id)
            user.is_active_user = True
            s.add(user)


def test_forged_or_stale_tickets_draw_nothing(world, monkeypatch):
    jobs = world["jobs"]
    ticket = _ticket(world, actor=world["owner"])
    assert not _figures(world, ticket[:-2] + "xx")[0].data
    assert jobs.TICKET_MAX_AGE <= 15 * 60
    monkeypatch.setattr(jobs, "TICKET_MAX_AGE", -1)
    assert _figures(world, ticket)[0].layout.annotations[0].text == "Reload the page to see its panels"
