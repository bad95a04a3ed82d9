"""The API's reliability suite: damaged requests to every operation never break ``loadrec serve``.

Starting from a valid request for each of the six operations, Hypothesis damages it as
tests/mutations.py does (and also sends raw bytes and made-up ``X-Amz-Target`` values).
Whatever arrives, the server answers 200 or one of AWS's error shapes with a 4xx status,
never ``InternalFailure`` (the answer to a defect of its own), with one problem per
line, each short and never a traceback, and logs nothing; a job it accepts runs to an
end it explains, never broken off by a defect. The server is the real Flask app over a
real job store; its runner is an in-memory one, so an accepted job sends no load.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
import pytest
from flask.testing import FlaskClient
from hypothesis import event, given
from hypothesis import strategies as st

from loadrec.engine.api.app import create_app
from loadrec.engine.api.jobs import JobManager
from loadrec.engine.api.operations import OPERATIONS
from loadrec.engine.api.protocol import CONTENT_TYPE, MAX_MESSAGE, TARGET_PREFIX
from tests.api_runners import InstantRunner, job_manager, payload_rows
from tests.mutations import FIELD_LINE, mutated

DONE = "churn"  # a job that has COMPLETED before each request


def create_request(name: str, payloads: str) -> dict[str, Any]:
    return {
        "JobName": name,
        "JobType": "Advanced",
        "RoleArn": "arn:aws:iam::123456789012:role/unit",
        "JobDescription": "checkout model",
        "InputConfig": {
            "Endpoints": [{"EndpointName": "staging"}],
            "JobDurationInSeconds": 600,
            "TrafficPattern": {
                "TrafficType": "PHASES",
                "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}],
            },
            "ContainerConfig": {"PayloadConfig": {"SamplePayloadUrl": payloads, "SupportedContentTypes": ["text/csv"]}},
        },
        "StoppingConditions": {
            "MaxInvocations": 300,
            "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}],
        },
        "Tags": [{"Key": "team", "Value": "ml"}],
    }


PAYLOADS = "/payloads/rows"  # under each example's own folder
REQUESTS: dict[str, list[dict[str, Any]]] = {
    "CreateInferenceRecommendationsJob": [create_request("checkout", PAYLOADS)],
    "DescribeInferenceRecommendationsJob": [{"JobName": DONE}],
    "ListInferenceRecommendationsJobs": [
        {
            "CreationTimeAfter": 1_700_000_000,
            "LastModifiedTimeBefore": "2030-01-01T00:00:00Z",
            "NameContains": "ch",
            "StatusEquals": "COMPLETED",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 5,
            "NextToken": "x",
        }
    ],
    "ListInferenceRecommendationsJobSteps": [
        {"JobName": DONE, "Status": "COMPLETED", "StepType": "BENCHMARK", "MaxResults": 5}
    ],
    "StopInferenceRecommendationsJob": [{"JobName": DONE}],
    "GetScalingConfigurationRecommendation": [
        {
            "InferenceRecommendationsJobName": DONE,
            "RecommendationId": "churn/0",
            "TargetCpuUtilizationPerCore": 50,
            "ScalingPolicyObjective": {"MinInvocationsPerMinute": 10, "MaxInvocationsPerMinute": 1000},
        }
    ],
}
assert set(REQUESTS) == set(OPERATIONS)  # every operation the server serves is fuzzed


@dataclass
class Server:
    client: FlaskClient
    root: str  # its folder
    jobs: JobManager
    log: list[str]  # what the server said of its jobs


def run_jobs(jobs: JobManager) -> None:
    """Let every accepted job's greenlet run to its end (the in-memory runner is instant)."""
    for _ in range(1000):
        if not jobs.greenlets:
            return
        gevent.idle()
    raise AssertionError(f"jobs still running: {sorted(jobs.greenlets)}")


@contextmanager
def server() -> Iterator[Server]:
    """A fresh server (its own folder and store) in which DONE has COMPLETED."""
    InstantRunner.made.clear()  # the runners of earlier examples: not kept for thousands of them
    with tempfile.TemporaryDirectory() as where:
        root = Path(where)
        rows = payload_rows(root)
        log: list[str] = []
        jobs = job_manager(root, InstantRunner, lambda: 1.8e9, log.append)
        jobs.create(create_request(DONE, str(rows)))
        run_jobs(jobs)
        assert jobs.record(DONE).status == "COMPLETED"
        try:
            yield Server(create_app(jobs, None, lambda: 1.8e9).test_client(), where, jobs, log)
        finally:
            jobs.close(timeout_s=5)


def jobs_ended_soundly(served: Server) -> None:
    """A job the damaged request started ran to an end the server explains (its tests set up, or a setup
    problem named), never broken off by a defect."""
    run_jobs(served.jobs)
    assert not any("broke off" in line for line in served.log), served.log
    for record in served.jobs.store.all():
        assert record.status in ("COMPLETED", "FAILED"), record
        if record.name != DONE:
            event(f"a job accepted, then {record.status}")


def answer_is_sound(client: FlaskClient, target: str, body: bytes) -> None:
    response = client.post(
        "/", data=body, headers={"X-Amz-Target": target, "Content-Type": CONTENT_TYPE}, base_url="http://127.0.0.1/"
    )
    assert "Traceback" not in response.text
    if response.status_code == 200:
        json.loads(response.text)
        event("answered")  # --hypothesis-show-statistics: how the damaged requests were met
        return
    error = json.loads(response.text)
    event(error.get("__type", "no __type"))
    assert set(error) == {"__type", "message"}, error
    assert error["__type"] != "InternalFailure", error["message"][:500]
    assert 400 <= response.status_code < 500
    lines = error["message"].splitlines()
    assert lines and all(line.strip() and len(line) < MAX_MESSAGE for line in lines), error["message"][:2000]
    if error["__type"] == "ValidationException" and len(lines) > 1:  # several problems: each names its field
        assert all(FIELD_LINE.match(line) for line in lines), error["message"][:2000]


OPERATION_NAMES = sorted(REQUESTS)


@given(data=st.data(), name=st.sampled_from(OPERATION_NAMES))
def test_a_damaged_request_gets_an_answer_or_aws_s_error_line_by_line(
    capsys: pytest.CaptureFixture[str], data: st.DataObject, name: str
) -> None:
    with server() as served:
        rooted = [json.loads(json.dumps(b).replace(PAYLOADS, f"{served.root}{PAYLOADS}")) for b in REQUESTS[name]]
        request = data.draw(mutated(rooted))
        body = json.dumps(request, allow_nan=True).encode()  # NaN and Infinity as a careless client writes them
        answer_is_sound(served.client, TARGET_PREFIX + name, body)
        jobs_ended_soundly(served)
    out, err = capsys.readouterr()
    assert out + err == "", (out + err)[:500]  # an answer the server gives calmly is not logged as a defect


@given(
    target=st.sampled_from([TARGET_PREFIX + n for n in OPERATION_NAMES])
    | st.text(st.characters(max_codepoint=255, blacklist_characters="\r\n\x00"), max_size=60),  # a header's
    body=st.binary(max_size=200)
    | st.sampled_from([b"[" * 10_000, b'{"a":' * 10_000, b"\xff\xfe{}", b"null", b"1e999"]),
)
def test_any_bytes_under_any_target_get_aws_s_error_shape(
    capsys: pytest.CaptureFixture[str], target: str, body: bytes
) -> None:
    with server() as served:
        answer_is_sound(served.client, target, body)
        jobs_ended_soundly(served)
    out, err = capsys.readouterr()
    assert out + err == "", (out + err)[:500]
