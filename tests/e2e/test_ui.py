"""``loadrec ui`` over HTTP: the whole job per START, a Stop, Ctrl-C, the login, workers; and stock Locust's own UI."""

from __future__ import annotations

import http.cookiejar
import importlib.util
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.jobs import FAST, LOADREC, environment, http_target, write_job
from tests.e2e.moto import free_port
from tests.e2e.servers import stop_process, web_ui, workers

pytestmark = pytest.mark.e2e

LOCUSTFILE = str(importlib.util.find_spec("loadrec.engine.locust_plugin.locustfile").origin)  # type: ignore[union-attr]
LATENCY_STOP = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 90}]}
PAGE = {"X-Loadrec-Request": "1"}
Opener = urllib.request.OpenerDirector


def get_json(opener: Opener, url: str) -> Any:
    with opener.open(url, timeout=5) as response:
        return json.loads(response.read())


def post(opener: Opener, url: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Any:
    data = urllib.parse.urlencode(form or {}).encode()
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with opener.open(request, timeout=5) as response:
        return json.loads(response.read()) if response.headers.get_content_type() == "application/json" else None


def wait_until(opener: Opener, url: str, check: Callable[[dict[str, Any]], bool], timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    status = get_json(opener, url)
    while not check(status):
        assert time.monotonic() < deadline, status
        time.sleep(0.3)
        status = get_json(opener, url)
    return status


def describe(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "describe.json").read_text()))


def shape_of(body: dict[str, Any]) -> tuple[Any, ...]:
    """What must match across entry points: the keys, the Loadrec keys, the statuses, the stop reasons."""
    tests = body["Loadrec"]["Tests"]
    return (
        sorted(body), sorted(body["Loadrec"]), body["Status"], [t["Status"] for t in tests],
        [t.get("StopReason") for t in tests],
    )  # fmt: skip


def two_configurations(job: Path, parallel: int = 1) -> Path:
    """The job with a second configuration on the same endpoint, priced differently."""
    request = json.loads(job.read_text())
    request["InputConfig"]["EndpointConfigurations"].append({"InstanceType": "ml.c5.xlarge"})
    request["InputConfig"]["ResourceLimit"] = {"MaxNumberOfTests": 2, "MaxParallelOfTests": parallel}
    first = request["Loadrec"]["Targets"][0]
    request["Loadrec"]["Targets"] = [{**first, "PricePerHour": 0.1}, {**first, "PricePerHour": 0.2}]
    job.write_text(json.dumps(request))
    return job


def test_each_start_runs_the_whole_job_as_loadrec_run_does(tmp_path: Path, endpoint: str) -> None:
    job = two_configurations(write_job(tmp_path, http_target(endpoint), LATENCY_STOP, stairs=(30, 5, 2)))
    out, port = tmp_path / "ui", free_port()
    base, opener = f"http://127.0.0.1:{port}", urllib.request.build_opener()
    status_url = f"{base}/loadrec/status"
    with web_ui(job, out, port):
        assert get_json(opener, status_url) == {"state": "ready"}
        assert post(opener, f"{base}/loadrec/start", headers=PAGE) == {
            "success": True,
            "message": "run 1 started",
            "run": 1,
        }
        finished = wait_until(opener, status_url, lambda s: s["state"] == "finished")
        served = {
            name: opener.open(f"{base}/loadrec/runs/1/{name}", timeout=5).read()
            for name in ("describe.json", "steps.json", "timeline.csv", "report.html")
        }
        # a second START: a new run folder; a Stop press while its first test runs
        assert post(opener, f"{base}/loadrec/start", headers=PAGE)["run"] == 2
        wait_until(opener, status_url, lambda s: s["state"] == "running" and s["tests"][0].get("window") is not None)
        assert post(opener, f"{base}/loadrec/stop", headers=PAGE)["success"]
        stopped = wait_until(opener, status_url, lambda s: s["state"] == "finished")
    first, second = describe(out / "run-1"), describe(out / "run-2")
    assert finished["status"] == first["Status"] == "COMPLETED" and finished["folder"] == str(out / "run-1")
    tests = first["Loadrec"]["Tests"]
    assert [(t["status"], t["stop"]) for t in finished["tests"]] == [(t["Status"], t["StopReason"]) for t in tests]
    assert all(t["readings"] and t["window"]["latency"][1][0] == "p95" for t in finished["tests"])
    top = next(row for row in finished["recommendations"] if row["top"])
    assert top["configuration"] == first["Loadrec"]["TopRecommendation"]["Configuration"] == "ml.c5.large"
    recommendation = first["InferenceRecommendations"][0]
    assert top["max_invocations"] == recommendation["Metrics"]["MaxInvocations"] and top["rank"] == 1
    for name, body in served.items():
        assert body == (out / "run-1" / name).read_bytes(), name
    assert stopped["status"] == second["Status"] == "STOPPED"
    assert [t["Status"] for t in second["Loadrec"]["Tests"]] == ["STOPPED", "NOT_RUN"]
    assert second["Loadrec"]["Tests"][0]["StopReason"] == "stopped by user"
    assert describe(out / "run-1") == first  # an earlier run is never touched

    run = subprocess.run(
        [*LOADREC, "run", str(job), "--limits", "relaxed", "--out", str(tmp_path / "run"), *FAST],
        cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert shape_of(first) == shape_of(describe(tmp_path / "run"))


def test_ctrl_c_on_the_web_ui_stops_the_running_job_and_keeps_what_was_measured(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), {"MaxInvocations": 100000}, stairs=(60, 2, 1))
    out, port = tmp_path / "ui", free_port()
    base, opener = f"http://127.0.0.1:{port}", urllib.request.build_opener()
    with web_ui(job, out, port) as process:
        post(opener, f"{base}/loadrec/start", headers=PAGE)
        wait_until(opener, f"{base}/loadrec/status", lambda s: s["state"] == "running" and s["tests"][0].get("window"))
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=45) == 0
    body = describe(out / "run-1")
    assert body["Status"] == "STOPPED" and body["Loadrec"]["Tests"][0]["StopReason"] == "stopped by user"
    assert body["Loadrec"]["Tests"][0]["Invocations"] > 0


def test_workers_started_elsewhere_carry_the_load_and_the_page_says_how_many(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), LATENCY_STOP, stairs=(30, 5, 2))
    out, port, master_port = tmp_path / "ui", free_port(), free_port()
    base, opener = f"http://127.0.0.1:{port}", urllib.request.build_opener()
    master = (
        "--master",
        "--expect-workers",
        "1",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(master_port),
    )
    with web_ui(job, out, port, *master), workers(master_port, 1):
        post(opener, f"{base}/loadrec/start", headers=PAGE)
        carried = wait_until(
            opener, f"{base}/loadrec/status", lambda s: s.get("tests") and s["tests"][0].get("workers")
        )
        finished = wait_until(opener, f"{base}/loadrec/status", lambda s: s["state"] == "finished")
    assert carried["tests"][0]["workers"] == 1
    assert finished["status"] == "COMPLETED" and finished["tests"][0]["stop"] == "latency threshold"
    assert describe(out / "run-1")["Loadrec"]["Tests"][0]["WorkerProcesses"] == 1


def test_a_login_from_the_environment_protects_the_ui(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), LATENCY_STOP)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    credentials = {"LOADREC_WEB_USERNAME": "ops", "LOADREC_WEB_PASSWORD": "s3cret-pass"}
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with web_ui(job, tmp_path / "out", port, **credentials):
        assert opener.open(f"{base}/", timeout=5).url == f"{base}/login"  # sent to the login page
        for path in ("/loadrec/status", "/loadrec/runs/1/report.html"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                opener.open(f"{base}{path}", timeout=5)
            assert refused.value.code == 401
        post(opener, f"{base}/login", {"username": "ops", "password": "wrong"})
        with pytest.raises(urllib.error.HTTPError):
            opener.open(f"{base}/loadrec/status", timeout=5)
        post(opener, f"{base}/login", {"username": "ops", "password": "s3cret-pass"})
        assert get_json(opener, f"{base}/loadrec/status") == {"state": "ready"}


def test_a_non_loopback_bind_needs_a_login_or_the_explicit_flag(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), LATENCY_STOP)
    command = [*LOADREC, "ui", str(job), "--limits", "relaxed", "--host", "0.0.0.0"]
    env = environment()
    for name in ("LOADREC_WEB_USERNAME", "LOADREC_WEB_PASSWORD"):
        env.pop(name, None)
    refused = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.startswith("--host: 0.0.0.0 exposes the web UI beyond this machine")
    assert "LOADREC_WEB_USERNAME" in refused.stderr and "--insecure-no-auth" in refused.stderr


def stock_command(job: Path, out: Path, *extra: str) -> list[str]:
    command = [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--job", str(job), "--limits", "relaxed"]
    return [*command, "--results-dir", str(out), "--window", "4", "--evaluate-every", "1", *extra]


def test_stock_locust_s_web_ui_runs_one_configuration_with_the_recommender_tab(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), LATENCY_STOP, stairs=(30, 5, 2))
    port = free_port()
    base, opener = f"http://127.0.0.1:{port}", urllib.request.build_opener()
    command = stock_command(job, tmp_path / "stock", "--web-host", "127.0.0.1", "--web-port", str(port))
    process = subprocess.Popen(
        command, cwd=tmp_path, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert get_json(opener, f"{base}/loadrec/status")["state"] == "ready"
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "stock Locust did not start"
                time.sleep(0.2)
        started = post(opener, f"{base}/swarm", {"user_count": "1", "spawn_rate": "1"})
        assert started["success"] and "JobShape" in started["message"]
        status = wait_until(opener, f"{base}/loadrec/status", lambda s: s["state"] == "finished")
        stats = get_json(opener, f"{base}/stats/requests")
        first = describe(tmp_path / "stock")
        # New, then Start: a second test would write over the first's results; it is refused, no load sent
        again = post(opener, f"{base}/swarm", {"user_count": "1", "spawn_rate": "1"})
        refused = wait_until(opener, f"{base}/loadrec/status", lambda s: "refused" in s)
        time.sleep(2)
        after = get_json(opener, f"{base}/stats/requests")
    finally:
        # Stock Locust's own Ctrl-C path (what this test checks is above); SIGKILL after 30 s leaves no process
        stop_process(process, signal.SIGINT, 30)
    assert status["stop_reason"] == "latency threshold" and status["status"] == "COMPLETED"
    assert {row["item"] for row in status["conditions"]} >= {"P95 model latency (closest)", "endpoint errors"}
    tab = next(s for s in stats["extended_stats"] if s["key"] == "recommender")
    assert any(row["item"] == "stopped by" and row["value"] == "latency threshold" for row in tab["data"])
    body = describe(tmp_path / "stock")
    assert body["Status"] == "COMPLETED" and body["Loadrec"]["Tests"][0]["StopReason"] == "latency threshold"
    assert again["success"] and "start Locust again" in refused["refused"] and refused["state"] == "finished"
    assert body == first  # the first test's results, untouched
    # Locust clears its stats at a start: the refused one sent nothing in the 2 s that followed
    assert next(row["num_requests"] for row in after["stats"] if row["name"] == "Aggregated") == 0


def test_a_headless_stock_locust_run_writes_what_loadrec_run_writes(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), LATENCY_STOP, stairs=(30, 5, 2))
    stock = subprocess.run(
        stock_command(job, tmp_path / "stock", "--headless"), cwd=tmp_path, env=environment(), capture_output=True,
        text=True, timeout=90,
    )  # fmt: skip
    assert stock.returncode == 0, stock.stderr[-2000:]
    run = subprocess.run(
        [*LOADREC, "run", str(job), "--limits", "relaxed", "--out", str(tmp_path / "run"), *FAST],
        cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert shape_of(describe(tmp_path / "stock")) == shape_of(describe(tmp_path / "run"))
    assert (tmp_path / "stock" / "steps.json").exists() and (tmp_path / "stock" / "report.html").exists()


def test_a_stop_of_stock_locust_is_stopped(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), {"MaxInvocations": 100000}, stairs=(60, 2, 1))
    out = tmp_path / "stock"
    process = subprocess.Popen(
        stock_command(job, out, "--headless"), cwd=tmp_path, env=environment(), stderr=subprocess.DEVNULL
    )
    seconds = out / "tests" / "0" / "seconds.jsonl"
    deadline = time.monotonic() + 30
    while not seconds.exists() or len(seconds.read_text().splitlines()) < 5:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    body = describe(out)
    assert body["Status"] == "STOPPED" and body["Loadrec"]["Tests"][0]["StopReason"] == "stopped by user"
