"""The REST API and the browser's cookies: a page on another site (another port of this host is
enough: its form posts carry the signed-in user's cookies) changes nothing through the API;
Halley's own pages and API-key clients still can, and a request's API key, not its cookies,
decides who acts."""
import json

import pytest
import requests
from sqlmodel import select

from models import Experiment, Project, Workspace
from tests.conftest import sign_in
from tests.experiment_fixtures import Logger
from tests.other_site import OtherSite

EVIL = "https://evil.example"
FORM = """<!doctype html><title>Win a prize</title>
<form id="prize" method="POST" action="{action}"><button id="go" type="submit">Claim</button></form>"""
SUBMIT_FROM_HERE = """action => { const f = document.createElement('form'); f.method = 'POST'; f.action = action;
    document.body.appendChild(f); f.submit(); }"""


def experiment_state(accounts, key: str) -> tuple[str, bool]:
    with accounts.db.session() as s:
        exp = s.exec(select(Experiment).where(Experiment.key == key)).one()
        return exp.status, exp.stop_requested


def share_token(accounts, workspace: str, project: str) -> str | None:
    with accounts.db.session() as s:
        return s.exec(select(Project.share_token).join(Workspace, Project.workspace_id == Workspace.id)
                      .where(Workspace.name == workspace, Project.name == project)).one()


def signed_in(server, account) -> requests.Session:
    s = requests.Session()
    r = s.post(server.url + "/auth/login", data={"username": account.username, "password": account.password},
               allow_redirects=False)
    assert r.status_code == 302 and "/login" not in r.headers["Location"], r.text
    return s


@pytest.fixture
def running(server, accounts):
    """An account with two running experiments in project "csrf"."""
    owner = accounts.create("csrf")
    log = Logger(server.home, server.database_url, owner.username)
    return owner, log.start("csrf", name="to-stop"), log.start("csrf", name="to-end")


def targets(server, owner, stop_key, end_key) -> dict[str, str]:
    api = server.url + "/api/v1"
    return {"stop": f"{api}/experiments/{stop_key}/stop", "end": f"{api}/experiments/{end_key}/end",
            "share": f"{api}/workspaces/{owner.workspace}/projects/csrf/share-link"}


@pytest.mark.browser
def test_forms_on_another_site_cannot_stop_end_or_share(server, accounts, running, page):
    owner, stop_key, end_key = running
    sign_in(page, server, owner, "/workspaces")
    answers = {}
    with OtherSite() as other:
        for name, action in targets(server, owner, stop_key, end_key).items():
            page.goto(other.serve(f"/{name}", FORM.format(action=action)))
            with page.expect_response(action) as answer:
                page.click("#go")
            answers[name] = (answer.value.status, answer.value.headers["content-type"], answer.value.text())
    assert {name: a[0] for name, a in answers.items()} == {"stop": 403, "end": 403, "share": 403}, answers
    for status, content_type, body in answers.values():
        assert content_type.startswith("application/json")
        error = json.loads(body)["error"]
        assert "another site" in error and "nothing was changed" in error
    assert experiment_state(accounts, stop_key) == ("running", False)
    assert experiment_state(accounts, end_key) == ("running", False)
    assert share_token(accounts, owner.workspace, "csrf") is None


@pytest.mark.browser
def test_the_same_forms_from_halleys_own_pages_work(server, accounts, running, page):
    owner, stop_key, end_key = running
    sign_in(page, server, owner, "/workspaces")
    for name, action in targets(server, owner, stop_key, end_key).items():
        page.goto(server.url + "/workspaces")
        with page.expect_response(action) as answer:
            page.evaluate(SUBMIT_FROM_HERE, action)
        page.wait_for_url(action)
        assert answer.value.status == 200, (name, answer.value.text())
    assert experiment_state(accounts, stop_key) == ("running", True)
    assert experiment_state(accounts, end_key)[0] == "finished"
    assert share_token(accounts, owner.workspace, "csrf")


def test_an_api_key_works_whatever_the_origin(server, accounts, running):
    owner, stop_key, end_key = running
    urls = targets(server, owner, stop_key, end_key)
    for auth in ({"Authorization": owner.api_key}, {"Authorization": "Bearer " + owner.api_key},
                 {"X-API-Key": owner.api_key}):
        headers = {**auth, "Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
        r = requests.post(urls["stop"], headers=headers)
        assert r.status_code == 200, r.text
    assert requests.post(urls["end"], json={"status": "finished"},
                         headers={"Authorization": owner.api_key, "Origin": EVIL}).status_code == 200
    assert experiment_state(accounts, stop_key) == ("running", True)
    assert experiment_state(accounts, end_key)[0] == "finished"


def test_the_api_key_decides_who_acts_not_the_cookie(server, accounts, running):
    owner, stop_key, _ = running
    stranger = accounts.create("stranger")
    browser = signed_in(server, owner)
    url = targets(server, owner, stop_key, "x")["stop"]
    r = browser.post(url, headers={"Authorization": stranger.api_key})  # the stranger's key
    assert r.status_code == 404, r.text
    r = browser.post(url, headers={"Authorization": "not-a-key"})
    assert r.status_code == 401, r.text
    assert experiment_state(accounts, stop_key) == ("running", False)
    me = browser.get(server.url + "/api/v1/account", headers={"X-API-Key": stranger.api_key}).json()
    assert me["username"] == stranger.username
    r = browser.post(url, headers={"Origin": server.url})  # the cookie alone, from Halley's own page
    assert r.status_code == 200 and r.json()["stopped_by"] == owner.username


def test_cookies_with_a_proxys_basic_credentials_are_still_checked(server, accounts, running):
    """Browsers attach a proxy's Basic credentials to every request, other sites' form posts
    too: they are no API key, so the cookies' request is checked like any other."""
    owner, stop_key, _ = running
    browser = signed_in(server, owner)
    url = targets(server, owner, stop_key, "x")["stop"]
    r = browser.post(url, headers={"Authorization": "Basic dXNlcjpwYXNz", "Origin": "http://127.0.0.1:1"})
    assert r.status_code == 403 and "another site" in r.json()["error"]
    assert experiment_state(accounts, stop_key) == ("running", False)
    r = browser.post(url, headers={"Authorization": "Basic dXNlcjpwYXNz", "Origin": server.url})
    assert r.status_code == 200 and r.json()["stopped_by"] == owner.username


def test_comet_endpoints_take_no_cookies(server, accounts):
    """The comet_ml endpoints act only for an API key: a signed-in browser's cookies alone
    create nothing there, from Halley's own origin or any other."""
    owner = accounts.create("cometcookie")
    browser = signed_in(server, owner)
    body = {"teamName": owner.workspace, "projectName": "from-cookies"}
    r = browser.post(server.url + "/clientlib/logger/add/run", json=body, headers={"Origin": server.url})
    assert "Invalid or missing API key" in r.json()["msg"]
    r = browser.post(server.url + "/clientlib/logger/add/run", json=body, headers={"Origin": EVIL})
    assert r.status_code == 403
    listed = requests.get(f"{server.url}/api/v1/workspaces/{owner.workspace}/projects",
                          headers={"Authorization": owner.api_key}).json()
    assert listed["projects"] == []


# --- GETs that change something -----------------------------------------------------------------
IMAGES = "<!doctype html><title>Cute cats</title>{images}"
GRID = {"algorithm": "grid", "parameters": {"x": {"type": "integer", "min": 1, "max": 3}},
        "spec": {"metric": "loss", "objective": "minimize", "seed": 7}}


def handed_out(server, account, sweep_id) -> int:
    r = requests.get(server.url + "/optimizer/status", params={"id": sweep_id},
                     headers={"X-API-KEY": account.api_key})
    return r.json()["state"]["sequence_i"]


def used_by(server, account, artifact: str) -> list[str]:
    r = requests.get(f"{server.url}/api/v1/workspaces/{account.workspace}/artifacts/{artifact}",
                     headers={"Authorization": account.api_key})
    return r.json()["versions"][0]["used_by"]


@pytest.fixture
def sweep_and_artifact(server, accounts):
    """An account with an optimizer sweep, a closed artifact version and a run that could use it."""
    owner = accounts.create("lured")
    key = {"Authorization": owner.api_key}
    sweep_id = requests.post(server.url + "/api/v1/optimizer/create", json=GRID, headers=key).json()["id"]
    maker, consumer = (requests.post(server.url + "/api/v1/experiments", json={"project": "imgs"},
                                     headers=key).json()["experiment_key"] for _ in range(2))
    version_id = requests.post(f"{server.url}/api/v1/experiments/{maker}/artifacts", headers=key,
                               json={"name": "lured-set", "type": "dataset"}).json()["version_id"]
    closed = requests.post(f"{server.url}/api/v1/artifact-versions/{version_id}/state", headers=key,
                           json={"experiment_key": maker, "state": "CLOSED"})
    assert closed.status_code == 200, closed.text
    return owner, sweep_id, consumer


@pytest.mark.browser
def test_images_on_another_site_hand_out_no_parameter_set_and_record_no_use(server, sweep_and_artifact, page):
    """Images on another site (another port is enough: the browser sends its cookies along) load
    Halley's URLs as GETs: none takes a sweep's parameter set or records an artifact's use."""
    owner, sweep_id, consumer = sweep_and_artifact
    api = server.url + "/api/v1"
    urls = {"next": f"{api}/optimizer/next?id={sweep_id}",
            "use": f"{api}/workspaces/{owner.workspace}/artifacts/lured-set/version?experiment_key={consumer}"}
    sign_in(page, server, owner, "/workspaces")
    with OtherSite() as other:
        images = "".join(f'<img src="{url}">' for url in urls.values())
        page.goto(other.serve("/cats", IMAGES.format(images=images)))
        page.wait_for_function("Array.from(document.images).every(i => i.complete)")  # answered
    assert handed_out(server, owner, sweep_id) == 0
    assert used_by(server, owner, "lured-set") == []
    # what such a GET gets (the browser hides it from the page)
    browser = signed_in(server, owner)
    lured = {"Referer": other.url + "/cats", "Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "image"}
    assert browser.get(urls["next"], headers=lured).status_code == 405  # a POST now
    refused = browser.get(urls["use"], headers=lured)
    assert refused.status_code == 403 and "another site" in refused.json()["error"]
    assert browser.head(urls["use"], headers=lured).status_code == 403
    assert browser.get(urls["use"].split("?")[0], headers=lured).status_code == 200  # reading it is fine
    assert used_by(server, owner, "lured-set") == []
    # the SDKs, with the API key, still do both
    key = {"Authorization": owner.api_key}
    assert requests.post(f"{api}/optimizer/next", json={"id": sweep_id}, headers=key).json()["code"] == 200
    assert requests.get(urls["use"], headers={**key, "Sec-Fetch-Site": "cross-site"}).status_code == 200
    assert handed_out(server, owner, sweep_id) == 1
    assert used_by(server, owner, "lured-set") == [consumer]
