"""Goodput end to end: when TTFT crosses its SLO the share of good requests falls, and the test stops on it.

The sample endpoint streams from 2 slots; each answer holds one for 40 ms to its first
token and 15 × 4 ms more. 2 users never wait (TTFT about 40 ms); 4 users wait about an
answer each for a slot (TTFT about 140 ms), past the 100 ms SLO.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.jobs import loadrec, results, streaming_job
from tests.e2e.servers import sample_endpoint

pytestmark = pytest.mark.e2e


def test_goodput_falls_when_ttft_crosses_its_slo_and_the_test_stops_on_attainment(tmp_path: Path) -> None:
    slo = {"Slo": {"TimeToFirstTokenMs": 100, "MinAttainmentPercent": 90}}
    llm = ("--ttft-ms", "40", "--token-ms", "4", "--answer-tokens", "16")
    with sample_endpoint(2, 20, 0.0, *llm) as url:
        job = streaming_job(tmp_path, url, users=2, seconds=24, extension=slo, steps=3)
        done = loadrec(job, tmp_path / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    _, test, timeline = results(tmp_path / "out")
    assert test["StopReason"] == "SLO attainment", test
    answered = timeline[timeline["invocations"] > 0]
    share = answered["good"] / (answered["invocations"] + answered["failures"])
    two, four = share[answered["users"] == 2], share[answered["users"] == 4]
    assert len(two) >= 4 and two.iloc[1:].min() >= 0.9, two.tolist()  # TTFT about 40 ms: good
    # About 140 ms: past the SLO. The stop comes within a second or two of the step (a 4 s window of which one
    # second is bad is under 90 % already), so one second at 4 users may be all there is.
    assert len(four) >= 1 and four.min() < 0.5, four.tolist()
    goodput = test["Goodput"]
    assert goodput["AttainmentPercent"] >= 90  # the measured window held the SLO (2 users)
    assert goodput["GoodOutputTokensPerSecond"] > 0 and goodput["Slo"] == slo["Slo"]
    assert "SLO met by" in done.stdout
