"""``loadrec ui``: the Locust web UI driven over HTTP, the monitor stopping the run, and the bind policy."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.moto import fake_aws_env, free_port
from tests.e2e.servers import ROOT, sample_endpoint
from tests.e2e.test_run import http_target, write_job

pytestmark = pytest.mark.e2e

LATENCY_STOP = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 90}]}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with sample_endpoint(workers=2, service_ms=50) as url:
        yield url


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, **fake_aws_env(), "SAMPLE_API_KEY": "not-a-secret", **extra}


@contextmanager
def web_ui(job: Path, out: Path, port: int, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "engine.cli", "ui", str(job), "--limits", "relaxed", "--port", str(port)]
    command += ["--out", str(out), "--window", "4", "--evaluate-every", "1"]
    process = subprocess.Popen(command, cwd=ROOT, env=environment(**env), stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # it answers (a login redirect, say): it is up
            except OSError:
                assert process.poll() is None, "the web UI exited before listening"
                assert time.monotonic() < deadline, "the web UI did not start"
                time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def get_json(opener: urllib.request.OpenerDirector, url: str) -> Any:
    with opener.open(url, timeout=5) as response:
        return json.loads(response.read())


def post(opener: urllib.request.OpenerDirector, url: str, form: dict[str, str]) -> Any:
    data = urllib.parse.urlencode(form).encode()
    with opener.open(url, data=data, timeout=5) as response:
        return response.read()


def test_the_monitor_stops_a_run_started_in_the_web_ui(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), LATENCY_STOP, stairs=(30, 5, 2))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener()
    with web_ui(job, tmp_path / "out", port):
        assert get_json(opener, f"{base}/loadrec/status")["state"] == "ready"
        started = json.loads(post(opener, f"{base}/swarm", {"user_count": "1", "spawn_rate": "1"}))
        assert started["success"] and "JobShape" in started["message"]
        deadline = time.monotonic() + 60
        status = get_json(opener, f"{base}/loadrec/status")
        while status["state"] != "finished":
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
            status = get_json(opener, f"{base}/loadrec/status")
        stats = get_json(opener, f"{base}/stats/requests")
    assert status["stop_reason"] == "latency threshold"
    assert {row["item"] for row in status["conditions"]} >= {"P95 latency", "failures in window"}
    assert status["status"] == "COMPLETED" and status["recommendations"]
    tab = next(s for s in stats["extended_stats"] if s["key"] == "recommender")
    assert any(row["item"] == "stopped by" and row["value"] == "latency threshold" for row in tab["data"])
    describe = json.loads((tmp_path / "out" / "describe.json").read_text())
    assert describe["Loadrec"]["Tests"][0]["StopReason"] == "latency threshold"
    assert (tmp_path / "out" / "timeline.csv").exists() and (tmp_path / "out" / "report.html").exists()


def test_a_login_from_the_environment_protects_the_ui(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), LATENCY_STOP)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    credentials = {"LOADREC_WEB_USERNAME": "ops", "LOADREC_WEB_PASSWORD": "s3cret-pass"}
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with web_ui(job, tmp_path / "out", port, **credentials):
        page = opener.open(f"{base}/loadrec/status", timeout=5)
        assert page.url.startswith(f"{base}/login")  # sent to the login page, no status
        post(opener, f"{base}/loadrec/login", {"username": "ops", "password": "wrong"})
        assert opener.open(f"{base}/loadrec/status", timeout=5).url.startswith(f"{base}/login")
        post(opener, f"{base}/loadrec/login", {"username": "ops", "password": "s3cret-pass"})
        assert get_json(opener, f"{base}/loadrec/status")["state"] == "ready"


def test_a_non_loopback_bind_needs_a_login_or_the_explicit_flag(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), LATENCY_STOP)
    command = [sys.executable, "-m", "engine.cli", "ui", str(job), "--limits", "relaxed", "--host", "0.0.0.0"]
    env = environment()
    for name in ("LOADREC_WEB_USERNAME", "LOADREC_WEB_PASSWORD"):
        env.pop(name, None)
    refused = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.startswith("--host: 0.0.0.0 exposes the web UI beyond this machine")
    assert "LOADREC_WEB_USERNAME" in refused.stderr and "--insecure-no-auth" in refused.stderr


def test_stock_locust_runs_the_job_headless(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), LATENCY_STOP, stairs=(20, 4, 2))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "locust", "-f", "engine/locustfile.py", "--job", str(job), "--limits", "relaxed"]
    command += ["--headless", "--results-dir", str(out), "--window", "4", "--evaluate-every", "1"]
    run = subprocess.run(command, cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr[-2000:]
    describe = json.loads((out / "describe.json").read_text())
    assert describe["Status"] == "COMPLETED"
    assert describe["Loadrec"]["Tests"][0]["StopReason"] == "latency threshold"
    assert (out / "steps.json").exists() and (out / "report.html").exists()
