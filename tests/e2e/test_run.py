"""``loadrec run`` end to end: the real CLI against the real sample endpoint on loopback.

The sample endpoint with 2 worker slots of 50 ms serves at most 2400 invocations per
minute; every job here is short (relaxed limits, windows of a few seconds) and bounded.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import tarfile
import termios
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import psutil
import pytest

from tests.e2e.jobs import environment, http_target, loadrec, results, run_command, sagemaker_target, write_job
from tests.e2e.moto import fake_aws_env
from tests.e2e.servers import sample_endpoint

pytestmark = pytest.mark.e2e

WORKERS, SERVICE_MS = 2, 50
CAPACITY_PER_MIN = 60 * WORKERS * 1000 / SERVICE_MS  # 2400
UTILIZATION_SPAN_S = 240  # how far ahead the CloudWatch test puts the endpoint's utilization


@pytest.mark.parametrize("kind", ["sagemaker", "http"])
def test_latency_threshold_below_the_service_time(tmp_path: Path, endpoint: str, kind: str) -> None:
    target = sagemaker_target(endpoint) if kind == "sagemaker" else http_target(endpoint)
    stopping = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 30}]}
    run = loadrec(write_job(tmp_path, target, stopping), tmp_path / "out")
    assert run.returncode == 0, run.stderr
    body, test, timeline = results(tmp_path / "out")
    assert test["StopReason"] == "latency threshold"
    assert test["StopDetail"].startswith("P95 ") and test["StopDetail"].endswith("ms > 30 ms")
    assert timeline["invocations"].sum() > 20
    assert body["Status"] == "COMPLETED"
    assert "InferenceRecommendations" not in body  # no load met the threshold: nothing to recommend (min 1)


@pytest.mark.parametrize("flat", ["Stop", "Continue"])
def test_users_beyond_the_worker_slots_flatten_invocations(tmp_path: Path, endpoint: str, flat: str) -> None:
    stopping = {
        "ModelLatencyThresholds": [{"Percentile": "P99", "ValueInMilliseconds": 2000}],
        "FlatInvocations": flat,
    }
    run = loadrec(write_job(tmp_path, sagemaker_target(endpoint), stopping), tmp_path / "out")
    assert run.returncode == 0, run.stderr
    body, test, _ = results(tmp_path / "out")
    assert test["Plateau"]["Users"] in (2, 3), test["Plateau"]
    assert test["StopReason"] == ("flat invocations" if flat == "Stop" else "pattern complete")
    recommendation = body["InferenceRecommendations"][0]
    measured = (
        recommendation["Metrics"]["MaxInvocations"] / recommendation["EndpointConfiguration"]["InitialInstanceCount"]
    )
    assert abs(measured / CAPACITY_PER_MIN - 1) <= 0.15, measured


def test_max_invocations_below_capacity(tmp_path: Path, endpoint: str) -> None:
    stopping = {"MaxInvocations": 1200, "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 2000}]}
    job = write_job(tmp_path, sagemaker_target(endpoint), stopping, stairs=(16, 4, 2))
    run = loadrec(job, tmp_path / "out")
    assert run.returncode == 0, run.stderr
    body, test, _ = results(tmp_path / "out")
    assert test["StopReason"] == "max invocations"
    metrics = body["InferenceRecommendations"][0]["Metrics"]
    assert metrics["MaxInvocations"] >= 1200
    assert body["InferenceRecommendations"][0]["EndpointConfiguration"]["InitialInstanceCount"] == 1
    assert metrics["CostPerInference"] == metrics["CostPerHour"] / (metrics["MaxInvocations"] * 60)
    # the same job on Locust's master with two worker processes: tests/e2e/test_lifecycle.py


def test_an_endpoint_answering_5xx_fails_the_test(tmp_path: Path) -> None:
    with sample_endpoint(workers=WORKERS, service_ms=5, error_rate=1.0) as url:
        run = loadrec(write_job(tmp_path, sagemaker_target(url), {"MaxInvocations": 100000}), tmp_path / "out")
    assert run.returncode == 1, run.stderr
    body, test, timeline = results(tmp_path / "out")
    assert body["Status"] == "FAILED" and test["Status"] == "FAILED"
    assert test["StopReason"] == "endpoint errors"
    assert test["Errors"]["HTTP 500"] == timeline["failures"].sum() > 20
    assert "HTTP 500" in body["FailureReason"] and "injected failure" in body["FailureReason"]


def test_a_hostile_archive_is_refused_before_any_request(tmp_path: Path) -> None:
    archive = tmp_path / "payloads.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.csv")
        data = b"1,2,3,4,5,6,7,8\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with socket.socket() as listener:  # a real port that would see any connection attempt
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        job = write_job(tmp_path, sagemaker_target(url), {"MaxInvocations": 100}, payloads=str(archive))
        run = loadrec(job, tmp_path / "out")
        assert run.returncode == 2
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "../escape.csv" in lines[0], run.stderr
        with pytest.raises(TimeoutError):
            listener.accept()
    assert not (tmp_path / "out").exists()


def test_sigterm_mid_run_writes_stopped_results(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, sagemaker_target(endpoint), {"MaxInvocations": 100000}, stairs=(60, 2, 1))
    out = tmp_path / "out"
    command = run_command(job, out)
    process = subprocess.Popen(command, cwd=tmp_path, env=environment(), stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    for line in process.stdout:  # wait until the test has been running for a few seconds
        if re.search(r"\]\s+4s\s.* inv/min ", line) or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 130
    body, test, timeline = results(out)
    assert body["Status"] == "STOPPED" and test["Status"] == "STOPPED"
    assert test["StopReason"] == "stopped by user"
    assert len(timeline) >= 4 and timeline["invocations"].sum() > 0
    assert timeline.loc[timeline["second"] < 4, "invocations"].min() > 0  # no measured second lost


def assert_stopped_with_its_seconds(out: Path) -> None:
    body, test, timeline = results(out)
    assert body["Status"] == "STOPPED" and test["Status"] == "STOPPED" and test["StopReason"] == "stopped by user"
    assert len(timeline) >= 4 and timeline.loc[timeline["second"] < 4, "invocations"].min() > 0


def no_process_of(group: int) -> bool:
    """No process of the process group ``group`` is left (each loadrec process ended)."""
    return not [p for p in psutil.process_iter(["pid"]) if _group(p.info["pid"]) == group]


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def test_sighup_to_the_whole_process_group_stops_and_writes_like_ctrl_c(tmp_path: Path, endpoint: str) -> None:
    """A dropped SSH session signals every process of the group: loadrec, its test's process, its workers."""
    job = write_job(tmp_path, sagemaker_target(endpoint), {"MaxInvocations": 100000}, stairs=(60, 2, 1))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [*run_command(job, out), "--processes", "1"], cwd=tmp_path, env=environment(), stdout=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    deadline = time.monotonic() + 45
    for line in process.stdout:
        if re.search(r"\]\s+5s\s.* inv/min ", line) or time.monotonic() > deadline:
            break
    os.killpg(process.pid, signal.SIGHUP)
    process.communicate(timeout=30)
    assert process.returncode == 130
    assert_stopped_with_its_seconds(out)
    assert no_process_of(process.pid)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_as_the_run_starts_ends_every_test_stopped_never_failed(
    tmp_path: Path, endpoint: str, signum: int
) -> None:
    """A stop the moment run.json appears reaches tests whose processes are still starting (importing)."""
    job = write_job(tmp_path, sagemaker_target(endpoint), {"MaxInvocations": 100000}, stairs=(60, 2, 1))
    request = json.loads(job.read_text())
    request["InputConfig"]["ResourceLimit"] = {"MaxNumberOfTests": 3, "MaxParallelOfTests": 3}
    request["InputConfig"]["EndpointConfigurations"] = [
        {"InstanceType": kind} for kind in ("ml.c5.large", "ml.c5.xlarge", "ml.m5.large")
    ]
    request["Loadrec"]["Targets"] *= 3
    job.write_text(json.dumps(request))
    out = tmp_path / "out"
    process = subprocess.Popen(
        run_command(job, out), cwd=tmp_path, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (out / "run.json").exists():
        assert time.monotonic() < deadline and process.poll() is None, "the run did not start"
        time.sleep(0.01)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    body = json.loads((out / "describe.json").read_text())
    statuses = [test["Status"] for test in body["Loadrec"]["Tests"]]
    assert process.returncode == 130 and body["Status"] == "STOPPED", err[-2000:]
    assert set(statuses) <= {"STOPPED", "NOT_RUN"} and "STOPPED" in statuses, body["Loadrec"]["Tests"]
    assert "killed by" not in json.dumps(body) and "Traceback" not in err


def test_a_closed_terminal_stops_the_run_and_its_results_are_written(tmp_path: Path, endpoint: str) -> None:
    """loadrec in a real terminal (a pty it controls) that closes: SIGHUP, then every write to it fails."""
    job = write_job(tmp_path, sagemaker_target(endpoint), {"MaxInvocations": 100000}, stairs=(60, 2, 1))
    out = tmp_path / "out"
    terminal, tty = pty.openpty()

    def controlled_by_the_pty() -> None:
        os.setsid()
        fcntl.ioctl(tty, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        run_command(job, out), cwd=tmp_path, env=environment(), stdin=tty, stdout=tty, stderr=tty,
        preexec_fn=controlled_by_the_pty,
    )  # fmt: skip
    os.close(tty)
    seen, deadline = b"", time.monotonic() + 45
    while not re.search(rb"\]\s+5s\s.* inv/min ", seen) and time.monotonic() < deadline:
        if select.select([terminal], [], [], 0.5)[0]:
            seen += os.read(terminal, 65536)
    os.close(terminal)  # the terminal closes: its session gets SIGHUP, and writes to it fail from now on
    assert process.wait(timeout=30) == 130
    assert_stopped_with_its_seconds(out)
    assert no_process_of(process.pid)


def test_payloads_from_s3_and_utilization_from_cloudwatch(
    tmp_path: Path, endpoint: str, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for index in range(3):
            data = (",".join(str(index) for _ in range(8)) + "\n").encode()
            info = tarfile.TarInfo(f"payloads/row-{index}.csv")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    aws_url = moto_url
    for key, value in fake_aws_env().items():
        monkeypatch.setenv(key, value)
    session = boto3.session.Session()
    s3 = session.client("s3", endpoint_url=aws_url, region_name="us-east-1")
    s3.create_bucket(Bucket="samples")
    s3.put_object(Bucket="samples", Key="model/payload.tar.gz", Body=archive.getvalue())
    # what SageMaker would report for the endpoint during the test
    cloudwatch = session.client("cloudwatch", endpoint_url=aws_url, region_name="us-east-1")
    # The same value every 2 s for the next 4 minutes: whenever the test's window falls (a busy machine sets
    # up slowly), its average is the value. One point 5 s ahead fell before a test that started late.
    now = datetime.now(UTC)
    dimensions = [{"Name": "EndpointName", "Value": "sample"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    cloudwatch.put_metric_data(
        Namespace="/aws/sagemaker/Endpoints",
        MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Timestamp": now + timedelta(seconds=s), "Value": value}
            for name, value in (("CPUUtilization", 42.0), ("MemoryUtilization", 17.5))
            for s in range(0, UTILIZATION_SPAN_S, 2)
        ],
    )
    job = write_job(
        tmp_path,
        sagemaker_target(endpoint),
        {"MaxInvocations": 600},
        stairs=(8, 2, 1),
        payloads="s3://samples/model/payload.tar.gz",
        extension={"S3EndpointUrl": aws_url, "CloudWatchEndpointUrl": aws_url},
    )
    run = loadrec(job, tmp_path / "out", "--publish-metrics")
    published = cloudwatch.list_metrics(Namespace="/aws/sagemaker/InferenceRecommendationsJobs")["Metrics"]
    assert run.returncode == 0, run.stderr
    body, test, timeline = results(tmp_path / "out")
    assert test["Status"] == "COMPLETED" and timeline["invocations"].sum() > 0
    # the run's own recorded times, not the wall clock here, say whether the points cover its window
    started, ended = (
        datetime.fromtimestamp(epoch, UTC) for epoch in (timeline["epoch"].min(), timeline["epoch"].max())
    )
    assert now <= started and ended + timedelta(seconds=10) <= now + timedelta(seconds=UTILIZATION_SPAN_S)
    metrics = body["InferenceRecommendations"][0]["Metrics"]
    assert (metrics["CpuUtilization"], metrics["MemoryUtilization"]) == (42.0, 17.5)
    assert {m["MetricName"] for m in published} == {
        "ClientInvocations",
        "ClientInvocationErrors",
        "ClientLatency",
        "NumberOfUsers",
    }
    assert "data points published to CloudWatch" in test["Note"]
