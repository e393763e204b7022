"""``Experiment``: Comet-compatible logging calls that only append to an in-memory queue.

The heavy lifting happens on background threads: the sender (transport.py), the heartbeat
(learns stop requests), the system-metrics sampler and the one-off environment logger.
"""
from __future__ import annotations

import atexit
import collections
import contextlib
import html as html_lib
import json
import os
import random
import re
import sys
import threading
import time
import uuid
from pathlib import Path

from dashboard.sdk import artifacts
from dashboard.sdk import environment as env
from dashboard.sdk.config import ClientConfig, env_float, resolve_flag, spool_root
from dashboard.sdk.formats import (confusion_matrix_json, figure_bytes, flatten_parameters, histogram_json, image_bytes, json_value,
                                   wav_bytes)
from dashboard.sdk.spool import Delivery, SpoolDir
from dashboard.sdk.transport import KEY_REFUSED, HttpClient, Rejected, Sender, Transient, warn

KEY_RE = re.compile(r"^[A-Za-z0-9]{32,50}$")
IN_MEMORY_MAX = 16 * 1024 * 1024
CREATE_SEND_WAIT_S = 0.1
_now = time.time


class InterruptedExperiment(KeyboardInterrupt):
    """Raised by the next logging call of the main thread after someone pressed Stop."""

    def __init__(self, username: str | None = None):
        super().__init__(username)
        self.username = username

    def __str__(self) -> str:
        return f"The experiment has been stopped by user {self.username} from Halley"


class BaseExperiment:
    """Logging methods shared by online and offline runs.

    Each automatic part can be switched off by its argument or by an environment variable
    (HALLEY_AUTO_LOG_CODE, _CLI_ARGUMENTS, _OUTPUT_LOGGER, _ENV_DETAILS, _GIT_METADATA,
    _GIT_PATCH, _ENV_HOST, _ENV_CPU, _ENV_GPU, _METRICS); system metrics need
    auto_metric_logging and log_env_cpu or log_env_gpu, every ``system_metrics_interval`` s
    (HALLEY_SYSTEM_METRICS_INTERVAL). ``disabled=True`` or HALLEY_DISABLE=1 makes every call a no-op.

    The values of command-line options whose names look secret (--api-key, --hf_token=...,
    --db-password, --credentials, ...) are logged as ``********``, in the parameters taken from
    the command line and in the recorded command; ``secret_arg_names`` and the comma-separated
    HALLEY_SECRET_ARG_NAMES name more (``["dsn"]`` masks --sentry-dsn).
    """

    def __init__(self, api_key=None, project_name=None, workspace=None, experiment_key=None, log_code=True,
                 parse_args=True, auto_output_logging=True, log_env_details=True, log_git_metadata=True,
                 log_git_patch=True, log_env_host=True, log_env_cpu=True, log_env_gpu=True,
                 auto_metric_logging=True, disabled=False, system_metrics_interval=30, url=None,
                 log_graph=True, auto_param_logging=True, display_summary_level=None, secret_arg_names=None,
                 **kwargs):
        self._q: collections.deque = collections.deque()
        self._off = bool(disabled) or os.environ.get("HALLEY_DISABLE", "").lower() in ("1", "true", "yes")
        self._stop_by: str | None = None
        self._interrupted = False
        self._ended = False
        self._step = None
        self._epoch = None
        self._context = None
        self._tags: list[str] = []
        self._name = kwargs.get("experiment_name") or os.environ.get("HALLEY_EXPERIMENT_NAME")
        self._asset_counter = 0
        self._end_status = "finished"
        self._start_time = _now()
        self._threads_stop = threading.Event()
        self._config = ClientConfig.resolve(api_key, url)
        self.workspace = workspace or os.environ.get("HALLEY_WORKSPACE") or None
        self.project_name = project_name or os.environ.get("HALLEY_PROJECT") or None
        key = experiment_key or os.environ.get("HALLEY_EXPERIMENT_KEY")
        if key and not KEY_RE.match(key):
            warn(f"experiment_key must be 32-50 letters or digits; using a new key instead of {key!r}")
            key = None
        self.id = key or uuid.uuid4().hex
        self._key_given = bool(key)
        self.url = None
        self._flags = {
            "code": resolve_flag(log_code, "HALLEY_AUTO_LOG_CODE"),
            "args": resolve_flag(parse_args, "HALLEY_AUTO_LOG_CLI_ARGUMENTS"),
            "output": resolve_flag(bool(auto_output_logging), "HALLEY_AUTO_LOG_OUTPUT_LOGGER"),
            "details": resolve_flag(log_env_details, "HALLEY_AUTO_LOG_ENV_DETAILS"),
            "git": resolve_flag(log_git_metadata, "HALLEY_AUTO_LOG_GIT_METADATA"),
            "patch": resolve_flag(log_git_patch, "HALLEY_AUTO_LOG_GIT_PATCH"),
            "host": resolve_flag(log_env_host, "HALLEY_AUTO_LOG_ENV_HOST"),
            "cpu": resolve_flag(log_env_cpu, "HALLEY_AUTO_LOG_ENV_CPU"),
            "gpu": resolve_flag(log_env_gpu, "HALLEY_AUTO_LOG_ENV_GPU"),
            "metrics": resolve_flag(auto_metric_logging, "HALLEY_AUTO_LOG_METRICS"),
        }
        interval = system_metrics_interval if system_metrics_interval != 30 else \
            env_float("HALLEY_SYSTEM_METRICS_INTERVAL", 30.0)
        self._system_interval = float(interval)
        self._batch_interval = env_float("HALLEY_BATCH_INTERVAL_S", 0.5)
        self._secret_names = env.secret_arg_names(secret_arg_names)
        self._saved_streams = None
        self._saved_hook = None
        self._env_thread: threading.Thread | None = None
        self._env_lock = threading.Lock()
        self._env_open = True            # False once end() stopped waiting for the environment
        self._env_missing: list[str] = []
        self._end_deadline = None
        self.params: dict = {}  # the parameters logged, by name (get_parameter)
        self.optimizer: dict | None = None  # set by Optimizer for the runs of a sweep
        self._watched: str | None = None  # the sweep's metric, whose min and max end() reports
        self._watched_range: list | None = None
        if self._off:
            return
        self._start()
        if self._off:
            return
        if self._name:
            self.set_name(self._name)
        self._auto_log()
        atexit.register(self._atexit)

    # --- lifecycle hooks for subclasses ---

    def _start(self) -> None:
        raise NotImplementedError

    def _create_body(self) -> dict:
        return {"workspace": self.workspace, "project": self.project_name, "experiment_key": self.id,
                "name": self._name}

    # --- identity ---

    def get_key(self) -> str:
        return self.id

    def get_name(self) -> str | None:
        return self._name

    def set_name(self, name: str) -> None:
        self._name = str(name)
        self._put(("n", self._name))

    def add_tag(self, tag: str) -> None:
        if tag not in self._tags:
            self._tags.append(str(tag))
        self._put(("t", str(tag)))

    def add_tags(self, tags) -> None:
        for t in tags:
            self.add_tag(t)

    def get_tags(self) -> list[str]:
        return list(self._tags)

    # --- the hot path ---

    def _put(self, item: tuple) -> None:
        if self._stop_by is not None:
            self._check_stop()
        if not self._off:
            self._q.append(item)

    def log_metric(self, name, value, step=None, epoch=None, include_context=True):
        if self._stop_by is not None:
            self._check_stop()
        if self._off:
            return
        # like Comet, a given step/epoch becomes the current one (for later calls, assets, sys.*)
        if step is None:
            step = self._step
        else:
            self._step = step
        if epoch is None:
            epoch = self._epoch
        else:
            self._epoch = epoch
        if self._watched is not None and name == self._watched:
            self._watch(value)
        self._q.append(("m", str(name), value, step, epoch, _now(), self._context if include_context else None))

    def _watch(self, value) -> None:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return
        if v == v:  # not NaN
            r = self._watched_range
            self._watched_range = [v, v] if r is None else [min(r[0], v), max(r[1], v)]

    def log_metrics(self, dic, prefix=None, step=None, epoch=None, include_context=True):
        """Nested dicts are flattened with '/', as Comet does for metrics."""
        flat, _ = flatten_parameters(dic, separator="/")
        for k in sorted(flat):
            self.log_metric(f"{prefix}_{k}" if prefix else k, flat[k], step=step, epoch=epoch,
                            include_context=include_context)

    def _ctx(self, name: str) -> str:
        return f"{self._context}_{name}" if self._context else str(name)

    def log_parameter(self, name, value, step=None, source="manual"):
        self.params[self._ctx(name)] = value
        self._put(("p", self._ctx(name), value, step, source))

    def log_parameters(self, parameters, prefix=None, step=None, nested_support=True, source="manual"):
        if nested_support:
            flat, nested = flatten_parameters(parameters, prefix)
        else:
            flat = {f"{prefix}_{k}" if prefix else k: v for k, v in parameters.items()}
            nested = False
        for k, v in flat.items():
            self.log_parameter(k, v, step=step, source=source)
        if nested:
            self.log_other("hasNestedParams", True)

    def get_parameter(self, name):
        """The last value logged for a parameter (KeyError when none was)."""
        if name in self.params:
            return self.params[name]
        raise KeyError(f"No parameter {name!r} was logged")

    def log_other(self, key, value):
        self._put(("o", self._ctx(key), value))

    def log_others(self, dictionary):
        for k, v in dictionary.items():
            self.log_other(k, v)

    def log_system_info(self, key, value):
        self._put(("s", str(key), value))

    def set_filename(self, fname):
        """Record which script ran this experiment (comet_ml's ``set_filename``)."""
        self._put(("d", {"file_name": os.path.basename(str(fname)), "file_path": os.path.abspath(str(fname))}))

    def log_html(self, html, clear=False):
        self._put(("h", str(html), bool(clear)))

    def log_html_url(self, url, text=None, label=None):
        link = '<a href="%s" target="_blank">%s</a>' % (html_lib.escape(url, quote=True),
                                                        html_lib.escape(text or url))
        body = f"<div><b>{html_lib.escape(label)}</b>: {link}</div>" if label else f"<div>{link}</div>"
        self.log_html(body)

    def set_model_graph(self, graph, overwrite=False):
        self._put(("g", graph if isinstance(graph, str) else str(graph)))

    # --- step, epoch, context ---

    def set_step(self, step):
        self._step = step

    def set_epoch(self, epoch):
        self._epoch = epoch

    def log_epoch_end(self, epoch_cnt, step=None):
        self.set_epoch(epoch_cnt)
        if step is not None:
            self.set_step(step)

    @property
    def curr_step(self):
        return self._step

    @property
    def curr_epoch(self):
        return self._epoch

    @contextlib.contextmanager
    def context_manager(self, context: str):
        old, self._context = self._context, context
        try:
            yield self
        finally:
            self._context = old

    def train(self):
        return self.context_manager("train")

    def validate(self):
        return self.context_manager("validate")

    def test(self):
        return self.context_manager("test")

    # --- assets ---

    def _asset(self, type_, name, *, data=None, path=None, step=None, epoch=None, metadata=None,
               extra_fields=None) -> dict | None:
        if self._stop_by is not None:
            self._check_stop()
        if self._off:
            return None
        asset_id = uuid.uuid4().hex
        step = self._step if step is None else step
        epoch = self._epoch if epoch is None else epoch
        fields = {"asset_id": asset_id, "type": type_, "name": str(name), "context": self._context,
                  "step": None if step is None else int(step), "epoch": None if epoch is None else int(epoch),
                  "metadata": None if metadata is None else json_value(metadata), **(extra_fields or {})}
        if path is not None and os.path.getsize(path) <= IN_MEMORY_MAX:
            data, path = Path(path).read_bytes(), None
        self._q.append(("A", Delivery("asset", fields=fields, data=data, data_path=path and str(path))))
        return {"assetId": asset_id, "asset_id": asset_id, "name": str(name)}

    def log_asset(self, file_data, file_name=None, overwrite=False, copy_to_tmp=True, step=None,
                  metadata=None, epoch=None, asset_type="file"):
        if hasattr(file_data, "read"):
            raw = file_data.read()
            data = raw.encode() if isinstance(raw, str) else raw
            name = file_name or os.path.basename(getattr(file_data, "name", "") or "") or "asset"
            return self._asset(asset_type, name, data=data, step=step, epoch=epoch, metadata=metadata)
        path = Path(file_data)
        if not path.is_file():
            warn(f"log_asset: no such file {file_data}")
            return None
        return self._asset(asset_type, file_name or path.name, path=path, step=step, epoch=epoch,
                           metadata=metadata)

    def log_asset_data(self, data, name=None, overwrite=False, step=None, metadata=None, file_name=None,
                       epoch=None, asset_type="file"):
        if isinstance(data, (bytes, bytearray)):
            raw = bytes(data)
        elif isinstance(data, str):
            raw = data.encode("utf-8")
        else:
            raw = json.dumps(data, default=str).encode("utf-8")
        return self._asset(asset_type, name or file_name or "data", data=raw, step=step, epoch=epoch,
                           metadata=metadata)

    def log_image(self, image_data, name=None, overwrite=False, image_format="png", image_scale=1.0,
                  image_shape=None, image_colormap=None, image_minmax=None, image_channels="last",
                  copy_to_tmp=True, step=None, annotations=None, metadata=None, epoch=None, **kwargs):
        """PNG for arrays and PIL images (``image_colormap`` is not applied); files as they are."""
        data, ext = image_bytes(image_data, image_scale, image_shape, image_minmax, image_channels)
        if name is None:
            if isinstance(image_data, (str, os.PathLike)):
                name = os.path.basename(str(image_data))
            else:
                self._asset_counter += 1
                name = f"image-{self._asset_counter}.{ext}"
        result = self._asset("image", name, data=data, step=step, epoch=epoch, metadata=metadata)
        if result:
            result["imageId"] = result["assetId"]
        return result

    def log_figure(self, figure_name=None, figure=None, overwrite=False, step=None, format="svg", epoch=None,
                   metadata=None, **kwargs):
        """A matplotlib figure (None: pyplot's current one) or a Plotly figure, as SVG (or PNG),
        shown in the experiment's Graphics."""
        try:
            data = figure_bytes(figure, "svg" if format in (None, "auto") else format)
        except Exception as exc:  # noqa: BLE001  (a figure that can't be saved is reported, the run goes on)
            warn(f"log_figure: the figure could not be saved: {exc}")
            return None
        self._asset_counter += 1
        name = figure_name or f"figure_{self._asset_counter}"
        ext = "png" if format == "png" else "svg"
        if not str(name).lower().endswith(f".{ext}"):
            name = f"{name}.{ext}"
        return self._asset("image", name, data=data, step=step, epoch=epoch, metadata=metadata)

    def log_remote_asset(self, uri, remote_file_name=None, overwrite=False, asset_type="asset", step=None,
                         metadata=None, epoch=None):
        """A link to data kept elsewhere (s3://, gs://, https://...): listed with the run's
        assets with its URL; no bytes are sent."""
        name = remote_file_name or str(uri).rstrip("/").rsplit("/", 1)[-1] or "remote"
        kind = "file" if asset_type == "asset" else asset_type
        return self._asset(kind, name, data=b"", step=step, epoch=epoch, metadata=metadata,
                           extra_fields={"remote_url": str(uri)})

    def log_model(self, name, file_or_folder, file_name=None, overwrite=False, metadata=None, copy_to_tmp=True,
                  prepend_folder_name=True):
        """A model's files under one name: a file, a folder (each file at its path in it, under
        the folder's name unless ``prepend_folder_name`` is False) or a file-like object (named
        ``file_name``). Listed in the experiment page's Models tab and downloadable as a zip."""
        meta = {**(metadata or {}), "groupingName": str(name)}
        if hasattr(file_or_folder, "read"):
            raw = file_or_folder.read()
            return self._asset("model-element", file_name or "model", data=raw.encode() if isinstance(raw, str) else raw,
                               step=None, metadata=meta)
        path = Path(file_or_folder)
        if path.is_file():
            return self._asset("model-element", file_name or path.name, path=path, metadata=meta)
        if not path.is_dir():
            warn(f"log_model: no such file or folder {file_or_folder}")
            return None
        result = None
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            relative = file.relative_to(path).as_posix()
            logical = f"{path.name}/{relative}" if prepend_folder_name else relative
            result = self._asset("model-element", logical, path=file, metadata=meta) or result
        return result

    def log_points_3d(self, scene_name, points=None, boxes=None, step=None, metadata=None):
        """A 3D scene: points ``[x, y, z]`` or ``[x, y, z, r, g, b]`` and boxes (``segments``,
        ``color``, ``name``), shown in the experiment page's 3D Points tab. Points are stored
        shuffled, so a drawing of the first N is a fair sample, as comet_ml does."""
        if not points and not boxes:
            warn("log_points_3d: nothing to log (no points and no boxes)")
            return None
        step = self._step if step is None else step
        meta = {"comet_upload_type": "3d-points", "scene": str(scene_name), **(metadata or {})}
        result = None
        if points:
            shuffled = [list(p) for p in points]
            random.shuffle(shuffled)
            data = "\n".join(json.dumps(p) for p in shuffled).encode()
            result = self._asset("3d-points", f"{scene_name}/points.jsonl", data=data, step=step,
                                 metadata={**meta, "item_type": "points"})
        if boxes:
            data = "\n".join(json.dumps(b) for b in boxes).encode()
            result = self._asset("3d-points", f"{scene_name}/boxes.jsonl", data=data, step=step,
                                 metadata={**meta, "item_type": "boxes"}) or result
        return result

    def log_audio(self, audio_data, sample_rate=None, normalize_data="PCM_16_BIT", file_name=None, metadata=None,
                  overwrite=False, copy_to_tmp=True, step=None, epoch=None, **kwargs):
        meta = dict(metadata or {})
        if isinstance(audio_data, (str, os.PathLike)):
            data = Path(audio_data).read_bytes()
            name = file_name or os.path.basename(str(audio_data))
        else:
            if sample_rate is None:
                raise ValueError("log_audio needs sample_rate for array data")
            data = wav_bytes(audio_data, sample_rate)
            self._asset_counter += 1
            name = file_name or f"audio-{self._asset_counter}.wav"
        if sample_rate is not None:
            meta["sample_rate"] = int(sample_rate)
        return self._asset("audio", name, data=data, step=step, epoch=epoch, metadata=meta)

    def log_text(self, text, step=None, metadata=None):
        return self._asset("text", "text-sample.txt", data=str(text).encode("utf-8"), step=step,
                           metadata=metadata)

    def log_curve(self, name, x, y, overwrite=False, step=None, metadata=None):
        body = {"x": list(x), "y": list(y), "name": name}
        return self.log_asset_data(body, name=name, step=step, metadata=metadata, asset_type="curve")

    def log_histogram_3d(self, values, name=None, step=None, epoch=None, metadata=None, **kwargs):
        body = histogram_json(values, **kwargs)
        if not body["index_values"]:
            warn("ignoring empty histogram")
            return None
        return self.log_asset_data(body, name=name or "histogram_3d.json", step=step, epoch=epoch,
                                   metadata=metadata, asset_type="histogram3d")

    def log_confusion_matrix(self, y_true=None, y_predicted=None, matrix=None, labels=None,
                             title="Confusion Matrix", row_label="Actual Category",
                             column_label="Predicted Category", max_examples_per_cell=25, max_categories=25,
                             winner_function=None, index_to_example_function=None, cache=True,
                             file_name="confusion-matrix.json", overwrite=False, step=None, epoch=None,
                             images=None, selected=None, images_annotations=None, metadata=None, **kwargs):
        to_example = index_to_example_function
        if images is not None and to_example is None:
            uploaded: dict[int, dict] = {}

            def to_example(i):
                if i not in uploaded:
                    name = "confusion-matrix-%05d.png" % i
                    result = self.log_image(images[i], name=name, step=step)
                    uploaded[i] = {"sample": name, "assetId": result and result["assetId"]}
                return dict(uploaded[i])
        body = confusion_matrix_json(y_true, y_predicted, matrix, labels, title, row_label, column_label,
                                     max_examples_per_cell, max_categories, selected, to_example)
        return self.log_asset_data(body, name=file_name, step=step, epoch=epoch, metadata=metadata,
                                   asset_type="confusion-matrix")

    def log_code(self, file_name=None, folder=None, code=None, code_name=None, overwrite=False, metadata=None):
        meta = {"source_code_type": "manual", **(metadata or {})}
        if code is not None:
            return self._asset("code", code_name or "code.py", data=str(code).encode("utf-8"), metadata=meta)
        if folder is not None:
            root = Path(folder)
            results = [self._asset("code", str(p.relative_to(root)), path=p, metadata=meta)
                       for p in sorted(root.rglob("*")) if p.is_file() and "/." not in f"/{p.relative_to(root)}"]
            return results
        path = Path(file_name) if file_name else env.script_path()
        if path is None or not path.is_file():
            warn(f"log_code: no such file {file_name}")
            return None
        return self._asset("code", path.name, path=path, metadata=meta)

    # --- stop ---

    def log_artifact(self, artifact):
        raise NotImplementedError("Artifacts need the server: log them from an online Experiment")

    def get_artifact(self, artifact_name, workspace=None, version_or_alias=None):
        raise NotImplementedError("Artifacts need the server: fetch them from an online Experiment")

    def _check_stop(self) -> None:
        if self._interrupted or threading.current_thread() is not threading.main_thread():
            return
        self._interrupted = True
        self._end_status = "stopped"
        self._q.append(("o", "experiment_stopped_by_user", True))
        raise InterruptedExperiment(self._stop_by)

    # --- auto-logging ---

    def _auto_log(self) -> None:
        flags = self._flags
        details = env.host_details(log_host=flags["host"], secret_names=self._secret_names)
        self._put(("d", details))
        if flags["args"] and len(sys.argv) > 1:
            for k, v in env.parse_cli_args(env.mask_secret_args(sys.argv[1:], self._secret_names)).items():
                self._put(("p", str(k), v, None, "cli"))
        if flags["output"]:
            self._saved_streams = (sys.stdout, sys.stderr)
            q = self._q

            def sink(text, is_err):
                if not self._ended:
                    q.append(("x", text, is_err, _now()))
            self._tees = (env.Tee(sys.stdout, sink, False), env.Tee(sys.stderr, sink, True))
            sys.stdout, sys.stderr = self._tees
        self._saved_hook = sys.excepthook
        sys.excepthook = self._excepthook
        if flags["code"] or flags["details"] or flags["git"] or flags["patch"]:
            self._env_missing = [part for part, flag in (("script source", "code"), ("installed packages", "details"),
                                                         ("git metadata", "git"), ("git patch", "patch"))
                                 if flags[flag]]
            self._env_thread = threading.Thread(target=self._log_environment, name="halley-env", daemon=True)
            self._env_thread.start()
        if flags["metrics"] and (flags["cpu"] or flags["gpu"]) and self._system_interval > 0:
            threading.Thread(target=self._system_loop, name="halley-system", daemon=True).start()

    def _log_environment(self) -> None:
        """Collects the slow facts off the main thread; ``end()`` waits for it (bounded), so
        each part is queued before the run's end or, once end() gave up, not at all."""
        flags = self._flags

        def queue(part: str, log) -> None:
            with self._env_lock:
                if self._env_open:
                    log()
                    self._env_missing.remove(part)
        try:
            if flags["code"]:
                script = env.script_path()
                if script is not None:
                    data = script.read_bytes() if script.stat().st_size <= IN_MEMORY_MAX else None
                    queue("script source", lambda: self._asset(
                        "code", script.name, data=data, path=None if data is not None else script,
                        metadata={"source_code_type": "experiment_creation", "path": str(script)}))
                else:
                    queue("script source", lambda: None)
            if flags["details"]:
                packages = env.installed_packages()
                queue("installed packages", lambda: self._q.append(("d", {"installed_packages": packages})))
            if flags["git"]:
                git = env.git_metadata()
                queue("git metadata", lambda: git and self._q.append(("d", {"git": git})))
            if flags["patch"]:
                patch = env.git_patch_zip()
                queue("git patch", lambda: patch and self._asset("git-patch", "git-patch.zip", data=patch))
        except InterruptedExperiment:
            pass
        except Exception as exc:
            warn(f"could not log environment details: {exc}")

    def _wait_for_environment(self) -> None:
        """Lets the environment collection finish before the end is queued, up to the end's
        deadline (HALLEY_END_TIMEOUT); says what was left out when it gives up."""
        thread = self._env_thread
        if thread is None:
            return
        thread.join(max(0.0, self._end_deadline - time.monotonic()))
        with self._env_lock:
            self._env_open = False
            missing = list(self._env_missing) if thread.is_alive() else []
        if missing:
            warn(f"experiment {self.id}: gave up waiting for the environment details after "
                 f"{self._config.end_timeout_s:g} s; ending without the {', '.join(missing)} "
                 f"(set HALLEY_END_TIMEOUT to wait longer)")

    def _system_loop(self) -> None:
        sampler = env.SystemSampler(cpu=self._flags["cpu"], gpu=self._flags["gpu"])
        while not self._threads_stop.wait(self._system_interval):
            for name, value in sampler.sample().items():
                self._q.append(("m", name, value, self._step, self._epoch, _now(), None))

    def _excepthook(self, exc_type, exc, tb):
        if issubclass(exc_type, InterruptedExperiment) or self._interrupted:
            self._end_status = "stopped"
        else:
            self._end_status = "crashed"
        (self._saved_hook or sys.__excepthook__)(exc_type, exc, tb)

    # --- ending ---

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._end_status = "stopped" if (issubclass(exc_type, InterruptedExperiment) or self._interrupted) \
                else "crashed"
        self.end()
        return False

    def _atexit(self) -> None:
        try:
            self.end()
        except Exception as exc:
            warn(f"could not end experiment {self.id}: {exc}")

    def _restore(self) -> None:
        self._threads_stop.set()
        if self._saved_streams is not None:
            if sys.stdout is self._tees[0]:  # someone may have replaced it since; leave theirs alone
                sys.stdout = self._saved_streams[0]
            if sys.stderr is self._tees[1]:
                sys.stderr = self._saved_streams[1]
            self._saved_streams = None
        if self._saved_hook is not None and sys.excepthook == self._excepthook:
            sys.excepthook = self._saved_hook
        try:
            atexit.unregister(self._atexit)
        except Exception:
            pass

    def end(self) -> None:
        if self._ended:
            return
        self._ended = True
        self._end_deadline = time.monotonic() + self._config.end_timeout_s
        self._restore()
        if not self._off and self.optimizer is not None:
            self.optimizer["optimizer"]._end(self)
        if not self._off:
            self._wait_for_environment()
            self._finish(self._end_status)

    def _finish(self, status: str) -> None:
        raise NotImplementedError

    def clean(self) -> None:
        self.end()

    def display(self, *args, **kwargs) -> None:
        """No notebook display; kept for compatibility."""


class Experiment(BaseExperiment):
    """An online run: ``Experiment(api_key=..., project_name=..., workspace=...)``.

    Configuration falls back to HALLEY_API_KEY, HALLEY_URL (default http://127.0.0.1:8050),
    HALLEY_WORKSPACE and HALLEY_PROJECT. Pending data is kept under HALLEY_SPOOL_DIR
    (default ~/.halley/spool)/<experiment_key> while the server can't be reached.

    The background sender creates the experiment while the script goes on, with the first
    batch (``end()``, ``flush()`` or the batch interval, HALLEY_BATCH_INTERVAL_S, whichever comes
    first) for a new key: a key or project the server refuses is reported by a warning as soon
    as it answers (the run then logs nothing), and ``url`` is set once it has answered.
    """

    def _start(self) -> None:
        if not self._config.api_key:
            warn("no API key (pass api_key= or set HALLEY_API_KEY): this experiment logs nothing")
            self._off = True
            return
        self._heartbeat_s = 5.0
        self._spool = SpoolDir(spool_root() / self.id, self._create_body())
        # A new run is created with its first batch (one request for a short run); a given key
        # is created or resumed first thing, while this thread goes on logging into the queue.
        # Either way a refused key or project is reported as soon as the server answers, and a
        # server that is down is retried like any other delivery (spooled).
        self._sender = Sender(self._q, self.id, HttpClient(self._config), self._spool,
                              interval=self._batch_interval, retry_max_s=self._config.retry_max_s,
                              on_created=self._on_created, create_body=self._create_body(),
                              on_refused=self._on_refused, create_with_first_batch=not self._key_given)
        self._sender.start()
        if self._key_given:
            # Let the sender put the create request on the wire before this thread takes the
            # interpreter back to log: the server then works on it while the script runs.
            # Bounded, so a slow network never holds the script up.
            self._sender.create_sent.wait(CREATE_SEND_WAIT_S)

    def _on_refused(self, message: str) -> None:
        """The server refused to create the experiment: from now on every call is a no-op."""
        self._off = True
        warn(f"could not create the experiment: {message}. This experiment logs nothing")

    def _on_created(self, info: dict) -> None:
        self.workspace = info.get("workspace", self.workspace)
        self.project_name = info.get("project", self.project_name)
        if not self._name and info.get("name"):  # the readable name the server gave an unnamed run
            self._name = info["name"]
        if info.get("url"):
            self.url = self._config.url + info["url"]
        self._heartbeat_s = env_float("HALLEY_HEARTBEAT_S", float(info.get("heartbeat_interval_s") or 5))
        if not self._threads_stop.is_set():
            threading.Thread(target=self._heartbeat_loop, name="halley-heartbeat", daemon=True).start()

    def _heartbeat_loop(self) -> None:
        client = HttpClient(self._config)
        while not self._threads_stop.wait(self._heartbeat_s):
            if self._sender.key_refused:  # nothing more goes out with a refused key
                return
            try:
                body = client.request("POST", f"/experiments/{self.id}/heartbeat", json_body={},
                                      timeout=max(self._heartbeat_s, 5)).json()
            except Rejected as exc:
                if exc.status in KEY_REFUSED:
                    return
                continue
            except (Transient, ValueError):
                continue
            if body.get("stop_requested") and self._stop_by is None:
                self._stop_by = body.get("stopped_by") or "unknown"

    def flush(self, timeout: float | None = None) -> bool:
        if self._off or self._ended:
            return True
        return self._sender.flush(timeout or self._config.end_timeout_s)

    def log_artifact(self, artifact: artifacts.Artifact) -> artifacts.LoggedArtifact | None:
        """A new version of ``artifact`` (1.0.0, 2.0.0, ... or its own ``version``) with its files,
        logged by this run; waits until the server has it all (after what was logged before)."""
        if not self._connected():
            return None
        return artifacts.log_artifact(HttpClient(self._config), self.id, artifact)

    def get_artifact(self, artifact_name: str, workspace: str | None = None,
                     version_or_alias: str | None = None) -> artifacts.LoggedArtifact | None:
        """A version (``name``, ``workspace/name:version_or_alias``; the newest by default) of an
        artifact of the workspace, recorded as used by this run."""
        if not self._connected():
            return None
        return artifacts.get_artifact(HttpClient(self._config), artifact_name, workspace or self.workspace,
                                      version_or_alias, consumer_key=self.id)

    def _connected(self) -> bool:
        """The run exists on the server (what was queued is delivered): artifacts need it."""
        if self._off or self._ended:
            return False
        if not self.flush():
            raise ConnectionError(f"{self._config.url} could not be reached; artifacts need the server")
        return not self._off

    def _finish(self, status: str) -> None:
        # The end rides on the last batch (one request, applied with it); POST /end is the
        # fallback when that batch was refused or the server predates it.
        self._q.append(("E", status))
        deadline = self._end_deadline
        delivered = self._sender.close(max(0.0, deadline - time.monotonic()), self._config.offline_end_wait_s,
                                       deadline=deadline)
        if self._sender.dead:
            if self._sender.key_refused:  # `halley upload` ends the run with the rest of its data
                self._spool.write_end(status)
            return
        ended = self._sender.ended
        for pause in (0.5, 1.0, 2.0, None):
            left = deadline - time.monotonic()
            if ended or left <= 0:
                break
            try:
                self._sender.client.request("POST", f"/experiments/{self.id}/end", json_body={"status": status},
                                            timeout=min(left, self._config.request_timeout_s))
                ended = True
            except Rejected:
                break
            except Transient:
                if pause is None or self._sender.unreachable:
                    break
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        if not delivered or not ended:
            self._spool.write_end(status)
            warn(f"experiment {self.id}: the server could not be reached before the end (end() waits up to "
                 f"HALLEY_END_TIMEOUT={self._config.end_timeout_s:g} s); the rest is kept "
                 f"in {self._spool.path}. Send it later with: halley upload {self._spool.path}")
        elif self._sender.went_offline:
            self._spool.clear_if_done()


class ExistingExperiment(Experiment):
    """Resumes logging to an existing experiment: ``ExistingExperiment(previous_experiment=KEY)``."""

    def __init__(self, api_key=None, previous_experiment=None, **kwargs):
        kwargs.setdefault("log_code", False)
        kwargs.setdefault("parse_args", False)
        kwargs.setdefault("log_git_patch", False)
        super().__init__(api_key=api_key, experiment_key=previous_experiment or kwargs.pop("experiment_key", None),
                         **kwargs)
