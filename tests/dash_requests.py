"""Dash callback requests built by hand, as the browser sends them.

A callback's declaration comes from ``/_dash-dependencies``; ``callback_body`` fills it with
values and the ids of pattern-matching components, so a test can post any callback directly
(the browser is not needed to call one, which is why each one checks its request).
"""
from __future__ import annotations

import json
import time

import requests
from dash._utils import split_callback_id, stringify_id

WILDCARDS = (["ALL"], ["MATCH"], ["ALLSMALLER"])


def dependencies(url: str, session: requests.Session | None = None) -> list[dict]:
    return (session or requests).get(url + "/_dash-dependencies").json()


def server_callbacks(deps: list[dict]) -> list[dict]:
    return [d for d in deps if not d.get("clientside_function")]


def name_of(dep: dict) -> str:
    """"component-id.property", or "type.property" for a pattern-matching id."""
    return f"{pattern_of(dep)['type'] if is_pattern(dep) else dep['id']}.{dep['property'].split('@')[0]}"


def is_pattern(dep: dict) -> bool:
    return isinstance(dep["id"], str) and dep["id"].startswith("{")


def pattern_of(dep: dict) -> dict:
    return json.loads(dep["id"])


def is_multiple(dep: dict) -> bool:
    """Whether the dependency stands for a list of components (ALL), not one (MATCH)."""
    return is_pattern(dep) and any(v in (["ALL"], ["ALLSMALLER"]) for v in pattern_of(dep).values())


def concrete_id(dep: dict, keys: dict) -> dict:
    """A pattern dependency's id with its wildcards replaced by ``keys``."""
    return {k: (keys.get(k) if v in WILDCARDS else v) for k, v in pattern_of(dep).items()}


def outputs_of(spec: dict) -> list[dict]:
    outputs = split_callback_id(spec["output"])
    return outputs if isinstance(outputs, list) else [outputs]


def entry(dep: dict, value, component_id=None) -> dict:
    return {"id": dep["id"] if component_id is None else component_id, "property": dep["property"], "value": value}


def callback_body(spec: dict, inputs: list, state: list, outputs: list | None = None,
                  changed: list[str] | None = None) -> dict:
    """A request body: ``inputs`` and ``state`` hold one entry (or, for ALL, a list of entries)
    per declared dependency; ``outputs`` likewise, by default the declared ones; ``changed``
    names the inputs that fired, by default every input with a value."""
    declared = outputs_of(spec)
    outputs = outputs if outputs is not None else declared
    if changed is None:
        changed = [f"{stringify_id(e['id'])}.{e['property']}" for item in inputs
                   for e in (item if isinstance(item, list) else [item]) if e.get("value") is not None]
    return {"output": spec["output"], "outputs": outputs if spec["output"].startswith("..") else outputs[0],
            "inputs": inputs, "state": state, "changedPropIds": changed}


def find_callback(deps: list[dict], trigger: str, output: str = "") -> dict:
    """The one server callback with the input ``trigger`` ("component-id.property", for pattern
    ids "type.property") whose output key contains ``output``."""
    matches = [d for d in server_callbacks(deps) if any(name_of(i) == trigger for i in d["inputs"])
               and output in d["output"]]
    assert len(matches) == 1, f"{len(matches)} callbacks with input {trigger}"
    return matches[0]


def body_from_values(spec: dict, values: dict) -> dict:
    """A request whose dependencies take their values from ``values``, keyed like ``name_of``;
    a pattern dependency's value is a list of (concrete id, value) pairs."""
    def fill(dep):
        if is_pattern(dep):
            items = [entry(dep, value, concrete) for concrete, value in values.get(name_of(dep), [])]
            return items if is_multiple(dep) else items[0]
        return entry(dep, values.get(name_of(dep)))

    outputs = []
    for out in outputs_of(spec):
        if is_pattern(out):
            concretes = [{"id": concrete, "property": out["property"]}
                         for concrete, _value in values.get(name_of(out), [])]
            outputs.append(concretes if is_multiple(out) else concretes[0])
        else:
            outputs.append(out)
    return callback_body(spec, [fill(d) for d in spec["inputs"]], [fill(d) for d in spec["state"]], outputs)


def post_callback(client: requests.Session, url: str, body: dict, timeout: float = 60) -> requests.Response:
    """Post a callback request; a background callback's job is then polled, as the page does,
    until it is answered."""
    r = client.post(url + "/_dash-update-component", json=body)
    if r.status_code != 200 or "cacheKey" not in r.json():
        return r
    handles, deadline = r.json(), time.time() + timeout
    while time.time() < deadline:
        r = client.post(url + "/_dash-update-component", json=body,
                        params={"cacheKey": handles["cacheKey"], "job": handles["job"]})
        if r.status_code != 200 or "response" in r.json():
            return r
        time.sleep(0.1)
    raise AssertionError("the background callback was never answered")
