"""Optimizer sweeps: comet_ml's Optimizer protocol, served from the database.

A sweep is created from a config (``algorithm``, ``parameters``, ``spec``, ``trials``) in the
API key's workspace; workers sharing its id ask for the next parameter set, run it as an
experiment and report its score. Handing out is atomic across processes and servers: every
``next`` takes the sweep's row for writing (an UPDATE: the row lock on PostgreSQL, the
database's write lock on SQLite), so two workers never get the same place in the sequence.

- grid: every combination of the parameters' values, in order (``spec.randomize``: shuffled
  with the seed); continuous parameters take ``spec.gridSize`` values spread by their scaling.
- random: optuna's RandomSampler; a combination already handed out is drawn again (a few times).
- bayes: optuna's TPESampler, fed the completed parameter sets' scores (``spec.objective``).

``maxCombo`` (0: no limit) caps the combinations, ``trials`` hands each one out that many
times, ``retryLimit`` is how often a failed, crashed or stopped parameter set is handed out
again; so is one whose run crashed unreported, or that no run started within the grace period
after it was handed out (its worker died first), once no new set is left. An aborted one
(comet_ml's report of a run that logged no value of the metric) ends unscored. Scaling types:
linear/uniform, loguniform, normal and lognormal (``mu``, ``sigma``; the normal's quantiles are
what the samplers draw). random and bayes draw before taking the sweep's row, so no lock is held
while optuna samples; the draw is kept when no other worker took that place meanwhile.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import uuid
from datetime import datetime, timedelta, timezone
from statistics import NormalDist
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, select

from dashboard.auth import Actor, can_read_workspace, can_write_workspace
from dashboard.errors import Forbidden, Invalid, NotFound
from models import Experiment, Other, OptimizerSweep, OptimizerTrial, Project, Workspace, utcnow

ALGORITHMS = ("grid", "random", "bayes")
TYPES = ("integer", "float", "double", "discrete", "categorical")
SCALINGS = ("linear", "uniform", "loguniform", "normal", "lognormal")
OBJECTIVES = ("minimize", "maximize")
VERSION = "2.0.1"
MAX_PARAMETERS = 50
MAX_VALUES = 10_000
MAX_COMBOS = 100_000  # parameter sets one sweep hands out at most (combinations x trials)
MAX_GRID_SIZE = 1_000
MAX_TRIALS = 1_000
RESAMPLES = 20  # draws of random/bayes to find a combination not handed out yet
EPS = 1e-9
START_GRACE = timedelta(minutes=10)  # a set handed out with no run of it after this is abandoned

COMMON_SPEC = [
    {"name": "maxCombo", "default": 0, "description": "combinations to try at most (0: all)"},
    {"name": "metric", "default": "loss", "description": "the metric whose value scores a run"},
    {"name": "objective", "default": "minimize", "description": "minimize or maximize the metric"},
    {"name": "gridSize", "default": 10, "description": "values of a continuous parameter in a grid"},
    {"name": "minSampleSize", "default": 100, "description": "kept for compatibility"},
    {"name": "retryLimit", "default": 20, "description": "times a failed parameter set is handed out again"},
    {"name": "retryAssignLimit", "default": 0, "description": "kept for compatibility"},
    {"name": "seed", "default": None, "description": "random seed (none: chosen at creation)"},
]
SPEC_TEMPLATES = {
    "grid": COMMON_SPEC + [{"name": "randomize", "default": False, "description": "shuffle the grid"}],
    "random": COMMON_SPEC,
    "bayes": COMMON_SPEC,
}
DESCRIPTIONS = {
    "grid": "every combination of the parameters' values (continuous ones on a grid of gridSize)",
    "random": "random combinations (optuna RandomSampler)",
    "bayes": "Bayesian search over the completed runs' scores (optuna TPESampler)",
}


# --- the config ------------------------------------------------------------------------------

def _number(value, label: str) -> float:
    try:
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and abs(float(value)) <= 1e300
    except OverflowError:
        ok = False
    if not ok:
        raise Invalid(f"{label} must be a finite number (at most 1e300 in size)")
    return value


def _int(value, label: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{label} must be a whole number from {low} to {high}")
    return value


def _shorthand(name: str, data):
    """comet_ml's shorthand: a list (or one value) of numbers is discrete, of texts categorical."""
    if isinstance(data, dict):
        return data
    values = data if isinstance(data, list) else [data]
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return {"type": "discrete", "values": values}
    if values and all(isinstance(v, str) for v in values):
        return {"type": "categorical", "values": values}
    raise Invalid(f"parameter {name!r}: give an object with a type, or a list of numbers or of texts")


def check_parameter(name: str, p: dict) -> dict:
    label = f"parameter {name!r}"
    kind = p.get("type")
    if kind not in TYPES:
        raise Invalid(f"{label}: type must be one of {', '.join(TYPES)}")
    if kind in ("discrete", "categorical"):
        values = p.get("values")
        if not isinstance(values, list) or not values or len(values) > MAX_VALUES:
            raise Invalid(f"{label}: values must be a list of 1 to {MAX_VALUES} items")
        for v in values:
            if kind == "discrete":
                _number(v, f"{label}: each value")
            elif not isinstance(v, (str, int, float, bool)) or (isinstance(v, float) and not math.isfinite(v)):
                raise Invalid(f"{label}: each value must be a text, number or boolean")
        if len(set(map(json.dumps, values))) != len(values):
            raise Invalid(f"{label}: values repeat")
        return p
    scaling = p.get("scalingType", "uniform")
    if scaling not in SCALINGS:
        raise Invalid(f"{label}: scalingType must be one of {', '.join(SCALINGS)}")
    if scaling in ("normal", "lognormal"):
        _number(p.get("mu", 0), f"{label}: mu")
        if _number(p.get("sigma", 1), f"{label}: sigma") <= 0:
            raise Invalid(f"{label}: sigma must be above 0")
        if "min" not in p and "max" not in p:
            return p
    if "min" not in p or "max" not in p:
        raise Invalid(f"{label}: min and max are required")
    low, high = _number(p["min"], f"{label}: min"), _number(p["max"], f"{label}: max")
    if low > high:
        raise Invalid(f"{label}: min is above max")
    if kind == "integer" and (low != int(low) or high != int(high)):
        raise Invalid(f"{label}: min and max of an integer must be whole numbers")
    if scaling == "loguniform" and low <= 0:
        raise Invalid(f"{label}: a loguniform range must lie above 0")
    return p


def check_config(data: dict) -> dict:
    """The config as it is kept and echoed by ``status`` (the client compares them)."""
    if not isinstance(data, dict):
        raise Invalid("The optimizer config must be a JSON object")
    algorithm = data.get("algorithm")
    if algorithm not in ALGORITHMS:
        raise Invalid(f"Unknown algorithm {algorithm!r}: this server offers {', '.join(ALGORITHMS)}")
    parameters = data.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise Invalid("parameters must be an object naming at least one parameter")
    if len(parameters) > MAX_PARAMETERS:
        raise Invalid(f"At most {MAX_PARAMETERS} parameters")
    clean = {}
    for name, p in parameters.items():
        if not name or len(name) > 300:
            raise Invalid("Parameter names must be 1 to 300 characters")
        clean[name] = check_parameter(name, _shorthand(name, p))
    trials = data.get("trials", 1)
    trials = 1 if trials is None else _int(trials, "trials", 1, MAX_TRIALS)
    spec = data.get("spec") or {}
    if not isinstance(spec, dict):
        raise Invalid("spec must be an object")
    spec = {**{t["name"]: t["default"] for t in SPEC_TEMPLATES[algorithm]}, **spec}
    if not isinstance(spec["metric"], str) or not spec["metric"] or len(spec["metric"]) > 300:
        raise Invalid("spec.metric must name a metric")
    if spec["objective"] not in OBJECTIVES:
        raise Invalid("spec.objective must be minimize or maximize")
    _int(spec["maxCombo"], "spec.maxCombo", 0, 10**9)
    _int(spec["gridSize"], "spec.gridSize", 1, MAX_GRID_SIZE)
    _int(spec["retryLimit"], "spec.retryLimit", 0, 1000)
    if spec["seed"] is None:
        spec["seed"] = random.SystemRandom().randrange(2**31)
    _int(spec["seed"], "spec.seed", 0, 2**32 - 1)
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 300):
        raise Invalid("name must be a text of at most 300 characters")
    return {"algorithm": algorithm, "parameters": clean, "trials": trials, "spec": spec, "name": name}


# --- the search space --------------------------------------------------------------------------

def _normal(p: dict) -> NormalDist:
    return NormalDist(p.get("mu", 0), p.get("sigma", 1))


def _from_quantile(p: dict, q: float):
    x = _normal(p).inv_cdf(min(max(q, EPS), 1 - EPS))
    if p.get("scalingType") == "lognormal":
        x = math.exp(min(x, 700))
    if "min" in p:
        x = max(x, p["min"])
    if "max" in p:
        x = min(x, p["max"])
    return int(round(x)) if p["type"] == "integer" else x


def _to_quantile(p: dict, x) -> float:
    if p.get("scalingType") == "lognormal":
        x = math.log(x) if x > 0 else -700
    return min(max(_normal(p).cdf(x), EPS), 1 - EPS)


def _is_quantile(p: dict) -> bool:
    return p["type"] in ("integer", "float", "double") and p.get("scalingType") in ("normal", "lognormal")


def grid_values(p: dict, size: int) -> list:
    if p["type"] in ("discrete", "categorical"):
        return list(p["values"])
    if _is_quantile(p):
        values = [_from_quantile(p, (i + 0.5) / size) for i in range(size)]
    else:
        low, high = p["min"], p["max"]
        if p["type"] == "integer" and high - low + 1 <= size:
            return list(range(int(low), int(high) + 1))
        n = max(size, 1)
        if p.get("scalingType") == "loguniform":
            values = [low * (high / low) ** (i / (n - 1)) if n > 1 else low for i in range(n)]
        else:
            values = [low + (high - low) * i / (n - 1) if n > 1 else low for i in range(n)]
        if p["type"] == "integer":
            values = [int(round(v)) for v in values]
    return list(dict.fromkeys(values))


def space_size(config: dict) -> int:
    """Combinations in the space: a grid's combinations; for random and bayes, the values of
    discrete parameters, the range of integers and gridSize for continuous ones (capped)."""
    size, grid = 1, config["algorithm"] == "grid"
    for p in config["parameters"].values():
        if grid or p["type"] in ("discrete", "categorical"):
            n = len(grid_values(p, config["spec"]["gridSize"]))
        elif p["type"] == "integer" and not _is_quantile(p):
            n = int(p["max"] - p["min"] + 1)
        else:
            n = config["spec"]["gridSize"]
        size = min(size * n, 10**12)
    return size


def combo_count(config: dict) -> int:
    size = space_size(config)
    limit = config["spec"]["maxCombo"]
    count = min(size, limit) if limit else size
    if config["spec"].get("randomize") and size > MAX_COMBOS:
        raise Invalid(f"A randomized grid takes at most {MAX_COMBOS} combinations")
    if count * config["trials"] > MAX_COMBOS:
        raise Invalid(f"The sweep would hand out {count * config['trials']} parameter sets, more than "
                      f"{MAX_COMBOS}: set spec.maxCombo")
    return count


def _grid_combo(config: dict, index: int) -> dict:
    names = list(config["parameters"])
    axes = [grid_values(config["parameters"][n], config["spec"]["gridSize"]) for n in names]
    if config["spec"].get("randomize"):
        size = space_size(config)
        if size > MAX_COMBOS:
            raise Invalid(f"A randomized grid takes at most {MAX_COMBOS} combinations")
        index = random.Random(config["spec"]["seed"]).sample(range(size), size)[index]
    combo = {}
    for name, values in reversed(list(zip(names, axes))):  # the last parameter varies fastest
        index, i = divmod(index, len(values))
        combo[name] = values[i]
    return {n: combo[n] for n in names}


def _distributions(config: dict) -> dict:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for name, p in config["parameters"].items():
        if p["type"] in ("discrete", "categorical"):
            out[name] = CategoricalDistribution(p["values"])
        elif _is_quantile(p):
            out[name] = FloatDistribution(EPS, 1 - EPS)
        elif p["type"] == "integer":
            log = p.get("scalingType") == "loguniform" and p["min"] >= 1
            out[name] = IntDistribution(int(p["min"]), int(p["max"]), log=log)
        else:
            out[name] = FloatDistribution(p["min"], p["max"], log=p.get("scalingType") == "loguniform")
    return out


def _sample(config: dict, history: list[tuple[dict, float]], seed: int) -> dict:
    """One combination from optuna's sampler for the algorithm (bayes learns from ``history``)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objective = config["spec"]["objective"]
    if config["algorithm"] == "bayes":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(direction=objective, sampler=sampler)
    dists = _distributions(config)
    if config["algorithm"] == "bayes":
        for params, score in history:
            inner = {}
            for name, p in config["parameters"].items():
                v = params.get(name)
                inner[name] = _to_quantile(p, v) if _is_quantile(p) and isinstance(v, (int, float)) else v
            try:
                study.add_trial(optuna.trial.create_trial(params=inner, distributions=dists, value=score))
            except (ValueError, TypeError):
                continue  # a value outside today's space
    trial = study.ask(dists)
    return {name: (_from_quantile(p, trial.params[name]) if _is_quantile(p) else trial.params[name])
            for name, p in config["parameters"].items()}


def combo_pid(params: dict) -> str:
    return hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:24]


# --- access ------------------------------------------------------------------------------------

def _config(sweep: OptimizerSweep) -> dict:
    return json.loads(sweep.config_json)


def get_sweep(s: Session, actor: Actor, sweep_id: Any, write: bool = False) -> OptimizerSweep:
    if not isinstance(sweep_id, str) or not sweep_id or len(sweep_id) > 32:
        raise Invalid("id must name an optimizer")
    sweep = s.get(OptimizerSweep, sweep_id)
    if sweep is None or not can_read_workspace(s, actor, sweep.workspace_id):
        raise NotFound(f"No optimizer with id {sweep_id!r} in your workspace")
    if write and not can_write_workspace(s, actor, sweep.workspace_id):
        raise Forbidden("This API key may only read this workspace's optimizers")
    return sweep


def _workspace_for(s: Session, actor: Actor, name: Any) -> int:
    if actor.api_workspace_id is not None:
        return actor.api_workspace_id
    if not isinstance(name, str) or not name:
        raise Invalid("workspace is required")
    ws = s.exec(select(Workspace).where(Workspace.name == name)).first()
    if ws is None or not can_read_workspace(s, actor, ws.id):
        raise NotFound(f"No workspace {name!r}")
    return ws.id


# --- the protocol ------------------------------------------------------------------------------

def spec_template(algorithm: Any) -> list[dict]:
    if algorithm not in ALGORITHMS:
        raise Invalid(f"Unknown algorithm {algorithm!r}: this server offers {', '.join(ALGORITHMS)}")
    return [{"name": t["name"], "default": t["default"]} for t in SPEC_TEMPLATES[algorithm]]


def algorithms() -> dict:
    return {"algorithms": [{"name": a, "description": DESCRIPTIONS[a]} for a in ALGORITHMS]}


def create(s: Session, actor: Actor, data: dict) -> str:
    config = check_config(data)
    workspace_id = _workspace_for(s, actor, data.get("workspace"))
    if not can_write_workspace(s, actor, workspace_id):
        raise Forbidden("This API key may not start optimizers in this workspace")
    total = combo_count(config) * config["trials"]
    sweep_id = uuid.uuid4().hex
    s.add(OptimizerSweep(id=sweep_id, workspace_id=workspace_id, name=config["name"] or sweep_id,
                         algorithm=config["algorithm"], config_json=json.dumps(config), total=total,
                         created_by_id=actor.user_id, status="running" if total else "completed"))
    return sweep_id


def _as_utc(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


def _ms(t: datetime | None) -> int | None:
    return int(t.timestamp() * 1000) if t else None


def _counts(s: Session, sweep_id: str) -> dict[str, int]:
    rows = s.exec(select(OptimizerTrial.status, func.count()).where(OptimizerTrial.sweep_id == sweep_id)
                  .group_by(OptimizerTrial.status)).all()
    return {status: n for status, n in rows}


def _refresh_status(s: Session, sweep: OptimizerSweep) -> None:
    counts = _counts(s, sweep.id)
    done = sweep.handed >= sweep.total and not counts.get("running") and not counts.get("retry")
    sweep.status = "completed" if done else "running"


def status_of(s: Session, sweep: OptimizerSweep) -> dict:
    config = _config(sweep)
    counts = _counts(s, sweep.id)
    retries = s.exec(select(func.coalesce(func.sum(OptimizerTrial.tries), 0))
                     .where(OptimizerTrial.sweep_id == sweep.id)).one()
    ended = s.exec(select(func.max(OptimizerTrial.ended_at)).where(OptimizerTrial.sweep_id == sweep.id)).one()
    best = best_trial(s, sweep, config)
    return {
        "id": sweep.id, "name": sweep.name, "algorithm": sweep.algorithm, "status": sweep.status,
        "parameters": config["parameters"], "spec": config["spec"], "trials": config["trials"],
        "comboCount": sweep.total // max(config["trials"], 1), "configSpaceSize": space_size(config),
        "maxCombo": config["spec"]["maxCombo"], "retryCount": int(retries or 0), "version": VERSION,
        "startTime": _ms(sweep.created_at), "lastUpdateTime": _ms(sweep.updated_at),
        "endTime": _ms(ended) if sweep.status == "completed" else None,
        "state": {"sequence_i": sweep.handed, "sequence_retry": counts.get("retry", 0),
                  "sequence_trial": sweep.handed % max(config["trials"], 1), "total": sweep.total},
        "counts": {k: counts.get(k, 0) for k in ("running", "completed", "aborted", "retry", "failed")},
        "best": best,
    }


def best_trial(s: Session, sweep: OptimizerSweep, config: dict) -> dict | None:
    order = OptimizerTrial.score.desc() if config["spec"]["objective"] == "maximize" else OptimizerTrial.score
    row = s.exec(select(OptimizerTrial).where(OptimizerTrial.sweep_id == sweep.id, OptimizerTrial.status == "completed",
                                              OptimizerTrial.score.is_not(None)).order_by(order).limit(1)).first()
    if row is None:
        return None
    key = row.experiment_key or _experiment_key(s, sweep, row.pid, row.trial)  # comet_ml logs it after scoring
    return {"pid": row.pid, "trial": row.trial, "score": row.score, "parameters": json.loads(row.params_json),
            "experimentKey": key}


def status(s: Session, actor: Actor, sweep_id: Any) -> dict:
    return status_of(s, get_sweep(s, actor, sweep_id))


def list_sweeps(s: Session, actor: Actor) -> dict:
    query = select(OptimizerSweep).order_by(OptimizerSweep.created_at.desc()).limit(500)
    if actor.api_workspace_id is not None:
        query = query.where(OptimizerSweep.workspace_id == actor.api_workspace_id)
    sweeps = [sw for sw in s.exec(query).all() if can_read_workspace(s, actor, sw.workspace_id)]
    return {"optimizers": [{"id": sw.id, "name": sw.name, "algorithm": sw.algorithm, "status": sw.status}
                           for sw in sweeps]}


def _package(sweep: OptimizerSweep, row: OptimizerTrial) -> dict:
    return {"id": sweep.id, "parameters": json.loads(row.params_json), "pid": row.pid, "trial": row.trial,
            "count": row.count}


def next_parameters(s: Session, actor: Actor, sweep_id: Any, now: datetime | None = None,
                    grace: timedelta = START_GRACE) -> dict | None:
    """The next parameter set (a failed one up for retry first), or None when none is left.
    ``grace``: how long a set handed out may go without a run of it before it counts as
    abandoned (its worker died before starting it)."""
    sweep = get_sweep(s, actor, sweep_id, write=True)
    now = now or utcnow()
    config = _config(sweep)
    drawn = _draw_ahead(s, sweep, config)
    # Take the sweep's row for writing: every later read sees the other workers' hand-outs.
    s.exec(update(OptimizerSweep).where(OptimizerSweep.id == sweep.id).values(updated_at=now))
    s.refresh(sweep)
    if sweep.status == "completed" and sweep.handed >= sweep.total:
        return None
    retry = s.exec(select(OptimizerTrial).where(OptimizerTrial.sweep_id == sweep.id, OptimizerTrial.status == "retry")
                   .order_by(OptimizerTrial.id).limit(1)).first()
    if retry is not None:
        retry.status, retry.started_at, retry.updated_at, retry.score = "running", now, now, None
        s.add(retry)
        return _package(sweep, retry)
    if sweep.handed >= sweep.total:
        return _reclaim_abandoned(s, sweep, now, grace)
    index = sweep.handed
    combo, repeat = divmod(index, config["trials"])
    if repeat:
        first = s.exec(select(OptimizerTrial).where(OptimizerTrial.sweep_id == sweep.id,
                                                    OptimizerTrial.count == combo * config["trials"] + 1)).first()
        params, pid = json.loads(first.params_json), first.pid
    elif config["algorithm"] == "grid":
        params = _grid_combo(config, combo)
        pid = combo_pid(params)
    elif drawn is not None and drawn[0] == index and _untaken(s, sweep, drawn[2]):
        params, pid = drawn[1], drawn[2]
    else:  # another worker took the place drawn for: draw again, now in turn
        params, pid = _draw(s, sweep, config, index)
    row = OptimizerTrial(sweep_id=sweep.id, pid=pid, trial=repeat + 1, count=index + 1, params_json=json.dumps(params),
                         status="running", started_at=now, updated_at=now)
    sweep.handed = index + 1
    s.add(row)
    s.add(sweep)
    s.flush()
    return _package(sweep, row)


def _draw_ahead(s: Session, sweep: OptimizerSweep, config: dict) -> tuple[int, dict, str] | None:
    """For random and bayes, when the next place in the sequence is a new combination: optuna's
    draw for it, made before the sweep is taken for writing (no lock is held while optuna
    samples), as (place, parameters, pid); the read's transaction ends with it."""
    index = sweep.handed
    if config["algorithm"] == "grid" or index >= sweep.total or index % config["trials"]:
        return None
    if s.exec(select(OptimizerTrial.id).where(OptimizerTrial.sweep_id == sweep.id,
                                              OptimizerTrial.status == "retry").limit(1)).first() is not None:
        return None
    params, pid = _draw(s, sweep, config, index)
    s.rollback()  # the write below starts a transaction of its own (SQLite can't upgrade a stale read)
    return index, params, pid


def _untaken(s: Session, sweep: OptimizerSweep, pid: str) -> bool:
    return s.exec(select(OptimizerTrial.id).where(OptimizerTrial.sweep_id == sweep.id,
                                                  OptimizerTrial.pid == pid)).first() is None


def _reclaim_abandoned(s: Session, sweep: OptimizerSweep, now: datetime, grace: timedelta) -> dict | None:
    """Once every parameter set is out: one whose run crashed (its heartbeat stopped, the
    worker is gone) without a report counts as failed, and so does one with no run at all
    ``grace`` after it was handed out (the worker died before starting it); either is handed
    out again while its retries last (``retryLimit``)."""
    from dashboard.services.experiments import effective_status

    config = _config(sweep)
    rows = s.exec(select(OptimizerTrial).where(OptimizerTrial.sweep_id == sweep.id, OptimizerTrial.status == "running")
                  .order_by(OptimizerTrial.id).limit(100)).all()
    for row in rows:
        key = row.experiment_key or _experiment_key(s, sweep, row.pid, row.trial)
        exp = s.exec(select(Experiment).where(Experiment.key == key)).first() if key else None
        if exp is None or _as_utc(exp.start_time) < _as_utc(row.started_at):  # no run of this hand-out
            if _as_utc(row.started_at) + grace > now:
                continue  # its worker may still start it
        elif effective_status(exp, now) != "crashed":
            continue  # alive
        row.tries += 1
        row.updated_at = now
        if row.tries <= config["spec"]["retryLimit"]:
            row.started_at, row.experiment_key = now, None
            s.add(row)
            return _package(sweep, row)
        row.status, row.ended_at = "failed", now
        s.add(row)
    s.flush()
    _refresh_status(s, sweep)
    s.add(sweep)
    return None


def _draw(s: Session, sweep: OptimizerSweep, config: dict, index: int) -> tuple[dict, str]:
    rows = s.exec(select(OptimizerTrial.pid, OptimizerTrial.params_json, OptimizerTrial.score, OptimizerTrial.status)
                  .where(OptimizerTrial.sweep_id == sweep.id)).all()
    taken = {pid for pid, _, _, _ in rows}
    history = [(json.loads(p), score) for _, p, score, st in rows if st == "completed" and score is not None]
    seed = config["spec"]["seed"]
    for attempt in range(RESAMPLES):
        params = _sample(config, history, (seed + index * RESAMPLES + attempt) % 2**32)
        pid = combo_pid(params)
        if pid not in taken:
            return params, pid
    return params, f"{pid}-{index + 1}"  # the space is used up: a combination again, under its own id


STATUSES = {"running", "completed", "aborted", "failed", "crashed", "stopped", "retry"}


def _experiment_key(s: Session, sweep: OptimizerSweep, pid: str, trial: int) -> str | None:
    """The run comet_ml logged for a parameter set (its others optimizer_id/pid/trial)."""
    o_id, o_pid, o_trial = (Other.__table__.alias(n) for n in ("o_id", "o_pid", "o_trial"))
    query = (select(Experiment.key).join(Project, Project.id == Experiment.project_id)
             .join(o_id, o_id.c.experiment_id == Experiment.id).join(o_pid, o_pid.c.experiment_id == Experiment.id)
             .join(o_trial, o_trial.c.experiment_id == Experiment.id)
             .where(Project.workspace_id == sweep.workspace_id, o_id.c.key == "optimizer_id", o_id.c.value == sweep.id,
                    o_pid.c.key == "optimizer_pid", o_pid.c.value == pid, o_trial.c.key == "optimizer_trial",
                    o_trial.c.value_num == trial).order_by(Experiment.id.desc()).limit(1))
    return s.exec(query).first()


def _capped_json(value, label: str) -> str:
    text = json.dumps(value)
    if len(text) > 100_000:
        raise Invalid(f"{label} is too large (100 kB of JSON at most)")
    return text


def _score(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        raise Invalid("score must be a number") from None
    return value if math.isfinite(value) else None


def update_trial(s: Session, actor: Actor, data: dict) -> dict:
    sweep = get_sweep(s, actor, data.get("id"), write=True)
    pid, trial, status = data.get("pid"), data.get("trial"), data.get("status")
    if not isinstance(pid, str) or not pid or len(pid) > 64:
        raise Invalid("pid must name a parameter set")
    trial = _int(trial, "trial", 1, MAX_TRIALS)
    if status is not None and status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(sorted(STATUSES))}")
    epoch = data.get("epoch")
    if epoch is not None:
        epoch = _int(epoch, "epoch", -(2**53), 2**53)
    key = data.get("experimentKey")
    if key is not None and (not isinstance(key, str) or len(key) > 50):
        raise Invalid("experimentKey must be an experiment key")
    score = _score(data.get("score"))
    metadata = data.get("metadata")
    now = utcnow()
    s.exec(update(OptimizerSweep).where(OptimizerSweep.id == sweep.id).values(updated_at=now))
    s.refresh(sweep)
    row = s.exec(select(OptimizerTrial).where(OptimizerTrial.sweep_id == sweep.id, OptimizerTrial.pid == pid,
                                              OptimizerTrial.trial == trial)).first()
    if row is None:
        raise NotFound(f"No parameter set {pid!r} (trial {trial}) in optimizer {sweep.id!r}")
    config = _config(sweep)
    if status == "completed":
        row.status, row.score, row.ended_at = "completed", score, now
    elif status == "aborted":  # comet_ml: the run logged no value of the metric; it ends unscored
        row.status, row.score, row.ended_at = "aborted", None, now
    elif status in ("failed", "crashed", "stopped") and row.status in ("running", "completed", "aborted"):
        row.tries += 1
        row.status = "retry" if row.tries <= config["spec"]["retryLimit"] else "failed"
        row.ended_at = now
    if epoch is not None:
        row.epoch = epoch
    if metadata is not None:
        row.metadata_json = _capped_json(metadata, "metadata")
    row.experiment_key = key or _experiment_key(s, sweep, pid, trial) or row.experiment_key
    row.updated_at = now
    s.add(row)
    s.flush()
    _refresh_status(s, sweep)
    s.add(sweep)
    return {"code": 200, "status": row.status}


def insert_trial(s: Session, actor: Actor, data: dict) -> dict:
    """A parameter set run elsewhere, recorded as it was (comet_ml's ``insert``)."""
    sweep = get_sweep(s, actor, data.get("id"), write=True)
    pid = data.get("pid")
    if not isinstance(pid, str) or not pid or len(pid) > 64:
        raise Invalid("pid must name a parameter set")
    trial = _int(data.get("trial", 1), "trial", 1, MAX_TRIALS)
    params = data.get("parameters")
    if not isinstance(params, dict):
        raise Invalid("parameters must be an object")
    status = data.get("status") or "completed"
    if status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(sorted(STATUSES))}")
    now = utcnow()
    s.exec(update(OptimizerSweep).where(OptimizerSweep.id == sweep.id).values(updated_at=now))
    s.refresh(sweep)
    if s.exec(select(OptimizerTrial.id).where(OptimizerTrial.sweep_id == sweep.id, OptimizerTrial.pid == pid,
                                              OptimizerTrial.trial == trial)).first() is not None:
        raise Invalid(f"Parameter set {pid!r} (trial {trial}) is already recorded")
    count = data.get("count")
    count = _int(count, "count", 0, 2**31 - 1) if count is not None else 0
    s.add(OptimizerTrial(sweep_id=sweep.id, pid=pid, trial=trial, count=count, params_json=_capped_json(params, "parameters"),
                         status="completed" if status == "completed" else "failed", score=_score(data.get("score")),
                         started_at=now, ended_at=now, updated_at=now))
    return {"code": 200}


# --- for the UI --------------------------------------------------------------------------------

def sweep_axes(s: Session, actor: Actor, sweep_id: str) -> tuple[list[str], str, str, str] | None:
    """(swept parameter names, metric, objective, name) of a sweep the actor can read, else None."""
    try:
        sweep = get_sweep(s, actor, sweep_id)
    except (NotFound, Invalid):
        return None
    config = _config(sweep)
    return list(config["parameters"]), config["spec"]["metric"], config["spec"]["objective"], sweep.name


def sweep_of(s: Session, actor: Actor, experiment: Experiment) -> dict | None:
    """For a run of an optimizer sweep (its other ``optimizer_id``; the caller has checked the
    actor may read the run): the sweep's id, name and the swept parameters and metric, from the
    sweep when the actor can read it, else from what the run logged (imported runs)."""
    others = dict(s.exec(select(Other.key, Other.value).where(
        Other.experiment_id == experiment.id,
        Other.key.in_(("optimizer_id", "optimizer_metric", "optimizer_objective", "optimizer_parameters",
                       "optimizer_name")))).all())
    sweep_id = others.get("optimizer_id")
    if not sweep_id:
        return None
    found = sweep_axes(s, actor, sweep_id)
    name = others.get("optimizer_name") or sweep_id
    if found is not None:
        params, metric, objective, name = found
    else:
        try:
            params = list(json.loads(others.get("optimizer_parameters") or "{}"))
        except (ValueError, TypeError):
            params = []
        metric = others.get("optimizer_metric") or "loss"
        objective = "maximize" if others.get("optimizer_objective") in ("maximize", "maximum") else "minimize"
    params = [p for p in params if isinstance(p, str) and p][:20]
    return {"id": sweep_id, "name": name, "parameters": params,
            "metric": metric, "objective": objective}


def sweep_view_state(sweep: dict) -> dict:
    """The project view of one sweep: its runs only, the swept parameters and the metric as
    columns (best first), and a parallel-coordinates panel over them colored by the metric."""
    from dashboard.services import view_state

    agg = "max" if sweep["objective"] == "maximize" else "min"
    metric_col = f"metric:{agg}:{sweep['metric']}"
    columns = (["sys:status", "sys:visible", "sys:color", "tags", "sys:name"] + [f"param:{p}" for p in sweep["parameters"]]
               + [metric_col, "sys:end_time", "sys:duration"])
    state = {
        "columns": columns,
        "filters": {"op": "and", "rules": [{"attr": "other:optimizer_id", "operator": "equals",
                                             "value": sweep["id"]}]},
        "columnState": [{"colId": c, **({"sort": "desc" if agg == "max" else "asc", "sortIndex": 0}
                                        if c == metric_col else {})} for c in columns],
        "panelsOpen": True,
        "panels": [{"type": "parcoords", "name": f"Sweep {sweep['name']}"[:120],
                    "axes": [f"param:{p}" for p in sweep["parameters"]] + [f"metric:{sweep['metric']}"]}],
    }
    return view_state.normalize_state(state)


def sweep_view_href(workspace: str, project: str, sweep: dict) -> str:
    from urllib.parse import quote

    from dashboard.services import view_state

    encoded = view_state.encode_state(sweep_view_state(sweep))
    return f"/{quote(workspace, safe='')}/{quote(project, safe='')}#{encoded}"
