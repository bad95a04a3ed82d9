"""``loadrec serve`` driven by the real AWS CLI (``aws --endpoint-url … sagemaker …``), and the server's own
command line: what it refuses before it listens, and what the unsigned mode allows."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.api import KEY_ID, SECRET, ApiServer, api_server, server_config, stairs_job
from tests.e2e.jobs import LOADREC, environment

pytestmark = pytest.mark.e2e

FIELDS = "Region, AccessKeys, MaxConcurrentJobs, PayloadRoots, Endpoints, Loadrec"
AWS = [str(Path(sys.executable).with_name("aws"))]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, endpoint: str) -> Iterator[ApiServer]:
    folder = tmp_path_factory.mktemp("serve-cli")
    with api_server(server_config(folder, endpoint), folder / "data") as running:
        yield running


def aws(server: ApiServer, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = environment(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION="us-east-1")
    command = [*AWS, "--endpoint-url", server.url, "--output", "json", "sagemaker", *arguments]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def aws_json(server: ApiServer, *arguments: str) -> Any:
    return json.loads(aws(server, *arguments).stdout)


def test_the_aws_cli_creates_describes_lists_and_stops_as_in_the_guide(server: ApiServer, tmp_path: Path) -> None:
    assert shutil.which(AWS[0]), "the AWS CLI is a test dependency"
    request = stairs_job("cli-job", seconds=120)
    (tmp_path / "input.json").write_text(json.dumps(request["InputConfig"]))
    (tmp_path / "stopping.json").write_text(json.dumps(request["StoppingConditions"]))
    created = aws_json(
        server, "create-inference-recommendations-job", "--job-name", "cli-job", "--job-type", "Advanced",
        "--role-arn", request["RoleArn"], "--input-config", f"file://{tmp_path / 'input.json'}",
        "--stopping-conditions", f"file://{tmp_path / 'stopping.json'}",
    )  # fmt: skip
    assert created["JobArn"].endswith(":inference-recommendations-job/cli-job")
    described = aws_json(server, "describe-inference-recommendations-job", "--job-name", "cli-job")
    assert described["JobName"] == "cli-job"
    assert described["Status"] in ("PENDING", "IN_PROGRESS")
    assert described["InputConfig"] == request["InputConfig"]
    listed = aws_json(server, "list-inference-recommendations-jobs", "--name-contains", "cli")
    assert [job["JobName"] for job in listed["InferenceRecommendationsJobs"]] == ["cli-job"]
    aws(server, "stop-inference-recommendations-job", "--job-name", "cli-job")
    status = aws_json(server, "describe-inference-recommendations-job", "--job-name", "cli-job")["Status"]
    assert status in ("STOPPING", "STOPPED")
    deadline = time.monotonic() + 30
    while status != "STOPPED":
        assert time.monotonic() < deadline, f"still {status}"
        time.sleep(0.5)
        status = aws_json(server, "describe-inference-recommendations-job", "--job-name", "cli-job")["Status"]
    again = aws(
        server, "create-inference-recommendations-job", "--job-name", "cli-job", "--job-type", "Advanced",
        "--role-arn", request["RoleArn"], "--input-config", f"file://{tmp_path / 'input.json'}", check=False,
    )  # fmt: skip
    assert again.returncode != 0
    assert "(ResourceInUse)" in again.stderr


def test_an_operation_the_server_does_not_serve_is_answered_as_aws_answers_an_unknown_one(server: ApiServer) -> None:
    done = aws(server, "list-endpoints", check=False)
    assert done.returncode != 0
    assert "(UnknownOperationException)" in done.stderr


def serve(*arguments: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LOADREC, "serve", *arguments], capture_output=True, text=True, env=environment(**env), timeout=60
    )


def test_bad_options_and_configuration_exit_2_with_one_line_each(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"AccessKeys": {"AKID1": "env:UNSET_SECRET_FOR_TEST"}, "MaxConcurrentJobs": 0, "Extra": 1})
    )
    done = serve("--config", str(bad), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"--config: Extra: unknown field (allowed here: {FIELDS})",
        "--config: MaxConcurrentJobs: 0 is below the minimum of 1",
        '--config: AccessKeys.AKID1: the environment variable "UNSET_SECRET_FOR_TEST" is not set',
    ]
    exposed = serve("--insecure-no-auth", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "data"))
    assert exposed.returncode == 2
    assert exposed.stderr.startswith("--insecure-no-auth: only on a loopback --host")
    unsigned = serve("--data-dir", str(tmp_path / "data"))
    assert unsigned.returncode == 2
    assert "no AccessKeys" in unsigned.stderr
    assert "Traceback" not in done.stderr + exposed.stderr + unsigned.stderr


def test_unsigned_mode_answers_loopback_hosts_only(tmp_path: Path) -> None:
    with api_server(server_config(tmp_path), tmp_path / "data", "--insecure-no-auth") as open_server:
        body = json.dumps({"JobName": "nothing"}).encode()
        headers = {"X-Amz-Target": "SageMaker.DescribeInferenceRecommendationsJob",
                   "Content-Type": "application/x-amz-json-1.1"}  # fmt: skip
        answer = _post(open_server.url, body, headers)
        assert answer == (
            400,
            {"__type": "ResourceNotFound", "message": "Inference recommendations job nothing not found"},
        )
        rebinding = _post(open_server.url, body, {**headers, "Host": "attacker.example:80"})
        assert rebinding[0] == 403


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(f"{url}/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
