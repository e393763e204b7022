"""Artifacts with the real, unmodified comet_ml against a live Halley: one run logs two versions
of a dataset (files, a folder, a remote file, aliases, tags, metadata) and a model at a given
version; a second run fetches them by alias and version and downloads them; comet_ml.API lists
them. Someone outside the workspace gets nothing. The workspace's Artifacts page and the
experiment page's Artifacts tab show all of it in a browser."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.conftest import sign_in
from tests.test_comet_live import run_comet

QUIET = ("log_env_gpu=False, log_env_details=False, log_code=False, log_git_metadata=False, "
         "log_git_patch=False, log_env_cpu=False, log_env_host=False")

PRODUCER = r'''
import json, os, sys
import comet_ml

work = sys.argv[1]
exp = comet_ml.Experiment(project_name="artifact-maker", %s)
exp.set_name("maker")
os.makedirs(work + "/v1/images", exist_ok=True)
open(work + "/v1/train.csv", "wb").write(b"a,b\n1,2\n")
open(work + "/v1/images/one.bin", "wb").write(bytes(range(256)) * 4)
first = comet_ml.Artifact("flowers", "dataset", metadata={"rows": 1, "source": "field"},
                          aliases=["staging"], version_tags=["raw"])
first.add(work + "/v1/train.csv")
first.add(work + "/v1/images", logical_path="images")
first.add_remote("https://data.example.org/flowers/big.parquet", logical_path="big.parquet")
one = exp.log_artifact(first)

open(work + "/train2.csv", "wb").write(b"a,b\n1,2\n3,4\n")
second = comet_ml.Artifact("flowers", "dataset", metadata={"rows": 2}, aliases=["staging", "prod"],
                           version_tags=["clean"])
second.add(work + "/train2.csv", logical_path="train.csv")
two = exp.log_artifact(second)

open(work + "/weights.pt", "wb").write(b"\x00weights\xff" * 100)
model = comet_ml.Artifact("classifier", "model", version="0.3.0")
model.add(work + "/weights.pt")
three = exp.log_artifact(model)
exp.end()
print("RESULT=" + json.dumps({"key": exp.get_key(), "versions": [str(one.version), str(two.version),
                                                                    str(three.version)]}))
''' % QUIET

CONSUMER = r'''
import json, os, sys
import comet_ml

work, workspace = sys.argv[1], sys.argv[2]
exp = comet_ml.Experiment(project_name="artifact-user", %s)
exp.set_name("user")
latest = exp.get_artifact("flowers")
staging = exp.get_artifact(workspace + "/flowers:staging")
first = exp.get_artifact("flowers", workspace=workspace, version_or_alias="1.0.0")
model = exp.get_artifact(workspace + "/classifier:0.3.0")
first.download(work + "/got1")
latest.download(work + "/got2")
model.download(work + "/got3")
exp.end()

def describe(a):
    return {"name": a.name, "type": a.artifact_type, "version": str(a.version), "aliases": sorted(a.aliases),
            "tags": sorted(a.version_tags), "metadata": dict(a.metadata), "workspace": a.workspace,
            "size": a.size, "source": a.source_experiment_key,
            "assets": sorted((x.logical_path, x.remote, x.link if x.remote else None) for x in a.assets)}

api = comet_ml.API()
print("RESULT=" + json.dumps({
    "key": exp.get_key(),
    "latest": describe(latest), "staging": describe(staging), "first": describe(first), "model": describe(model),
    "api_latest": describe(api.get_artifact(workspace, "flowers")),
    "list": api.get_artifact_list(workspace),
    "list_models": api.get_artifact_list(workspace, "model"),
    "details": api.get_artifact_details(workspace, "flowers"),
    "files": api.get_artifact_files(workspace, "flowers", version="1.0.0"),
}))
''' % QUIET


def result_of(done) -> dict:
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return json.loads(done.stdout.split("RESULT=")[1].splitlines()[0])


@pytest.fixture(scope="module")
def flow(server, accounts, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("comet-artifacts")
    owner = accounts.create("artifacts")
    made = result_of(run_comet(server, owner, tmp, PRODUCER, tmp))
    used = result_of(run_comet(server, owner, tmp, CONSUMER, tmp, owner.workspace))
    return {"owner": owner, "tmp": tmp, "made": made, "used": used}


def test_versions_aliases_tags_and_metadata(flow):
    made, used, ws = flow["made"], flow["used"], flow["owner"].workspace
    assert made["versions"] == ["1.0.0", "2.0.0", "0.3.0"]
    latest, staging, first = used["latest"], used["staging"], used["first"]
    assert latest["version"] == staging["version"] == "2.0.0"
    assert latest["aliases"] == ["latest", "prod", "staging"]
    assert first["version"] == "1.0.0" and first["aliases"] == []  # "staging" moved to 2.0.0
    assert first["tags"] == ["raw"] and latest["tags"] == ["clean"]
    assert first["metadata"] == {"rows": 1, "source": "field"} and latest["metadata"] == {"rows": 2}
    assert first["workspace"] == ws and first["type"] == "dataset" and first["source"] == made["key"]
    assert first["assets"] == [["big.parquet", True, "https://data.example.org/flowers/big.parquet"],
                               ["images/one.bin", False, None], ["train.csv", False, None]]
    assert first["size"] == len(b"a,b\n1,2\n") + 1024, first
    assert used["model"]["version"] == "0.3.0" and used["model"]["type"] == "model"
    assert used["api_latest"]["version"] == "2.0.0"


def test_downloads_match_the_logged_bytes(flow):
    tmp = flow["tmp"]
    assert (tmp / "got1" / "train.csv").read_bytes() == (tmp / "v1" / "train.csv").read_bytes()
    assert (tmp / "got1" / "images" / "one.bin").read_bytes() == bytes(range(256)) * 4
    assert not (tmp / "got1" / "big.parquet").exists()  # a remote file stays a link
    assert (tmp / "got2" / "train.csv").read_bytes() == b"a,b\n1,2\n3,4\n"
    assert (tmp / "got3" / "weights.pt").read_bytes() == b"\x00weights\xff" * 100


def test_api_listing_details_and_files(flow):
    used = flow["used"]
    listed = {a["name"]: a for a in used["list"]["artifacts"]}
    assert set(listed) == {"flowers", "classifier"}
    assert listed["flowers"]["latestVersion"] == "2.0.0" and listed["flowers"]["type"] == "dataset"
    assert [a["name"] for a in used["list_models"]["artifacts"]] == ["classifier"]
    details = used["details"]
    assert details["latestVersion"] == "2.0.0"
    assert [v["version"] for v in details["versions"]] == ["1.0.0", "2.0.0"]
    assert all(v["state"] == "CLOSED" for v in details["versions"])
    assert sorted(f["fileName"] for f in used["files"]["files"]) == ["big.parquet", "images/one.bin", "train.csv"]


def test_outsiders_get_nothing(server, accounts, flow):
    owner, outsider = flow["owner"], accounts.create("stranger")
    rest = server.url + "/api/rest/v2/"
    as_outsider = {"Authorization": outsider.api_key}
    assert requests.get(rest + "artifacts/get-all", params={"workspace": owner.workspace},
                        headers=as_outsider).status_code == 404
    assert requests.get(rest + "artifacts/get", params={"workspace": owner.workspace, "artifactName": "flowers"},
                        headers=as_outsider).status_code == 404
    details = requests.get(rest + "artifacts/get", params={"workspace": owner.workspace, "artifactName": "flowers"},
                           headers={"Authorization": owner.api_key}).json()
    version_id = details["versions"][0]["artifactVersionId"]
    files = requests.get(rest + "artifacts/version/files",
                         params={"workspace": owner.workspace, "artifactName": "flowers", "version": "1.0.0"},
                         headers={"Authorization": owner.api_key}).json()["files"]
    local = next(f for f in files if f["fileName"] == "train.csv")
    download = {"assetId": local["assetId"], "artifactVersionId": version_id, "experimentKey": ""}
    assert requests.get(rest + "experiment/asset/get-asset", params=download,
                        headers={"Authorization": owner.api_key}).content == b"a,b\n1,2\n"
    assert requests.get(rest + "experiment/asset/get-asset", params=download, headers=as_outsider).status_code == 404
    assert requests.get(f"{server.url}/api/v1/artifact-versions/{version_id}/files/{local['assetId']}",
                        headers=as_outsider).status_code == 404
    # nor can they write into someone else's run or version
    upsert = requests.post(rest + "write/artifacts/upsert", headers=as_outsider,
                           json={"experimentKey": flow["made"]["key"], "artifactName": "x", "artifactType": "t"})
    assert upsert.status_code == 404
    state = requests.post(rest + "write/artifacts/state", headers=as_outsider,
                          json={"experimentKey": flow["made"]["key"], "artifactVersionId": version_id,
                                "state": "ERROR"})
    assert state.status_code == 404
    assert requests.get(rest + "artifacts/get", params={"workspace": owner.workspace, "artifactName": "flowers"},
                        headers={"Authorization": owner.api_key}).json()["versions"][0]["state"] == "CLOSED"


def test_bad_input_is_refused(server, flow):
    owner, key = flow["owner"], flow["made"]["key"]
    rest = server.url + "/api/rest/v2/"
    headers = {"Authorization": owner.api_key}
    for payload in ({"artifactName": "", "artifactType": "t"}, {"artifactName": "a/b", "artifactType": "t"},
                    {"artifactName": "..", "artifactType": "t"},
                    {"artifactName": "ok", "artifactType": "t", "version": "one"},
                    {"artifactName": "flowers", "artifactType": "dataset", "version": "1.0.0"},
                    {"artifactName": "ok", "artifactType": "t", "alias": "notalist"}):
        r = requests.post(rest + "write/artifacts/upsert", headers=headers, json={"experimentKey": key, **payload})
        assert r.status_code in (400, 409), (payload, r.text)
    names = [a["name"] for a in requests.get(rest + "artifacts/get-all", params={"workspace": owner.workspace},
                                             headers=headers).json()["artifacts"]]
    assert sorted(names) == ["classifier", "flowers"]


def test_artifacts_page_and_experiment_tab(server, flow, page, console_errors):
    owner, ws = flow["owner"], flow["owner"].workspace
    sign_in(page, server, owner, f"/{ws}")
    page.goto(f"{server.url}/{ws}")
    page.click("#workspace-artifacts-link")  # the workspace page links to its artifacts
    table = page.locator("#artifacts-table")
    table.wait_for(timeout=60_000)
    assert "flowers" in table.inner_text() and "classifier" in table.inner_text()
    assert "2.0.0" in table.inner_text() and "dataset" in table.inner_text()
    page.click("#artifacts-table a:text('flowers')")
    page.locator("#artifact-versions").wait_for(timeout=60_000)
    text = page.locator("#artifact-versions").inner_text()
    for expected in ("1.0.0", "2.0.0", "latest", "staging", "prod", "raw", "clean", "images/one.bin",
                     "https://data.example.org/flowers/big.parquet", "maker", "user", "rows", "field"):
        assert expected in text, expected
    href = page.locator("#artifact-versions a.artifact-file-download").first.get_attribute("href")
    assert page.request.get(server.url + href).status == 200
    page.goto(f"{server.url}/{ws}/artifact-user/{flow['used']['key']}?tab=artifacts")
    tab = page.locator("#experiment-artifacts")
    tab.wait_for(timeout=60_000)
    assert "flowers" in tab.inner_text() and "classifier" in tab.inner_text() and "Used" in tab.inner_text()
    assert console_errors == []


def test_outsider_sees_no_artifacts_page(server, accounts, flow, page):
    outsider = accounts.create("peek")
    sign_in(page, server, outsider, "/workspaces")
    page.goto(f"{server.url}/artifacts/{flow['owner'].workspace}")
    page.locator("#not-found").wait_for(timeout=60_000)
    page.goto(f"{server.url}/artifacts/{flow['owner'].workspace}/flowers")
    page.locator("#not-found").wait_for(timeout=60_000)


def test_halley_sdk_logs_and_fetches_artifacts(server, accounts, tmp_path):
    from dashboard.sdk import Artifact, Experiment
    from tests.test_sdk_roundtrip import QUIET as SDK_QUIET

    owner = accounts.create("sdkart")
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "a.txt").write_bytes(b"alpha")
    (tmp_path / "data" / "sub" / "b.bin").write_bytes(bytes(range(50)))
    with Experiment(api_key=owner.api_key, url=server.url, project_name="sdk-artifacts", **SDK_QUIET) as exp:
        artifact = Artifact("corpus", "dataset", metadata={"lang": "en"}, aliases=["best"], version_tags=["t1"])
        artifact.add(tmp_path / "data", logical_path="data")
        artifact.add_remote("s3://bucket/corpus/full.tar", logical_path="full.tar")
        first = exp.log_artifact(artifact)
        second = exp.log_artifact(Artifact("corpus", "dataset", version="4.2.0"))
    assert (first.version, second.version) == ("1.0.0", "4.2.0")
    assert sorted(f["name"] for f in first.assets) == ["data/a.txt", "data/sub/b.bin", "full.tar"]
    with Experiment(api_key=owner.api_key, url=server.url, project_name="sdk-artifacts", **SDK_QUIET) as user:
        best = user.get_artifact("corpus", version_or_alias="best")
        latest = user.get_artifact(f"{owner.workspace}/corpus")
        target = best.download(tmp_path / "out")
    assert best.version == "1.0.0" and best.metadata == {"lang": "en"} and best.version_tags == ["t1"]
    assert latest.version == "4.2.0" and "latest" in latest.aliases
    assert (target / "data" / "a.txt").read_bytes() == b"alpha"
    assert (target / "data" / "sub" / "b.bin").read_bytes() == bytes(range(50))
    assert not (target / "full.tar").exists()
    details = requests.get(f"{server.url}/api/v1/workspaces/{owner.workspace}/artifacts/corpus",
                           headers={"Authorization": owner.api_key}).json()
    assert {v["version"]: v["used_by"] for v in details["versions"]} == {"4.2.0": [user.get_key()],
                                                                         "1.0.0": [user.get_key()]}


def test_file_names_stay_inside_the_artifact(server, accounts):
    """A file's logical path is kept relative and without '..', however it is sent, so that no
    client downloading the artifact writes outside its folder."""
    owner = accounts.create("paths")
    headers = {"Authorization": owner.api_key}
    key = requests.post(server.url + "/api/v1/experiments", json={"project": "paths"},
                        headers=headers).json()["experiment_key"]
    created = requests.post(f"{server.url}/api/v1/experiments/{key}/artifacts", headers=headers,
                            json={"name": "paths", "type": "dataset"})
    version_id = created.json()["version_id"]
    sent = {"../../escape.txt": "escape.txt", "/etc/abs.txt": "etc/abs.txt", "a\x00b/../../c.txt": "ab/c.txt",
            "..\\..\\win.txt": "win.txt", "./x/./y.txt": "x/y.txt", "..": "asset", "C:\\drive.txt": "drive.txt"}
    for name in sent:
        r = requests.post(f"{server.url}/api/v1/artifact-versions/{version_id}/files", headers=headers,
                          params={"experiment_key": key}, data={"name": name}, files={"file": ("f", b"x")})
        assert r.status_code == 201 and r.json()["name"] == sent[name], (name, r.text)
    remote = requests.post(server.url + "/api/rest/v2/write/artifact/assets/remote/batch", headers=headers, json={
        "experimentKey": key, "remoteArtifactAssetRequests": [
            {"artifactVersionId": version_id, "fileName": "/../../remote.txt", "link": "https://example.org/r"}]})
    assert remote.status_code == 200, remote.text
    upload = requests.post(server.url + "/clientlib/asset/upload", headers=headers, files={"file": ("f", b"x")},
                           params={"experimentKey": key, "artifactVersionId": version_id,
                                   "fileName": "../../../uploaded.txt"})
    assert upload.status_code == 200 and upload.json()["fileName"] == "uploaded.txt", upload.text
    files = requests.get(server.url + "/api/rest/v2/artifacts/version/files", headers=headers,
                         params={"workspace": owner.workspace, "artifactName": "paths",
                                 "versionId": version_id}).json()["files"]
    assert sorted(f["fileName"] for f in files) == sorted([*sent.values(), "remote.txt", "uploaded.txt"])


def test_experiment_tab_shows_another_workspaces_artifact_to_its_members_only(server, accounts, browser):
    """A member of two workspaces may use one's artifact in the other's run: the run's Artifacts
    tab links to it in its own workspace, and members of the run's workspace alone don't see it."""
    from tests.project_data import ProjectData

    ada, bo = accounts.create("ada"), accounts.create("bo")
    data = ProjectData(accounts, server)
    data.add_member(bo, ada, "member")
    as_ada = {"Authorization": ada.api_key}
    maker = requests.post(server.url + "/api/v1/experiments", json={"project": "src"},
                          headers=as_ada).json()["experiment_key"]
    version_id = requests.post(f"{server.url}/api/v1/experiments/{maker}/artifacts", headers=as_ada,
                               json={"name": "shared-set", "type": "dataset"}).json()["version_id"]
    closed = requests.post(f"{server.url}/api/v1/artifact-versions/{version_id}/state", headers=as_ada,
                           json={"experiment_key": maker, "state": "CLOSED"})
    assert closed.status_code == 200, closed.text
    consumer = data.experiment(bo, "runs", "consumer")
    tab_url = f"{server.url}/{bo.workspace}/runs/{consumer}?tab=artifacts"
    pages = {}
    for account in (ada, bo):
        pages[account.username] = page = browser.new_context().new_page()
        sign_in(page, server, account, "/workspaces")
    version_url = f"{server.url}/api/v1/workspaces/{ada.workspace}/artifacts/shared-set/version"
    # a link on another site doesn't make a signed-in browser record a use
    lured = pages[ada.username].request.get(version_url, params={"experiment_key": consumer},
                                            headers={"Referer": "https://elsewhere.example/page"})
    assert lured.status == 403, lured.text()
    details = requests.get(f"{server.url}/api/v1/workspaces/{ada.workspace}/artifacts/shared-set",
                           headers=as_ada).json()
    assert details["versions"][0]["used_by"] == []
    used = pages[ada.username].request.get(version_url, params={"experiment_key": consumer})
    assert used.status == 200, used.text()
    for account, visible in ((ada, True), (bo, False)):
        page = pages[account.username]
        page.goto(tab_url)
        tab = page.locator("#experiment-artifacts")
        tab.wait_for(timeout=60_000)
        if visible:
            link = tab.locator("a:text('shared-set')")
            link.wait_for(timeout=60_000)
            assert link.get_attribute("href") == f"/artifacts/{ada.workspace}/shared-set"
        else:
            assert "shared-set" not in tab.inner_text() and "None." in tab.inner_text()
    for page in pages.values():
        page.context.close()
