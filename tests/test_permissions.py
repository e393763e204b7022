"""Who may do what with projects, proved for every role and for anonymous and share-link
visitors: over REST, and through Dash callback requests built by hand (the browser is not
needed to call a callback, so each one must check access itself)."""
import pytest
import requests
from playwright.sync_api import expect
from sqlmodel import select

from models import Project
from tests.conftest import signed_in_client
from tests.dash_requests import body_from_values, find_callback
from tests.project_data import ProjectData

ROLES = ("owner", "admin", "member", "viewer", "outsider", "anonymous", "share")


def new_session() -> requests.Session:
    """A client that doesn't reuse connections: a kept-alive socket the server closes while a
    request is being sent would fail that request for reasons unrelated to the test."""
    s = requests.Session()
    s.headers["Connection"] = "close"
    return s


class World:
    """One workspace with a private project (shared by link), a second private project and a
    public one, and a client per kind of visitor."""

    def __init__(self, server, accounts, browser):
        self.server = server
        self.data = data = ProjectData(accounts, server)
        owner = accounts.create("perm")
        self.ws = owner.workspace
        self.accounts = {"owner": owner}
        for role in ("admin", "member", "viewer"):
            acc = accounts.create(role)
            data.add_member(owner, acc, role)
            acc.api_key = accounts.key_for(acc, self.ws)  # their key for this workspace
            self.accounts[role] = acc
        self.accounts["outsider"] = accounts.create("outsider")
        self.ids = {
            "secret": data.project(owner, "secret", description="private"),
            "other": data.project(owner, "other", description="private too"),
            "open": data.project(owner, "open", public=True, description="public"),
        }
        self.archived = data.experiment(owner, "secret", "old", archived=True)
        self.token = requests.post(self.url(f"/api/v1/workspaces/{self.ws}/projects/secret/share-link"),
                                   headers={"Authorization": owner.api_key}).json()["token"]
        self.sessions = {name: signed_in_client(server, acc) for name, acc in self.accounts.items()}
        self.sessions["anonymous"] = new_session()
        self.sessions["share"] = self._share_session(browser)
        self.deps = requests.get(self.url("/_dash-dependencies"), cookies=self.sessions["owner"].cookies).json()

    def url(self, path: str) -> str:
        return self.server.url + path

    def _share_session(self, browser) -> requests.Session:
        """A browser opens the share link; its cookie then makes plain HTTP requests."""
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(self.url(f"/shared/{self.token}"))
        expect(page).to_have_url(self.url(f"/{self.ws}/secret"))
        s = new_session()
        for c in ctx.cookies():
            s.cookies.set(c["name"], c["value"])
        ctx.close()
        return s

    def rest(self, who: str, method: str, path: str, **kwargs) -> requests.Response:
        """REST as ``who``: members with their API key for this workspace, outsiders with their own
        workspace's key, others with their cookies."""
        acc = self.accounts.get(who)
        headers = {"Authorization": acc.api_key} if acc else {}
        client = requests if acc else self.sessions[who]
        return client.request(method, self.url(f"/api/v1/workspaces/{self.ws}/projects{path}"), headers=headers,
                              **kwargs)

    def callback(self, who: str, trigger: str, values: dict, output: str = "") -> requests.Response:
        """Call the Dash callback that has the input ``trigger`` ("component-id.property"; for
        pattern ids their "type") as the browser would, with ``values`` keyed the same way."""
        body = body_from_values(find_callback(self.deps, trigger, output), values)
        return self.sessions[who].post(self.url("/_dash-update-component"), json=body)

    def project(self, name: str) -> Project:
        with self.data.db.session() as s:
            return s.exec(select(Project).where(Project.id == self.ids[name])).one()


@pytest.fixture(scope="module")
def world(server, accounts, browser):
    return World(server, accounts, browser)


# --- REST ----------------------------------------------------------------------------------

READ_SECRET = {"owner": 200, "admin": 200, "member": 200, "viewer": 200, "outsider": 404, "anonymous": 404,
               "share": 200}
READ_OTHER = {**READ_SECRET, "share": 404}
WRITE_SECRET = {"owner": 200, "admin": 200, "member": 200, "viewer": 403, "outsider": 404, "anonymous": 401,
                "share": 401}
WRITE_OPEN = {**WRITE_SECRET, "outsider": 403}


@pytest.mark.parametrize("who", ROLES)
def test_rest_read(world, who):
    assert world.rest(who, "GET", "/secret").status_code == READ_SECRET[who]
    assert world.rest(who, "GET", "/other").status_code == READ_OTHER[who]
    r = world.rest(who, "GET", "/open")
    assert r.status_code == 200 and r.json()["public"] is True
    assert r.json()["can_write"] is (who in ("owner", "admin", "member"))
    assert world.rest(who, "GET", "/secret/archive").status_code == READ_SECRET[who]


# An anonymous caller is asked for a key (401) where it can't read; members who can't read get 404.
LIST_SECRET = {**READ_SECRET, "anonymous": 401}
LIST_OTHER = {**READ_OTHER, "anonymous": 401, "share": 401}


@pytest.mark.parametrize("who", ROLES)
def test_rest_experiment_list_and_csv(world, who):
    """Public projects' experiment list and CSV export need no key; private ones stay closed."""
    if "open-run" not in world.ids:
        world.ids["open-run"] = world.data.experiment(world.accounts["owner"], "open", "open-run")
    listing = world.rest(who, "GET", "/open/experiments")
    assert listing.status_code == 200, listing.text
    assert [e["name"] for e in listing.json()["experiments"]] == ["open-run"]
    csv = world.rest(who, "GET", "/open/experiments.csv")
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert "open-run" in csv.text
    for name, expected in (("secret", LIST_SECRET[who]), ("other", LIST_OTHER[who])):
        for suffix in ("/experiments", "/experiments.csv", "/experiments.csv?state=not-a-view"):
            r = world.rest(who, "GET", f"/{name}{suffix}")
            if expected == 200 and "not-a-view" in suffix:
                assert r.status_code == 400, (name, suffix, r.text)
            else:
                assert r.status_code == expected, (name, suffix, r.text)
            if r.status_code != 200:
                assert "old" not in r.text and "error" in r.json()
    # writes stay authenticated
    if who in ("anonymous", "share"):
        assert world.rest(who, "PATCH", "/open", json={"description": "x"}).status_code == 401
        assert world.rest(who, "POST", "/open/archive/restore", json={"keys": []}).status_code == 401


@pytest.mark.parametrize("who", ROLES)
def test_rest_write(world, who):
    for name, expected in (("secret", WRITE_SECRET[who]), ("open", WRITE_OPEN[who])):
        before = world.project(name).description
        r = world.rest(who, "PATCH", f"/{name}", json={"description": f"edited by {who}"})
        assert r.status_code == expected, (name, r.text)
        assert world.project(name).description == (f"edited by {who}" if expected == 200 else before)
        assert "error" in r.json() if expected != 200 else True
    restore = world.rest(who, "POST", "/secret/archive/restore", json={"keys": []})
    assert restore.status_code == WRITE_SECRET[who]
    link = world.rest(who, "POST", "/secret/share-link")
    assert link.status_code == WRITE_SECRET[who]
    if link.status_code == 200:
        assert link.json()["token"] == world.token  # one link per project
    created = world.rest(who, "POST", "", json={"name": f"new-by-{who}"})
    assert created.status_code == {"owner": 201, "admin": 201, "member": 201, "viewer": 403, "outsider": 404,
                                   "anonymous": 401, "share": 401}[who]


def test_rest_delete_rules(world):
    owner_project = world.rest("owner", "POST", "", json={"name": "owners-scratch"})
    assert owner_project.status_code == 201
    assert world.rest("member", "DELETE", "/owners-scratch").status_code == 403
    assert world.rest("viewer", "DELETE", "/owners-scratch").status_code == 403
    assert world.rest("outsider", "DELETE", "/owners-scratch").status_code == 404
    assert world.rest("admin", "DELETE", "/owners-scratch").status_code == 200
    assert world.rest("member", "POST", "", json={"name": "members-own"}).status_code == 201
    assert world.rest("member", "DELETE", "/members-own").status_code == 200


def test_rest_rejects_bad_input(world):
    assert world.rest("owner", "PATCH", "/secret", json={"public": "yes please"}).status_code == 400
    assert world.rest("owner", "PATCH", "/secret", json={"unknown": 1}).status_code == 400
    assert world.rest("owner", "PATCH", "/secret", json={"github_url": "https://evil.example/x/y"}).status_code == 400
    assert world.rest("owner", "PATCH", "/secret", json={"name": "a/b"}).status_code == 400
    assert world.rest("owner", "POST", "", json={"name": "open"}).status_code == 409
    assert world.rest("owner", "POST", "/secret/archive/delete", data="nope").status_code == 400
    assert world.project("secret").name == "secret"


# --- Dash callbacks built by hand ------------------------------------------------------------

def text(r: requests.Response) -> str:
    return r.text if r.status_code == 200 else f"HTTP {r.status_code}"


@pytest.mark.parametrize("who", ROLES)
def test_callback_notes_save(world, who):
    pid = world.ids["secret"]
    before = world.project("secret").notes
    r = world.callback(who, "project-notes-save.n_clicks", {
        "project-notes-save.n_clicks": 1, "project-notes-editor.value": f"notes by {who}",
        "project-notes-project.data": pid})
    after = world.project("secret").notes
    if who in ("owner", "admin", "member"):
        assert "Saved at" in text(r) and after == f"notes by {who}"
        return
    assert after == before
    if who in ("anonymous", "share"):
        assert r.status_code == 401
    elif who == "viewer":
        assert "read-only" in text(r)
    else:
        assert "not found" in text(r).lower()


@pytest.mark.parametrize("who", ROLES)
def test_callback_manage_visibility_and_share_link(world, who):
    pid = world.ids["other"]
    r = world.callback(who, "project-manage-visibility.value", {
        "project-manage-visibility.value": "public", "project-manage-project.data": pid})
    made_public = world.project("other").is_public
    if made_public:
        world.rest("owner", "PATCH", "/other", json={"public": False})
    assert made_public is (who in ("owner", "admin", "member"))
    if who in ("anonymous", "share"):
        assert r.status_code == 401
    r = world.callback(who, "project-manage-share-create.n_clicks", {
        "project-manage-share-create.n_clicks": 1, "project-manage-project.data": pid})
    token = world.project("other").share_token
    assert (token is not None) is (who in ("owner", "admin", "member"))
    if token:
        world.rest("owner", "DELETE", "/other/share-link")
    if who == "viewer":
        assert "read-only" in text(r)


@pytest.mark.parametrize("who", ROLES)
def test_callback_workspace_listing_is_public_but_filtered(world, who):
    r = world.callback(who, "workspace-refresh.data", {
        "workspace-name.data": world.ws, "workspace-sort.value": "name", "workspace-pagination.active_page": 1})
    assert r.status_code == 200
    body = r.text
    assert '"open"' in body
    members = who in ("owner", "admin", "member", "viewer")
    assert ('"secret"' in body) is members
    assert ('"other"' in body) is members


@pytest.mark.parametrize("who", ROLES)
def test_callback_workspace_actions(world, who):
    secret = world.ids["secret"]
    action = {"type": "workspace-action", "action": "edit", "project": secret}
    r = world.callback(who, "workspace-action.n_clicks", {"workspace-action.n_clicks": [(action, 1)]})
    if who in ("owner", "admin", "member"):
        assert '"workspace-edit-name"' in text(r) or '"secret"' in text(r)
    else:
        assert r.status_code == 200 and ("not found" in r.text.lower() or "read-only" in r.text)
        assert '"value": "secret"' not in r.text
    before = world.project("secret")
    r = world.callback(who, "workspace-edit-save.n_clicks", {
        "workspace-edit-save.n_clicks": 1, "workspace-edit-name.value": "renamed",
        "workspace-edit-description.value": "x", "workspace-edit-visibility.value": "public",
        "workspace-target.data": secret, "workspace-refresh.data": 0})
    after = world.project("secret")
    if who in ("owner", "admin", "member"):
        assert after.name == "renamed"
        world.rest("owner", "PATCH", "/renamed", json={"name": "secret", "description": before.description,
                                                       "public": False})
    else:
        assert (after.name, after.is_public) == (before.name, before.is_public)
    doomed = world.data.project(world.accounts["owner"], f"doomed-{who}")
    world.callback(who, "workspace-delete-confirm.n_clicks", {
        "workspace-delete-confirm.n_clicks": 1, "workspace-target.data": doomed, "workspace-refresh.data": 0})
    # Only owners and admins delete a project someone else created.
    assert world.rest("owner", "GET", f"/doomed-{who}").status_code == (404 if who in ("owner", "admin") else 200)


@pytest.mark.parametrize("who", ROLES)
def test_callback_archive_and_files(world, who):
    key = world.data.experiment(world.accounts["owner"], "other", f"arch-{who}", archived=True)
    pid = world.ids["other"]
    r = world.callback(who, "project-archive-confirm.n_clicks", {
        "project-archive-confirm.n_clicks": 1,
        "project-archive-check.value": [({"type": "project-archive-check", "key": key}, True)],
        "project-archive-check.id": [({"type": "project-archive-check", "key": key},
                                      {"type": "project-archive-check", "key": key})],
        "project-archive-project.data": pid}, output="project-archive-message")
    gone = requests.get(world.url(f"/api/v1/experiments/{key}"),
                        headers={"Authorization": world.accounts["owner"].api_key}).status_code == 404
    assert gone is (who in ("owner", "admin", "member")), text(r)
    if who in ("anonymous", "share"):
        assert r.status_code == 401
    # "View experiments" is public (for public projects); on a private one it reveals nothing.
    world.data.experiment(world.accounts["owner"], "other", f"uses-{who}", file_name="secret_script.py")
    r = world.callback(who, "project-files-view.n_clicks", {
        "project-files-view.n_clicks": [({"type": "project-files-view", "index": 0}, 1)],
        "project-files-project.data": pid})
    assert r.status_code == 200
    assert (f"uses-{who}" in r.text) is (who in ("owner", "admin", "member", "viewer"))


@pytest.mark.parametrize("who", ROLES)
def test_callback_snippet_key_needs_write_access(world, who):
    r = world.callback(who, "project-header-snippet-confirm.n_clicks", {
        "project-header-snippet-confirm.n_clicks": 1,
        "project-header-ref.data": {"workspace": world.ws, "project": "open"}})
    if who in ("anonymous", "share"):
        assert r.status_code == 401
        return
    if who in ("owner", "admin", "member"):
        assert "api_key=" in r.text
        new_key = r.text.split("api_key='")[1].split("'")[0]
        world.accounts[who].api_key = new_key
        assert requests.get(world.url("/api/v1/account"), headers={"Authorization": new_key}).status_code == 200
    else:
        assert "api_key=" not in r.text


@pytest.mark.parametrize("who", ROLES)
def test_callback_unlock_collaborator(world, who):
    """Only the workspace's owners and admins lift a collaborator's sign-in lockout."""
    from dashboard.services import accounts as account_service, login_throttle

    db = world.data.db
    with db.session() as s:
        target = account_service.find_user(s, world.accounts["member"].username)
        for _ in range(login_throttle.ACCOUNT_AT_ADDRESS.free):  # failed sign-ins from elsewhere
            login_throttle.begin(s, target.username, f"192.0.2.{ROLES.index(who) + 1}", {})
    with db.session() as s:
        assert login_throttle.throttled_user_ids(s, [target.id]) == {target.id}
    unlock = {"type": "settings-collab-unlock", "user": target.id}
    r = world.callback(who, "settings-collab-unlock.n_clicks", {
        "settings-collab-unlock.n_clicks": [(unlock, 1)], "settings-workspace.data": world.ws})
    with db.session() as s:
        unlocked = not login_throttle.throttled_user_ids(s, [target.id])
        login_throttle.unlock(s, target)
    assert unlocked is (who in ("owner", "admin")), text(r)
    if who in ("anonymous", "share"):
        assert r.status_code == 401


def test_share_link_deleted_ends_access(world):
    assert world.rest("share", "GET", "/secret").status_code == 200
    assert world.rest("owner", "DELETE", "/secret/share-link").status_code == 200
    assert world.rest("share", "GET", "/secret").status_code == 404
    r = world.callback("share", "workspace-refresh.data", {"workspace-name.data": world.ws})
    assert '"secret"' not in r.text
    token = world.rest("owner", "POST", "/secret/share-link").json()["token"]
    assert token != world.token
    assert world.rest("share", "GET", "/secret").status_code == 404  # the old session's token is dead
