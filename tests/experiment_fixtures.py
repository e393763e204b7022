"""Demo-like experiments for the experiment-page tests, logged through the ingest services
(the same write path the REST API and the SDK use)."""
from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from pathlib import Path

import numpy as np

from dashboard.auth import Actor
from dashboard.config import Settings
from dashboard.db import Database
from dashboard.sdk import formats
from dashboard.services import ingest, workspaces

HTML_PAYLOAD = ('<h2 id="logged-heading">Report</h2><script>document.title = "pwned"; '
                'try { parent.document.body.dataset.reached = "yes"; } catch (e) {}</script>'
                '<a href="https://example.org/report" target="_blank">full report</a>')


class Logger:
    """Writes experiments for one account into a live server's database and asset folder."""

    def __init__(self, home: Path, database_url: str, username: str):
        self.settings = Settings.from_env(home=str(home), database_url=database_url)
        self.db = Database(database_url)
        with self.db.session() as s:
            ws = workspaces.find_by_name(s, username)
            self.actor = Actor(user_id=ws.default_for_user_id, username=username)
        self.workspace = username

    def start(self, project: str, name: str | None = None) -> str:
        with self.db.session() as s:
            exp, _created = ingest.start_experiment(s, self.actor, self.workspace, project, name=name)
            return exp.key

    def batch(self, key: str, **fields) -> None:
        with self.db.session() as s:
            ingest.apply_batch(s, self.actor, key, {"batch_id": uuid.uuid4().hex, **fields})

    def asset(self, key: str, data: bytes, type: str, name: str, **kw) -> str:
        with self.db.session() as s:
            return ingest.store_asset(s, self.actor, key, data=data, type=type, name=name, settings=self.settings,
                                      **kw).asset_id

    def many_assets(self, key: str, items) -> None:
        """Stores (data, type, name, step) tuples in one transaction."""
        with self.db.session() as s:
            for data, type_, name, step in items:
                ingest.store_asset(s, self.actor, key, data=data, type=type_, name=name, step=step,
                                   settings=self.settings)

    def end(self, key: str, status: str = "finished") -> None:
        with self.db.session() as s:
            ingest.end_experiment(s, self.actor, key, status)


def png(seed: int, size: int = 16) -> bytes:
    rng = np.random.default_rng(seed)
    return formats.array_to_png(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))


def wav(freq: float, seconds: float = 0.5, rate: int = 8000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return formats.wav_bytes(0.6 * np.sin(2 * np.pi * freq * t) * np.linspace(1, 0.2, t.size), rate)


def patch_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("git_diff.patch", "diff --git a/train.py b/train.py\n+lr = 0.01\n")
    return buf.getvalue()


def rich_experiment(log: Logger, project: str = "demo") -> str:
    """An experiment with something in every tab."""
    key = log.start(project, name="resnet-baseline")
    now = time.time()
    metrics = []
    for step in range(50):
        metrics.append({"name": "loss", "value": 2.0 * np.exp(-step / 15) + 0.05, "step": step, "epoch": step // 10,
                        "timestamp": now + step})
        metrics.append({"name": "accuracy", "value": 1 - np.exp(-step / 12), "step": step, "epoch": step // 10,
                        "timestamp": now + step})
        metrics.append({"name": "sys.cpu.percent.avg", "value": 40 + step % 7, "step": step, "timestamp": now + step})
        metrics.append({"name": "sys.ram.used", "value": 1e9 + step * 1e6, "step": step, "timestamp": now + step})
    metrics.append({"name": "loss", "value": "NaN", "step": 50, "timestamp": now + 50})
    log.batch(key, metrics=metrics,
              parameters=[{"name": "lr", "value": 0.1, "step": 0}, {"name": "lr", "value": 0.01, "step": 30},
                          {"name": "batch_size", "value": 64}, {"name": "optimizer", "value": "adam"}],
              tags=["baseline", "resnet"],
              details={"host": "gpu-box-1", "ip": "10.0.0.7", "os_user": "ada", "os": "Linux-6.1", "os_type": "Linux",
                       "python_version": "3.11.7", "python_executable": "/usr/bin/python3",
                       "command": ["train.py", "--epochs", "5"], "file_name": "train.py",
                       "file_path": "/home/ada/proj/train.py",
                       "installed_packages": ["numpy==1.26.4", "torch==2.3.0", "requests==2.32.3"],
                       "git": {"commit": "b2628a10b7e678392ab378e07defdcabb54ab9dc", "branch": "refs/heads/main",
                               "remote": "git@github.com:ada/proj.git"}},
              output=[{"text": f"epoch {i // 10} step {i} loss {2.0 * np.exp(-i / 15):.4f}\n", "offset": i}
                      for i in range(30)] + [{"text": "warning: slow dataloader\n", "stderr": True, "offset": 30}],
              html=[{"html": HTML_PAYLOAD}],
              graph="Sequential(\n  Linear(784, 64)\n  ReLU()\n  Linear(64, 10)\n)",
              system_info=[{"key": "gpu_count", "value": 1}])
    log.asset(key, b"import torch\n\nlr = 0.01  # learning rate\nprint('training')\n", "code", "train.py")
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "source": ["import numpy as np\n", "x = np.arange(3)"], "metadata": {}, "outputs": [],
         "execution_count": 1},
        {"cell_type": "code", "source": "print(x.sum())", "metadata": {}, "outputs": [], "execution_count": 2}]}
    log.asset(key, json.dumps(notebook).encode(), "notebook", "history.ipynb")
    image_ids = []
    for step in range(6):
        for name in ("sample_a.png", "sample_b.png"):
            image_ids.append(log.asset(key, png(step * 10 + len(name)), "image", name, step=step))
    for i, (name, freq) in enumerate((("tone_low.wav", 220.0), ("tone_high.wav", 880.0), ("tone_mid.wav", 440.0))):
        log.asset(key, wav(freq), "audio", name, step=i, context="train" if i < 2 else "eval")
    for i, text in enumerate(("the cat sat", "a dog barked", "birds sing")):
        log.asset(key, text.encode(), "text", "auto-generated-in-the-backend", step=i,
                  metadata={"label": ["cat", "dog", "bird"][i], "score": 0.5 + i / 10})
    cm = formats.confusion_matrix_json(
        y_true=[0, 0, 1, 1, 2, 2, 2], y_predicted=[0, 1, 1, 1, 2, 0, 2], labels=["cat", "dog", "bird"],
        index_to_example=lambda i: {"sample": f"image-{i}", "assetId": image_ids[i % len(image_ids)]})
    log.asset(key, json.dumps(cm).encode(), "confusion-matrix", "confusion-matrix.json", step=5)
    text_cm = formats.confusion_matrix_json(matrix=[[5, 1], [2, 7]], labels=["yes", "no"], title="Text CM")
    log.asset(key, json.dumps(text_cm).encode(), "confusion-matrix", "text-matrix.json", step=6)
    rng = np.random.default_rng(0)
    for name in ("weights/layer1", "weights/layer2"):
        for step in range(5):
            doc = formats.histogram_json(rng.normal(step * 0.1, 1.0, 500))
            log.asset(key, json.dumps(doc).encode(), "histogram3d", name, step=step)
    log.asset(key, b'{"epochs": 5, "name": "<b>not bold</b>"}', "file", "config.json")
    log.asset(key, b"a,b\n1,2\n", "file", "table.csv")
    log.asset(key, patch_zip(), "git-patch", "git_diff.zip")
    log.end(key)
    return key


def large_experiment(log: Logger, project: str = "big", output_lines: int = 100_000,
                     histogram_steps: int = 1_000, images: int = 2_000) -> str:
    key = log.start(project, name="large")
    chunk = 20_000
    for start in range(0, output_lines, chunk):
        log.batch(key, output=[{"text": f"line {i} {'needle' if i % 10_000 == 7 else 'hay'}\n", "offset": i}
                               for i in range(start, min(output_lines, start + chunk))])
    rng = np.random.default_rng(1)
    log.many_assets(key, ((json.dumps(formats.histogram_json(rng.normal(step / histogram_steps, 1.0, 100))).encode(),
                           "histogram3d", "activations", step) for step in range(histogram_steps)))
    tiny = png(3, 4)
    log.many_assets(key, ((tiny, "image", f"{'cat' if i % 4 == 0 else 'dog'}_{i % 50}.png", i // 50)
                          for i in range(images)))
    log.end(key)
    return key
