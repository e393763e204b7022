"""``halley demo``: a real sweep logged through the SDK before any account exists, then
claimed by the first owner account and read back over REST from ``halley serve``."""
from __future__ import annotations

import json
import subprocess

import pytest
import requests

from tests.conftest import HALLEY, ROOT, Accounts, LiveServer, api

RUNS = 2
EPOCHS = 12


def run_demo(server: LiveServer, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([HALLEY, "demo", *args], env=server.env(), cwd=ROOT, capture_output=True, text=True,
                          timeout=240)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """An empty install: the demo is logged before anyone has an account."""
    srv = LiveServer(tmp_path_factory.mktemp("demo-home")).start()
    done = run_demo(srv, "--runs", str(RUNS))
    assert done.returncode == 0, done.stderr[-3000:]
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def owner(demo_server):
    """The first account, as /setup would create it (it is checked to still be needed first)."""
    first = requests.get(demo_server.url + "/", allow_redirects=False, timeout=30)
    assert first.status_code == 302 and first.headers["Location"].endswith("/setup")
    return Accounts(demo_server).create("owner")


@pytest.fixture(scope="module")
def client(demo_server, owner):
    """The owner's API key for the demo workspace."""
    return api(demo_server, Accounts(demo_server).key_for(owner, "demo"))


@pytest.fixture(scope="module")
def experiments(demo_server, client):
    r = client.get(f"{demo_server.url}/api/v1/workspaces/demo/projects/digits-mlp/experiments", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["experiments"]


def get(server, client, path: str):
    r = client.get(f"{server.url}/api/v1{path}", timeout=30)
    assert r.status_code == 200, r.text
    return r


def test_first_owner_adopts_the_demo_workspace(demo_server, client, owner):
    assert get(demo_server, client, "/account").json()["workspaces"] == [{"name": "demo", "role": "owner"}]
    own = api(demo_server, owner.api_key).get(f"{demo_server.url}/api/v1/workspaces", timeout=30)
    assert own.json()["workspaces"] == [owner.workspace]  # a key acts in its own workspace only
    projects = get(demo_server, client, "/workspaces/demo/projects").json()["projects"]
    assert [(p["name"], p["experiment_count"]) for p in projects] == [("digits-mlp", RUNS)]


def test_a_later_account_does_not_see_the_demo(demo_server, owner):
    later = Accounts(demo_server).create("later")
    r = api(demo_server, later.api_key).get(f"{demo_server.url}/api/v1/workspaces", timeout=30)
    assert r.json()["workspaces"] == [later.workspace]


def test_each_run_logs_metrics_parameters_and_tags(demo_server, client, experiments):
    assert len(experiments) == RUNS
    assert {e["status"] for e in experiments} == {"finished"}
    assert len({e["name"] for e in experiments}) == RUNS
    for e in experiments:
        key = e["experiment_key"]
        summary = {m["name"]: m for m in get(demo_server, client, f"/experiments/{key}/metrics/summary").json()["metrics"]}
        for name in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
            assert summary[name]["count"] == EPOCHS
            assert (summary[name]["first_step"], summary[name]["last_step"]) == (0, EPOCHS - 1)
        assert 0.5 < summary["val_accuracy"]["last"] <= 1.0
        assert summary["val_loss"]["min"] < summary["val_loss"]["max"]
        points = get(demo_server, client, f"/experiments/{key}/metrics?name=val_loss").json()["metrics"]
        assert [(p["step"], p["epoch"]) for p in points] == [(i, i) for i in range(EPOCHS)]

        params = {p["name"]: p["value"] for p in get(demo_server, client, f"/experiments/{key}/parameters").json()["parameters"]}
        assert {"learning_rate", "hidden_layer_sizes", "batch_size", "activation", "seed", "epochs"} <= set(params)
        assert params["epochs"] == str(EPOCHS)
        tags = get(demo_server, client, f"/experiments/{key}/tags").json()["tags"]
        assert {"digits", "mlp", params["activation"]} <= set(tags)
        others = {o["key"] for o in get(demo_server, client, f"/experiments/{key}/others").json()["others"]}
        assert {"dataset", "best_val_accuracy"} <= others


def test_each_run_logs_media_output_and_system(demo_server, client, experiments):
    key = experiments[0]["experiment_key"]
    assets = get(demo_server, client, f"/experiments/{key}/assets").json()["assets"]
    types = {a["type"] for a in assets}
    assert {"image", "histogram3d", "confusion-matrix", "text", "file", "audio", "code"} <= types
    histograms = [a for a in assets if a["type"] == "histogram3d"]
    assert {a["step"] for a in histograms} == set(range(EPOCHS))
    assert {a["name"] for a in assets if a["type"] == "file"} == {"history.csv", "classification_report.json"}
    texts = [a for a in assets if a["type"] == "text"]
    assert texts and all({"true", "predicted", "confidence"} <= set(a["metadata"]) for a in texts)

    matrix_asset = next(a for a in assets if a["type"] == "confusion-matrix")
    matrix = json.loads(get(demo_server, client, f"/experiments/{key}/assets/{matrix_asset['asset_id']}").content)
    assert matrix["labels"] == [str(d) for d in range(10)]
    assert sum(map(sum, matrix["matrix"])) == 450  # the validation split
    example_ids = {ref["assetId"] for row in matrix["sampleMatrix"] for cell in row if cell for ref in cell}
    image_ids = {a["asset_id"] for a in assets if a["type"] == "image"}
    assert example_ids and example_ids <= image_ids
    png = get(demo_server, client, f"/experiments/{key}/assets/{next(iter(example_ids))}").content
    assert png.startswith(b"\x89PNG")

    csv_asset = next(a for a in assets if a["name"] == "history.csv")
    csv_text = get(demo_server, client, f"/experiments/{key}/assets/{csv_asset['asset_id']}").text
    assert csv_text.splitlines()[0] == "epoch,train_loss,train_accuracy,val_loss,val_accuracy"
    assert len(csv_text.splitlines()) == EPOCHS + 1

    output = "".join(o["text"] for o in get(demo_server, client, f"/experiments/{key}/output").json()["output"])
    assert f"epoch  1/{EPOCHS}" in output and "finished mlp-" in output
    system = get(demo_server, client, f"/experiments/{key}/system").json()
    assert "scikit-learn" in system["system_info"]
    assert system["details"]["python_version"]
    assert system["details"]["file_name"] == "demo.py"  # the training script, not the launcher


def test_each_run_has_an_html_report_and_a_model_graph(demo_server, owner, experiments):
    from dashboard.auth import Actor
    from dashboard.services import accounts
    from dashboard.services import experiments as experiment_service

    db = Accounts(demo_server).db
    with db.session() as s:
        user = accounts.find_user(s, owner.username)
        exp = experiment_service.get_readable(s, Actor(user_id=user.id, username=user.username),
                                              experiments[0]["experiment_key"])
    assert "validation accuracy" in exp.html and "<table" in exp.html
    assert "Dense(64 -> " in exp.graph and "softmax" in exp.graph


def test_if_empty_leaves_a_populated_database_alone(demo_server, client):
    again = run_demo(demo_server, "--runs", "1", "--if-empty")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "skipping" in again.stdout
    projects = get(demo_server, client, "/workspaces/demo/projects").json()["projects"]
    assert projects[0]["experiment_count"] == RUNS


def test_demo_logs_into_a_running_server_with_a_key(demo_server, client, owner):
    done = run_demo(demo_server, "--runs", "1", "--epochs", "2", "--url", demo_server.url,
                    "--api-key", owner.api_key, "--workspace", owner.workspace, "--project", "sweep")
    assert done.returncode == 0, done.stderr[-3000:]
    own = api(demo_server, owner.api_key)
    runs = get(demo_server, own, f"/workspaces/{owner.workspace}/projects/sweep/experiments").json()["experiments"]
    assert len(runs) == 1
    meta = get(demo_server, own, f"/experiments/{runs[0]['experiment_key']}").json()
    assert "--api-key" in meta["command"] and owner.api_key not in " ".join(meta["command"])


def test_the_runs_get_the_first_colors_of_the_palette(demo_server, client, experiments):
    """Demo runs are created like any other: by their order in the project, each its own color."""
    import csv
    import io

    from dashboard.charts.style import PALETTE

    r = client.get(f"{demo_server.url}/api/v1/workspaces/demo/projects/digits-mlp/experiments.csv", timeout=30)
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.text)))
    colors = [row[rows[0].index("Color")] for row in rows[1:]]
    assert sorted(colors) == sorted(PALETTE[:RUNS])


def test_the_demo_project_opens_on_panels_of_its_sweep(demo_server, owner, page, console_errors):
    """A newcomer's first project shows what Halley draws: the default view's panels, all drawn."""
    from playwright.sync_api import expect

    from dashboard.services.demo_owner import DEMO_PANELS
    from tests.conftest import sign_in

    sign_in(page, demo_server, owner, "/demo/digits-mlp")
    cards = page.locator(".project-panel")
    expect(cards).to_have_count(len(DEMO_PANELS), timeout=60_000)
    expect(page.locator("#project-view-menu")).to_contain_text("Sweep overview")
    for i, panel in enumerate(DEMO_PANELS):
        card = cards.nth(i)
        expect(card).to_contain_text(panel["name"])
        # drawn with data: at least one trace, and not the "nothing to show" message
        page.wait_for_function("""(i) => {
            const gd = document.querySelectorAll('.project-panel')[i].querySelector('.js-plotly-plot');
            return gd && gd._fullData && gd._fullData.length > 0 && gd.querySelector('.main-svg');
        }""", arg=i, timeout=60_000)
        expect(card.locator(".js-plotly-plot")).not_to_contain_text("No ")
    page.screenshot(path="/tmp/shots/demo_project.png", full_page=True)
    assert console_errors == []
