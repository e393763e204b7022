"""Images in notes: Halley's own and those on hosts listed in HALLEY_NOTE_IMAGE_HOSTS show
inline; an image on any other server shows as a link with its alt text, so reading notes makes
the browser call no other server. The pages' policy blocks such a load should one reach a page.

Two more local servers stand in for the remote hosts: one listed, one not."""
import pytest
from playwright.sync_api import expect

from dashboard.config import image_hosts_of
from tests.conftest import Accounts, LiveServer
from tests.experiment_fixtures import Logger, png
from tests.other_site import OtherSite

NOTES = """Tracking pixel: ![pixel]({remote}/pixel.png)

![]({remote}/no-alt.png) and [![badge]({remote}/badge.png)](https://example.org/ci) and ![sneaky](//{remote_host}/proto.png)

Allowed: ![chart]({allowed}/chart.png)

Own: ![own]({own})
"""
LOAD = """src => new Promise(done => { const img = new Image(); img.onload = () => done('loaded');
    img.onerror = () => done('blocked'); img.src = src; document.body.appendChild(img); })"""


@pytest.fixture(scope="module")
def hosts():
    with OtherSite() as remote, OtherSite() as allowed:
        for site in (remote, allowed):
            for name in ("pixel", "no-alt", "badge", "proto", "chart", "injected"):
                site.serve(f"/{name}.png", png(7, 4), "image/png")
        yield remote, allowed


@pytest.fixture(scope="module")
def notes(tmp_path_factory, hosts):
    """A server that lists one of the two hosts, and a public project whose notes (and an
    experiment's notes) point images at both, at Halley itself, and at the unlisted one in
    the ways markdown allows."""
    remote, allowed = hosts
    server = LiveServer(tmp_path_factory.mktemp("notes-home"),
                        extra_env={"HALLEY_NOTE_IMAGE_HOSTS": f"  {allowed.host} ,images.example.com"}).start()
    try:
        from dashboard.services import experiment_page, projects

        owner = Accounts(server).create("notes")
        log = Logger(server.home, server.database_url, owner.username)
        key = log.start("gallery")
        image = log.asset(key, png(3), "image", "own.png", step=0)
        text = NOTES.format(remote=remote.url, remote_host=remote.host, allowed=allowed.url,
                            own=f"/api/v1/experiments/{key}/media/{image}")
        with log.db.session() as s:
            project = projects.get_readable(s, log.actor, owner.username, "gallery")
            projects.update(s, log.actor, project.id, is_public=True)
            projects.set_notes(s, log.actor, project.id, text)
            experiment_page.set_notes(s, log.actor, key, text)
        yield {"server": server, "paths": {"#project-notes-view": f"/{owner.workspace}/gallery/notes",
                                           "#experiment-notes-rendered": f"/{owner.workspace}/gallery/{key}?tab=notes"}}
    finally:
        server.stop()


@pytest.mark.browser
def test_remote_images_show_as_links_and_no_request_leaves(notes, hosts, page, console_errors):
    remote, allowed = hosts
    server = notes["server"]
    sent = []
    page.on("request", lambda request: sent.append(request.url))
    for view_id, path in notes["paths"].items():
        page.goto(server.url + path)
        view = page.locator(view_id)
        for alt in ("chart", "own"):  # the listed host's image and Halley's own load
            image = view.locator(f'img[alt="{alt}"]')
            expect(image).to_have_count(1)
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        expect(view.locator("img")).to_have_count(2)
        links = view.locator("a.project-markdown-image-link")
        expect(links).to_have_count(3)
        assert links.all_text_contents() == ["pixel", f"{remote.url}/no-alt.png", "sneaky"]
        assert [links.nth(i).get_attribute("href") for i in range(3)] == [
            f"{remote.url}/pixel.png", f"{remote.url}/no-alt.png", f"//{remote.host}/proto.png"]
        badge = view.locator('a[href="https://example.org/ci"]')  # an image inside a link: its alt text
        expect(badge).to_have_text("badge")
    assert [url for url in sent if remote.host in url] == []
    assert remote.hits == []
    assert allowed.hits.count("/chart.png") >= 1
    assert console_errors == []


@pytest.mark.browser
def test_the_page_policy_blocks_images_from_unlisted_hosts(notes, hosts, page):
    remote, allowed = hosts
    server = notes["server"]
    page.goto(server.url + notes["paths"]["#project-notes-view"])
    expect(page.locator("#project-notes-view")).to_be_visible()
    hits_before = list(remote.hits)
    assert page.evaluate(LOAD, f"{remote.url}/injected.png") == "blocked"
    assert page.evaluate(LOAD, f"{allowed.url}/injected.png") == "loaded"
    assert remote.hits == hits_before


def test_listed_hosts_are_plain_hosts():
    """Each listed host becomes a policy source, so anything but a host (with an optional scheme
    and port) stops the server with a clear message instead of widening the policy."""
    hosts = image_hosts_of(" images.example.com, HTTPS://cdn.example.org:8443/ ,[::1]:8080,images.example.com")
    assert [h.source() for h in hosts] == ["images.example.com", "https://cdn.example.org:8443", "[::1]:8080"]
    assert hosts[0].serves("https://images.example.com/a.png") and hosts[0].serves("http://IMAGES.example.com:80/a")
    assert not hosts[0].serves("https://images.example.com:8443/a.png")
    assert not hosts[0].serves("https://images.example.com@evil.example/a.png")
    assert not hosts[0].serves("https://images.example.com.evil.example/a.png")
    assert hosts[1].serves("https://cdn.example.org:8443/a") and not hosts[1].serves("http://cdn.example.org:8443/a")
    assert hosts[2].serves("http://[::1]:8080/a.png")
    for bad in ("images.example.com; script-src *", "'unsafe-inline'", "*", "*.example.com", "ftp://images.example.com",
                "images.example.com/path", "user@images.example.com", "images.example.com:99999", "data:", "a b"):
        with pytest.raises(SystemExit, match="HALLEY_NOTE_IMAGE_HOSTS"):
            image_hosts_of(bad)
