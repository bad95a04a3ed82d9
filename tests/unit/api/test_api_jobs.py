"""The API server's job lifecycle with an in-memory runner and an injected clock: PENDING → IN_PROGRESS →
an end, STOPPING → STOPPED, the limits and names AWS enforces, a shutdown, and recovery after a crash."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest

from loadrec.engine.api.jobs import SERVER_DIED, SERVER_DIED_EARLY, SERVER_SHUT_DOWN, JobManager
from loadrec.engine.api.protocol import ApiError
from loadrec.engine.api.store import JobRecord
from tests.api_runners import GatedRunner, job_manager, payload_rows


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def request(name: str, payloads: str) -> dict[str, Any]:
    return {
        "JobName": name,
        "JobType": "Advanced",
        "RoleArn": "arn:aws:iam::123456789012:role/unit",
        "InputConfig": {
            "Endpoints": [{"EndpointName": "staging"}],
            "TrafficPattern": {
                "TrafficType": "STAIRS",
                "Stairs": {"DurationInSeconds": 6, "NumberOfSteps": 2, "UsersPerStep": 1},
            },
            "ContainerConfig": {"PayloadConfig": {"SamplePayloadUrl": payloads}},
        },
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def payloads(tmp_path: Path) -> str:
    return str(payload_rows(tmp_path))


@pytest.fixture
def jobs(tmp_path: Path, clock: Clock) -> Iterator[JobManager]:
    GatedRunner.made.clear()
    manager = job_manager(tmp_path, GatedRunner, clock, lambda line: None)
    yield manager
    manager.close()  # no job's greenlet outlives its test


def settle(jobs: JobManager) -> None:
    """Let the jobs' greenlets run until each waits on its runner (or ends)."""
    for _ in range(5):
        gevent.idle()


def test_a_job_is_pending_then_in_progress_then_completed_at_the_clocks_times(
    jobs: JobManager, clock: Clock, payloads: str
) -> None:
    record = jobs.create(request("one", payloads))
    assert (record.status, record.created, record.arn) == (
        "PENDING", clock.now, "arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/one",
    )  # fmt: skip
    assert jobs.describe("one")["Status"] == "PENDING"
    clock.now += 2
    settle(jobs)
    described = jobs.describe("one")
    assert (described["Status"], described["LastModifiedTime"]) == ("IN_PROGRESS", clock.now)
    assert "CompletionTime" not in described
    clock.now += 10
    GatedRunner.made[0].finish()
    settle(jobs)
    described = jobs.describe("one")
    assert (described["Status"], described["CompletionTime"]) == ("COMPLETED", clock.now)
    sent = request("one", payloads)["InputConfig"]
    # echoed as the caller sent it, but for the local payload folder: no S3 URI, which the model's pattern asks
    assert sent["ContainerConfig"]["PayloadConfig"].pop("SamplePayloadUrl").startswith("/")
    assert described["InputConfig"] == sent


def test_a_stop_is_stopping_until_the_runner_has_written_then_stopped(jobs: JobManager, payloads: str) -> None:
    jobs.create(request("one", payloads))
    settle(jobs)
    jobs.stop("one")  # the runner's tests now write what they measured, in their own time
    assert jobs.describe("one")["Status"] == "STOPPING"
    jobs.stop("one")  # again: nothing changes
    assert GatedRunner.made[0].interrupted
    settle(jobs)
    assert jobs.describe("one")["Status"] == "STOPPED"
    with pytest.raises(ApiError) as ended:
        jobs.stop("one")
    assert ended.value.code == "ValidationException"


def test_a_job_stopped_before_its_tests_were_ready_never_starts_one(jobs: JobManager, payloads: str) -> None:
    jobs.create(request("early", payloads))
    jobs.stop("early")
    settle(jobs)
    assert GatedRunner.made == []
    assert jobs.describe("early")["Status"] == "STOPPED"


def test_names_and_the_concurrent_job_limit_are_enforced_as_aws_does(jobs: JobManager, payloads: str) -> None:
    jobs.create(request("one", payloads))
    with pytest.raises(ApiError) as same:
        jobs.create(request("one", payloads))
    jobs.create(request("two", payloads))
    with pytest.raises(ApiError) as over:
        jobs.create(request("three", payloads))
    with pytest.raises(ApiError) as unknown:
        jobs.describe("four")
    assert (same.value.code, over.value.code, unknown.value.code) == (
        "ResourceInUse", "ResourceLimitExceeded", "ResourceNotFound",
    )  # fmt: skip
    assert jobs.store.get("three") is None  # refused: nothing stored, nothing started


def test_a_job_whose_payloads_cannot_be_read_fails_with_the_reason(jobs: JobManager, tmp_path: Path) -> None:
    empty = tmp_path / "payloads" / "empty"
    empty.mkdir(parents=True)
    jobs.create(request("empty", str(empty)))
    settle(jobs)
    described = jobs.describe("empty")
    assert described["Status"] == "FAILED"
    assert str(empty) in described["FailureReason"]
    assert GatedRunner.made == []


def test_closing_the_server_stops_running_jobs_and_says_so(jobs: JobManager, payloads: str) -> None:
    jobs.create(request("one", payloads))
    settle(jobs)
    jobs.create(request("pending", payloads))  # its tests not ready yet
    jobs.close()
    described = jobs.describe("one")
    assert (described["Status"], described["FailureReason"]) == ("FAILED", SERVER_SHUT_DOWN)
    assert jobs.describe("pending")["Status"] == "FAILED"
    assert jobs.greenlets == {} and jobs.folders == {}
    with pytest.raises(ApiError) as refused:
        jobs.create(request("two", payloads))
    assert refused.value.code == "ResourceLimitExceeded"


def test_recovery_fails_the_jobs_a_dead_server_was_running_and_keeps_the_finished(
    jobs: JobManager, clock: Clock, tmp_path: Path
) -> None:
    base = JobRecord("x", "arn", {"JobName": "x"}, "COMPLETED", 1.0, 2.0, 2.0, None, str(tmp_path / "x"))
    jobs.store.add(base)
    for name, status in (("running", "IN_PROGRESS"), ("waiting", "PENDING"), ("stopping", "STOPPING")):
        jobs.store.add(JobRecord(name, "arn", {"JobName": name}, status, 1.0, 2.0, None, None, str(tmp_path / name)))
    (tmp_path / "running").mkdir()
    (tmp_path / "running" / "run.json").write_text("{}")  # its tests had started (the file is damaged: said)
    (tmp_path / "running" / "tests").mkdir()
    (tmp_path / "running" / "tests" / "seconds.jsonl").write_text("")
    os.utime(tmp_path / "running" / "run.json", (10.0, 10.0))
    os.utime(tmp_path / "running" / "tests" / "seconds.jsonl", (30.0, 30.0))  # its last measured second
    clock.now = 50.0
    jobs.recover()
    after = {record.name: record for record in jobs.store.all()}
    assert after["x"] == base
    ended = {"running": 30.0, "waiting": 50.0, "stopping": 50.0}  # a job never started ends at the restart
    for name, reason in (("running", SERVER_DIED), ("waiting", SERVER_DIED_EARLY), ("stopping", SERVER_DIED_EARLY)):
        assert (after[name].status, after[name].failure_reason) == ("FAILED", reason)
        assert (after[name].completed, after[name].modified) == (ended[name], 50.0)
    gevent.idle()  # the damaged files are reported, and the server goes on


def test_a_refused_local_payload_path_is_one_line_not_also_aws_s_pattern(jobs: JobManager) -> None:
    with pytest.raises(ApiError) as refused:
        jobs.create(request("relative", "prompts/"))
    assert refused.value.message == (
        "1 validation error detected: Value 'prompts/' at 'inputConfig.containerConfig.payloadConfig."
        "samplePayloadUrl' failed to satisfy constraint: a local payload path must be absolute (or use an s3:// URI)"
    )
