"""A run of an optimizer sweep is one click from the sweep's view of its project: only the
sweep's runs, the swept parameters and the metric as columns, and a parallel-coordinates panel
over them (headless Chromium)."""
import pytest
from playwright.sync_api import expect

from dashboard.auth import Actor
from dashboard.db import Database
from dashboard.services import accounts as account_service, ingest, optimizer
from tests.conftest import sign_in, wait_parcoords_axes

pytestmark = pytest.mark.browser
SLOW = 30_000


@pytest.fixture(scope="module")
def sweep_project(server, accounts):
    owner = accounts.create("sweepui")
    db = Database(server.database_url)
    with db.session() as s:
        user = account_service.find_user(s, owner.username)
        actor = Actor(user_id=user.id, username=user.username)
        ws_actor = Actor(user_id=user.id, username=user.username, api_workspace_id=None)
        sweep_id = optimizer.create(s, ws_actor, {
            "algorithm": "grid", "workspace": owner.workspace, "name": "lr-sweep",
            "parameters": {"lr": {"type": "float", "min": 0.001, "max": 0.1, "scalingType": "loguniform"},
                           "act": ["relu", "tanh"]},
            "spec": {"metric": "loss", "gridSize": 2, "seed": 1}})
    keys, plain = [], []
    for i in range(4):
        with db.session() as s:
            package = optimizer.next_parameters(s, actor, sweep_id)
        with db.session() as s:
            params = package["parameters"]
            loss = params["lr"] * 10 + (0.1 if params["act"] == "tanh" else 0)
            exp, _ = ingest.start_experiment(s, actor, owner.workspace, "tuning", name=f"trial-{i}")
            ingest.apply_batch(s, actor, exp.key, {
                "batch_id": f"sweep-{exp.key}",
                "metrics": [{"name": "loss", "value": loss + 1, "step": 0}, {"name": "loss", "value": loss, "step": 1}],
                "parameters": [{"name": k, "value": v} for k, v in params.items()],
                "others": [{"key": "optimizer_id", "value": sweep_id}, {"key": "optimizer_pid", "value": package["pid"]},
                           {"key": "optimizer_trial", "value": package["trial"]}]})
            ingest.end_experiment(s, actor, exp.key, "finished")
            optimizer.update_trial(s, actor, {"id": sweep_id, "pid": package["pid"], "trial": 1,
                                              "status": "completed", "score": loss, "experimentKey": exp.key})
            keys.append(exp.key)
        with db.session() as s:
            other, _ = ingest.start_experiment(s, actor, owner.workspace, "tuning", name="not-in-sweep")
            ingest.apply_batch(s, actor, other.key, {"batch_id": f"plain-{other.key}-{i}",
                                                     "metrics": [{"name": "loss", "value": 5.0, "step": 0}]})
            ingest.end_experiment(s, actor, other.key, "finished")
            plain.append(other.key)
    return {"owner": owner, "keys": keys, "plain": plain, "sweep_id": sweep_id}


def test_sweep_link_opens_the_sweeps_view(server, page, sweep_project, console_errors):
    owner = sweep_project["owner"]
    sign_in(page, server, owner, f"/{owner.workspace}/tuning/{sweep_project['keys'][0]}")
    link = page.locator("#experiment-sweep-link")
    expect(link).to_be_visible(timeout=SLOW)
    link.click()
    page.wait_for_url(lambda url: f"/{owner.workspace}/tuning#" in url, timeout=SLOW)
    expect(page.locator("#project-count")).to_have_text("4 experiments", timeout=SLOW)
    card = page.locator('.project-panel[data-panel-type="parcoords"]')
    wait_parcoords_axes(card, 3)
    expect(card).to_contain_text("lr")
    expect(card).to_contain_text("act")
    header = page.locator("#project-grid .ag-header")
    expect(header).to_contain_text("lr", timeout=SLOW)
    expect(header).to_contain_text("loss")
    assert console_errors == []


def test_run_outside_a_sweep_has_no_sweep_link(server, page, sweep_project):
    owner = sweep_project["owner"]
    sign_in(page, server, owner, f"/{owner.workspace}/tuning/{sweep_project['plain'][0]}")
    expect(page.locator("#experiment-reproduce-open")).to_be_visible(timeout=SLOW)
    expect(page.locator("#experiment-sweep-link")).to_have_count(0)
