"""Export all columns on the project page: a background job (the server's own job processes,
no broker) writes every matching experiment with every parameter, metric and other to CSV,
shows its progress and hands the file to the browser. The same job through `halley worker` and
two servers is in tests/test_multi_server.py."""
import csv
import io

import pytest
from playwright.sync_api import expect

from dashboard.auth import Actor
from dashboard.db import Database
from dashboard.services import accounts as account_service, ingest
from tests.conftest import sign_in

pytestmark = pytest.mark.browser
SLOW = 60_000


def log_runs(database_url: str, username: str, workspace: str, project: str, count: int) -> list[str]:
    """``count`` finished runs, each with two parameters, a metric and an "other"."""
    db = Database(database_url)
    keys = []
    with db.session() as s:
        user = account_service.find_user(s, username)
        actor = Actor(user_id=user.id, username=user.username)
        for i in range(count):
            exp, _ = ingest.start_experiment(s, actor, workspace, project, name=f"run-{i}")
            ingest.apply_batch(s, actor, exp.key, {
                "batch_id": f"{project}-{i}", "metrics": [{"name": "loss", "value": 1 / (i + 1), "step": 0}],
                "parameters": [{"name": "lr", "value": 0.1 * (i + 1)}, {"name": "depth", "value": i}],
                "others": [{"key": "dataset", "value": f"set-{i % 2}"}]})
            ingest.end_experiment(s, actor, exp.key, "finished")
            keys.append(exp.key)
    return keys


def export_all_columns(page) -> list[dict]:
    """Click Export all columns, wait for the file; its rows."""
    with page.expect_download(timeout=SLOW * 2) as download:
        page.click("#project-export-all")
    expect(page.locator("#project-export-all-status")).to_contain_text("Exported", timeout=SLOW)
    return list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))


# Every text the job's note shows, kept as the page changes it.
WATCH_NOTE = """() => {
    window.noteTexts = [];
    const note = document.getElementById("project-export-all-note");
    new MutationObserver(() => window.noteTexts.push(note.textContent))
        .observe(note, {childList: true, characterData: true, subtree: true});
}"""


def test_export_all_columns_writes_every_column_of_every_run(server, accounts, page):
    """Without a broker the server runs the job itself: the page says it is starting the export
    and never asks for a `halley worker`, however long the job takes to start."""
    owner = accounts.create("exp")
    keys = log_runs(server.database_url, owner.username, owner.workspace, "exports", 5)
    sign_in(page, server, owner, f"/{owner.workspace}/exports")
    page.goto(f"{server.url}/{owner.workspace}/exports")
    expect(page.locator("#project-export-all")).to_be_visible(timeout=SLOW)
    page.evaluate(WATCH_NOTE)
    rows = export_all_columns(page)
    texts = page.evaluate("window.noteTexts")
    assert "Starting the export…" in texts and not [t for t in texts if "worker" in t], texts
    # a job that hasn't started long after the click: still no word of a worker (one is asked
    # for only when jobs run in separate workers)
    late = "([worker]) => window.halleyTable.exportProgress(null, 1000, false, worker, 20)[2]"
    assert "Queued" in page.evaluate(late, [False]) and "worker" not in page.evaluate(late, [False])
    assert "halley worker" in page.evaluate(late, [True])
    assert sorted(r["Experiment key"] for r in rows) == sorted(keys)
    # columns the view doesn't show are there too: parameters, metric summaries, others
    assert {"lr", "depth", "dataset", "loss (last)", "loss (min)"} <= set(rows[0])
    by_key = {r["Experiment key"]: r for r in rows}
    assert float(by_key[keys[2]]["depth"]) == 2 and by_key[keys[3]]["dataset"] == "set-1"
    expect(page.locator("#project-export-all-running")).to_be_hidden()
    expect(page.locator("#project-export-all")).to_be_enabled()


def test_the_job_checks_who_started_it(server, accounts, page):
    """A visitor who points the page's project at a private project of someone else gets the
    project's "not found", and no file: the job checks the access of whoever started it."""
    owner, outsider = accounts.create("exp"), accounts.create("out")
    log_runs(server.database_url, owner.username, owner.workspace, "private", 1)
    log_runs(server.database_url, outsider.username, outsider.workspace, "mine", 1)
    sign_in(page, server, outsider, f"/{outsider.workspace}/mine")
    page.goto(f"{server.url}/{outsider.workspace}/mine")
    expect(page.locator("#project-export-all")).to_be_visible(timeout=SLOW)
    downloads = []
    page.on("download", lambda d: downloads.append(d))
    page.evaluate("""([workspace, project]) => dash_clientside.set_props("project-ctx",
        {data: {workspace: workspace, project: project, canWrite: false}})""", [owner.workspace, "private"])
    page.click("#project-export-all")
    expect(page.locator("#project-export-all-status .alert-danger")).to_contain_text("not found", timeout=SLOW)
    assert downloads == []
