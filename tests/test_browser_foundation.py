"""The foundation as a person uses it, in headless Chromium."""
import re
import time

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import sign_in

pytestmark = pytest.mark.browser


def test_first_run_owner_account_sign_out_and_in(fresh_server, page, console_errors):
    url = fresh_server.url
    page.goto(url + "/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.fill("#setup-username", "ada")
    page.fill("#setup-email", "ada@example.org")
    page.fill("#setup-password", "correct horse")
    page.fill("#setup-password2", "correct horse")
    page.click("#setup-submit")
    # Signed in and sent to "Get started" (no demo here); the default workspace is named after the user.
    expect(page).to_have_url(url + "/get-started")
    expect(page.locator("#get-started-workspace")).to_have_text("ada")
    page.goto(url + "/")
    expect(page).to_have_url(url + "/ada")
    expect(page.locator("#workspace-title")).to_have_text("ada")
    expect(page.locator("#shell-workspace-menu")).to_contain_text("ada")

    # The setup page is gone once an owner exists.
    page.goto(url + "/setup")
    expect(page).to_have_url(re.compile(r"/login$"))

    page.goto(url + "/logout")
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(url + "/workspaces")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)workspaces"))

    # A wrong password gives a clear message, not a traceback.
    page.fill("#login-username", "ada")
    page.fill("#login-password", "wrong password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")

    page.fill("#login-password", "correct horse")
    page.click("#login-submit")
    expect(page).to_have_url(url + "/workspaces")
    expect(page.locator("#workspaces-table")).to_contain_text("ada")

    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["session"]["httpOnly"] and cookies["session"]["sameSite"] == "Lax"
    remember = cookies["remember_token"]
    assert remember["httpOnly"] and remember["expires"] - time.time() < 31 * 86400
    assert console_errors == []


def test_workspace_collaborator_and_api_key_rotation(server, accounts, page, console_errors):
    owner, friend = accounts.create("own"), accounts.create("friend")
    sign_in(page, server, owner, "/workspaces")

    # Create a workspace through the dialog; we land on it.
    page.click("#workspaces-create-open")
    page.fill("#workspaces-create-name", f"team-{owner.username}")
    page.click("#workspaces-create-submit")
    expect(page.locator("#workspace-title")).to_have_text(f"team-{owner.username}")

    # Workspace dropdown -> Settings -> Collaborators: add the friend as a viewer.
    page.click("#shell-workspace-menu")
    page.click("#shell-settings")
    expect(page.locator("#settings-collab-table")).to_contain_text(owner.username)
    page.fill("#settings-collab-user", friend.email)
    page.click("#settings-collab-add")
    expect(page.locator("#settings-collab-ok")).to_contain_text(f"Added {friend.username} as member")
    expect(page.locator("#settings-collab-table")).to_contain_text(friend.username)

    # The friend's key for the new workspace sees it over REST; their role is member.
    team_key = accounts.key_for(friend, f"team-{owner.username}")
    spaces = requests.get(server.url + "/api/v1/account", headers={"Authorization": team_key}).json()
    assert spaces["workspaces"] == [{"name": f"team-{owner.username}", "role": "member"}]

    # Rotate the owner's key for their own workspace through Developer Information.
    page.goto(server.url + f"/settings/developer?workspace={owner.workspace}")
    page.click("#settings-apikey-generate")
    page.click("#settings-apikey-confirm")
    new_key = page.locator("#settings-apikey-raw").inner_text().strip()
    assert new_key and new_key != owner.api_key
    old = requests.get(server.url + "/api/v1/account", headers={"Authorization": owner.api_key})
    assert old.status_code == 401
    new = requests.get(server.url + "/api/v1/account", headers={"Authorization": new_key})
    assert new.status_code == 200 and new.json()["username"] == owner.username
    assert console_errors == []


def test_removing_a_collaborator_asks_first(server, accounts, page, console_errors):
    from sqlmodel import select

    from dashboard.auth import Actor
    from dashboard.services import workspaces
    from models import User

    owner, friend = accounts.create("rmo"), accounts.create("rmf")
    with accounts.db.session() as s:
        ws = workspaces.find_by_name(s, owner.workspace)
        me = s.exec(select(User).where(User.username == owner.username)).one()
        workspaces.add_collaborator(s, Actor(user_id=me.id, username=me.username), ws.id, friend.username, "member")
    sign_in(page, server, owner, f"/settings/collaborators?workspace={owner.workspace}")
    row = page.locator(".settings-collab-row", has_text=friend.username)
    row.locator("button[title^='Remove']").click()
    modal = page.locator("#settings-collab-remove-modal")
    expect(modal).to_be_visible()
    expect(page.locator("#settings-collab-remove-name")).to_have_text(friend.username)
    expect(page.locator("#settings-collab-remove-body")).to_contain_text(owner.workspace)
    page.click("#settings-collab-remove-cancel")
    expect(modal).to_be_hidden()
    expect(row).to_have_count(1)
    page.reload()
    expect(page.locator(".settings-collab-row", has_text=friend.username)).to_have_count(1)

    page.locator(".settings-collab-row", has_text=friend.username).locator("button[title^='Remove']").click()
    expect(page.locator("#settings-collab-remove-name")).to_have_text(friend.username)
    page.click("#settings-collab-remove-confirm")
    expect(page.locator("#settings-collab-ok")).to_contain_text(f"Removed {friend.username}")
    expect(modal).to_be_hidden()
    expect(page.locator(".settings-collab-row", has_text=friend.username)).to_have_count(0)
    with accounts.db.session() as s:
        names = [c.username for c in workspaces.collaborators(s, Actor(user_id=me.id, username=me.username), ws.id)]
    assert names == [owner.username]
    assert console_errors == []


def test_viewer_cannot_change_collaborators(server, accounts, page):
    owner, viewer = accounts.create("own"), accounts.create("view")
    from dashboard.auth import Actor
    from dashboard.services import workspaces

    with accounts.db.session() as s:
        ws = workspaces.find_by_name(s, owner.workspace)
        actor = Actor(user_id=ws.default_for_user_id, username=owner.username)
        workspaces.add_collaborator(s, actor, ws.id, viewer.username, "viewer")
    sign_in(page, server, viewer)
    page.goto(server.url + f"/settings/collaborators?workspace={owner.workspace}")
    expect(page.locator("#settings-readonly")).to_be_visible()
    expect(page.locator("#settings-collab-add")).to_have_count(0)


def test_non_member_gets_not_found_by_url(server, accounts, page):
    alice, mallory = accounts.create("alice"), accounts.create("mallory")
    sign_in(page, server, mallory)
    page.goto(server.url + f"/{alice.workspace}")
    expect(page.locator("#not-found")).to_be_visible()
    page.goto(server.url + f"/settings/collaborators?workspace={alice.workspace}")
    expect(page.locator("#not-found")).to_be_visible()
    page.goto(server.url + "/no-such-workspace-here")
    expect(page.locator("#not-found")).to_be_visible()
