"""Checks the deployment files (``make lint-deploy``, run by ``make test``).

* docker-compose.yml: with ``docker compose config -q`` when the compose plugin is installed;
  always with the checks below (structure after the compose specification's rules for the keys
  used here, ``${VAR}`` interpolation, references between services and volumes, every required
  variable present in deploy/halley.env.example, a worker service exactly when ``halley
  worker`` exists, running it with the server's database, secret key, broker and asset store);
* Dockerfile: base image, a non-root user, the health check, ``halley`` as entrypoint, every
  copied path present; the image is built only when a container daemon answers;
* deploy/halley.service and deploy/halley-worker.service: the sections and keys a unit needs.

Prints what it checked and how; exits 1 naming every problem found.
"""
from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
UNIT = ROOT / "deploy" / "halley.service"
WORKER_UNIT = ROOT / "deploy" / "halley-worker.service"
ENV_EXAMPLE = ROOT / "deploy" / "halley.env.example"

TOP_KEYS = {"version", "name", "services", "volumes", "networks", "configs", "secrets", "include"}
SERVICE_KEYS = {
    "build", "image", "restart", "depends_on", "environment", "env_file", "command", "entrypoint", "ports",
    "expose", "volumes", "healthcheck", "networks", "user", "working_dir", "labels", "profiles", "deploy",
    "logging", "ulimits", "stop_grace_period", "stop_signal", "secrets", "configs", "init", "read_only",
    "tmpfs", "cap_drop", "cap_add", "security_opt", "container_name", "hostname", "extra_hosts", "shm_size",
}
HEALTH_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}
RESTART = {"no", "always", "on-failure", "unless-stopped"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")
PORT = re.compile(r"^((\[[0-9a-f:]+\]|[0-9.]+):)?(\d+(-\d+)?:)?\d+(-\d+)?(/(tcp|udp))?$")
VARIABLE = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|\$\$")
EXPRESSION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.DOTALL)


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str], problems: list[str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}``, ``${VAR:+other}`` (and
    the forms without the colon), ``$$`` for a dollar; problems for malformed ones and for
    required variables the example environment lacks."""
    def one(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        expr = m.group(1) if m.group(1) is not None else m.group(2)
        parsed = EXPRESSION.match(expr)
        if not parsed:
            problems.append(f"docker-compose.yml: malformed interpolation ${{{expr}}}")
            return ""
        name, op, arg = parsed.groups()
        value = env.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if unset else value
        if op in (":?", "?"):
            if unset:
                problems.append(f"docker-compose.yml: {name} is required but {ENV_EXAMPLE.name} does not set it")
            return value or ""
        if op in (":+", "+"):
            return "" if unset else arg
        return value or ""

    return VARIABLE.sub(one, text)


def check_compose(problems: list[str], compose: Path = COMPOSE) -> dict:
    env = _env_example()

    def walk(node):  # compose interpolates values after parsing (comments and keys are left alone)
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return interpolate(node, env, problems) if isinstance(node, str) else node

    try:
        doc = walk(yaml.safe_load(compose.read_text()))
    except yaml.YAMLError as exc:
        problems.append(f"docker-compose.yml: not valid YAML: {exc}")
        return {}
    if not isinstance(doc, dict):
        problems.append("docker-compose.yml: not a mapping")
        return {}
    for key in doc:
        if key not in TOP_KEYS and not str(key).startswith("x-"):
            problems.append(f"docker-compose.yml: unknown top-level key {key!r}")
    services = doc.get("services") or {}
    volumes = set((doc.get("volumes") or {}).keys())
    for name, svc in services.items():
        where = f"docker-compose.yml: service {name}"
        if not isinstance(svc, dict):
            problems.append(f"{where}: not a mapping")
            continue
        for key in svc:
            if key not in SERVICE_KEYS and not str(key).startswith("x-"):
                problems.append(f"{where}: unknown key {key!r}")
        if "image" not in svc and "build" not in svc:
            problems.append(f"{where}: needs an image or a build")
        if "restart" in svc and svc["restart"] not in RESTART and not str(svc["restart"]).startswith("on-failure:"):
            problems.append(f"{where}: restart {svc['restart']!r} is not one of {sorted(RESTART)}")
        deps = svc.get("depends_on") or {}
        for dep in deps:
            if dep not in services:
                problems.append(f"{where}: depends on unknown service {dep!r}")
            elif isinstance(deps, dict) and (deps[dep] or {}).get("condition", "service_started") not in CONDITIONS:
                problems.append(f"{where}: depends_on {dep}: unknown condition {deps[dep].get('condition')!r}")
            elif isinstance(deps, dict) and (deps[dep] or {}).get("condition") == "service_healthy" \
                    and "healthcheck" not in services[dep]:
                problems.append(f"{where}: waits for {dep} to be healthy, but {dep} has no healthcheck")
        env = svc.get("environment") or {}
        if isinstance(env, dict):
            for key, value in env.items():
                if isinstance(value, (dict, list)):
                    problems.append(f"{where}: environment {key} must be a scalar")
        elif not isinstance(env, list):
            problems.append(f"{where}: environment must be a mapping or a list")
        for port in svc.get("ports") or []:
            if not PORT.match(str(port)):
                problems.append(f"{where}: port {port!r} is not HOST:CONTAINER")
        for volume in svc.get("volumes") or []:
            source = str(volume).split(":", 1)[0] if isinstance(volume, str) else str(volume.get("source", ""))
            if source and not source.startswith((".", "/", "~")) and source not in volumes:
                problems.append(f"{where}: volume {source!r} is not declared under volumes")
        health = svc.get("healthcheck")
        if health is not None:
            for key in health:
                if key not in HEALTH_KEYS:
                    problems.append(f"{where}: unknown healthcheck key {key!r}")
            test = health.get("test")
            if isinstance(test, list) and (not test or test[0] not in ("CMD", "CMD-SHELL", "NONE")):
                problems.append(f"{where}: a healthcheck test list starts with CMD, CMD-SHELL or NONE")
            for key in ("interval", "timeout", "start_period", "start_interval"):
                if key in health and not DURATION.match(str(health[key])):
                    problems.append(f"{where}: healthcheck {key} {health[key]!r} is not a duration like 30s")
        for key in ("command", "entrypoint"):
            if key in svc and not isinstance(svc[key], (str, list)):
                problems.append(f"{where}: {key} must be a string or a list")
    sys.path.insert(0, str(ROOT))
    from dashboard.cli import main as cli

    has_worker = "worker" in cli.commands
    if has_worker != ("worker" in services):
        problems.append("docker-compose.yml: a worker service belongs there exactly when `halley worker` exists "
                        f"(it {'does' if has_worker else 'does not'})")
    if has_worker and "worker" in services and "halley" in services:
        server_env = services["halley"].get("environment") or {}
        worker_env = services["worker"].get("environment") or {}
        for name in ("HALLEY_DATABASE_URL", "HALLEY_SECRET_KEY", "HALLEY_CELERY_BROKER", "HALLEY_ASSET_STORE",
                     "HALLEY_S3_ENDPOINT_URL", "HALLEY_S3_REGION", "HALLEY_S3_ACCESS_KEY_ID",
                     "HALLEY_S3_SECRET_ACCESS_KEY"):
            if server_env.get(name) != worker_env.get(name):
                problems.append(f"docker-compose.yml: the worker's {name} differs from the server's "
                                "(the worker runs the servers' jobs with their settings)")
        if not server_env.get("HALLEY_CELERY_BROKER"):
            problems.append("docker-compose.yml: with a worker service the server needs HALLEY_CELERY_BROKER")
        command = services["worker"].get("command")
        if "worker" not in (command if isinstance(command, list) else str(command or "").split())[:1]:
            problems.append("docker-compose.yml: the worker service runs `halley worker` (command: [\"worker\", ...])")
    for needed in ("halley", "postgres", "redis", "minio"):
        if needed not in services:
            problems.append(f"docker-compose.yml: no {needed} service")
    return doc


def check_dockerfile(problems: list[str], dockerfile: Path = DOCKERFILE) -> None:
    lines = []
    for line in re.sub(r"\\\n", " ", dockerfile.read_text()).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    instructions = [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]
    base = [arg for op, arg in instructions if op == "FROM"]
    if not base or not base[0].startswith("python:3.11-slim"):
        problems.append("Dockerfile: the image is built FROM python:3.11-slim")
    users = [arg.strip() for op, arg in instructions if op == "USER"]
    if not users or users[-1] in ("root", "0", "0:0"):
        problems.append("Dockerfile: the server must run as a non-root USER")
    health = [arg for op, arg in instructions if op == "HEALTHCHECK"]
    if not health or "/api/v1/health" not in health[-1]:
        problems.append("Dockerfile: a HEALTHCHECK asks /api/v1/health")
    entry = [arg for op, arg in instructions if op == "ENTRYPOINT"]
    if not entry or not re.match(r'^\[\s*"halley"', entry[-1]):
        problems.append('Dockerfile: ENTRYPOINT ["halley"] (with CMD ["serve", ...])')
    cmd = [arg for op, arg in instructions if op == "CMD"]
    if not cmd or '"serve"' not in cmd[-1]:
        problems.append('Dockerfile: CMD runs "serve"')
    for op, arg in instructions:
        if op == "COPY" and not arg.startswith("--from"):
            for source in shlex.split(arg)[:-1]:
                if not source.startswith("--") and not (ROOT / source).exists():
                    problems.append(f"Dockerfile: COPY {source}: no such path")


def check_unit(problems: list[str], unit: Path = UNIT, command: str = "serve") -> None:
    """A unit's sections, and an ExecStart that runs ``halley COMMAND`` by absolute path as a
    non-root account."""
    name = f"deploy/{unit.name}"
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    try:
        parser.read_string(unit.read_text())
    except configparser.Error as exc:
        problems.append(f"{name}: {exc}")
        return
    for section in ("Unit", "Service", "Install"):
        if section not in parser:
            problems.append(f"{name}: no [{section}] section")
    service = parser["Service"] if "Service" in parser else {}
    exec_start = service.get("ExecStart", "").split()
    if len(exec_start) < 2 or Path(exec_start[0]).name != "halley" or exec_start[1] != command:
        problems.append(f"{name}: ExecStart runs halley {command}")
    if not service.get("ExecStart", "").startswith("/"):
        problems.append(f"{name}: ExecStart needs an absolute path")
    if service.get("User", "root") in ("root", "0"):
        problems.append(f"{name}: User= names a non-root account")
    if "Install" in parser and not parser["Install"].get("WantedBy"):
        problems.append(f"{name}: [Install] WantedBy= is missing")


def _answers(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def main(build: bool = True) -> int:
    problems: list[str] = []
    check_compose(problems)
    check_dockerfile(problems)
    check_unit(problems)
    check_unit(problems, WORKER_UNIT, "worker")
    print("checked docker-compose.yml, Dockerfile, deploy/halley.service and deploy/halley-worker.service "
          "(structure, references, interpolation)")
    docker = shutil.which("docker")
    if docker and _answers([docker, "compose", "version"]):
        done = subprocess.run([docker, "compose", "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "config", "-q"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            problems.append(f"docker compose config: {done.stderr.strip()}")
        else:
            print("docker compose config -q: the compose file is valid")
    else:
        print("docker compose is not installed: the compose file was checked by this script only")
    if build and docker and _answers([docker, "info"]):
        done = subprocess.run([docker, "build", "-t", "halley:lint", str(ROOT)], capture_output=True, text=True)
        if done.returncode != 0:
            problems.append(f"docker build: {done.stderr.strip()[-3000:]}")
        else:
            print("docker build: the image builds (halley:lint)")
    elif build:
        print("no container daemon answers: the image was not built")
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(build="--no-build" not in sys.argv[1:]))
