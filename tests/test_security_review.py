"""Security checks found by review: sign-in redirects and sign-out, API key rotation, the callback
guard, handshake input, and user strings inside Plotly figures (which render a subset of HTML)."""
import json
import re

import numpy as np
import pytest
import requests
from playwright.sync_api import expect

from dashboard.charts import histogram3d, line
from dashboard.sdk import formats
from tests.conftest import sign_in
from tests.experiment_fixtures import Logger, png

LINK = '<a href="https://evil.example/">click</a>'


def sign_in_post(server, account, next_path: str) -> requests.Response:
    return requests.post(server.url + "/auth/login", allow_redirects=False,
                         data={"username": account.username, "password": account.password, "next": next_path})


@pytest.mark.parametrize("target", ["/\\evil.example", "/\t/evil.example", "https://evil.example/"])
def test_sign_in_never_redirects_off_site(server, accounts, target):
    account = accounts.create("redir")
    r = sign_in_post(server, account, target)
    assert r.status_code == 302
    assert r.headers["Location"] in ("/", server.url + "/")


def test_sign_in_keeps_a_local_next(server, accounts):
    account = accounts.create("redir")
    r = sign_in_post(server, account, "/workspaces?x=1")
    assert r.headers["Location"].endswith("/workspaces?x=1")


def test_rotated_api_key_is_refused_at_once(server, accounts):
    from dashboard.auth import Actor
    from dashboard.services import workspaces

    account = accounts.create("rotate")
    old = account.api_key
    comet_account = server.url + "/api/rest/v2/account-details"
    assert requests.get(server.url + "/api/v1/account", headers={"Authorization": old}).status_code == 200
    assert requests.get(comet_account, headers={"Authorization": old}).status_code == 200
    with accounts.db.session() as s:
        ws = workspaces.find_by_name(s, account.workspace)
        new = workspaces.generate_api_key(s, Actor(user_id=ws.default_for_user_id), ws.id)
    for url in (server.url + "/api/v1/account", comet_account):
        assert requests.get(url, headers={"Authorization": old}).status_code == 401
        assert requests.get(url, headers={"Authorization": new}).status_code == 200


def test_guard_matches_whole_output_ids(server):
    """A callback is public by its exact output key, never because a public output is part of
    another key's text: a longer id, a duplicate output's "@hash", another callback's
    multi-output key or a pattern id of the same name."""
    public = "shell-nav-right.children"

    def post(output):
        body = {"output": output, "outputs": {"id": "shell-nav-right", "property": "children"},
                "inputs": [{"id": "shell-url", "property": "pathname", "value": "/workspaces"},
                           {"id": "shell-url", "property": "search", "value": ""}],
                "state": [], "changedPropIds": ["shell-url.pathname"]}
        return requests.post(server.url + "/_dash-update-component", json=body)

    assert post(public).status_code == 200
    for output in ("my-shell-nav-right.children", f"{public}@1f2e", f"..{public}...settings-collab-list.children..",
                   '{"index":["ALL"],"type":"shell-nav-right"}.children', public.upper()):
        assert post(output).status_code == 401, output


def figure_strings(fig) -> list[str]:
    """Every string of a figure that Plotly renders as (pseudo-)HTML."""
    data = fig.to_plotly_json()
    out = []

    def walk(value):
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "OU":
            walk(value.tolist())

    walk(data["data"])
    walk(data["layout"])
    return out


def test_chart_builders_escape_user_strings():
    series = [{"exp": {"key": "k", "name": LINK}, "metric": m, "x": np.arange(3), "y": np.arange(3.0)}
              for m in (LINK, "acc %{x}")]
    fig = line.line_figure(series, title=LINK, per_metric=True)
    hist = histogram3d.figure(LINK, [histogram3d.Histogram(0, np.array([0.0, 1.0]), np.array([1.0, 2.0]))])
    for strings in (figure_strings(fig), figure_strings(hist)):
        assert not [s for s in strings if "<a" in s or "acc %{x}" in s]
    assert "&lt;a href" in fig.layout.title.text and "&lt;a href" in hist.layout.title.text


@pytest.fixture(scope="module")
def hostile(server, accounts):
    """An experiment whose confusion matrix carries markup in its labels, title and axis names,
    and an example whose asset id tries to climb out of the media route."""
    owner = accounts.create("sec")
    log = Logger(server.home, server.database_url, owner.username)
    key = log.start("sec", name="<b>hostile</b>")
    other = log.start("sec", name=LINK)
    for k in (key, other):
        log.batch(k, metrics=[{"name": LINK, "value": float(v), "step": v} for v in range(3)])
    image = log.asset(key, png(3), "image", "sample.png", step=0)
    labels = [LINK, "<b>bold</b>", "100%{y}"]
    cm = formats.confusion_matrix_json(
        matrix=[[1, 2, 0], [0, 3, 1], [2, 0, 4]], labels=labels, title="<i>CM</i> " + LINK, row_label=LINK,
        column_label="<b>pred</b>")
    climb = {"index": 1, "sample": "x", "assetId": "../../../../../logout"}
    cm["sampleMatrix"] = [[[] for _ in labels] for _ in labels]
    cm["sampleMatrix"][0][1] = [{"index": 0, "sample": "ok", "assetId": image}]
    cm["sampleMatrix"][2][0] = [climb]
    log.asset(key, json.dumps(cm).encode(), "confusion-matrix", "hostile.json", step=1)
    return {"owner": owner, "key": key, "other": other, "labels": labels, "path": f"/{owner.workspace}/sec/{key}"}


def test_confusion_matrix_shows_markup_as_text(server, hostile, page, console_errors):
    sign_in(page, server, hostile["owner"], hostile["path"] + "?tab=confusion")
    page.click("#experiment-cm-select")
    page.get_by_role("option", name=re.compile("hostile.json")).click()
    graph = page.locator("#experiment-cm-graph")
    page.wait_for_function("() => { const g = document.querySelector('#experiment-cm-graph .js-plotly-plot');"
                           " return g && g.data && g.data[0].x.length === 3; }")
    expect(graph.locator(".xtick").first).to_be_visible()
    # Plotly would turn <a href> into a live link and <b>/<i> into styled text.
    assert graph.locator("a[href*='evil.example']").count() == 0
    assert graph.locator("svg a").count() == 0
    ticks = graph.locator(".xtick text").all_text_contents() + graph.locator(".ytick text").all_text_contents()
    assert LINK in ticks and "<b>bold</b>" in ticks and "100%{y}" in ticks
    assert "<i>CM</i>" in graph.locator(".gtitle").text_content()
    # The escaped labels still map a clicked cell back to its categories.
    box = graph.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 1.5 / 3, box["y"] + box["height"] * 0.5 / 3)
    view = page.locator(".experiment-cm-example-view").first
    expect(view).to_contain_text(f"Actual {LINK} → predicted <b>bold</b>")
    expect(view.locator("img")).to_have_count(1)
    page.mouse.click(box["x"] + box["width"] * 0.5 / 3, box["y"] + box["height"] * 2.5 / 3)
    expect(page.locator(".experiment-cm-example-view")).to_have_count(2)
    srcs = page.locator(".experiment-cm-example-view img").evaluate_all("els => els.map(e => e.src)")
    assert srcs and all(f"/api/v1/experiments/{hostile['key']}/media/" in s for s in srcs), srcs
    page.goto(server.url + "/workspaces")
    expect(page).to_have_url(re.compile(r"/workspaces$"))  # still signed in
    assert [e for e in console_errors if "Failed to load resource" not in e] == []


def test_compare_charts_show_names_as_text(server, hostile, page, console_errors):
    sign_in(page, server, hostile["owner"],
            f"/{hostile['owner'].workspace}/sec/compare?experiments={hostile['key']},{hostile['other']}")
    chart = page.locator(".compare-chart").first
    expect(chart.locator(".legendtext").first).to_be_visible()
    assert chart.locator("svg a").count() == 0
    assert LINK in chart.locator(".gtitle").text_content()
    assert sorted(chart.locator(".legendtext").all_text_contents()) == sorted([LINK, "<b>hostile</b>"])
    assert console_errors == []


def test_comet_handshake_rejects_non_string_names(server, accounts):
    account = accounts.create("shake")
    url = server.url + "/clientlib/logger/add/run"
    for body in ({"teamName": ["x"], "projectName": "p"}, {"teamName": account.workspace, "projectName": {"a": 1}},
                 {"teamName": account.workspace, "projectName": "p", "experimentKey": ["k"]}):
        r = requests.post(url, json=body, headers={"Authorization": account.api_key})
        assert r.status_code == 400 and "must be a string" in r.json()["msg"], r.text
    listed = requests.get(f"{server.url}/api/v1/workspaces/{account.workspace}/projects",
                          headers={"Authorization": account.api_key}).json()
    assert listed["projects"] == []  # nothing was created


def test_an_image_pointing_at_logout_does_not_sign_out(server, hostile, accounts, page):
    """Notes may show images; one whose source is /logout must not sign its viewers out."""
    from dashboard.auth import Actor
    from dashboard.services import experiment_page, workspaces

    owner = hostile["owner"]
    with accounts.db.session() as s:
        ws = workspaces.find_by_name(s, owner.workspace)
        experiment_page.set_notes(s, Actor(user_id=ws.default_for_user_id), hostile["key"],
                                  "Before ![gone](/logout) after")
    sign_in(page, server, owner, hostile["path"] + "?tab=notes")
    image = page.locator("#experiment-notes-rendered img")
    expect(image).to_have_attribute("src", "/logout")
    page.wait_for_function("img => img.complete", arg=image.element_handle())
    page.goto(server.url + "/workspaces")
    expect(page).to_have_url(re.compile(r"/workspaces$"))
    page.goto(server.url + "/logout")  # a navigation still signs out
    expect(page).to_have_url(re.compile(r"/login"))


def test_anonymous_callback_bodies_are_small(server):
    """Without a session, the guard reads at most 1 MB of a callback request."""
    body = {"output": "workspace-projects.children",
            "inputs": [{"id": "x", "property": "value", "value": "a" * 2_000_000}]}
    r = requests.post(server.url + "/_dash-update-component", json=body)
    assert r.status_code == 413

