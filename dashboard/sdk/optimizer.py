"""``Optimizer``: comet_ml's Optimizer API over Halley's SDK transport.

    from dashboard.sdk import Optimizer

    opt = Optimizer({"algorithm": "bayes", "parameters": {"lr": {"type": "float", "min": 1e-4,
                     "max": 1e-1, "scalingType": "loguniform"}}, "spec": {"metric": "loss"}})
    for experiment in opt.get_experiments(project_name="sweep"):
        experiment.log_metric("loss", train(experiment.get_parameter("lr")))
        experiment.end()

Several processes share a sweep by its id: ``Optimizer(opt.get_id())`` (or HALLEY_OPTIMIZER_ID /
COMET_OPTIMIZER_ID) resumes it; each gets parameter sets no other worker got. The server keeps
the sweep; ``end()`` of each run reports the min (or max) of the sweep's metric as its score.
"""
from __future__ import annotations

import ast
import json
import os

from dashboard.sdk.config import ClientConfig
from dashboard.sdk.transport import HttpClient, Rejected, warn


class OptimizerException(Exception):
    pass


def _shorthand(name: str, data):
    if isinstance(data, dict):
        return data
    values = data if isinstance(data, list) else [data]
    if values and isinstance(values[0], (int, float)):
        return {"type": "discrete", "values": values}
    if values and isinstance(values[0], str):
        return {"type": "categorical", "values": values}
    raise OptimizerException(f"unknown parameter entry: {{{name!r}: {data!r}}}")


class Optimizer:
    """``Optimizer(config=None, trials=None, verbose=1, experiment_class="Experiment",
    api_key=None, url=None)``: ``config`` is a config dict, a sweep's id, or a file holding a
    config. Falls back to HALLEY_API_KEY and HALLEY_URL."""

    def __init__(self, config=None, trials=None, verbose=1, experiment_class="Experiment", api_key=None,
                 url=None, **kwargs):
        self.experiment_class = experiment_class
        self.experiment_kwargs = kwargs
        self.verbose = verbose
        self._config = ClientConfig.resolve(api_key, url)
        self.api_key = self._config.api_key
        self._client = HttpClient(self._config)
        self.id: str | None = os.environ.get("HALLEY_OPTIMIZER_ID") or os.environ.get("COMET_OPTIMIZER_ID")
        self.metadata = None
        self._status: dict | None = None
        if not self.id:  # a sweep named in the environment wins, as comet_ml's workers find theirs
            self._open(config, trials)
        self._status = self.status()

    def _open(self, config, trials) -> None:
        """Create the sweep a config (a dict, or a file holding one) describes, or join the one a
        sweep id names."""
        if config is None:
            raise OptimizerException("No config given and HALLEY_OPTIMIZER_ID is not set")
        if isinstance(config, dict):
            self._create(config, trials)
        elif isinstance(config, str) and os.path.isfile(config):
            with open(config) as f:
                self._create(ast.literal_eval(f.read()), trials)
        elif isinstance(config, str):
            self.id = config
        else:
            raise OptimizerException(f"unknown config: {config!r}")

    # --- the server's calls ---

    def _call(self, method: str, path: str, json_body=None, params=None) -> dict:
        try:
            return self._client.request(method, "/optimizer/" + path, json_body=json_body, params=params).json()
        except Rejected as exc:
            raise OptimizerException(f"Optimizer server: {exc}") from None

    def _create(self, config: dict, trials) -> None:
        config = dict(config)
        if trials is not None:
            config["trials"] = trials
        parameters = config.get("parameters")
        if not isinstance(parameters, dict) or not parameters:
            raise OptimizerException("Optimizer needs at least one parameter")
        config["parameters"] = {k: _shorthand(k, v) for k, v in parameters.items()}
        for p in config["parameters"].values():
            if p.get("type") in ("float", "double", "integer"):
                p.setdefault("scalingType", "uniform")
        body = {k: config.get(k) for k in ("algorithm", "name", "parameters", "spec")}
        body["trials"] = config.get("trials", 1)
        self.id = self._call("POST", "create", json_body=body)["id"]

    def status(self) -> dict:
        """The sweep's config, state and counts of parameter sets (running, completed, ...)."""
        return self._call("GET", "status", params={"id": self.id})

    def get_id(self) -> str:
        return str(self.id)

    def next_data(self) -> dict | None:
        """The next parameter set ({"parameters", "pid", "trial", "count"}), or None."""
        reply = self._call("POST", "next", json_body={"id": self.id})
        if reply.get("code") != 200:
            return None
        return reply["parameters"]

    def get_parameters(self):
        while True:
            data = self.next_data()
            if data is None:
                return
            yield data

    def next(self, **kwargs):
        """An Experiment for the next parameter set, its parameters logged, or None."""
        data = self.next_data()
        if data is None:
            return None
        return self._create_experiment(data, kwargs or dict(self.experiment_kwargs))

    def get_experiments(self, **kwargs):
        while True:
            experiment = self.next(**kwargs)
            if experiment is None:
                return
            yield experiment

    def update(self, experiment, status: str, metadata: dict | None = None) -> None:
        """Report a run's status (e.g. "running") for its parameter set."""
        info = experiment.optimizer
        self._call("POST", "update", json_body={"id": self.id, "pid": info["pid"], "trial": info["trial"],
                                                "status": status, "metadata": metadata,
                                                "experimentKey": experiment.get_key()})

    def set_metadata(self, metadata: dict) -> None:
        self.metadata = metadata

    def end(self, experiment) -> None:
        """Called by ``experiment.end()``: reports the run's score for its parameter set."""
        self._end(experiment)

    # --- internals ---

    def _create_experiment(self, data: dict, kwargs: dict):
        from dashboard.sdk.experiment import Experiment
        from dashboard.sdk.offline import OfflineExperiment

        kwargs.setdefault("api_key", self.api_key)
        if self.experiment_class == "Experiment":
            kwargs.setdefault("url", self._config.url)
            exp = Experiment(**kwargs)
        elif self.experiment_class == "OfflineExperiment":
            exp = OfflineExperiment(**kwargs)
        elif callable(self.experiment_class):
            exp = self.experiment_class(**kwargs)
        else:
            raise OptimizerException(f"Invalid experiment_class: {self.experiment_class!r}")
        exp.optimizer = {"optimizer": self, "pid": data["pid"], "trial": data["trial"], "count": data["count"]}
        status = self._status or self.status()
        exp._watched = status["spec"]["metric"]
        exp.log_parameters(data["parameters"], nested_support=False, source="auto")
        exp.log_others({"optimizer_id": self.id, "optimizer_pid": data["pid"], "optimizer_trial": data["trial"]})
        return exp

    def _end(self, experiment) -> None:
        info = experiment.optimizer
        status = self._status or self.status()
        spec = status["spec"]
        metric, objective = spec["metric"], spec.get("objective", "minimize")
        found = experiment._watched_range
        score = None if found is None else (found[1] if objective == "maximize" else found[0])
        try:
            self._call("POST", "update", json_body={
                "id": self.id, "pid": info["pid"], "trial": info["trial"],
                "status": "completed" if found is not None else "aborted", "score": score,
                "metadata": self.metadata, "experimentKey": experiment.get_key()})
        except Exception as exc:  # the run itself still ends
            warn(f"could not report this run to optimizer {self.id}: {exc}")
        if found is None and self.verbose:
            warn(f"Optimizer metric is {metric!r} but no value of it was logged: the run is not scored")
        experiment.log_others({
            "optimizer_metric": metric, "optimizer_metric_value": score, "optimizer_version": status.get("version"),
            "optimizer_process": os.getpid(), "optimizer_count": info["count"],
            "optimizer_objective": objective, "optimizer_name": status.get("name"),
            "optimizer_parameters": json.dumps({k: experiment.params.get(k) for k in status["parameters"]}),
        })

