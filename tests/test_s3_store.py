"""Halley with its asset store in an S3 bucket (moto's server, tests/s3_server.py): uploads from
the comet_ml SDK, Halley's SDK and the REST API land in the bucket and nowhere on the server's
disk, download byte for byte (a redirect to a presigned URL, or streamed for active content
and media), render on the experiment page, and leave the bucket with the rows they belong to;
``halley assets sweep`` and ``halley assets migrate``; /api/v1/ready follows the endpoint."""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import time
from types import SimpleNamespace

import numpy as np
import pytest
import requests
from PIL import Image
from playwright.sync_api import expect
from sqlmodel import select

from dashboard.auth import Actor
from dashboard.sdk import Artifact, Experiment
from models import ArtifactFile, Asset
from tests.conftest import HALLEY, ROOT, Accounts, LiveServer, api, sign_in
from tests.s3_server import S3Server, s3_server  # noqa: F401  (the session's server)
from tests.test_backup import QUIET
from tests.test_comet_live import run_comet

COMET_SCRIPT = r'''
import hashlib, json, sys
import numpy as np
from PIL import Image
import comet_ml

work = sys.argv[1]
exp = comet_ml.Experiment(project_name="s3-comet", log_env_gpu=False, log_env_details=False, log_code=False,
                          log_git_metadata=False, log_git_patch=False)
Image.new("RGB", (16, 16), (255, 0, 0)).save(work + "/red.png")
exp.log_image(work + "/red.png", name="red.png")
exp.log_audio(np.array([0, 1000, -1000, 500] * 2000, dtype=np.int16), sample_rate=8000, file_name="tone.wav")
with open(work + "/blob.bin", "wb") as f:
    f.write(bytes(range(256)) * 4096 * 3)
exp.log_asset(work + "/blob.bin", file_name="blob.bin")
key = exp.get_key()
exp.end()
got = comet_ml.API().get_experiment_by_key(key)
downloads = {a["fileName"]: hashlib.sha256(got.get_asset(a["assetId"], return_type="binary")).hexdigest()
             for a in got.get_asset_list()}
print("RESULT=" + json.dumps({"key": key, "downloads": downloads}), flush=True)
'''


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def halley(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([HALLEY, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def stored(server: LiveServer) -> dict[str, int]:
    """What the server's rows (assets and artifact files) say is stored: name -> size."""
    with Accounts(server).db.session() as s:
        return {path: size for table in (Asset, ArtifactFile)
                for path, size in s.exec(select(table.storage_path, table.size).where(table.storage_path != "")).all()}


def upload(server: LiveServer, key: str, api_key: str, name: str, data: bytes, mimetype: str | None = None) -> dict:
    part = (name, data, mimetype) if mimetype else (name, data)
    r = api(server, api_key).post(f"{server.url}/api/v1/experiments/{key}/assets", files={"file": part},
                                  data={"type": "file"}, timeout=120)
    assert r.status_code == 201, r.text
    return r.json()


def new_experiment(server: LiveServer, account, project: str) -> str:
    r = api(server, account.api_key).post(f"{server.url}/api/v1/experiments",
                                          json={"workspace": account.workspace, "project": project})
    assert r.status_code in (200, 201), r.text
    return r.json()["experiment_key"]


@pytest.fixture(scope="module")
def s3(s3_server, tmp_path_factory):  # noqa: F811
    """A server whose asset store is a prefix of a bucket, with an owner account."""
    bucket = s3_server.new_bucket()
    url = f"s3://{bucket}/assets"
    server = LiveServer(tmp_path_factory.mktemp("s3-home"), extra_env=s3_server.env(url)).start(workers=2)
    owner = Accounts(server).create("s3")
    yield SimpleNamespace(server=server, bucket=bucket, url=url, owner=owner, s3=s3_server)
    server.stop()


@pytest.fixture(scope="module")
def logged(s3, tmp_path_factory):
    """The comet_ml SDK (which downloads its assets back through comet_ml.API) and Halley's SDK
    log into the S3-backed server."""
    tmp = tmp_path_factory.mktemp("s3-sdk")
    done = run_comet(s3.server, s3.owner, tmp, COMET_SCRIPT, tmp)
    assert done.returncode == 0, done.stderr[-3000:]
    comet = json.loads(done.stdout.split("RESULT=")[1])
    rng = np.random.default_rng(3)
    weights, png = rng.bytes(200_000), io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(png, format="PNG")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HALLEY_SPOOL_DIR", str(tmp / "spool"))
        exp = Experiment(api_key=s3.owner.api_key, url=s3.server.url, workspace=s3.owner.workspace,
                         project_name="s3-halley", **QUIET)
        exp.log_asset_data(weights, name="weights.bin")
        exp.log_image(Image.open(io.BytesIO(png.getvalue())), name="noise.png")
        (tmp / "table.csv").write_bytes(rng.bytes(30_000))
        artifact = Artifact("s3-data", "dataset")
        artifact.add(tmp / "table.csv")
        exp.log_artifact(artifact)
        downloaded = exp.get_artifact("s3-data").download(tmp / "fetched")
        exp.end()
    return {"tmp": tmp, "comet": comet, "halley_key": exp.get_key(), "weights": weights,
            "artifact": (downloaded / "table.csv").read_bytes()}


def assets_of(server: LiveServer, account, key: str) -> dict[str, dict]:
    r = api(server, account.api_key).get(f"{server.url}/api/v1/experiments/{key}/assets")
    assert r.status_code == 200, r.text
    return {a["name"]: a for a in r.json()["assets"]}


def test_sdk_uploads_land_in_the_bucket_and_download_byte_for_byte(s3, logged):
    server, owner, tmp = s3.server, s3.owner, logged["tmp"]
    comet = logged["comet"]
    assert comet["downloads"]["red.png"] == sha((tmp / "red.png").read_bytes())
    assert comet["downloads"]["blob.bin"] == sha((tmp / "blob.bin").read_bytes())
    assert logged["artifact"] == (tmp / "table.csv").read_bytes()  # Halley's SDK fetches an artifact back
    # every stored file is an object of the bucket with its size; the server's disk holds none
    rows = stored(server)
    objects = s3.s3.keys(s3.bucket, "assets/")
    assert {f"assets/{name}": size for name, size in rows.items()} == objects and len(objects) >= 6
    assert not (server.home / "assets").exists()

    client = api(server, owner.api_key)
    weights = assets_of(server, owner, logged["halley_key"])["weights.bin"]
    url = f"{server.url}/api/v1/experiments/{logged['halley_key']}/assets/{weights['asset_id']}"
    r = client.get(url, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(s3.s3.endpoint + "/")
    direct = requests.get(r.headers["Location"], timeout=60)  # a presigned URL: no key needed
    assert direct.content == logged["weights"] and 'filename="weights.bin"' in direct.headers["Content-Disposition"]
    anonymous = requests.get(url, allow_redirects=False, timeout=60)  # access is checked before any redirect
    assert anonymous.status_code == 404 and "Location" not in anonymous.headers
    # a 12 MB upload goes to the bucket in parts and comes back whole
    key = new_experiment(server, owner, "s3-big")
    big = np.random.default_rng(5).bytes(12 << 20)
    reply = upload(server, key, owner.api_key, "big.bin", big)
    assert reply["size"] == len(big)
    assert client.get(f"{server.url}/api/v1/experiments/{key}/assets/{reply['asset_id']}", timeout=120).content == big
    # a page-like asset is streamed by Halley, with the headers that keep a browser from rendering it
    page = upload(server, key, owner.api_key, "page.html", b"<script>alert(1)</script>", "text/html")
    r = client.get(f"{server.url}/api/v1/experiments/{key}/assets/{page['asset_id']}", allow_redirects=False)
    assert r.status_code == 200 and r.content == b"<script>alert(1)</script>"
    assert r.headers["Content-Security-Policy"].startswith("sandbox")
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_artifact_files_redirect_to_the_bucket_only_for_members(s3, logged):
    """An artifact file downloads from a presigned URL for a member of its workspace; anyone
    else is told it doesn't exist, with no redirect, by Halley's API and comet_ml's get-asset."""
    server, owner = s3.server, s3.owner
    outsider = Accounts(server).create("s3out")
    details = api(server, owner.api_key).get(f"{server.url}/api/v1/workspaces/{owner.workspace}/artifacts/s3-data")
    version = details.json()["versions"][0]
    asset_id = version["files"][0]["asset_id"]
    urls = (f"{server.url}/api/v1/artifact-versions/{version['id']}/files/{asset_id}",
            f"{server.url}/api/rest/v2/experiment/asset/get-asset?artifactVersionId={version['id']}&assetId={asset_id}")
    for url in urls:
        r = api(server, owner.api_key).get(url, allow_redirects=False, timeout=60)
        assert r.status_code == 302 and r.headers["Location"].startswith(s3.s3.endpoint + "/"), url
        assert requests.get(r.headers["Location"], timeout=60).content == logged["artifact"]
        for key in (outsider.api_key, None):
            refused = requests.get(url, headers={"Authorization": key} if key else {}, allow_redirects=False,
                                   timeout=60)
            assert refused.status_code in (401, 404) and "Location" not in refused.headers, (url, refused.text)


def test_media_stream_from_the_bucket_with_ranges_and_render_on_the_experiment_page(s3, logged, page):
    server, owner, key = s3.server, s3.owner, logged["comet"]["key"]
    client = api(server, owner.api_key)
    tone = assets_of(server, owner, key)["tone.wav"]
    media = f"{server.url}/api/v1/experiments/{key}/media/{tone['asset_id']}"
    whole = client.get(media)
    assert whole.status_code == 200 and whole.content[:4] == b"RIFF" and len(whole.content) == tone["size"]
    assert whole.headers["Content-Type"] == "audio/wav" and "sandbox" in whole.headers["Content-Security-Policy"]
    part = client.get(media, headers={"Range": "bytes=8-19"})
    assert part.status_code == 206 and part.content == whole.content[8:20]
    assert part.headers["Content-Range"] == f"bytes 8-19/{tone['size']}"
    sign_in(page, server, owner, f"/{owner.workspace}/s3-comet/{key}?tab=graphics")
    expect(page.locator(".experiment-image")).to_have_count(1, timeout=30_000)
    page.wait_for_function("() => [...document.querySelectorAll('.experiment-image')].every(i => i.naturalWidth > 0)",
                           timeout=30_000)


def test_deletes_reach_the_bucket(s3):
    from dashboard.services import projects

    server, owner = s3.server, s3.owner
    client = api(server, owner.api_key)
    key = new_experiment(server, owner, "s3-doomed")
    first, second = (upload(server, key, owner.api_key, n, n.encode() * 100) for n in ("one.txt", "two.txt"))
    with Accounts(server).db.session() as s:
        objects = {a: "assets/" + s.exec(select(Asset.storage_path).where(Asset.asset_id == a)).one()
                   for a in (first["asset_id"], second["asset_id"])}
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 0)).save(png, format="PNG")
    with Accounts(server).db.session() as s:
        from dashboard.services import accounts as account_service

        u = account_service.find_user(s, owner.username)
        actor = Actor(user_id=u.id, username=u.username)
        project = projects.get_readable(s, actor, owner.workspace, "s3-doomed")
        icon = projects.set_icon(s, actor, project.id, png.getvalue(), s3.s3.settings(s3.url, server)).icon_path
    assert f"assets/{icon}" in s3.s3.keys(s3.bucket, "assets/icons/")
    icon_url = f"{server.url}/api/v1/workspaces/{owner.workspace}/projects/s3-doomed/icon"
    assert client.get(icon_url).content[:4] == b"\x89PNG"

    before = set(s3.s3.keys(s3.bucket, "assets/"))
    assert set(objects.values()) <= before
    r = client.get(f"{server.url}/api/rest/v2/write/experiment/asset/delete",  # comet_ml's delete_asset
                   params={"experimentKey": key, "assetId": first["asset_id"]})
    assert r.status_code == 200, r.text
    assert before - set(s3.s3.keys(s3.bucket, "assets/")) == {objects[first["asset_id"]]}
    r = client.delete(f"{server.url}/api/v1/workspaces/{owner.workspace}/projects/s3-doomed")
    assert r.status_code == 200, r.text
    assert before - set(s3.s3.keys(s3.bucket, "assets/")) == {*objects.values(), f"assets/{icon}"}


def test_sweep_removes_an_old_orphan_and_keeps_a_fresh_one(s3, logged):
    bucket, client = s3.bucket, s3.s3.client()
    old, fresh = "assets/ab/" + "ab" * 16, "assets/cd/" + "cd" * 16
    for name in (old, fresh):
        client.put_object(Bucket=bucket, Key=name, Body=b"no row names me")
    client.put_object(Bucket=bucket, Key="assets/notes.txt", Body=b"not a generated name: never touched")
    s3.s3.backdate(bucket, old, 2 * 3600)
    referenced = {f"assets/{name}" for name in stored(s3.server)}
    env = s3.server.env()
    dry = halley(env, "assets", "sweep", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would remove {old[7:]}" in dry.stdout and fresh[7:] not in dry.stdout
    assert {old, fresh} <= set(s3.s3.keys(bucket, "assets/"))
    done = halley(env, "assets", "sweep")
    assert done.returncode == 0, done.stderr
    assert "removed 1 unreferenced files" in done.stdout
    assert set(s3.s3.keys(bucket, "assets/")) == referenced | {fresh, "assets/notes.txt"}


def test_migrate_local_to_s3_then_serve_from_s3_and_back(s3_server, tmp_path):  # noqa: F811
    local = LiveServer(tmp_path / "home").start()
    try:
        owner = Accounts(local).create("mig")
        key = new_experiment(local, owner, "moving")
        files = {f"f{i}.bin": np.random.default_rng(i).bytes(50_000 * (i + 1)) for i in range(3)}
        ids = {name: upload(local, key, owner.api_key, name, data)["asset_id"] for name, data in files.items()}
    finally:
        local.stop()
    bucket = s3_server.new_bucket("moved")
    url = f"s3://{bucket}/halley"
    env = {**local.env(), **{k: v for k, v in s3_server.env(url).items() if k != "HALLEY_ASSET_STORE"}}
    done = halley(env, "assets", "migrate", "--to", url)
    assert done.returncode == 0, done.stderr
    assert "copied 3 files, 0 were already there" in done.stdout
    assert f"set HALLEY_ASSET_STORE={url}" in done.stdout
    again = halley(env, "assets", "migrate", "--to", url)  # resumable: nothing copied twice
    assert again.returncode == 0 and "copied 0 files, 3 were already there" in again.stdout
    assert sorted(s3_server.keys(bucket).values()) == sorted(len(d) for d in files.values())

    shutil.rmtree(local.home / "assets")  # served from the bucket alone
    moved = LiveServer(local.home, extra_env=s3_server.env(url)).start()
    try:
        client = api(moved, owner.api_key)
        for name, data in files.items():
            assert client.get(f"{moved.url}/api/v1/experiments/{key}/assets/{ids[name]}").content == data
    finally:
        moved.stop()
    back = tmp_path / "back"  # and from S3 to a local folder
    done = halley(moved.env(), "assets", "migrate", "--to", str(back))
    assert done.returncode == 0, done.stderr
    assert sorted(p.read_bytes() for p in back.rglob("*") if p.is_file()) == sorted(files.values())


def wait_ready(server: LiveServer, status: int) -> dict:
    deadline = time.time() + 90
    while True:
        r = requests.get(f"{server.url}/api/v1/ready", timeout=30)
        if r.status_code == status or time.time() > deadline:
            assert r.status_code == status, r.text
            return r.json()
        time.sleep(0.2)


def test_ready_names_the_store_while_its_endpoint_is_down(tmp_path):
    endpoint = S3Server().start()
    try:
        bucket = endpoint.new_bucket("ready")
        server = LiveServer(tmp_path / "home", extra_env=endpoint.env(f"s3://{bucket}")).start()
        try:
            assert wait_ready(server, 200)["checks"]["asset_store"]["ok"] is True
            endpoint.stop()
            checks = wait_ready(server, 503)["checks"]
            assert checks["asset_store"]["ok"] is False and checks["database"]["ok"] is True
            assert str(endpoint.port) in checks["asset_store"]["error"]
            endpoint.start()
            assert wait_ready(server, 200)["checks"]["asset_store"]["ok"] is True
        finally:
            server.stop()
    finally:
        endpoint.stop()


def test_an_upload_over_the_limit_leaves_nothing_in_the_bucket(s3_server):  # noqa: F811
    """A streamed upload stopped past the limit, after some of its parts went up, is aborted."""
    from dashboard.asset_store import PART, open_store
    from dashboard.errors import TooLarge

    bucket = s3_server.new_bucket("limit")
    store = open_store(s3_server.settings(f"s3://{bucket}/x").store_config)
    with pytest.raises(TooLarge):
        store.write("ab/" + "ab" * 16, io.BytesIO(b"\0" * (2 * PART + 1)), max_bytes=2 * PART)
    assert s3_server.keys(bucket) == {} and not s3_server.client().list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert store.write("ab/" + "ab" * 16, io.BytesIO(b"\1" * (PART + 5)), max_bytes=2 * PART) == PART + 5
    assert s3_server.keys(bucket) == {"x/ab/" + "ab" * 16: PART + 5}


@pytest.mark.parametrize("env,message", [
    ({"HALLEY_ASSET_STORE": "ftp://files.example.com/halley"}, "a local folder or an s3://bucket/prefix"),
    ({"HALLEY_ASSET_STORE": "s3://No_Such_Name"}, "is not a bucket address"),
    ({"HALLEY_S3_ACCESS_KEY_ID": "only-the-key"}, "set both HALLEY_S3_ACCESS_KEY_ID"),
])
def test_asset_store_settings_are_checked(tmp_path, monkeypatch, env, message):
    from dashboard.config import Settings

    for name in ("HALLEY_ASSET_STORE", "HALLEY_S3_ACCESS_KEY_ID", "HALLEY_S3_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=message):
        Settings.from_env(home=tmp_path)
