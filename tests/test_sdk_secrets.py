"""Secrets on a training script's command line never reach the server: the SDK masks the values
of secret-looking options in the parameters it takes from the command line and in the recorded
command, as a real script run against a live server shows when its run is read back."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import requests

from dashboard.sdk.environment import SECRET_MASK, is_secret_name, mask_secret_args, secret_arg_names

SCRIPT = """
    from dashboard.sdk import Experiment
    exp = Experiment(project_name="secrets", secret_arg_names=["dsn"], log_code=False, log_git_metadata=False,
                     log_git_patch=False, log_env_details=False, auto_metric_logging=False)
    exp.log_metric("loss", 0.5, step=0)
    print("KEY", exp.get_key())
"""

SECRETS = {  # option as typed -> the secret it carries
    "--api-key": "S3CRET-api-key-value",
    "--hf_token": "S3CRET-hf-token",
    "--db-password": "S3CRET-db-password",
    "--accessKey": "S3CRET-access-key",
    "--apikey": "S3CRET-apikey",
    "--passwd": "S3CRET-passwd",
    "--credentials": "S3CRET-credentials",
    "--sentry-dsn": "S3CRET-dsn",  # named by the script (secret_arg_names)
    "--wandb-entity": "S3CRET-entity",  # named by HALLEY_SECRET_ARG_NAMES
}
EQUALS_FORM = ("--hf_token", "--credentials")


def command_line() -> list[str]:
    args = ["--keypoints", "17", "--max-token-length", "256", "--lr", "0.01", "--key-size=128"]
    for option, secret in SECRETS.items():
        args += [f"{option}={secret}"] if option in EQUALS_FORM else [option, secret]
    return args + ["--fast"]


@pytest.fixture(scope="module")
def run(server, accounts, tmp_path_factory):
    """The script run once with secrets on its command line; its run as the API returns it."""
    user = accounts.create("secrets")
    tmp = tmp_path_factory.mktemp("secret-args")
    (tmp / "train.py").write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "HALLEY_URL": server.url, "HALLEY_API_KEY": user.api_key, "PYTHONPATH": os.getcwd(),
           "HALLEY_SPOOL_DIR": str(tmp / "spool"), "HALLEY_BATCH_INTERVAL_S": "0.1",
           "HALLEY_SECRET_ARG_NAMES": "wandb_entity, other-name"}
    done = subprocess.run([sys.executable, "train.py", *command_line()], env=env, cwd=tmp, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    key = done.stdout.split("KEY ")[1].split()[0]
    headers = {"Authorization": user.api_key}
    read = {part: requests.get(f"{server.url}/api/v1/experiments/{key}{part}", headers=headers)
            for part in ("", "/parameters", "/system", "/others")}
    assert all(r.status_code == 200 for r in read.values()), {p: r.text for p, r in read.items()}
    return {part: r.json() for part, r in read.items()}


def test_secret_option_values_are_masked_in_the_logged_parameters(run):
    params = {p["name"]: json.loads(p["value_json"]) for p in run["/parameters"]["parameters"]}
    for option in SECRETS:
        assert params[option.lstrip("-")] == SECRET_MASK, option
    assert params["keypoints"] == 17 and params["max-token-length"] == 256 and params["lr"] == 0.01
    assert params["key-size"] == 128 and params["fast"] is True


def test_secret_option_values_are_masked_in_the_recorded_command(run):
    command = run[""]["command"]
    assert command == run["/system"]["details"]["command"]
    assert command[0].endswith("train.py")
    assert command[1:] == mask_secret_args(command_line(), secret_arg_names(["dsn", "wandb_entity"]))
    assert "--hf_token=" + SECRET_MASK in command and command[command.index("--api-key") + 1] == SECRET_MASK
    assert command[1:3] == ["--keypoints", "17"]


def test_no_secret_reaches_the_server(run):
    everything = json.dumps(run)
    assert [s for s in SECRETS.values() if s in everything] == []


def test_names_match_by_their_words():
    extra = secret_arg_names(["dsn", "db-url"])
    for name in ("--api-key", "--api_key", "--apikey", "--apiKey", "--access-key", "--passwd", "--credentials",
                 "--token", "--key", "--AWS_SECRET_ACCESS_KEY", "--password-file", "--sentry-dsn", "--prod-db-url",
                 "--secret"):
        assert is_secret_name(name, extra), name
    for name in ("--keypoints", "--key-size", "--max-tokens", "--max-token-length", "--tokenizer", "--monkey",
                 "--db", "--url", "--lr", "-k"):
        assert not is_secret_name(name, extra), name
    assert mask_secret_args(["--token", "--verbose", "--key", "-5", "--password=", "--lr", "-1"]) == [
        "--token", "--verbose", "--key", SECRET_MASK, "--password=" + SECRET_MASK, "--lr", "-1"]
    # a secret that begins with a dash is still the option's value
    assert mask_secret_args(["--api-key", "-8YwERD4BH4nNLS8a1F63", "--token", "-xY_z", "--lr", "1"]) == [
        "--api-key", SECRET_MASK, "--token", SECRET_MASK, "--lr", "1"]
