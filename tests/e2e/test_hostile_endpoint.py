"""A hostile endpoint against the whole ``loadrec run``, worker processes included.

The endpoint answers 401 with every request header echoed back (a debug page, or an
attacker's): the ``env:`` secret, the SigV4 Authorization header and the session token
must appear nowhere: not on stdout or stderr, not in any file of the results folder.
The server runs in this (gevent) process on loopback; ``loadrec`` runs as a user would.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.jobs import FAST, LOADREC, environment, payload_dir
from tests.loopback import serving

pytestmark = pytest.mark.e2e

API_TOKEN = "Bearer hostile-test-5ecret-42"
SESSION_TOKEN = "FwoGZXIvYXdzEHostileSessionToken9"
SIGNATURE = re.compile(rb"Signature=[0-9a-f]{64}")


@pytest.fixture
def echoing_endpoint() -> Iterator[str]:
    def echo(sock: socket.socket, head: bytes) -> None:
        body = b'{"error": "denied", "you sent": "' + head.replace(b"\r\n", b"\\n") + b'"}'
        sock.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    with serving(echo) as (url, _):
        yield url


def test_secrets_echoed_by_an_endpoint_appear_in_no_output_and_no_file(tmp_path: Path, echoing_endpoint: str) -> None:
    payload_dir(tmp_path)
    job = {
        "JobName": "hostile",
        "JobType": "Advanced",
        "InputConfig": {
            "TrafficPattern": {
                "TrafficType": "STAIRS",
                "Stairs": {"DurationInSeconds": 6, "NumberOfSteps": 2, "UsersPerStep": 2},
            },
            "ResourceLimit": {"MaxNumberOfTests": 2, "MaxParallelOfTests": 2},
            "EndpointConfigurations": [{"InstanceType": "ml.c5.large"}, {"InstanceType": "ml.c5.xlarge"}],
            "ContainerConfig": {"PayloadConfig": {"SupportedContentTypes": ["text/csv"]}},
        },
        "StoppingConditions": {"MaxInvocations": 100000},
        "Loadrec": {
            "Targets": [
                {"Http": {"Url": f"{echoing_endpoint}/invocations", "Headers": {"Authorization": "env:API_TOKEN"}}},
                {"SageMaker": {"EndpointName": "hostile", "Region": "us-east-1", "EndpointUrl": echoing_endpoint}},
            ],
            "SamplePayloadUrl": "payloads/",
        },
    }
    (tmp_path / "job.json").write_text(json.dumps(job))
    out = tmp_path / "out"
    result = subprocess.run(
        [*LOADREC, "run", "job.json", "--limits", "relaxed", "--out", str(out), *FAST, "--processes", "2"],
        cwd=tmp_path,
        env=environment(API_TOKEN=API_TOKEN, AWS_SESSION_TOKEN=SESSION_TOKEN),
        capture_output=True,
        timeout=90,
    )
    assert result.returncode == 1, result.stderr.decode()  # every test failed: the job did
    output = result.stdout + result.stderr
    assert b"HTTP 401" in output and b"***" in output  # the samples are there, masked
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 5
    for where, content in [("output", output), *((str(p), p.read_bytes()) for p in files)]:
        assert API_TOKEN.encode() not in content, where
        assert SESSION_TOKEN.encode() not in content, where
        assert SIGNATURE.search(content) is None, where
        assert b"AWS4-HMAC-SHA256 Credential" not in content, where
