"""Read side: ``API`` and ``APIExperiment``, named like comet_ml's."""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from dashboard.sdk.config import ClientConfig
from dashboard.sdk.transport import HttpClient, Rejected


def to_float(value: Any) -> float | None:
    """Server values back to floats: "NaN", "Infinity", "-Infinity" included."""
    if value is None or isinstance(value, bool):
        return value if value is None else float(value)
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _q(part: str) -> str:
    return quote(str(part), safe="")


class API:
    """``API(api_key=None, url=None)``: falls back to HALLEY_API_KEY and HALLEY_URL."""

    def __init__(self, api_key: str | None = None, url: str | None = None, **kwargs):
        self.config = ClientConfig.resolve(api_key, url)
        self.client = HttpClient(self.config)

    def _get(self, path: str, params: dict | None = None):
        return self.client.request("GET", path, params=params)

    def get(self, workspace: str | None = None, project_name: str | None = None,
            experiment: str | None = None, project: str | None = None):
        """No args: workspace names; workspace: project names; + project: experiments;
        all three (or "ws/project/key"): one APIExperiment (None when not found)."""
        project_name = project_name or project
        if workspace and "/" in workspace and project_name is None and experiment is None:
            parts = workspace.split("/")
            workspace, project_name, experiment = (parts + [None, None])[:3]
            project_name = project_name or None
            experiment = experiment or None
        if workspace is None:
            return self.get_workspaces()
        if project_name is None:
            return self.get_projects(workspace)
        if experiment is None:
            return self.get_experiments(workspace, project_name)
        return self.get_experiment(workspace, project_name, experiment)

    def get_workspaces(self) -> list[str]:
        return self._get("/workspaces").json()["workspaces"]

    def get_projects(self, workspace: str) -> list[str]:
        return [p["name"] for p in self._get(f"/workspaces/{_q(workspace)}/projects").json()["projects"]]

    def get_experiments(self, workspace: str, project_name: str | None = None, pattern: str | None = None,
                        page: int | None = None, page_size: int | None = None, sort_by: str | None = None,
                        sort_order: str | None = None) -> list["APIExperiment"]:
        """Experiments of a project (of every project without one); ``pattern`` is a regular
        expression on the name, ``sort_by`` "startTime" or "endTime", ``page`` counts from 1."""
        if project_name is None:
            found = [e for p in self.get_projects(workspace) for e in self.get_experiments(workspace, p)]
        else:
            body = self._get(f"/workspaces/{_q(workspace)}/projects/{_q(project_name)}/experiments").json()
            found = [APIExperiment(self, m) for m in body["experiments"]]
        if pattern:
            rx = re.compile(pattern)
            found = [e for e in found if rx.search(e.name or "")]
        if sort_by in ("startTime", "endTime"):
            field = "start_time" if sort_by == "startTime" else "end_time"
            found.sort(key=lambda e: e._metadata.get(field) or "", reverse=sort_order == "desc")
        if page_size:
            start = (max(page or 1, 1) - 1) * page_size
            found = found[start:start + page_size]
        return found

    def get_experiment(self, workspace: str, project_name: str, experiment: str) -> "APIExperiment | None":
        for e in self.get_experiments(workspace, project_name):
            if experiment in (e.key, e.name):
                return e
        return None

    def get_experiment_by_key(self, experiment_key: str) -> "APIExperiment | None":
        try:
            return APIExperiment(self, self._get(f"/experiments/{_q(experiment_key)}").json())
        except Rejected as exc:
            if exc.status == 404:
                return None
            raise

    get_experiment_by_id = get_experiment_by_key

    def stop_experiment(self, experiment_key: str) -> None:
        self.client.request("POST", f"/experiments/{_q(experiment_key)}/stop", json_body={})


class APIExperiment:
    """One experiment, read through the REST API."""

    def __init__(self, api: API, metadata: dict):
        self._api = api
        self._metadata = metadata

    def _get(self, suffix: str, params: dict | None = None):
        return self._api._get(f"/experiments/{_q(self.key)}{suffix}", params)

    @property
    def key(self) -> str:
        return self._metadata["experiment_key"]

    id = key

    @property
    def name(self) -> str | None:
        return self._metadata.get("name")

    @property
    def workspace(self) -> str | None:
        return self._metadata.get("workspace")

    @property
    def project_name(self) -> str | None:
        return self._metadata.get("project")

    @property
    def url(self) -> str:
        return f"{self._api.config.url}/{self.workspace}/{self.project_name}/{self.key}"

    def get_name(self) -> str | None:
        return self.get_metadata().get("name")

    def __repr__(self) -> str:
        return f"<APIExperiment {self.workspace}/{self.project_name}/{self.key}>"

    def get_metadata(self) -> dict:
        self._metadata = self._get("").json()
        return dict(self._metadata)

    def get_state(self) -> str:
        return self.get_metadata()["status"]

    def get_metrics(self, metric: str | None = None, name: str | None = None) -> list[dict]:
        """Every point of one metric (or of all), in step order; ``value`` is a float (nan/inf
        kept). Comet's key names (metricName, metricValue, runContext) are included too."""
        metric = metric or name
        points = self._get("/metrics", {"name": metric} if metric else None).json()["metrics"]
        out = []
        for p in points:
            value = to_float(p["value"])
            out.append({**p, "value": value, "metricName": p["name"], "metricValue": value,
                        "runContext": p.get("context")})
        return out

    def get_metrics_summary(self, metric: str | None = None) -> list[dict]:
        rows = self._get("/metrics/summary").json()["metrics"]
        out = []
        for r in rows:
            row = {**r, "last": to_float(r.get("last")), "min": to_float(r.get("min")),
                   "max": to_float(r.get("max"))}
            row.update(valueCurrent=row["last"], valueMin=row["min"], valueMax=row["max"])
            out.append(row)
        return [r for r in out if r["name"] == metric] if metric else out

    def get_parameters_summary(self, parameter: str | None = None) -> list[dict]:
        rows = self._get("/parameters").json()["parameters"]
        out = [{**r, "valueCurrent": r.get("value")} for r in rows]
        return [r for r in out if r["name"] == parameter] if parameter else out

    def get_parameter_history(self, name: str) -> list[dict]:
        return self._get(f"/parameters/{_q(name)}/history").json()["values"]

    def get_others_summary(self, other: str | None = None) -> list[dict]:
        rows = self._get("/others").json()["others"]
        out = [{**r, "name": r["key"], "valueCurrent": r.get("value")} for r in rows]
        return [r for r in out if r["name"] == other] if other else out

    def get_tags(self) -> list[str]:
        return self._get("/tags").json()["tags"]

    def get_asset_list(self, asset_type: str = "all", timeout: float | None = None) -> list[dict]:
        params = None if asset_type in (None, "all") else {"type": asset_type}
        rows = self._get("/assets", params).json()["assets"]
        return [{**r, "assetId": r["asset_id"], "fileName": r["name"]} for r in rows]

    def get_asset(self, asset_id: str, return_type: str = "binary", stream: bool = False):
        data = self._get(f"/assets/{_q(asset_id)}").content
        if return_type == "json":
            return json.loads(data)
        if return_type == "text":
            return data.decode("utf-8")
        return data

    def get_output(self, stderr: bool | None = None) -> str:
        rows = self._get("/output").json()["output"]
        return "".join(r["text"] for r in rows if stderr is None or bool(r.get("stderr")) == stderr)

    def get_system_details(self) -> dict:
        return self._get("/system").json()

    def get_installed_packages(self) -> list[str]:
        return self.get_system_details().get("installed_packages") or []

    def get_git_metadata(self) -> dict:
        return self.get_system_details().get("git") or {}

    def stop(self) -> None:
        self._api.stop_experiment(self.key)
