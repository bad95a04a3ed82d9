"""Master and workers on loopback: ``loadrec run --master`` with ``loadrec worker`` processes."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.jobs import FAST, LOADREC, environment, http_target, results, write_job
from tests.e2e.moto import free_port
from tests.e2e.servers import workers

pytestmark = pytest.mark.e2e

CAPACITY_PER_MIN = 2400  # 2 slots of 50 ms
FLAT = {"ModelLatencyThresholds": [{"Percentile": "P99", "ValueInMilliseconds": 5000}], "FlatInvocations": "Stop"}


def master_command(job: Path, out: Path, port: int, expect: int) -> list[str]:
    return [
        *LOADREC, "run", str(job), "--limits", "relaxed", "--out", str(out), *FAST,
        "--master", "--expect-workers", str(expect), "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
    ]  # fmt: skip


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=environment(), capture_output=True, text=True, timeout=120)


def measured(body: dict[str, Any]) -> float:
    recommendation = body["InferenceRecommendations"][0]
    return float(
        recommendation["Metrics"]["MaxInvocations"] / recommendation["EndpointConfiguration"]["InitialInstanceCount"]
    )


def test_master_with_two_workers_matches_one_process(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), FLAT)
    single = run([*LOADREC, "run", str(job), "--limits", "relaxed", "--out", str(tmp_path / "one"), *FAST], tmp_path)
    assert single.returncode == 0, single.stderr
    port = free_port()
    with workers(port, 2):
        distributed = run(master_command(job, tmp_path / "two", port, 2), tmp_path)
    assert distributed.returncode == 0, distributed.stderr
    one_body, one_test, _ = results(tmp_path / "one")
    two_body, two_test, timeline = results(tmp_path / "two")
    assert one_test["StopReason"] == two_test["StopReason"] == "flat invocations"
    assert two_test["WorkerProcesses"] == 2 and set(timeline["workers"]) >= {2}
    assert abs(measured(two_body) / measured(one_body) - 1) <= 0.10, (measured(one_body), measured(two_body))
    assert abs(measured(two_body) / CAPACITY_PER_MIN - 1) <= 0.15


def test_a_worker_killed_mid_test_is_recorded_and_the_test_goes_on(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), {"MaxInvocations": 100000}, stairs=(14, 1, 2))
    port = free_port()
    with workers(port, 2) as processes:
        master = subprocess.Popen(
            master_command(job, tmp_path / "out", port, 2),
            cwd=tmp_path,
            env=environment(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert master.stdout is not None
        deadline = time.monotonic() + 60
        for line in master.stdout:
            if re.search(r"\]\s+4s\s.* inv/min ", line) or time.monotonic() > deadline:
                break
        killed_at = time.time()
        processes[1].kill()
        master.communicate(timeout=90)
    assert master.returncode == 0
    body, test, timeline = results(tmp_path / "out")
    assert test["Status"] == "COMPLETED" and test["StopReason"] == "pattern complete"
    lost = [e for e in test["WorkerEvents"] if e["Event"] == "lost"]
    assert len(lost) == 1 and lost[0]["Second"] >= 4
    before = timeline[timeline["epoch"] < int(killed_at) - 1]
    assert len(before) >= 4 and (before["invocations"] > 0).all()  # every second finished before the kill is kept
    assert timeline["workers"].max() == 2 and timeline["workers"].iloc[-1] == 1  # one worker carried the rest
    assert timeline.loc[timeline["second"] >= lost[0]["Second"] + 1, "invocations"].sum() > 0
    assert body["Status"] == "COMPLETED"
