"""Figures, remote assets, 3D points and models, logged live by the real comet_ml and by Halley's
SDK: SVG figures show in Graphics, remote assets are links with their URL, 3D scenes draw in the
experiment page's 3D Points tab, models are listed, zipped and loaded back by comet_ml."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
import requests

from dashboard.sdk import Experiment
from tests.conftest import sign_in
from tests.test_comet_live import api_get, run_comet
from tests.test_sdk_roundtrip import QUIET

MEDIA_SCRIPT = r'''
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import comet_ml

exp = comet_ml.Experiment(project_name="comet-media", log_env_gpu=False, log_env_details=False, log_code=False,
                          log_git_metadata=False, log_git_patch=False)
print("KEY=" + exp.get_key(), flush=True)
fig = plt.figure()
plt.plot([1, 2, 3], [3, 1, 2])
exp.log_figure(figure_name="curve", figure=fig)
exp.log_remote_asset("s3://bucket/data/train.csv", remote_file_name="train.csv")
points = [[i * 0.1, (i % 7) * 0.2, (i % 5) * 0.3, 255, (i * 9) % 256, 0] for i in range(300)]
box = {"segments": [[[0, 0, 0], [1, 0, 0]], [[1, 0, 0], [1, 1, 0]]], "color": [0, 0, 255], "name": "car"}
exp.log_points_3d("street", points=points, boxes=[box], step=4, metadata={"camera": "front"})
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
import comet_ml.integration.sklearn
X, y = load_iris(return_X_y=True)
comet_ml.integration.sklearn.log_model(exp, "iris-model", LogisticRegression(max_iter=300).fit(X, y))
exp.end()
'''

LOAD_MODEL_SCRIPT = r'''
import json, sys
import comet_ml
import comet_ml.integration.sklearn
from sklearn.datasets import load_iris

key, out = sys.argv[1], sys.argv[2]
model = comet_ml.integration.sklearn.load_model(f"experiment://{key}/iris-model")
X, y = load_iris(return_X_y=True)
api_exp = comet_ml.API().get_experiment_by_key(key)
api_exp.download_model("iris-model", output_path=out)
print(json.dumps({"accuracy": float((model.predict(X) == y).mean()), "names": api_exp.get_model_names(),
                  "files": sorted(a["fileName"] for a in api_exp.get_model_asset_list("iris-model"))}))
'''


def assets_by_name(server, user, key) -> dict:
    return {a["name"]: a for a in api_get(server, user, f"/experiments/{key}/assets")["assets"]}


def media(server, user, key, asset_id) -> requests.Response:
    return requests.get(f"{server.url}/api/v1/experiments/{key}/media/{asset_id}", headers={"Authorization": user.api_key})


@pytest.fixture(scope="module")
def logged(server, accounts, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("comet-media")
    user = accounts.create("cometmedia")
    result = run_comet(server, user, tmp, MEDIA_SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ERROR" not in result.stdout + result.stderr, (result.stdout + result.stderr)[-3000:]
    comet_key = result.stdout.split("KEY=")[1].split()[0]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with Experiment(api_key=user.api_key, url=server.url, project_name="comet-media", **QUIET) as exp:
        fig = plt.figure()
        plt.plot([0, 1], [1, 0])
        exp.log_figure("sdk-curve", fig)
        exp.log_remote_asset("https://data.example.org/sets/val.parquet")
        exp.log_points_3d("room", points=[[0, 0, 0], [1, 2, 3], [2, 1, 0]], step=1)
        weights = tmp / "checkpoint"
        (weights / "layers").mkdir(parents=True)
        (weights / "config.json").write_text('{"depth": 2}')
        (weights / "layers" / "w.bin").write_bytes(b"\x00\x01" * 100)
        exp.log_model("tiny-net", str(weights))
        sdk_key = exp.get_key()
    return {"user": user, "comet": comet_key, "sdk": sdk_key, "tmp": tmp}


def test_figures_are_svg_images_served_inline(server, logged):
    user = logged["user"]
    for key, name in ((logged["comet"], "curve"), (logged["sdk"], "sdk-curve.svg")):
        figure = assets_by_name(server, user, key)[name]
        assert (figure["type"], figure["content_type"]) == ("image", "image/svg+xml"), figure
        r = media(server, user, key, figure["asset_id"])
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("image/svg+xml")
        assert b"<svg" in r.content[:2000]
        # opened on its own, an SVG runs no script
        assert "sandbox" in r.headers["Content-Security-Policy"] and r.headers["X-Content-Type-Options"] == "nosniff"


def test_remote_assets_are_links(server, logged):
    user = logged["user"]
    remote = assets_by_name(server, user, logged["comet"])["train.csv"]
    assert (remote["remote_url"], remote["size"]) == ("s3://bucket/data/train.csv", 0)
    r = requests.get(f"{server.url}/api/v1/experiments/{logged['comet']}/assets/{remote['asset_id']}",
                     headers={"Authorization": user.api_key})
    assert r.status_code == 404 and "s3://bucket/data/train.csv" in r.json()["error"]
    listed = requests.get(f"{server.url}/api/rest/v2/experiment/asset/list",
                          params={"experimentKey": logged["comet"]}, headers={"Authorization": user.api_key}).json()
    (item,) = [a for a in listed["assets"] if a["fileName"] == "train.csv"]
    assert item["remote"] is True and item["link"] == "s3://bucket/data/train.csv"
    sdk_remote = assets_by_name(server, user, logged["sdk"])["val.parquet"]
    assert sdk_remote["remote_url"] == "https://data.example.org/sets/val.parquet"


def test_bad_remote_and_3d_uploads_are_refused_clearly(server, logged):
    user = logged["user"]
    headers = {"Authorization": user.api_key}
    r = requests.post(f"{server.url}/clientlib/asset/upload", params={"experimentKey": logged["comet"]},
                      files={"link": ("link", b"not a uri")}, headers=headers)
    assert r.status_code == 400 and "URI" in r.json()["msg"]
    r = requests.post(f"{server.url}/clientlib/asset/asset-item", headers=headers, files={
        "requestParams": (None, '{"assetId": "nosuchscene", "experimentKey": "%s", "assetItemType": "points"}'
                          % logged["comet"], "application/json"),
        "assetItemContent": ("file", b"[0, 0, 0]\n")})
    assert r.status_code == 404 and r.json()["code"] == 404
    r = requests.post(f"{server.url}/clientlib/asset", headers=headers, json={"experimentKey": logged["comet"]})
    assert r.status_code == 400


def test_3d_scenes_draw_in_the_experiment_page(server, logged, page, console_errors):
    user = logged["user"]
    sign_in(page, server, user)
    for key, label, traces in ((logged["comet"], "street (step 4)", 2), (logged["sdk"], "room (step 1)", 1)):
        page.goto(f"{server.url}/{user.workspace}/comet-media/{key}?tab=points3d")
        page.wait_for_selector("#experiment-3d-select")
        assert label in page.inner_text("#experiment-3d-select")
        page.wait_for_function(
            "n => { const g = document.querySelector('#experiment-3d-graph .js-plotly-plot');"
            " return g && g.data && g.data.length === n && g.data[0].type === 'scatter3d'; }", arg=traces)
        points = page.evaluate("document.querySelector('#experiment-3d-graph .js-plotly-plot').data[0].x.length")
        assert points == (300 if key == logged["comet"] else 3)
    page.goto(f"{server.url}/{user.workspace}/comet-media/{logged['comet']}?tab=graphics")
    page.wait_for_function("() => [...document.querySelectorAll('img')].some("
                           "i => i.src.includes('/media/') && i.complete && i.naturalWidth > 0)")
    assert console_errors == []


def test_models_are_listed_zipped_and_loaded_back_by_comet_ml(server, logged):
    user, tmp = logged["user"], logged["tmp"]
    result = run_comet(server, user, tmp, LOAD_MODEL_SCRIPT, logged["comet"], tmp / "downloaded")
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got["accuracy"] > 0.9 and got["names"] == ["iris-model"]
    assert got["files"] and all((tmp / "downloaded" / name).is_file() for name in got["files"])

    (model,) = api_get(server, user, f"/experiments/{logged['sdk']}/models")["models"]
    assert model["name"] == "tiny-net" and model["size"] == 12 + 200
    assert sorted(f["name"] for f in model["files"]) == ["checkpoint/config.json", "checkpoint/layers/w.bin"]
    r = requests.get(f"{server.url}/api/v1/experiments/{logged['sdk']}/model-zip", params={"name": "tiny-net"},
                     headers={"Authorization": user.api_key})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert archive.read("checkpoint/layers/w.bin") == b"\x00\x01" * 100
    r = requests.get(f"{server.url}/api/v1/experiments/{logged['sdk']}/model-zip", params={"name": "nope"},
                     headers={"Authorization": user.api_key})
    assert r.status_code == 404


def test_models_tab_lists_each_model_with_its_zip(server, logged, page, console_errors):
    user = logged["user"]
    sign_in(page, server, user, f"/{user.workspace}/comet-media/{logged['sdk']}?tab=models")
    page.wait_for_selector(".experiment-model-card", timeout=90_000)
    text = page.inner_text("#experiment-models")
    assert "tiny-net" in text and "checkpoint/layers/w.bin" in text and "2 files" in text
    href = page.get_attribute(".experiment-model-card a", "href")
    assert page.request.get(server.url + href).headers["content-type"] == "application/zip"
    assert console_errors == []
