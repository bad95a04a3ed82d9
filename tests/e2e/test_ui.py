"""``loadrec ui``: the Locust web UI driven over HTTP, the monitor stopping the run, and the bind policy."""

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
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.jobs import FAST, LOADREC, environment, http_target, write_job
from tests.e2e.moto import free_port
from tests.e2e.servers import web_ui

pytestmark = pytest.mark.e2e

LOCUSTFILE = str(importlib.util.find_spec("loadrec.engine.locust_plugin.locustfile").origin)  # type: ignore[union-attr]
LATENCY_STOP = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 90}]}


def get_json(opener: urllib.request.OpenerDirector, url: str) -> Any:
    with opener.open(url, timeout=5) as response:
        return json.loads(response.read())


def post(opener: urllib.request.OpenerDirector, url: str, form: dict[str, str]) -> Any:
    data = urllib.parse.urlencode(form).encode()
    with opener.open(url, data=data, timeout=5) as response:
        return response.read()


def wait_for(opener: urllib.request.OpenerDirector, base: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    status = get_json(opener, f"{base}/loadrec/status")
    while status["state"] != state:
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
        status = get_json(opener, f"{base}/loadrec/status")
    return dict(status)


def describe(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "describe.json").read_text()))


def shape_of(body: dict[str, Any]) -> tuple[Any, ...]:
    """What must match across entry points: the keys, the Loadrec keys, the statuses."""
    tests = body["Loadrec"]["Tests"]
    return (sorted(body), sorted(body["Loadrec"]), body["Status"], [t["Status"] for t in tests])


def stock_command(job: Path, out: Path) -> list[str]:
    command = [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--job", str(job), "--limits", "relaxed"]
    return [*command, "--headless", "--results-dir", str(out), "--window", "4", "--evaluate-every", "1"]


def test_the_web_ui_writes_what_loadrec_run_and_stock_locust_write(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), LATENCY_STOP, stairs=(30, 5, 2))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener()
    with web_ui(job, tmp_path / "ui", port):
        assert get_json(opener, f"{base}/loadrec/status")["state"] == "ready"
        started = json.loads(post(opener, f"{base}/swarm", {"user_count": "1", "spawn_rate": "1"}))
        assert started["success"] and "JobShape" in started["message"]
        status = wait_for(opener, base, "finished")
        stats = get_json(opener, f"{base}/stats/requests")
        ui = describe(tmp_path / "ui")
        # a second Start, stopped by a person: STOPPED, as Ctrl-C is for loadrec run
        post(opener, f"{base}/swarm", {"user_count": "1", "spawn_rate": "1"})
        wait_for(opener, base, "running")
        time.sleep(1)
        post(opener, f"{base}/stop", {})
        stopped = wait_for(opener, base, "finished")
        ui_stopped = describe(tmp_path / "ui")
    assert status["stop_reason"] == "latency threshold"
    assert {row["item"] for row in status["conditions"]} >= {"P95 latency", "failures in window"}
    assert status["status"] == "COMPLETED" and status["recommendations"]
    tab = next(s for s in stats["extended_stats"] if s["key"] == "recommender")
    assert any(row["item"] == "stopped by" and row["value"] == "latency threshold" for row in tab["data"])
    assert ui["Loadrec"]["Tests"][0]["StopReason"] == "latency threshold"
    assert (tmp_path / "ui" / "timeline.csv").exists() and (tmp_path / "ui" / "report.html").exists()
    assert stopped["stop_reason"] == "stopped by user" and stopped["status"] == "STOPPED"
    assert ui_stopped["Status"] == "STOPPED" and ui_stopped["Loadrec"]["Tests"][0]["Status"] == "STOPPED"

    run = subprocess.run(
        [*LOADREC, "run", str(job), "--limits", "relaxed", "--out", str(tmp_path / "run"), *FAST],
        cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    stock = subprocess.run(
        stock_command(job, tmp_path / "stock"), cwd=tmp_path, env=environment(), capture_output=True, text=True,
        timeout=90,
    )  # fmt: skip
    assert stock.returncode == 0, stock.stderr[-2000:]
    bodies = [ui, describe(tmp_path / "run"), describe(tmp_path / "stock")]
    assert shape_of(bodies[0]) == shape_of(bodies[1]) == shape_of(bodies[2])
    for body in bodies:
        assert body["Status"] == "COMPLETED" and body["Loadrec"]["TopRecommendation"]["Index"] == 0
        assert body["Loadrec"]["Tests"][0]["StopReason"] == "latency threshold"
    assert (tmp_path / "stock" / "steps.json").exists() and (tmp_path / "stock" / "report.html").exists()


def test_a_stop_of_stock_locust_is_stopped(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), {"MaxInvocations": 100000}, stairs=(60, 2, 1))
    out = tmp_path / "stock"
    process = subprocess.Popen(stock_command(job, out), cwd=tmp_path, env=environment(), stderr=subprocess.DEVNULL)
    seconds = out / "tests" / "0" / "seconds.jsonl"
    deadline = time.monotonic() + 30
    while not seconds.exists() or len(seconds.read_text().splitlines()) < 5:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    body = describe(out)
    assert body["Status"] == "STOPPED" and body["Loadrec"]["Tests"][0]["StopReason"] == "stopped by user"


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
    command = [*LOADREC, "ui", str(job), "--limits", "relaxed", "--host", "0.0.0.0"]
    env = environment()
    for name in ("LOADREC_WEB_USERNAME", "LOADREC_WEB_PASSWORD"):
        env.pop(name, None)
    refused = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.startswith("--host: 0.0.0.0 exposes the web UI beyond this machine")
    assert "LOADREC_WEB_USERNAME" in refused.stderr and "--insecure-no-auth" in refused.stderr
