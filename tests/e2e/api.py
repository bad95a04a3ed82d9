"""``loadrec serve`` for end-to-end tests: its configuration, the server process, and real clients for it.

The server runs as a person starts it (``loadrec serve --config … --data-dir …``) on a
free port of its own choosing; its output goes to a log file (never a pipe nobody
reads), which is also where the "listening on" line is found. Clients are real boto3
clients and the real AWS CLI, changed only by their endpoint URL and keys.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from tests.e2e.jobs import LOADREC, command_provisioner, environment, payload_dir, sample_endpoint_command
from tests.e2e.servers import stop_process

KEY_ID, SECRET = "AKIDLOADRECE2E0001", "e2e-secret-access-key"
SECRET_ENV = "LOADREC_E2E_API_SECRET"
LISTENING = re.compile(r"listening on (http://\S+?)/? ")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 45.0
FINAL = ("COMPLETED", "FAILED", "STOPPED")


def server_config(folder: Path, endpoint: str | None = None, **extra: Any) -> Path:
    """A configuration in ``folder``: one key, ``folder/payloads`` as the payload root and default, the sample
    endpoint as ``sample-staging`` (when given), and a sample endpoint started per test as the provisioner."""
    payload_dir(folder)
    config: dict[str, Any] = {
        "AccessKeys": {KEY_ID: f"env:{SECRET_ENV}"},
        "PayloadRoots": ["payloads"],
        "Loadrec": {
            "SamplePayloadUrl": "payloads/",
            "Provisioner": command_provisioner(sample_endpoint_command(5)),
        },
        **extra,
    }
    if endpoint is not None:
        config["Endpoints"] = {"sample-staging": {"Http": {"Url": f"{endpoint}/invocations"}, "PricePerHour": 0.2}}
    path = folder / "server.json"
    path.write_text(json.dumps(config))
    return path


@dataclass
class ApiServer:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(config: Path, data_dir: Path, *extra: str) -> ApiServer:
    log = data_dir.parent / f"serve-{time.monotonic_ns()}.log"
    command = [*LOADREC, "serve", "--config", str(config), "--data-dir", str(data_dir), "--port", "0"]
    command += ["--limits", "relaxed", "--window", "4", "--evaluate-every", "1", "--seed", "7", *extra]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=config.parent, env=environment(**{SECRET_ENV: SECRET}), stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not (match := LISTENING.search(log.read_text(errors="replace"))):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"loadrec serve did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return ApiServer(process, match.group(1), log)


def stop_server(server: ApiServer, signum: int = signal.SIGTERM) -> int:
    return stop_process(server.process, signum, STOP_TIMEOUT_S)


@contextmanager
def api_server(config: Path, data_dir: Path, *extra: str) -> Iterator[ApiServer]:
    server = start_server(config, data_dir, *extra)
    try:
        yield server
    finally:
        stop_server(server)


def sagemaker(url: str, key_id: str = KEY_ID, secret: str = SECRET, region: str = "us-east-1") -> BaseClient:
    """A real boto3 SageMaker client for the server: only the endpoint URL and the keys differ from AWS's."""
    return boto3.client(
        "sagemaker",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def wait_for(client: BaseClient, name: str, statuses: tuple[str, ...] = FINAL, timeout: float = 90) -> dict[str, Any]:
    """Describe the job until its status is one of ``statuses``; returns that description."""
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = client.describe_inference_recommendations_job(JobName=name)
        if described["Status"] in statuses:
            return described
        assert time.monotonic() < deadline, f"{name} still {described['Status']} after {timeout} s"
        time.sleep(0.5)


def stairs_job(
    name: str, endpoint_name: str = "sample-staging", seconds: int = 60, **input_config: Any
) -> dict[str, Any]:
    """A one-endpoint STAIRS job (1 user per step, up to 10 steps) as boto3's keyword arguments."""
    return {
        "JobName": name,
        "JobType": "Advanced",
        "RoleArn": "arn:aws:iam::123456789012:role/loadrec-e2e",
        "InputConfig": {
            "Endpoints": [{"EndpointName": endpoint_name}],
            "TrafficPattern": {
                "TrafficType": "STAIRS",
                "Stairs": {"DurationInSeconds": seconds, "NumberOfSteps": min(10, seconds), "UsersPerStep": 1},
            },
            **input_config,
        },
        "StoppingConditions": {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 5000}]},
    }
