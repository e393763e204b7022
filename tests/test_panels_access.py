"""A project panel's figure is drawn for whoever may read the project when it is asked for, over
HTTP as the page asks: a share link opens its project's panels until it is deleted, a disabled
account's session draws nothing, another user's private project draws nothing."""
import base64
import json

import numpy as np
import pytest
import requests

from dashboard.services import accounts as account_service, projects, sharing
from models import User
from tests.conftest import signed_in_client
from tests.dash_requests import body_from_values, dependencies, find_callback
from tests.project_data import ProjectData

BAR = {"id": "p1", "type": "bar", "metric": "loss", "aggregation": "sum"}
GRAPH = {"type": "project-panel-agg", "index": "p1"}
DRAWN = {"type": "project-panel-agg-drawn", "index": "p1"}


@pytest.fixture(scope="module")
def world(server, accounts):
    data = ProjectData(accounts, server)
    owner, other = accounts.create("panelown"), accounts.create("panelother")
    data.project(owner, "private")
    data.experiment(owner, "private", "run")  # loss 0.5 at step 1
    spec = find_callback(dependencies(server.url), "project-refresh.data", "project-panel-agg")
    return {"server": server, "data": data, "owner": owner, "other": other, "spec": spec}


def _ctx(world) -> dict:
    ws = world["owner"].workspace
    return {"workspace": ws, "project": "private", "canWrite": False, "base": f"/{ws}/private"}


def _figure(world, client: requests.Session) -> tuple[int, dict | None]:
    """The bar panel's answer for ``client``: status and figure (None when it drew nothing)."""
    body = body_from_values(world["spec"], {"project-refresh.data": 1, "project-panels-list.data": [BAR],
                                            "project-ctx.data": _ctx(world),
                                            "project-panel-agg.figure": [(GRAPH, None)],
                                            "project-panel-agg-drawn.data": [(DRAWN, None)]})
    r = client.post(world["server"].url + "/_dash-update-component", json=body)
    if r.status_code != 200:
        return r.status_code, None
    return 200, r.json()["response"][json.dumps(GRAPH, separators=(",", ":"), sort_keys=True)]["figure"]


def _drawn(fig) -> bool:
    """The run's bar (sum of loss = 0.5), plain or as a typed array."""
    if not fig or len(fig["data"]) != 1:
        return False
    y = fig["data"][0]["y"]
    if isinstance(y, dict):
        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
    return list(y) == [0.5]


def _project_id(world) -> int:
    data = world["data"]
    with data.db.session() as s:
        return projects.get_readable(s, data.actor(world["owner"]), world["owner"].workspace, "private").id


def test_owner_sees_the_panel_and_another_user_does_not(world):
    assert _drawn(_figure(world, signed_in_client(world["server"], world["owner"]))[1])
    status, fig = _figure(world, signed_in_client(world["server"], world["other"]))
    assert status == 200 and not fig["data"] and "not found" in str(fig["layout"]).lower()
    status, fig = _figure(world, requests.Session())  # anonymous, private project
    assert status in (200, 401) and not _drawn(fig)


def test_a_share_link_opens_the_panels_until_it_is_deleted(world):
    data = world["data"]
    with data.db.session() as s:
        token = sharing.create_link(s, data.actor(world["owner"]), _project_id(world))
    visitor = requests.Session()
    assert visitor.get(world["server"].url + f"/shared/{token}", allow_redirects=False).status_code == 302
    assert _drawn(_figure(world, visitor)[1])
    with data.db.session() as s:
        sharing.delete_link(s, data.actor(world["owner"]), _project_id(world))
    status, fig = _figure(world, visitor)
    assert not _drawn(fig)


def test_a_disabled_accounts_session_draws_nothing(world):
    data, owner = world["data"], world["owner"]
    client = signed_in_client(world["server"], owner)
    assert _drawn(_figure(world, client)[1])

    def set_active(active: bool) -> None:
        with data.db.session() as s:
            user = s.get(User, account_service.find_user(s, owner.username).id)
            user.is_active_user = active
            s.add(user)

    set_active(False)
    try:
        status, fig = _figure(world, client)
        assert not _drawn(fig)
    finally:
        set_active(True)
