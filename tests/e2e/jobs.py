"""Job files and runs for end-to-end tests: the real ``loadrec`` command, from the job's own folder.

Every run's working directory is the folder holding the job file and its ``payloads/``
folder, the layout the docs use: loadrec must never import that folder (or any
``engine/`` or ``shapes/`` beside it) instead of its own packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from tests.e2e.moto import fake_aws_env

# The loadrec command of this environment, started as a user's shell would (-P: the current directory is not searched).
LOADREC = [sys.executable, "-P", "-m", "loadrec.engine"]
FAST = ["--window", "4", "--evaluate-every", "1", "--seed", "7"]
RUN_TIMEOUT_S = 90


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, **fake_aws_env(), "SAMPLE_API_KEY": "not-a-secret", **extra}


def payload_dir(folder: Path) -> Path:
    payloads = folder / "payloads"
    payloads.mkdir(exist_ok=True)
    for index in range(3):
        (payloads / f"row-{index}.csv").write_text(",".join(str(index + k / 10) for k in range(8)) + "\n")
    return payloads


def sagemaker_target(url: str) -> dict[str, Any]:
    return {"SageMaker": {"EndpointName": "sample", "Region": "us-east-1", "EndpointUrl": url}, "PricePerHour": 0.119}


def http_target(url: str) -> dict[str, Any]:
    return {"Http": {"Url": f"{url}/invocations", "Headers": {"X-Api-Key": "env:SAMPLE_API_KEY"}}}


def sample_endpoint_command(service_ms: float) -> list[str]:
    """The sample endpoint as a Command provisioner starts it, on the port loadrec picks."""
    return [sys.executable, "-P", "-m", "loadrec.engine.sample.endpoint", "--port", "{port}",
            "--service-ms", str(service_ms)]  # fmt: skip


def env_server_command(out: Path, *shown: str) -> list[str]:
    """tests/env_server.py as a Command provisioner starts it: it writes the environment it got to ``out``."""
    script = Path(__file__).resolve().parents[1] / "env_server.py"
    return [sys.executable, "-P", str(script), "{port}", str(out), *shown]


def command_provisioner(command: list[str]) -> dict[str, Any]:
    """A ``Loadrec.Provisioner`` that starts ``command`` for each test and loads it once /ping answers."""
    return {
        "Command": {
            "Command": command,
            "ReadyUrl": "http://127.0.0.1:{port}/ping",
            "Url": "http://127.0.0.1:{port}/invocations",
            "StartTimeoutSeconds": 30,
            "StopGraceSeconds": 5,
        }
    }


def write_job(
    folder: Path,
    target: dict[str, Any],
    stopping: dict[str, Any],
    stairs: tuple[int, int, int] = (18, 6, 1),
    payloads: str = "payloads/",
    extension: dict[str, Any] | None = None,
) -> Path:
    """A one-configuration STAIRS job in ``folder``, with three CSV payloads in ``folder/payloads``."""
    payload_dir(folder)
    duration, steps, users = stairs
    job = {
        "JobName": "e2e",
        "JobType": "Advanced",
        "InputConfig": {
            "TrafficPattern": {
                "TrafficType": "STAIRS",
                "Stairs": {"DurationInSeconds": duration, "NumberOfSteps": steps, "UsersPerStep": users},
            },
            "EndpointConfigurations": [{"InstanceType": "ml.c5.large"}],
            "ContainerConfig": {"PayloadConfig": {"SupportedContentTypes": ["text/csv"]}},
        },
        "StoppingConditions": stopping,
        "Loadrec": {"Targets": [target], "SamplePayloadUrl": payloads, **(extension or {})},
    }
    path = folder / "job.json"
    path.write_text(json.dumps(job))
    return path


STREAM_REQUEST = {"prompt": "Alice was", "stream": True}


def streaming_job(
    folder: Path, url: str, users: int, seconds: int, extension: dict[str, Any] | None = None, steps: int = 1
) -> Path:
    """A STAIRS job streaming OpenAI-style completions from ``url`` (``steps`` steps of ``users``, ``seconds`` long)."""
    (folder / "llm").mkdir(exist_ok=True)
    (folder / "llm" / "request.json").write_text(json.dumps(STREAM_REQUEST))
    target: dict[str, Any] = {"Http": {"Url": f"{url}/v1/completions"}, "Streaming": {}}
    stopping = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 60000}]}
    path = write_job(folder, target, stopping, stairs=(seconds, steps, users), payloads="llm/", extension=extension)
    request = json.loads(path.read_text())
    request["InputConfig"]["ContainerConfig"]["PayloadConfig"]["SupportedContentTypes"] = ["application/json"]
    path.write_text(json.dumps(request))
    return path


def run_command(job: Path, out: Path, *extra: str) -> list[str]:
    return [*LOADREC, "run", str(job), "--limits", "relaxed", "--out", str(out), *FAST, *extra]


def loadrec(job: Path, out: Path, *extra: str, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """``loadrec run`` on ``job`` from the job's folder, to the end."""
    return subprocess.run(
        run_command(job, out, *extra),
        cwd=job.parent,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def results(out: Path) -> tuple[dict[str, Any], dict[str, Any], pd.DataFrame]:
    body = json.loads((out / "describe.json").read_text())
    return body, body["Loadrec"]["Tests"][0], pd.read_csv(out / "timeline.csv")
