"""An API key acts only in the workspace it was issued for, over Halley's REST API and the
Comet-compatible endpoints; a browser session acts in all the user's workspaces. Starting a run
with a key the caller can't write is refused with one answer, whoever's experiment it is."""
from __future__ import annotations

import uuid

import pytest
import requests

from tests.project_data import ProjectData

API_KEY_NOT_REGISTERED = 90212
NON_EXISTING_TEAM = 90219


def get(server, api_key, path, **params):
    return requests.get(server.url + path, params=params, headers={"Authorization": api_key})


def post(server, api_key, path, **body):
    return requests.post(server.url + path, json=body, headers={"Authorization": api_key})


def batch(server, api_key, experiment_key, **body):
    return post(server, api_key, f"/api/v1/experiments/{experiment_key}/batch", batch_id=uuid.uuid4().hex, **body)


@pytest.fixture(scope="module")
def teams(server, accounts):
    """Ada owns her workspace and is a member of Bo's team workspace, with a key for each.
    The team has a private project and a public one; Ada's workspace a private one."""
    data = ProjectData(accounts, server)
    ada, bo = accounts.create("ada"), accounts.create("bo")
    data.add_member(bo, ada, "member")
    team_key = accounts.key_for(ada, bo.workspace)
    data.project(bo, "team-private")
    data.project(bo, "team-open", public=True)
    data.project(ada, "own")
    return {
        "ada": ada, "bo": bo, "team": bo.workspace, "own_key": ada.api_key, "team_key": team_key,
        "team_exp": data.experiment(bo, "team-private", "private run"),
        "open_exp": data.experiment(bo, "team-open", "public run"),
        "own_exp": data.experiment(ada, "own", "own run"),
    }


def test_rest_listings_show_only_the_keys_workspace(server, teams):
    ada, team = teams["ada"], teams["team"]
    for key, workspace in ((teams["own_key"], ada.workspace), (teams["team_key"], team)):
        account = get(server, key, "/api/v1/account").json()
        assert account["defaultWorkspace"] == workspace
        assert [w["name"] for w in account["workspaces"]] == [workspace]
        assert get(server, key, "/api/v1/workspaces").json()["workspaces"] == [workspace]
    # In the team workspace Ada's own key is a stranger: public projects only.
    listed = get(server, teams["own_key"], f"/api/v1/workspaces/{team}/projects").json()["projects"]
    assert [p["name"] for p in listed] == ["team-open"]
    listed = get(server, teams["team_key"], f"/api/v1/workspaces/{team}/projects").json()["projects"]
    assert sorted(p["name"] for p in listed) == ["team-open", "team-private"]
    path = f"/api/v1/workspaces/{team}/projects/team-private"
    assert get(server, teams["own_key"], path + "/experiments").status_code == 404
    assert get(server, teams["team_key"], path + "/experiments").status_code == 200
    assert get(server, teams["own_key"], path).status_code == 404
    assert get(server, teams["own_key"], f"/api/v1/workspaces/{ada.workspace}/projects/own").status_code == 200
    assert get(server, teams["team_key"], f"/api/v1/workspaces/{ada.workspace}/projects/own").status_code == 404


def test_rest_reads_and_writes_need_the_workspaces_key(server, teams):
    own, team_key = teams["own_key"], teams["team_key"]
    point = {"metrics": [{"name": "m", "value": 1.0, "step": 0}]}
    assert get(server, own, f"/api/v1/experiments/{teams['team_exp']}").status_code == 404
    assert get(server, own, f"/api/v1/experiments/{teams['team_exp']}/metrics").status_code == 404
    assert batch(server, own, teams["team_exp"], **point).status_code == 404
    assert post(server, own, f"/api/v1/experiments/{teams['team_exp']}/stop").status_code == 404
    assert get(server, team_key, f"/api/v1/experiments/{teams['team_exp']}").status_code == 200
    assert batch(server, team_key, teams["team_exp"], **point).status_code == 200
    # A public project is readable with any key (as without one), writable only with the team's.
    assert get(server, own, f"/api/v1/experiments/{teams['open_exp']}").status_code == 200
    assert batch(server, own, teams["open_exp"], **point).status_code == 403
    assert batch(server, team_key, teams["open_exp"], **point).status_code == 200
    # And the team key can't touch Ada's own workspace.
    assert get(server, team_key, f"/api/v1/experiments/{teams['own_exp']}").status_code == 404
    assert batch(server, team_key, teams["own_exp"], **point).status_code == 404
    team = teams["team"]
    r = requests.patch(f"{server.url}/api/v1/workspaces/{team}/projects/team-open", json={"description": "x"},
                       headers={"Authorization": own})
    assert r.status_code == 403
    assert post(server, own, f"/api/v1/workspaces/{team}/projects", name="sneaky").status_code == 404
    assert post(server, team_key, f"/api/v1/workspaces/{team}/projects", name="welcome").status_code == 201


def test_runs_land_in_the_keys_workspace(server, teams):
    ada, team = teams["ada"], teams["team"]
    created = post(server, teams["team_key"], "/api/v1/experiments", project="landing")
    assert created.status_code == 201 and created.json()["workspace"] == team
    created = post(server, teams["own_key"], "/api/v1/experiments", project="landing")
    assert created.status_code == 201 and created.json()["workspace"] == ada.workspace
    refused = post(server, teams["own_key"], "/api/v1/experiments", workspace=team, project="landing")
    assert refused.status_code == 404 and "issued for" in refused.json()["error"]
    first = batch(server, teams["own_key"], uuid.uuid4().hex, start={"workspace": team, "project": "landing"})
    assert first.status_code == 404


def test_comet_endpoints_act_in_the_keys_workspace(server, teams):
    ada, team, own, team_key = teams["ada"], teams["team"], teams["own_key"], teams["team_key"]
    assert get(server, own, "/api/rest/v2/workspaces").json()["workspaceNames"] == [ada.workspace]
    assert get(server, team_key, "/api/rest/v2/workspaces").json()["workspaceNames"] == [team]
    assert get(server, team_key, "/api/rest/v2/account-details").json()["defaultWorkspaceName"] == team
    assert get(server, own, "/api/rest/v2/projects", workspaceName=team).status_code == 404
    assert get(server, team_key, "/api/rest/v2/projects", workspaceName=team).status_code == 200
    assert get(server, own, "/api/rest/v2/experiments", workspaceName=team,
               projectName="team-private").status_code == 404
    assert get(server, own, "/api/rest/v2/experiment/metadata", experimentKey=teams["team_exp"]).status_code == 404
    assert get(server, team_key, "/api/rest/v2/experiment/metadata",
               experimentKey=teams["team_exp"]).status_code == 200
    metric = {"experimentKey": teams["team_exp"], "values": [{"metricName": "c", "metricValue": 1, "step": 1}]}
    assert post(server, own, "/clientlib/batch/logger/experiment/metric", **metric).status_code == 404
    assert post(server, team_key, "/clientlib/batch/logger/experiment/metric", **metric).status_code == 200
    other = {"experimentKey": teams["team_exp"], "key": "k", "value": "v"}
    assert post(server, own, "/api/rest/v2/write/experiment/log-other", **other).status_code == 404
    # The handshake: another workspace is a team the key doesn't know; none named is the key's.
    r = post(server, own, "/clientlib/logger/add/run", teamName=team, projectName="comet-landing")
    assert r.status_code == 400 and r.json()["sdk_error_code"] == NON_EXISTING_TEAM
    r = post(server, team_key, "/clientlib/logger/add/run", projectName="comet-landing")
    assert r.status_code == 200 and f"/{team}/comet-landing/" in r.json()["focusUrl"]
    r = post(server, own, "/clientlib/logger/get/run", previousExperiment=teams["team_exp"])
    assert r.status_code == 400
    assert post(server, team_key, "/clientlib/logger/get/run", previousExperiment=teams["team_exp"]).status_code == 200


def test_a_signed_in_browser_acts_in_all_the_users_workspaces(server, teams):
    ada = teams["ada"]
    s = requests.Session()
    r = s.post(server.url + "/auth/login", data={"username": ada.username, "password": ada.password},
               allow_redirects=False)
    assert r.status_code == 302 and "error" not in r.headers["Location"]
    assert sorted(w["name"] for w in s.get(server.url + "/api/v1/account").json()["workspaces"]) == sorted(
        [ada.workspace, teams["team"]])
    for key in (teams["team_exp"], teams["own_exp"]):
        assert s.get(f"{server.url}/api/v1/experiments/{key}").status_code == 200


# --- starting a run with a key someone else's experiment has ----------------------------------

@pytest.fixture(scope="module")
def taken(server, accounts):
    """Keys of Olga's experiments in a private and a public project, and a viewer of her workspace."""
    data = ProjectData(accounts, server)
    olga, viewer, stranger = accounts.create("olga"), accounts.create("viewer"), accounts.create("stranger")
    data.add_member(olga, viewer, "viewer")
    data.project(olga, "hidden-plans")
    data.project(olga, "open-plans", public=True)
    return {"olga": olga, "stranger": stranger.api_key, "viewer": accounts.key_for(viewer, olga.workspace),
            "private": data.experiment(olga, "hidden-plans", "secret-run"),
            "public": data.experiment(olga, "open-plans", "open-run")}


def answers(server, key, experiment_key) -> list[tuple[int, dict]]:
    """How each way of starting a run with ``experiment_key`` answers."""
    out = []
    for r in (post(server, key, "/api/v1/experiments", experiment_key=experiment_key, project="mine"),
              batch(server, key, experiment_key, start={"project": "mine"}),
              post(server, key, "/clientlib/logger/add/run", experimentKey=experiment_key, projectName="mine",
                   getOrCreateEnabled=True),
              post(server, key, "/clientlib/logger/add/run", experimentKey=experiment_key, projectName="mine")):
        out.append((r.status_code, r.json()))
    return out


def test_a_key_in_a_project_the_caller_cant_see_answers_as_any_key_they_cant_use(server, taken):
    hidden = answers(server, taken["stranger"], taken["private"])
    readable = answers(server, taken["stranger"], taken["public"])
    as_viewer = answers(server, taken["viewer"], taken["private"])
    for a in (hidden, readable, as_viewer):
        assert [status for status, _ in a] == [409, 409, 400, 400], a
    for which in range(4):  # the same answer, key aside
        texts = {str(a[which][1]).replace(key, "KEY")
                 for a, key in ((hidden, taken["private"]), (readable, taken["public"]),
                                (as_viewer, taken["private"]))}
        assert len(texts) == 1, texts
    olga = taken["olga"]
    for _, body in hidden:
        text = str(body)
        for name in (olga.username, olga.workspace, "hidden-plans", "secret-run"):
            assert name not in text
    # The caller's own new key still starts a run.
    fresh = uuid.uuid4().hex
    r = post(server, taken["stranger"], "/api/v1/experiments", experiment_key=fresh, project="mine")
    assert r.status_code == 201 and r.json()["experiment_key"] == fresh
