"""``--metrics-port`` end to end: a real run's metrics scraped mid-run over HTTP and parsed with
prometheus_client's parser; an address that cannot be bound refused before any load."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.jobs import environment, http_target, run_command, write_job
from tests.e2e.moto import free_port
from tests.e2e.servers import web_ui
from tests.e2e.test_ui import PAGE, post, wait_until

pytestmark = pytest.mark.e2e

STOPPING = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 5000}]}
SCRAPE_DEADLINE_S = 40


def scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_a_run_is_scraped_while_it_runs(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), STOPPING, stairs=(16, 2, 1))
    command = run_command(job, tmp_path / "out", "--metrics-port", "0")
    with subprocess.Popen(command, cwd=tmp_path, env=environment(), stdout=subprocess.PIPE, text=True) as run:
        assert run.stdout is not None
        first = run.stdout.readline()
        assert first.startswith("metrics on http://127.0.0.1:"), first
        url = first.split()[-1]
        deadline, seen = time.monotonic() + SCRAPE_DEADLINE_S, []
        while time.monotonic() < deadline and len(seen) < 2:
            found = scrape(url)
            invocations = found.get("loadrec_invocations_total", {})
            if invocations and next(iter(invocations.values())) > 0:
                seen.append(found)
            time.sleep(1)
        rest, _ = run.communicate(timeout=90)
    assert run.returncode == 0, rest
    assert len(seen) == 2, "no scrape saw the test running"
    key = (("configuration", "ml.c5.large"), ("test", "0"))
    early, later = seen
    assert early["loadrec_test_status"][(*key[:1], ("status", "IN_PROGRESS"), key[1])] == 1
    assert later["loadrec_invocations_total"][key] >= early["loadrec_invocations_total"][key]
    assert later["loadrec_latency_seconds_count"][key] == later["loadrec_invocations_total"][key]
    assert 1 <= later["loadrec_target_users"][key] <= 2
    assert later["loadrec_monitor_latency_threshold_seconds"][(("quantile", "0.95"),)] == 5.0
    assert json.loads((tmp_path / "out" / "describe.json").read_text())["Status"] == "COMPLETED"
    timeline = (tmp_path / "out" / "timeline.csv").read_text().splitlines()
    assert later["loadrec_invocations_total"][key] <= _successes(timeline)  # a scrape never counts ahead


def _successes(csv_lines: list[str]) -> int:
    heads = csv_lines[0].split(",")
    column = heads.index("invocations")
    return sum(int(float(line.split(",")[column])) for line in csv_lines[1:] if line)


def test_a_metrics_port_in_use_is_refused_before_any_load(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), STOPPING, stairs=(4, 1, 1))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(run_command(job, tmp_path / "out", "--metrics-port", str(port)), cwd=tmp_path,
                             env=environment(), capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 2
    (line,) = run.stderr.splitlines()
    assert line.startswith(f"--metrics-host/--metrics-port: cannot listen on 127.0.0.1:{port} (")
    assert not (tmp_path / "out").exists()


def test_the_web_ui_exposes_each_start_s_run(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), STOPPING, stairs=(6, 2, 1))
    port, metrics_port = free_port(), free_port()
    base, opener, metrics = (
        f"http://127.0.0.1:{port}",
        urllib.request.build_opener(),
        f"http://127.0.0.1:{metrics_port}/metrics",
    )
    key = (("configuration", "ml.c5.large"), ("test", "0"))
    with web_ui(job, tmp_path / "ui", port, "--metrics-port", str(metrics_port)):
        before = scrape(metrics)
        assert "loadrec_invocations_total" not in before  # no run yet: the job's conditions only
        assert before["loadrec_monitor_latency_threshold_seconds"] == {(("quantile", "0.95"),): 5.0}
        post(opener, f"{base}/loadrec/start", headers=PAGE)
        wait_until(opener, f"{base}/loadrec/status", lambda s: s["state"] == "finished")
        after = scrape(metrics)
    assert after["loadrec_invocations_total"][key] > 0
    assert after["loadrec_test_status"][(key[0], ("status", "COMPLETED"), key[1])] == 1
