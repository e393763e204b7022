"""The deployment files pass deploy/check.py (what ``make lint-deploy`` runs), and the check
catches the mistakes it is there for."""
from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("deploy_check", ROOT / "deploy" / "check.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def test_the_deployment_files_pass_the_checks():
    problems: list[str] = []
    doc = check.check_compose(problems)
    check.check_dockerfile(problems)
    check.check_unit(problems)
    check.check_unit(problems, check.WORKER_UNIT, "worker")
    assert problems == []
    # minio-setup creates the asset bucket
    assert set(doc["services"]) == {"halley", "worker", "postgres", "redis", "minio", "minio-setup"}
    assert doc["services"]["worker"]["command"][0] == "worker"
    env = doc["services"]["halley"]["environment"]
    assert env["HALLEY_ASSET_STORE"] == "s3://halley-assets" and env["HALLEY_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert "mc mb --ignore-existing" in doc["services"]["minio-setup"]["entrypoint"][-1]
    assert env["HALLEY_DATABASE_URL"].startswith("postgresql+psycopg://halley:") and "@postgres:5432/" in env[
        "HALLEY_DATABASE_URL"]


@pytest.mark.parametrize("edit,message", [
    (lambda t: t.replace("condition: service_healthy\n      redis", "condition: service_healthy\n      cache"),
     "unknown service 'cache'"),
    (lambda t: t.replace("- halley-data:/data", "- halley-date:/data"), "'halley-date' is not declared"),
    (lambda t: t.replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "${NEW_SECRET:?set it}", 1),
     "NEW_SECRET is required"),
    (lambda t: t.replace("${HALLEY_BIND", "${HALLEY BIND"), "malformed interpolation"),
    (lambda t: t.replace("restart: unless-stopped", "restart: sometimes", 1), "restart 'sometimes'"),
    (lambda t: t.replace("interval: 30s", "interval: thirty"), "not a duration"),
    (lambda t: t.replace("    image: redis:7\n", "    imag: redis:7\n"), "unknown key 'imag'"),
    (lambda t: t.replace("\n  worker:\n", "\n  runner:\n"), "worker service"),
    (lambda t: t.replace('command: ["worker"', 'command: ["serve"'), "runs `halley worker`"),
    (lambda t: t.replace("HALLEY_SECRET_KEY: ${HALLEY_SECRET_KEY:?set HALLEY_SECRET_KEY to a long random value}",
                         "HALLEY_SECRET_KEY: ${WORKER_KEY:-x}", 2).replace("HALLEY_SECRET_KEY: ${WORKER_KEY:-x}",
                         "HALLEY_SECRET_KEY: ${HALLEY_SECRET_KEY:?set HALLEY_SECRET_KEY to a long random value}", 1),
     "worker's HALLEY_SECRET_KEY differs"),
])
def test_the_compose_check_catches_mistakes(tmp_path, edit, message):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(edit((ROOT / "docker-compose.yml").read_text()))
    problems: list[str] = []
    check.check_compose(problems, broken)
    assert any(message in p for p in problems), problems


def test_the_dockerfile_and_unit_checks_catch_mistakes(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text((ROOT / "Dockerfile").read_text().replace("USER halley", "USER root")
                          .replace("COPY assets ./assets", "COPY static ./static"))
    problems: list[str] = []
    check.check_dockerfile(problems, dockerfile)
    assert any("non-root" in p for p in problems) and any("COPY static" in p for p in problems)
    unit = tmp_path / "halley.service"
    unit.write_text((ROOT / "deploy" / "halley.service").read_text().replace("User=halley", "User=root")
                    .replace("WantedBy=multi-user.target", ""))
    problems = []
    check.check_unit(problems, unit)
    assert any("non-root" in p for p in problems) and any("WantedBy" in p for p in problems)
    problems = []
    check.check_unit(problems, check.WORKER_UNIT)  # the worker's unit does not run a server
    assert problems == ["deploy/halley-worker.service: ExecStart runs halley serve"]
