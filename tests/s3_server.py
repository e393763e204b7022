"""A real S3-compatible server for the tests: moto's server in a thread of the test process, on a
free port (``s3_server``, one per session; ``S3Server`` for one a test stops and restarts).

Halley servers reach it over HTTP like any S3 endpoint (``S3Server.env(url)`` is the settings
to give them); tests look into buckets with boto3. Import the fixture into a test module:
``from tests.s3_server import s3_server  # noqa: F401``.
"""
from __future__ import annotations

import itertools
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "halley-test", "AWS_SECRET_ACCESS_KEY": "halley-test-secret"}
_buckets = itertools.count()


class S3Server:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = None

    def start(self) -> "S3Server":
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(self.endpoint, timeout=2)
                return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"the S3 server on {self.endpoint} did not answer")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def new_bucket(self, prefix: str = "halley") -> str:
        """A new empty bucket's name."""
        name = f"{prefix}-{next(_buckets)}-{free_port()}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, store_url: str) -> dict:
        """The settings of a Halley server (or command) whose asset store is ``store_url``."""
        return {"HALLEY_ASSET_STORE": store_url, "HALLEY_S3_ENDPOINT_URL": self.endpoint,
                "HALLEY_S3_REGION": REGION, **CREDENTIALS}

    def settings(self, store_url: str, server=None):
        """Settings (of ``server``'s home, if given) whose asset store is ``store_url``, for service calls."""
        from dashboard.config import Settings

        home = server.home if server else Path("/nonexistent")
        return Settings(home=home, database_url=server.database_url if server else "sqlite://", secret_key="unused",
                        asset_store=store_url, s3_endpoint_url=self.endpoint, s3_region=REGION,
                        s3_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        s3_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    @staticmethod
    def backdate(bucket: str, key: str, seconds: float) -> None:
        """Make an object look ``seconds`` older (moto's state lives in this process)."""
        from moto.s3.models import s3_backends

        partition, account = s3_backends.bucket_accounts[bucket]
        stored = s3_backends[account][partition].buckets[bucket].keys[key]
        stored.last_modified -= timedelta(seconds=seconds)

    def keys(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """The bucket's objects (under ``prefix``): key -> size."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}


@pytest.fixture(scope="session")
def s3_server():
    server = S3Server().start()
    yield server
    server.stop()
