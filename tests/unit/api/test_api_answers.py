"""Every answer of the API, in every state a job passes through, is valid for botocore's model: required
members present, lists of at least their minimum, text within its maximum, values matching their patterns.

boto3's parser accepts what the model forbids (a list member without its JobDescription, an empty
InferenceRecommendations, a FailureReason of 1,106 characters), but code written against the model
does not; ``tests.aws_shapes.parse_as`` holds each answer, as sent on the wire, to the model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest

from loadrec.engine.api.jobs import JobManager
from loadrec.engine.api.operations import OPERATIONS
from loadrec.engine.api.protocol import to_wire
from loadrec.engine.job.validation import service_model
from tests.api_runners import GatedRunner, job_manager, payload_rows
from tests.aws_shapes import parse_as

DESCRIBE, LIST, STEPS = (
    "DescribeInferenceRecommendationsJob",
    "ListInferenceRecommendationsJobs",
    "ListInferenceRecommendationsJobSteps",
)


def request(name: str, payloads: str, **extra: Any) -> dict[str, Any]:
    """No RoleArn and no JobDescription: a self-hosted job needs neither, AWS's answers require both."""
    return {
        "JobName": name,
        "JobType": "Advanced",
        "InputConfig": {
            "Endpoints": [{"EndpointName": "staging"}],
            "TrafficPattern": {"TrafficType": "STAIRS", "Stairs": {"DurationInSeconds": 6, "NumberOfSteps": 2,
                                                                     "UsersPerStep": 1}},
            "ContainerConfig": {"PayloadConfig": {"SamplePayloadUrl": payloads}},
        },
        **extra,
    }  # fmt: skip


def answered(jobs: JobManager, operation: str, **params: Any) -> dict[str, Any]:
    """The operation's answer as the wire carries it, parsed and held to the model."""
    body = OPERATIONS[operation](jobs, params)
    return parse_as(operation, to_wire(body, service_model().operation_model(operation).output_shape))


def every_answer(jobs: JobManager, name: str) -> dict[str, Any]:
    answered(jobs, LIST)
    answered(jobs, STEPS, JobName=name)
    return answered(jobs, DESCRIBE, JobName=name)


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[JobManager]:
    GatedRunner.made.clear()
    manager = job_manager(tmp_path, GatedRunner, lambda: 1_800_000_000.0, lambda line: None)
    yield manager
    manager.close()


def settle() -> None:
    for _ in range(5):
        gevent.idle()


def test_answers_are_in_the_model_from_pending_to_completed_and_stopped(jobs: JobManager, tmp_path: Path) -> None:
    payloads = str(payload_rows(tmp_path))
    jobs.create(request("done", payloads))
    assert every_answer(jobs, "done")["Status"] == "PENDING"
    settle()
    running = every_answer(jobs, "done")
    assert running["Status"] == "IN_PROGRESS" and "InferenceRecommendations" not in running
    assert "SamplePayloadUrl" not in running["InputConfig"]["ContainerConfig"]["PayloadConfig"]  # no S3 URI
    GatedRunner.made[0].finish()
    settle()
    assert every_answer(jobs, "done")["Status"] == "COMPLETED"
    jobs.create(request("stopped", payloads, JobDescription="stopped at once"))
    settle()
    jobs.stop("stopped")
    assert every_answer(jobs, "stopped")["Status"] == "STOPPING"
    settle()
    stopped = every_answer(jobs, "stopped")
    assert stopped["Status"] == "STOPPED" and stopped["RoleArn"].startswith("arn:aws:iam::000000000000:role/")
    listed = answered(jobs, LIST)["InferenceRecommendationsJobs"]
    assert sorted(job["JobDescription"] for job in listed) == ["", "stopped at once"]


def test_a_failure_reason_longer_than_the_model_allows_is_cut_to_1024_characters(
    jobs: JobManager, tmp_path: Path
) -> None:
    folder = tmp_path / "payloads"
    for part in range(5):  # an empty payload folder whose path alone is longer than a FailureReason may be
        folder /= f"{part}-" + "d" * 240
    folder.mkdir(parents=True)
    jobs.create(request("long", str(folder)))
    settle()
    described = every_answer(jobs, "long")
    reason = described["FailureReason"]
    assert described["Status"] == "FAILED" and len(reason) == 1024 and "…" in reason
    assert reason.startswith(f"Loadrec.SamplePayloadUrl: {tmp_path}") and reason.endswith(": contains no payload files")
    assert answered(jobs, LIST)["InferenceRecommendationsJobs"][0]["FailureReason"] == reason
