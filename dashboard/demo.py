"""``halley demo``: a real sweep of small neural networks on scikit-learn's digits, logged
through the SDK over HTTP, so a fresh install has a project worth looking at.

Each run trains an ``MLPClassifier`` epoch by epoch (``partial_fit``) on the 8x8 digits that
ship with scikit-learn (no download) and logs what a real training script would: per-epoch
train/validation loss and accuracy, hyperparameters, tags, a confusion matrix with the digit
images as examples, misclassified digits by epoch, weight histograms, text samples, an HTML
report, CSV/JSON assets, a short audio tone, the model graph, this file as code, the printed
output and system information.

Without ``--url`` the command starts a temporary server in this process on the same
HALLEY_HOME and logs as the system ``demo`` user (see ``dashboard.services.demo_owner``).
"""
from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import random
import sys
import threading
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from werkzeug.serving import WSGIRequestHandler

DIGIT_LABELS = [str(d) for d in range(10)]
LEARNING_RATES = (0.0005, 0.001, 0.003, 0.01, 0.03)
HIDDEN_SIZES = ((32,), (64,), (128,), (64, 32), (128, 64))
BATCH_SIZES = (32, 64, 128)
ACTIVATIONS = ("relu", "tanh", "logistic")
SNAPSHOT_EVERY = 4  # misclassified digits are logged every few epochs (and at the last one)
SYSTEM_METRICS_S = 0.2  # runs take about a second, so sample CPU and memory often enough to draw a line


@dataclass(frozen=True)
class RunConfig:
    learning_rate: float
    hidden_layer_sizes: tuple[int, ...]
    batch_size: int
    activation: str
    seed: int

    @property
    def name(self) -> str:
        hidden = "x".join(str(h) for h in self.hidden_layer_sizes)
        return f"mlp-{hidden}-{self.activation}-lr{self.learning_rate:g}-bs{self.batch_size}-s{self.seed}"


def sweep(runs: int, seed: int = 7) -> list[RunConfig]:
    """``runs`` configurations from the grid, distinct up to its size (reproducible for a given seed)."""
    rng = random.Random(seed)
    grid = [(lr, h, b, a) for lr in LEARNING_RATES for h in HIDDEN_SIZES for b in BATCH_SIZES for a in ACTIVATIONS]
    rng.shuffle(grid)
    configs = []
    for i in range(runs):
        lr, hidden, batch, activation = grid[i % len(grid)]
        configs.append(RunConfig(lr, hidden, batch, activation, seed=rng.randrange(1000)))
    return configs


@dataclass
class Digits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    images_val: np.ndarray  # the 8x8 validation images, 0..16


def load_data(seed: int = 0) -> Digits:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data / 16.0
    idx_train, idx_val = train_test_split(np.arange(len(x)), test_size=0.25, random_state=seed,
                                          stratify=digits.target)
    return Digits(x[idx_train], digits.target[idx_train], x[idx_val], digits.target[idx_val],
                  digits.images[idx_val])


def digit_picture(image8: np.ndarray, scale: int = 8) -> np.ndarray:
    """An 8x8 digit (values 0..16) as a ``scale``-times larger grey image, dark ink on white."""
    grey = 255 - np.clip(image8 * 16, 0, 255)
    return np.kron(grey, np.ones((scale, scale))).astype(np.uint8)


def tone(frequency: float, seconds: float = 1.0, rate: int = 8000) -> np.ndarray:
    """A soft sine tone with short fades, as float samples in -1..1."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.minimum(1.0, np.minimum(t, seconds - t) * 20)
    return (0.4 * envelope * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def model_graph(config: RunConfig) -> str:
    """A readable description of the network's layers."""
    sizes = (64, *config.hidden_layer_sizes, 10)
    lines = ["MLPClassifier (scikit-learn)", "  input: 64 features (8x8 pixels scaled to 0..1)"]
    params = 0
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        last = i == len(sizes) - 2
        params += n_in * n_out + n_out
        act = "softmax" if last else config.activation
        lines.append(f"  {'output' if last else f'hidden_{i + 1}'}: Dense({n_in} -> {n_out}), {act}"
                     f"  [{n_in * n_out + n_out} parameters]")
    lines.append(f"  total trainable parameters: {params}")
    lines.append(f"  optimizer: adam, learning rate {config.learning_rate:g}, batch size {config.batch_size}")
    return "\n".join(lines)


def html_report(config: RunConfig, history: list[dict], report: dict) -> str:
    last = history[-1]
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{report[label]['precision']:.3f}</td>"
        f"<td>{report[label]['recall']:.3f}</td><td>{report[label]['f1-score']:.3f}</td>"
        f"<td>{int(report[label]['support'])}</td></tr>"
        for label in DIGIT_LABELS
    )
    return (
        "<h2>Digits MLP: run report</h2>"
        f"<p>{html.escape(config.name)} reached <b>{last['val_accuracy']:.1%}</b> validation accuracy "
        f"after {len(history)} epochs (validation loss {last['val_loss']:.4f}).</p>"
        "<table border='1' cellpadding='4' style='border-collapse:collapse'>"
        "<tr><th>digit</th><th>precision</th><th>recall</th><th>f1</th><th>support</th></tr>"
        f"{rows}</table>"
    )


def history_csv(history: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    return out.getvalue()


def train_run(exp, config: RunConfig, data: Digits, epochs: int) -> dict:
    """Train one configuration, logging everything to ``exp``; returns the last epoch's figures."""
    exp.set_filename(__file__)  # the run's script is this module, not the `halley` launcher
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import classification_report, log_loss
    from sklearn.neural_network import MLPClassifier

    exp.set_name(config.name)
    hidden = "x".join(str(h) for h in config.hidden_layer_sizes)
    exp.add_tags(["digits", "mlp", config.activation, f"hidden-{hidden}"])
    exp.log_parameters({**asdict(config), "hidden_layer_sizes": hidden, "epochs": epochs,
                        "optimizer": "adam", "n_train": len(data.y_train), "n_val": len(data.y_val)})
    exp.log_other("dataset", "scikit-learn digits (8x8)")
    exp.log_other("framework", "scikit-learn MLPClassifier")
    exp.set_model_graph(model_graph(config))
    exp.log_code(file_name=__file__)
    exp.log_system_info("scikit-learn", sklearn.__version__)
    exp.log_system_info("numpy", np.__version__)

    clf = MLPClassifier(hidden_layer_sizes=config.hidden_layer_sizes, activation=config.activation,
                        learning_rate_init=config.learning_rate, batch_size=config.batch_size,
                        random_state=config.seed)
    rng = np.random.default_rng(config.seed)
    classes = np.arange(10)
    history: list[dict] = []
    print(f"training {config.name} for {epochs} epochs on {len(data.y_train)} digits")
    for epoch in range(epochs):
        order = rng.permutation(len(data.y_train))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.partial_fit(data.x_train[order], data.y_train[order], classes=classes)
        train_proba = clf.predict_proba(data.x_train)
        val_proba = clf.predict_proba(data.x_val)
        val_pred = val_proba.argmax(axis=1)
        row = {
            "epoch": epoch,
            "train_loss": float(log_loss(data.y_train, train_proba, labels=classes)),
            "train_accuracy": float((train_proba.argmax(axis=1) == data.y_train).mean()),
            "val_loss": float(log_loss(data.y_val, val_proba, labels=classes)),
            "val_accuracy": float((val_pred == data.y_val).mean()),
        }
        history.append(row)
        exp.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=epoch, epoch=epoch)
        for i, weights in enumerate(clf.coefs_):
            exp.log_histogram_3d(weights.ravel(), name=f"weights_layer_{i + 1}", step=epoch, epoch=epoch)
        if epoch % SNAPSHOT_EVERY == 0 or epoch == epochs - 1:
            wrong = np.flatnonzero(val_pred != data.y_val)[:4]
            for j in wrong:
                exp.log_image(digit_picture(data.images_val[j]), step=epoch,
                              name=f"misclassified-{j}-true{data.y_val[j]}-pred{val_pred[j]}.png")
        print(f"epoch {epoch + 1:2d}/{epochs}  train_loss {row['train_loss']:.4f}  "
              f"val_loss {row['val_loss']:.4f}  val_accuracy {row['val_accuracy']:.4f}")

    last = history[-1]
    final_epoch = epochs - 1
    exp.log_confusion_matrix(
        [int(v) for v in data.y_val], [int(v) for v in val_pred], labels=DIGIT_LABELS,
        images=[digit_picture(img) for img in data.images_val], max_examples_per_cell=5,
        step=final_epoch, title="Validation confusion matrix",
    )
    confidence = val_proba.max(axis=1)
    for j in np.argsort(confidence)[:5]:
        exp.log_text(f"Least confident prediction: digit {data.y_val[j]} read as {val_pred[j]} "
                     f"with confidence {confidence[j]:.2f}", step=final_epoch,
                     metadata={"index": int(j), "true": int(data.y_val[j]), "predicted": int(val_pred[j]),
                               "confidence": round(float(confidence[j]), 4)})
    report = classification_report(data.y_val, val_pred, labels=classes, target_names=DIGIT_LABELS,
                                   output_dict=True, zero_division=0)
    exp.log_html(html_report(config, history, report))
    exp.log_asset_data(history_csv(history), name="history.csv")
    exp.log_asset_data(json.dumps(report, indent=2), name="classification_report.json")
    exp.log_audio(tone(220 + 660 * last["val_accuracy"]), sample_rate=8000, file_name="accuracy-tone.wav",
                  step=final_epoch)
    exp.log_other("best_val_accuracy", round(max(r["val_accuracy"] for r in history), 4))
    if last["val_accuracy"] >= 0.95:
        exp.add_tags(["accurate"])
    print(f"finished {config.name}: val_accuracy {last['val_accuracy']:.4f}")
    return last


# --- the temporary server and the command -------------------------------------------------

class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (the progress bar is the demo's output); errors still print."""

    def log_request(self, code="-", size="-") -> None:
        pass


class InProcessServer:
    """The full Halley app on 127.0.0.1 and a free port, served from a thread until closed."""

    def __init__(self, settings):
        from werkzeug.serving import make_server

        from app import create_app

        self.app = create_app(settings)
        self.httpd = make_server("127.0.0.1", 0, self.app.server, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="halley-demo-server", daemon=True)

    def __enter__(self) -> "InProcessServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.thread.join(timeout=10)
        self.httpd.server_close()


def prepare_local(workspace: str) -> str:
    """The demo user and workspace in the local database, and a fresh API key for logging."""
    from dashboard.config import Settings
    from dashboard.db import Database, migrate
    from dashboard.services import demo_owner

    settings = Settings.from_env()
    migrate(settings.database_url)
    with Database(settings.database_url).session() as s:
        _, actor = demo_owner.ensure_demo_workspace(s, workspace)
        return demo_owner.demo_api_key(s, actor, workspace)


def add_view(workspace: str, project: str) -> None:
    """The demo project's default view, with panels of the sweep."""
    from dashboard.config import Settings
    from dashboard.db import Database
    from dashboard.services import demo_owner

    with Database(Settings.from_env().database_url).session() as s:
        _, actor = demo_owner.ensure_demo_workspace(s, workspace)
        demo_owner.ensure_demo_view(s, actor, workspace, project)


def local_has_experiments() -> bool:
    from dashboard.config import Settings
    from dashboard.db import Database, migrate
    from dashboard.services import demo_owner

    settings = Settings.from_env()
    migrate(settings.database_url)
    with Database(settings.database_url).session() as s:
        return demo_owner.has_experiments(s)


def log_sweep(url: str, api_key: str, workspace: str, project: str, runs: int, epochs: int) -> list[str]:
    """Train and log ``runs`` configurations; returns the experiment keys."""
    from threadpoolctl import threadpool_limits
    from tqdm import tqdm

    from dashboard.sdk import Experiment

    data = load_data()
    keys = []
    terminal = sys.stdout
    # One BLAS thread: the matrices are tiny, and spinning BLAS threads would fight the
    # server thread and the SDK's sender for the two cores (several times slower under load).
    bar = tqdm(sweep(runs), desc=f"demo {workspace}/{project}", unit="run", file=sys.stderr)
    with threadpool_limits(limits=1), bar:
        for config in bar:
            # Progress lines go to the experiment's output, not to the terminal (the bar is there).
            # Leaving the ``with Experiment`` block ends the run (as "crashed" on an exception).
            with contextlib.redirect_stdout(io.StringIO()), \
                    Experiment(api_key=api_key, project_name=project, workspace=workspace, url=url,
                               parse_args=False, log_code=False, log_git_metadata=False, log_git_patch=False,
                               system_metrics_interval=SYSTEM_METRICS_S) as exp:
                last = train_run(exp, config, data, epochs)
            keys.append(exp.get_key())
            bar.set_postfix(val_acc=f"{last['val_accuracy']:.3f}")
    print(f"logged {len(keys)} runs to {url}/{workspace}/{project}", file=terminal)
    return keys


def run_demo(workspace: str, project: str, runs: int, epochs: int, url: str | None, api_key: str | None,
             if_empty: bool) -> list[str]:
    """The ``halley demo`` command's work; returns the logged experiment keys (empty if skipped)."""
    if url or api_key:
        from dashboard.sdk.config import ClientConfig

        config = ClientConfig.resolve(api_key=api_key, url=url)
        if if_empty and remote_has_experiments(config.url, config.api_key):
            print("The server already holds experiments; skipping the demo.")
            return []
        return log_sweep(config.url, config.api_key, workspace, project, runs, epochs)
    if if_empty and local_has_experiments():
        print("The database already holds experiments; skipping the demo.")
        return []
    key = prepare_local(workspace)
    from dashboard.config import Settings

    started = time.monotonic()
    with InProcessServer(Settings.from_env()) as server:
        keys = log_sweep(server.url, key, workspace, project, runs, epochs)
    add_view(workspace, project)
    print(f"demo finished in {time.monotonic() - started:.0f} s: project /{workspace}/{project} "
          "(the first account created on this server owns the demo workspace)")
    return keys


def remote_has_experiments(url: str, api_key: str | None) -> bool:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = api_key or ""
    resp = session.get(f"{url}/api/v1/workspaces", timeout=30)
    resp.raise_for_status()
    for ws in resp.json()["workspaces"]:
        projects = session.get(f"{url}/api/v1/workspaces/{ws}/projects", timeout=30)
        projects.raise_for_status()
        if any(p["experiment_count"] for p in projects.json()["projects"]):
            return True
    return False
