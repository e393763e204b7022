"""The diff page for two experiments: pure diff helpers and the page in the browser."""
import uuid

import pytest
import requests
from playwright.sync_api import expect

from dashboard.services.compare import keyed_rows, packages_map, parse_keys, text_diff
from dashboard.errors import Invalid
from tests.conftest import sign_in


def test_keyed_rows_marks_differences():
    rows = keyed_rows({"lr": 0.1, "act": "relu"}, {"lr": 0.01, "act": "relu", "extra": 1})
    assert rows == [("act", "relu", "relu", False), ("extra", "", "1", True), ("lr", "0.1", "0.01", True)]


def test_text_diff_pairs_lines_and_folds_unchanged_runs():
    a = [f"line {i}" for i in range(20)]
    b = list(a)
    b[2] = "changed"
    b.insert(15, "added")
    rows = text_diff(a, b, context=1)
    tags = [r[0] for r in rows]
    assert ("replace", 3, "line 2", 3, "changed") in rows
    assert ("insert", None, "", 16, "added") in rows
    assert "skip" in tags and tags.count("equal") <= 4


def test_parse_keys_needs_two_different():
    assert parse_keys("a, b") == ["a", "b"]
    for bad in ("", "a", "a,a", "a,b,c"):
        with pytest.raises(Invalid):
            parse_keys(bad)


def test_packages_map():
    assert packages_map(["numpy==1.0", "weird"]) == {"numpy": "1.0", "weird": "weird"}


def _log(server, key, project, name, params, loss, code):
    h = {"Authorization": key}
    r = requests.post(server.url + "/api/v1/experiments", json={"project": project, "name": name}, headers=h)
    exp_key = r.json()["experiment_key"]
    batch = {"batch_id": uuid.uuid4().hex, "tags": ["diff"],
             "parameters": [{"name": k, "value": v} for k, v in params.items()],
             "metrics": [{"name": "loss", "value": v, "step": i} for i, v in enumerate(loss)],
             "details": {"host": name, "installed_packages": ["numpy==1.0", f"torch=={name[-1]}.0"]}}
    assert requests.post(server.url + f"/api/v1/experiments/{exp_key}/batch", json=batch, headers=h).ok
    r = requests.post(server.url + f"/api/v1/experiments/{exp_key}/assets", headers=h,
                      data={"type": "code", "name": "train.py"}, files={"file": ("file", code.encode())})
    assert r.status_code == 201, r.text
    return exp_key


@pytest.mark.browser
def test_compare_page_shows_differences_and_overlaid_charts(server, accounts, page, console_errors):
    owner, outsider = accounts.create("cmp"), accounts.create("out")
    a = _log(server, owner.api_key, "diffs", "run-a", {"lr": 0.1, "act": "relu"}, [1.0, 0.5, 0.25],
             "import x\nlr = 0.1\nprint(lr)\n")
    b = _log(server, owner.api_key, "diffs", "run-b", {"lr": 0.01, "act": "relu"}, [1.0, 0.7, 0.6],
             "import x\nlr = 0.01\nprint(lr)\n")
    sign_in(page, server, owner)
    page.goto(server.url + f"/{owner.workspace}/diffs/compare?experiments={a},{b}")
    expect(page.locator("#compare-a")).to_have_text("run-a")
    changed = page.locator("#compare-parameters tr.diff-row-changed")
    expect(changed).to_have_count(1)
    expect(changed).to_contain_text("lr")
    expect(page.locator("#compare-metrics tr.diff-row-changed")).to_contain_text("loss")
    expect(page.locator("#compare-charts .js-plotly-plot")).to_have_count(1)
    expect(page.locator("#compare-charts .scatterlayer .trace")).to_have_count(2)
    expect(page.locator("#compare-code .diff-changed").first).to_contain_text("lr = 0.1")
    expect(page.locator("#compare-packages")).to_contain_text("torch")
    assert console_errors == []

    # An outsider can't open it, and a single key is refused with a message.
    page.goto(server.url + "/logout")
    sign_in(page, server, outsider)
    page.goto(server.url + f"/{owner.workspace}/diffs/compare?experiments={a},{b}")
    expect(page.locator("#not-found")).to_be_visible()


def test_metric_display_order_puts_system_metrics_last():
    from dashboard.services.metrics import display_order

    assert display_order(["sys.cpu", "val_loss", "acc", "sys.ram", "acc"]) == ["acc", "val_loss", "sys.cpu", "sys.ram"]
