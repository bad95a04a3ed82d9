"""A run's life end to end: from a user's own folder, killed processes, a reused folder, every entry point alike.

Each job here runs under relaxed limits with windows of a few seconds, against a real
endpoint on loopback, and stops by itself.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.jobs import (
    LOADREC,
    environment,
    http_target,
    loadrec,
    results,
    run_command,
    sagemaker_target,
    write_job,
)
from tests.e2e.servers import sample_endpoint

pytestmark = pytest.mark.e2e

HOSTILE = "raise RuntimeError('the user\\'s own package was imported instead of loadrec')\n"
ENDLESS = {"MaxInvocations": 100000}  # never reached: the pattern (or a kill) ends the test


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with sample_endpoint(workers=2, service_ms=20) as url:
        yield url


class CountingServer(http.server.ThreadingHTTPServer):
    """A real HTTP endpoint on loopback that counts the invocations it serves."""

    invocations = 0

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed mid-request: nothing to report


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        assert isinstance(self.server, CountingServer)
        self.server.invocations += 1
        time.sleep(0.01)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def counting_endpoint() -> Iterator[CountingServer]:
    server = CountingServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def started(job: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    """``loadrec run`` in the background, once its first test has measured a few seconds."""
    command = run_command(job, out, *extra)
    process = subprocess.Popen(command, cwd=job.parent, env=environment(), stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    for line in process.stdout:
        if re.search(r"\]\s+4s\s.* inv/min ", line):
            break
        assert time.monotonic() < deadline, "the test did not get going"
    return process


def step_processes(parent: int) -> list[psutil.Process]:
    children = psutil.Process(parent).children(recursive=True)
    return [child for child in children if "loadrec.engine.running.step" in " ".join(child.cmdline())]


def two_configuration_job(folder: Path, url: str, first_stairs: tuple[int, int, int]) -> Path:
    job_path = write_job(folder, http_target(url), ENDLESS, stairs=first_stairs)
    job = json.loads(job_path.read_text())
    job["InputConfig"]["EndpointConfigurations"].append({"InstanceType": "ml.c5.xlarge"})
    job["Loadrec"]["Targets"].append(http_target(url))
    job_path.write_text(json.dumps(job))
    return job_path


def test_a_job_runs_from_a_folder_holding_its_own_engine_shapes_and_payloads(tmp_path: Path, endpoint: str) -> None:
    for name in ("engine", "shapes"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(HOSTILE)
    stopping = {"MaxInvocations": 1200, "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 2000}]}
    job = write_job(tmp_path, sagemaker_target(endpoint), stopping, stairs=(16, 4, 2))  # payloads/ beside it
    # Locust's master with two worker processes: a test process and two workers, all started from this folder
    run = loadrec(job, tmp_path / "out", "--processes", "2")
    assert run.returncode == 0, run.stderr
    body, test, timeline = results(tmp_path / "out")
    assert body["Status"] == "COMPLETED" and test["Status"] == "COMPLETED"
    assert test["StopReason"] == "max invocations" and test["WorkerProcesses"] == 2
    assert body["InferenceRecommendations"][0]["Metrics"]["MaxInvocations"] >= 1200
    assert timeline["invocations"].sum() > 0 and "RuntimeError" not in run.stderr


def test_a_killed_test_process_fails_its_test_keeps_its_seconds_and_the_job_goes_on(
    tmp_path: Path, endpoint: str
) -> None:
    job = two_configuration_job(tmp_path, endpoint, first_stairs=(8, 2, 1))
    process = started(job, tmp_path / "out")
    (step,) = step_processes(process.pid)
    step.kill()
    killed_at = time.time()
    process.communicate(timeout=60)
    assert process.returncode == 0  # the second test completed
    body, first, timeline = results(tmp_path / "out")
    second = body["Loadrec"]["Tests"][1]
    assert first["Status"] == "FAILED" and first["FailureReason"] == "its process was killed by SIGKILL"
    assert second["Status"] == "COMPLETED" and body["Status"] == "COMPLETED"
    before = timeline[(timeline["test"] == 0) & (timeline["epoch"] < int(killed_at))]
    assert len(before) >= 4 and (before["invocations"] > 0).all()  # every second it finished is kept
    assert (
        first["MeasuredSeconds"] >= 4
        and first["Invocations"] == timeline.loc[timeline["test"] == 0, "invocations"].sum()
    )


def test_a_killed_loadrec_run_stops_its_load_and_describe_shows_what_was_measured(
    tmp_path: Path, counting_endpoint: CountingServer
) -> None:
    url = f"http://127.0.0.1:{counting_endpoint.server_address[1]}"
    job = two_configuration_job(tmp_path, url, first_stairs=(60, 2, 1))
    process = started(job, tmp_path / "out")
    (step,) = step_processes(process.pid)
    process.kill()
    process.wait(timeout=10)
    step.wait(timeout=10)  # it noticed, wrote what it measured and ended
    served = counting_endpoint.invocations
    time.sleep(2)
    assert counting_endpoint.invocations == served > 0  # no request reaches the endpoint any more
    described = subprocess.run(
        [*LOADREC, "describe", str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert described.returncode == 0 and "Traceback" not in described.stderr, described.stderr
    assert described.stdout.startswith("e2e: FAILED")
    assert "ended before the job did, or could no longer write to this folder; every second measured is kept" in (
        described.stdout
    )
    body, first, timeline = results(tmp_path / "out")  # the job's files now say so too
    seconds, invocations = first["MeasuredSeconds"], first["Invocations"]
    row = next(line for line in described.stdout.splitlines() if "ml.c5.large" in line).split()
    assert seconds >= 4 and invocations > 0 and str(seconds) in row and str(invocations) in row
    assert body["Status"] == "FAILED" and first["Status"] == "STOPPED" and "ended" in first["StopDetail"]
    assert first["StopReason"] == "job process ended"  # not a person's stop: nobody pressed Stop
    assert timeline["invocations"].sum() == invocations <= served
    assert len(body["Loadrec"]["Tests"]) == 1  # the second test never started


def test_a_results_folder_gone_mid_run_stops_the_load_and_the_summary_is_printed(
    tmp_path: Path, counting_endpoint: CountingServer
) -> None:
    url = f"http://127.0.0.1:{counting_endpoint.server_address[1]}"
    job = two_configuration_job(tmp_path, url, first_stairs=(60, 2, 1))
    out = tmp_path / "out"
    process = started(job, out)
    out.rename(tmp_path / "elsewhere")  # as an unmounted volume would (at once, unlike a removal): writes fail
    output, _ = process.communicate(timeout=60)
    served = counting_endpoint.invocations
    assert process.returncode == 1 and "Traceback" not in output
    assert "results not written" in output  # the test stopped for it, at its next write
    assert f"results could not be written to {out}: " in output
    assert "the summary above is all that was kept" in output
    assert re.search(
        r"measured, not written: ml\.c5\.large: FAILED \(results not written\); max \d+ invocations", output
    )
    assert "ml.c5.xlarge" not in output.split("stopping the job")[-1].split("\n\n")[0]  # never started
    time.sleep(1)
    assert counting_endpoint.invocations == served > 0  # no load left running
    assert not out.exists(), output


def test_a_reused_results_folder_is_refused_unless_overwritten(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), ENDLESS, stairs=(2, 1, 1))
    out = tmp_path / "out"
    assert loadrec(job, out).returncode == 0
    first = json.loads((out / "run.json").read_text())["RunId"]
    refused = loadrec(job, out)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"--out: {out}: holds the results of an earlier run; pass --overwrite to replace them, or choose another --out"
    ]
    assert refused.stdout == ""  # nothing started
    again = loadrec(job, out, "--overwrite")
    assert again.returncode == 0, again.stderr
    run = json.loads((out / "run.json").read_text())
    body, test, _ = results(out)
    assert run["RunId"] != first
    assert json.loads((out / "tests" / "0" / "result.json").read_text())["run_id"] == run["RunId"]
    assert test["RecommendationId"] == body["InferenceRecommendations"][0]["RecommendationId"]
