"""Figures loadrec can vouch for, end to end: a starved generator is flagged (and FAILED with --strict), ITL
survives a server that coalesces tokens, and a test evaluated less often than it lasts still has its figures.

The streaming server is ``tests.truth_server``, written apart from loadrec: it times what it served."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.jobs import http_target, loadrec, results, streaming_job, write_job
from tests.e2e.servers import truth_server

pytestmark = pytest.mark.e2e


def test_a_starved_generator_is_flagged_everywhere_and_fails_under_strict(tmp_path: Path) -> None:
    """One load process, 200 users, 10,000 tokens a second each: far more events than one process reads."""
    # 32 tokens to a write keep the server cheap (a few thousand writes a second) while the client
    # parses every event: the generator, not the server, runs out of CPU even on a busy machine.
    with truth_server("--ttft-ms", "5", "--token-ms", "0.1", "--tokens", "256", "--per-write", "32") as url:
        job = streaming_job(tmp_path, url, users=200, seconds=12)
        flagged = loadrec(job, tmp_path / "out", "--processes", "0")
        strict = loadrec(job, tmp_path / "strict", "--processes", "0", "--strict")
    assert flagged.returncode == 0, flagged.stderr[-2000:]
    assert "GENERATOR-BOUND" in flagged.stdout  # the progress lines and the table
    assert "WARNING: the measured window is GENERATOR-BOUND" in flagged.stdout
    _, test, timeline = results(tmp_path / "out")
    window = test["GeneratorHealth"]["MeasuredWindow"]
    assert window["GeneratorBound"] is True and window["BoundSeconds"] > 0
    assert window["Reasons"] and "--processes N" in window["Advice"]
    assert test["Status"] == "COMPLETED" and test["GeneratorHealth"]["Test"]["GeneratorBound"] is True
    bound = timeline[timeline["generator_bound"]]
    # On a machine busy with other work the process gets less CPU, but its loop then lags: some figure
    # past its limit explains every bound second, whichever it is.
    past = (bound["cpu_percent"] >= 90) | (bound["loop_lag_ms"] >= 50) | (bound["send_delay_ms"] >= 50)
    assert len(bound) > 0 and past.all(), bound.to_dict("records")
    assert strict.returncode == 1, strict.stdout[-2000:]
    _, strict_test, _ = results(tmp_path / "strict")
    assert strict_test["Status"] == "FAILED" and "--strict" in strict_test["FailureReason"]


def test_itl_is_the_servers_token_spacing_when_tokens_arrive_four_to_a_write(tmp_path: Path) -> None:
    with truth_server("--ttft-ms", "50", "--token-ms", "30", "--tokens", "64", "--per-write", "4") as url:
        job = streaming_job(tmp_path, url, users=8, seconds=10)
        done = loadrec(job, tmp_path / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    _, test, timeline = results(tmp_path / "out")
    itl = timeline["itl_p50_ms"].dropna()
    assert len(itl) >= 5 and (itl > 0).all()
    assert abs(itl.median() - 30.0) <= 3.0, itl.tolist()  # within 10 % of the real spacing
    assert abs(test["InterTokenLatencyMs"] - 30.0) <= 3.0
    assert test["GeneratorHealth"]["MeasuredWindow"]["GeneratorBound"] is False


def test_a_test_evaluated_less_often_than_it_lasts_still_reports_its_figures(tmp_path: Path, endpoint: str) -> None:
    stopping = {"MaxInvocations": 30000, "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 5000}]}
    job = write_job(tmp_path, http_target(endpoint), stopping, stairs=(20, 2, 1))
    done = loadrec(job, tmp_path / "out", "--evaluate-every", "1000")
    assert done.returncode == 0, done.stderr[-2000:]
    body, test, _ = results(tmp_path / "out")
    assert test["Status"] == "COMPLETED" and test["StopReason"] == "pattern complete"
    metrics = body["InferenceRecommendations"][0]["Metrics"]
    assert metrics["MaxInvocations"] > 0 and metrics["ModelLatency"] > 0
