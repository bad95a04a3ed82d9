"""``loadrec serve`` against hostile callers: a caller's environment parameters cannot run a command on the
host, a crowd of trickling connections (Slowloris) does not silence it, and no path answers a traceback."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.client import BaseClient
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.e2e.api import KEY_ID, SECRET, SECRET_ENV, ApiServer, api_server, sagemaker, server_config, wait_for
from tests.e2e.jobs import command_provisioner, env_server_command

pytestmark = pytest.mark.e2e

ALLOWED = "MODEL_MODE"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-server") / "server-env.json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, recorded: Path) -> Iterator[ApiServer]:
    folder = tmp_path_factory.mktemp("serve-hostile")
    config = server_config(folder)
    body = json.loads(config.read_text())
    provisioner = command_provisioner(env_server_command(recorded, ALLOWED))
    provisioner["Command"]["AllowedEnvironment"] = [ALLOWED]
    body["Loadrec"]["Provisioner"] = provisioner
    config.write_text(json.dumps(body))
    with api_server(config, folder / "data") as running:
        yield running


@pytest.fixture(scope="module")
def client(server: ApiServer) -> BaseClient:
    return sagemaker(server.url)


def provisioned_job(name: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "JobName": name, "JobType": "Advanced", "RoleArn": "arn:aws:iam::123456789012:role/loadrec-e2e",
        "InputConfig": {
            "TrafficPattern": {"TrafficType": "STAIRS",
                               "Stairs": {"DurationInSeconds": 2, "NumberOfSteps": 1, "UsersPerStep": 1}},
            "EndpointConfigurations": [{"InstanceType": "ml.c5.large", "EnvironmentParameterRanges": {
                "CategoricalParameterRanges": parameters}}],
        },
        "StoppingConditions": {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 5000}]},
    }  # fmt: skip


def test_a_caller_s_environment_cannot_run_a_command_on_the_host(
    client: BaseClient, recorded: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    attack = [
        {"Name": "BROWSER", "Value": [f"/bin/sh -c 'id > {marker}' #%s"]},
        {"Name": "PYTHONWARNINGS", "Value": ["ignore::antigravity.x::0"]},
        {"Name": "LD_PRELOAD", "Value": ["/tmp/evil.so"]},
    ]
    with pytest.raises(ClientError) as refused:
        client.create_inference_recommendations_job(**provisioned_job("attack", attack))
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    for index, name in enumerate(("BROWSER", "PYTHONWARNINGS", "LD_PRELOAD")):
        ranges = "inputConfig.endpointConfigurations.1.member.environmentParameterRanges"
        at = f"{ranges}.categoricalParameterRanges.{index + 1}"
        assert (f"Value '{name}' at '{at}.member.name' failed to satisfy constraint: Member is not an environment "
                "parameter this server lets a caller set") in error["Message"]  # fmt: skip
    assert not marker.exists() and not recorded.exists()  # no model server was started
    client.create_inference_recommendations_job(**provisioned_job("allowed", [{"Name": ALLOWED, "Value": ["fast"]}]))
    assert wait_for(client, "allowed")["Status"] == "COMPLETED"
    seen = json.loads(recorded.read_text())
    assert seen["values"] == {ALLOWED: "fast"}
    assert SECRET_ENV not in seen["names"]  # the server's own secret is not handed down to what it starts


def test_trickling_connections_from_one_address_leave_the_others_answered(
    client: BaseClient, server: ApiServer
) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    crowd = []
    try:
        for _ in range(300):  # more than the server's slots, each a request that never ends
            trickle = socket.socket()
            trickle.bind(("127.0.0.2", 0))  # another loopback address: another client
            trickle.settimeout(5)
            try:
                trickle.connect((host, int(port)))
                trickle.sendall(b"P")
            except OSError:
                trickle.close()
                continue
            crowd.append(trickle)
        time.sleep(0.5)
        started = time.monotonic()
        listing = client.list_inference_recommendations_jobs()
        assert "InferenceRecommendationsJobs" in listing and time.monotonic() - started < 10
        for trickle in crowd:
            with contextlib.suppress(OSError):  # closed by the server already
                trickle.sendall(b"O")
        open_ones = sum(1 for trickle in crowd if _still_open(trickle))
        assert open_ones <= 32, f"{open_ones} connections of one address are held"
    finally:
        for trickle in crowd:
            trickle.close()


def _still_open(sock: socket.socket) -> bool:
    sock.settimeout(0.05)
    try:
        return sock.recv(1) != b""  # the server closed it: end of stream (or a reset)
    except TimeoutError:
        return True
    except OSError:
        return False


@pytest.mark.parametrize(
    "path", ["/jobs/allowed/describe.json%00.html", "/jobs/%00/report.html", "/%00", "/jobs/allowed/%ff"]
)
def test_a_hostile_path_is_a_4xx_never_a_traceback(server: ApiServer, path: str) -> None:
    request = urllib.request.Request(server.url + path, headers={"Authorization": _basic()})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=10)
    assert 400 <= answer.value.code < 500
    assert "Traceback" not in server.output()


def _basic() -> str:
    return "Basic " + base64.b64encode(f"{KEY_ID}:{SECRET}".encode()).decode()


def _signed_head(server: ApiServer, body: bytes, target: str) -> dict[str, str]:
    request = AWSRequest("POST", server.url + "/", data=body, headers={
        "X-Amz-Target": f"SageMaker.{target}", "Content-Type": "application/x-amz-json-1.1"})  # fmt: skip
    SigV4Auth(Credentials(KEY_ID, SECRET), "sagemaker", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_a_body_too_large_gets_the_size_error_sent_whole_or_in_chunks(server: ApiServer) -> None:
    """A 20 MB chunked body was cut short unread and failed its signature; an endless one held the connection."""
    host, port = server.url.removeprefix("http://").split(":")
    body = b'{"NameContains": "' + b"x" * (20 << 20) + b'"}'
    for chunked in (False, True):
        head = _signed_head(server, body, "ListInferenceRecommendationsJobs")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            lines = [f"{k}: {v}" for k, v in head.items()]
            lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}")
            sock.sendall(("POST / HTTP/1.1\r\nHost: x\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode())
            with contextlib.suppress(OSError):  # the server closes the connection once it has refused the body
                step = 1 << 20
                for start in range(0, len(body), step):
                    part = body[start : start + step]
                    sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            answer = b""
            while not answer.endswith(b"}") and (data := sock.recv(65536)):
                answer += data
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
        assert b'"ValidationException"' in answer and b"larger than 1024 KiB" in answer


def test_validation_errors_read_as_aws_s_and_name_no_server_flag_internal_or_path(client: BaseClient) -> None:
    job = provisioned_job("aws-words", [{"Name": ALLOWED, "Value": ["fast"]}])
    job["InputConfig"]["TrafficPattern"] = {"TrafficType": "PHASES", "Phases": [
        {"InitialNumberOfUsers": 1, "SpawnRate": 1}]}  # fmt: skip
    job["InputConfig"]["ContainerConfig"] = {"PayloadConfig": {"SamplePayloadUrl": "/etc/passwd-folder"}}
    with pytest.raises(ClientError) as refused:
        client.create_inference_recommendations_job(**job)
    message = refused.value.response["Error"]["Message"]
    assert message.startswith(
        "2 validation errors detected: Value null at 'inputConfig.trafficPattern.phases.1.member.durationInSeconds' "
        "failed to satisfy constraint: Member must not be null; "
    )
    assert "Value '/etc/passwd-folder' at 'inputConfig.containerConfig.payloadConfig.samplePayloadUrl'" in message
    assert "--limits" not in message and "/tmp" not in message and "\n" not in message


def test_an_integer_too_long_to_read_is_named_without_python_s_words(server: ApiServer) -> None:
    body = b'{"MaxResults": ' + b"9" * 5000 + b"}"  # boto3 cannot even send it: json.dumps refuses
    request = urllib.request.Request(
        server.url + "/", data=body, headers=_signed_head(server, body, "ListInferenceRecommendationsJobs")
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    said = json.loads(refused.value.read())
    assert said == {
        "__type": "SerializationException",
        "message": "request body: MaxResults: an integer of 5,000 digits is too long to be read (at most 4,300)",
    }
