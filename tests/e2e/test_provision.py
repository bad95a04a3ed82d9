"""The Command provisioner on loopback: a sample endpoint started per test, its worker slots varied by
EnvironmentParameterRanges, stopped after each test and when ``loadrec run`` is killed."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from loadrec.engine.provision.command import start_time
from tests.e2e.jobs import (
    LOADREC,
    command_provisioner,
    env_server_command,
    environment,
    loadrec,
    run_command,
    sample_endpoint_command,
    write_job,
)
from tests.e2e.servers import sample_endpoint

pytestmark = pytest.mark.e2e

LATENCY_STOP = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 90}]}
SERVER = sample_endpoint_command(50)


def provisioned_job(folder: Path, workers: list[str], stairs: tuple[int, int, int] = (30, 10, 1)) -> Path:
    job = write_job(folder, {"Http": {"Url": "http://127.0.0.1:9/unused"}}, LATENCY_STOP, stairs=stairs)
    request = json.loads(job.read_text())
    request["InputConfig"]["EndpointConfigurations"] = [
        {
            "InstanceType": "ml.c5.large",
            "EnvironmentParameterRanges": {
                "CategoricalParameterRanges": [{"Name": "LOADREC_SAMPLE_WORKERS", "Value": workers}]
            },
        }
    ]
    request["Loadrec"] = {
        "SamplePayloadUrl": "payloads/",
        "Provisioner": command_provisioner(SERVER),
    }
    job.write_text(json.dumps(request))
    return job


def measuring_run(folder: Path, out: Path) -> subprocess.Popen[bytes]:
    """``loadrec run`` of a long provisioned job, once its test has measured a few seconds."""
    job = provisioned_job(folder, ["2"], stairs=(120, 2, 1))
    process = subprocess.Popen(
        run_command(job, out), cwd=folder, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    seconds = out / "tests" / "0" / "seconds.jsonl"
    deadline = time.monotonic() + 60
    while not seconds.exists() or len(seconds.read_text().splitlines()) < 4:
        assert time.monotonic() < deadline and process.poll() is None, "the test did not start"
        time.sleep(0.2)
    return process


def alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(out.glob("tests/*/provisioned.json"))]


def test_each_combination_gets_its_own_server_and_its_capacity_shows(tmp_path: Path) -> None:
    job = provisioned_job(tmp_path, ["2", "4"])
    out = tmp_path / "out"
    done = loadrec(job, out, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    body = json.loads((out / "describe.json").read_text())
    recommendations = body["InferenceRecommendations"]
    assert [r["ModelConfiguration"]["EnvironmentParameters"] for r in recommendations] == [
        [{"Key": "LOADREC_SAMPLE_WORKERS", "ValueType": "String", "Value": "2"}],
        [{"Key": "LOADREC_SAMPLE_WORKERS", "ValueType": "String", "Value": "4"}],
    ]
    per_instance = [
        r["Metrics"]["MaxInvocations"] / r["EndpointConfiguration"]["InitialInstanceCount"] for r in recommendations
    ]
    # Each server can serve at most its slots x (1000 / 50 ms) per second; twice the slots must show as clearly
    # more capacity. Not "exactly twice": on a busy two-core machine the client shares the cores with the server.
    ceilings = [2 * 20 * 60, 4 * 20 * 60]
    assert all(0 < measured <= ceiling * 1.03 for measured, ceiling in zip(per_instance, ceilings, strict=True))
    assert per_instance[1] / per_instance[0] > 1.5
    tests = body["Loadrec"]["Tests"]
    assert [t["Configuration"] for t in tests] == [
        "ml.c5.large (LOADREC_SAMPLE_WORKERS=2)",
        "ml.c5.large (LOADREC_SAMPLE_WORKERS=4)",
    ]
    assert all(t["EndpointReadySeconds"] > 0 and t["Target"].startswith("http://127.0.0.1:") for t in tests)
    created = records(out)
    assert len(created) == 2 and all(r["Deleted"] for r in created)
    assert not any(alive(r["ProcessGroup"]) for r in created)  # every server stopped after its test
    assert "LOADREC_SAMPLE_WORKERS=2" in done.stdout


def test_killing_loadrec_run_leaves_no_model_server_behind(tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = measuring_run(tmp_path, out)
    group = records(out)[0]["ProcessGroup"]
    assert alive(group)
    process.send_signal(signal.SIGKILL)  # nothing can be passed on: the test's process notices on its own
    process.wait(timeout=10)
    deadline = time.monotonic() + 30
    while alive(group):
        assert time.monotonic() < deadline, "the model server outlived loadrec"
        time.sleep(0.2)
    assert records(out)[0]["Deleted"] is True


@pytest.mark.parametrize("users", [1, 3])
def test_a_serverless_configuration_reports_its_cold_start(tmp_path: Path, users: int) -> None:
    """A stand-in whose first invocation takes 1,500 ms more: ModelSetupTime ≈ 1,500 ms, in µs as AWS reports it,
    however many users start together (the others' first requests are fast, and end seconds before it)."""
    job = provisioned_job(tmp_path, ["4"], stairs=(12, 1, users))  # all users at once, a slot each
    request = json.loads(job.read_text())
    request["InputConfig"]["EndpointConfigurations"] = [
        {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}
    ]
    request["Loadrec"]["Provisioner"]["Command"]["Command"] = [*SERVER, "--cold-start-ms", "1500"]
    # The cold request is in the first second's P95: no latency stop before a window is measured.
    request["StoppingConditions"] = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 5000}]}
    job.write_text(json.dumps(request))
    out = tmp_path / "out"
    done = loadrec(job, out, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((out / "describe.json").read_text())["InferenceRecommendations"][0]["Metrics"]
    assert metrics["ModelSetupTime"] == pytest.approx(1_500_000, rel=0.2)


def test_the_job_s_secrets_reach_the_model_server_only_when_allowed(tmp_path: Path) -> None:
    recorded = tmp_path / "server-env.json"
    job = provisioned_job(tmp_path, ["2"], stairs=(2, 1, 1))
    request = json.loads(job.read_text())
    provisioner = command_provisioner(env_server_command(recorded, "LOADREC_SAMPLE_WORKERS", "SERVER_TOKEN"))
    provisioner["Command"]["Headers"] = {"Authorization": "env:SERVER_TOKEN", "X-Client": "env:CLIENT_ONLY"}
    provisioner["Command"]["AllowedEnvironment"] = ["SERVER_TOKEN"]  # the server checks this one
    request["Loadrec"]["Provisioner"] = provisioner
    job.write_text(json.dumps(request))
    command = run_command(job, tmp_path / "out")
    secrets = environment(SERVER_TOKEN="token-the-server-checks", CLIENT_ONLY="client-secret-9f3a")
    done = subprocess.run(command, cwd=tmp_path, env=secrets, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(recorded.read_text())
    assert seen["values"] == {"LOADREC_SAMPLE_WORKERS": "2", "SERVER_TOKEN": "token-the-server-checks"}
    assert "CLIENT_ONLY" not in seen["names"]  # the job reads it; the server never needed it


PRINTS_ITS_TOKEN = (
    "import base64, os, sys; t = os.environ['SERVER_TOKEN']; print('token', t); print('shouted', t.upper());"
    " print('b64', base64.b64encode(('Bearer ' + t).encode()).decode());"
    " print('aws', os.environ['AWS_SECRET_ACCESS_KEY']); sys.exit(3)"
)


def test_a_server_that_prints_what_it_inherited_is_quoted_with_its_secrets_masked(tmp_path: Path) -> None:
    job = provisioned_job(tmp_path, ["2"], stairs=(2, 1, 1))
    request = json.loads(job.read_text())
    provisioner = command_provisioner([sys.executable, "-c", PRINTS_ITS_TOKEN])
    provisioner["Command"]["Headers"] = {"Authorization": "env:SERVER_TOKEN"}
    provisioner["Command"]["AllowedEnvironment"] = ["SERVER_TOKEN"]
    request["Loadrec"]["Provisioner"] = provisioner
    job.write_text(json.dumps(request))
    secrets = environment(SERVER_TOKEN="tok-8c1f-secret", AWS_SECRET_ACCESS_KEY="aws-secret-key-77")
    done = subprocess.run(run_command(job, tmp_path / "out"), cwd=tmp_path, env=secrets, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    reason = json.loads((tmp_path / "out" / "tests" / "0" / "result.json").read_text())["failure_reason"]
    assert "exited with code 3" in reason and "its last output: token *** | shouted *** | b64 *** | aws ***" in reason
    written = done.stdout + done.stderr + "".join(p.read_text() for p in (tmp_path / "out").rglob("*.json"))
    encoded = base64.b64encode(b"Bearer tok-8c1f-secret").decode()[4:16]
    assert not any(secret in written for secret in ("8c1f", "8C1F", "aws-secret-key", encoded))


def test_a_parameter_a_loader_reads_is_refused_before_any_server_starts(tmp_path: Path) -> None:
    job = provisioned_job(tmp_path, ["2"])
    request = json.loads(job.read_text())
    marker = tmp_path / "marker"
    request["InputConfig"]["EndpointConfigurations"][0]["EnvironmentParameterRanges"] = {
        "CategoricalParameterRanges": [
            {"Name": "BROWSER", "Value": [f"/bin/sh -c 'id > {marker}' #%s"]},
            {"Name": "PYTHONWARNINGS", "Value": ["ignore::antigravity.x::0"]},
        ]
    }
    job.write_text(json.dumps(request))
    done = loadrec(job, tmp_path / "out", timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert [line.split(": ", 1)[0] for line in lines if "read by a loader" in line] == [
        "InputConfig.EndpointConfigurations[0].EnvironmentParameterRanges"
    ] * 2
    assert "Traceback" not in done.stderr and not marker.exists() and not (tmp_path / "out").exists()


def test_killing_loadrec_run_and_its_test_process_together_leaves_no_model_server(tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = measuring_run(tmp_path, out)
    group = records(out)[0]["ProcessGroup"]
    owners = [p for p in psutil.Process(process.pid).children(recursive=True) if os.getsid(p.pid) != group]
    assert owners, "no test process"
    for victim in [psutil.Process(process.pid), *owners]:  # nobody left to clean up after the test
        victim.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 30
    while alive(group):
        assert time.monotonic() < deadline, "the model server outlived every loadrec process"
        time.sleep(0.2)


def fixed_port_job(folder: Path, command: list[str], port: int) -> Path:
    job = provisioned_job(folder, ["2"], stairs=(4, 1, 1))
    request = json.loads(job.read_text())
    provisioner = command_provisioner(command)
    provisioner["Command"]["ReadyUrl"] = f"http://127.0.0.1:{port}/ping"
    provisioner["Command"]["Url"] = f"http://127.0.0.1:{port}/invocations"
    request["Loadrec"]["Provisioner"] = provisioner
    job.write_text(json.dumps(request))
    return job


def test_a_fixed_port_a_stale_server_holds_is_refused_before_the_server_starts(tmp_path: Path) -> None:
    """Without {port}, a stale server on the template's port answered ReadyUrl "in 0.0 s" and was measured."""
    with sample_endpoint(workers=8, service_ms=1) as stale:
        port = int(stale.rsplit(":", 1)[1])
        job = fixed_port_job(tmp_path, [*sample_endpoint_command(50)[:-4], "--port", str(port)], port)
        done = loadrec(job, tmp_path / "out", timeout=90)
    assert done.returncode == 1, done.stderr[-2000:]
    result = json.loads((tmp_path / "out" / "tests" / "0" / "result.json").read_text())
    assert result["status"] == "FAILED" and f"127.0.0.1:{port} already answers" in result["failure_reason"]
    assert not (tmp_path / "out" / "tests" / "0" / "seconds.jsonl").exists()  # nothing measured from the stale one


DETACHES = (
    "import subprocess, sys, time; subprocess.Popen([sys.executable, '-P', '-m', 'loadrec.engine.sample.endpoint',"
    " '--port', sys.argv[1]], start_new_session=True); time.sleep(60)"
)


def test_a_server_answering_from_outside_the_started_session_is_refused(tmp_path: Path) -> None:
    """What answers on the port must be what loadrec started (its guard's session), not a process elsewhere."""
    job = provisioned_job(tmp_path, ["2"], stairs=(4, 1, 1))
    request = json.loads(job.read_text())
    request["Loadrec"]["Provisioner"] = command_provisioner([sys.executable, "-c", DETACHES, "{port}"])
    job.write_text(json.dumps(request))
    started = time.time() - 1
    try:
        done = loadrec(job, tmp_path / "out", timeout=90)
        assert done.returncode == 1, done.stderr[-2000:]
        reason = json.loads((tmp_path / "out" / "tests" / "0" / "result.json").read_text())["failure_reason"]
        assert "not by the model server loadrec started" in reason, reason
    finally:  # the detached server left its session on purpose: this test stops it
        for process in psutil.process_iter(["cmdline", "create_time"]):
            command = " ".join(process.info["cmdline"] or [])
            if "loadrec.engine.sample.endpoint" in command and process.info["create_time"] >= started:
                with contextlib.suppress(psutil.Error):
                    if process.ppid() == 1:
                        process.kill()


def test_overwrite_keeps_the_record_of_a_live_server_and_cleanup_removes_it(tmp_path: Path, moto_url: str) -> None:
    """A model server left running (its test's processes killed before the guard existed, say) is found only
    through its record: --overwrite refuses to erase it, and loadrec cleanup --out stops it and marks it."""
    job = provisioned_job(tmp_path, ["2"], stairs=(2, 1, 1))
    out = tmp_path / "out"
    assert loadrec(job, out, timeout=120).returncode == 0
    leftover = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        record = {"Kind": "Command", "ProcessGroup": leftover.pid, "Started": start_time(leftover.pid),
                  "Program": "sleep", "Port": 1}  # fmt: skip
        (out / "tests" / "0" / "provisioned.json").write_text(json.dumps(record))
        refused = loadrec(job, out, "--overwrite", timeout=60)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert f"test 0's record names a model server still running (process group {leftover.pid})" in refused.stderr
        assert f"run loadrec cleanup e2e --out {out} first" in refused.stderr and leftover.poll() is None
        command = [*LOADREC, "cleanup", "e2e", "--out", str(out), "--api-endpoint-url", moto_url]
        cleaned = subprocess.run(command, capture_output=True, text=True, env=environment(), timeout=60)
        assert f"test 0: stopped the model server it left running (process group {leftover.pid})" in cleaned.stdout
        assert leftover.wait(timeout=10) is not None
        assert json.loads((out / "tests" / "0" / "provisioned.json").read_text())["Deleted"] is True
        assert loadrec(job, out, "--overwrite", timeout=120).returncode == 0
    finally:
        leftover.kill()
