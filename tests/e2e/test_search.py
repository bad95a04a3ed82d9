"""The search end to end: it finds the sample endpoint's known knee within its tolerance, and says both times.

The sample endpoint serves from 2 slots, each request holding one for 50 ms. Closed loop,
N users wait about (N / 2) × 50 ms each: 4 users 100 ms, 5 users 125 ms and more, so with
P95 at most 120 ms the knee is 4 users (the most whose wait fits: 2 slots × 120 // 50).
Open loop at 10 requests a second a user, the endpoint's 40 a second are reached at 4 users:
3 users (30 a second) are served at once, 4 and beyond queue without end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.jobs import http_target, loadrec, results, write_job
from tests.e2e.servers import sample_endpoint

pytestmark = pytest.mark.e2e

SLOTS, SERVICE_MS, P95_MS = 2, 50.0, 120
CAPACITY_PER_MINUTE = SLOTS * 60_000 / SERVICE_MS
STOPPING = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": P95_MS}]}


@pytest.mark.parametrize(
    ("extension", "processes", "knee", "answered_per_s"),
    [
        ({}, "0", SLOTS * P95_MS // int(SERVICE_MS), None),  # closed loop: 4 users
        ({"RequestRate": {"RequestsPerSecondPerUser": 10}}, "2", 3, 30.0),  # open loop, two load processes
    ],
    ids=["users", "request-rate"],
)
def test_the_search_finds_the_sample_endpoints_knee_and_says_both_times(
    tmp_path: Path, extension: dict[str, object], processes: str, knee: int, answered_per_s: float | None
) -> None:
    search = {"Search": {"MinUsers": 2, "MaxUsers": 16, "TolerancePercent": 5, "ProbeSeconds": 5}}
    with sample_endpoint(SLOTS, SERVICE_MS) as url:
        job = write_job(tmp_path, http_target(url), STOPPING, extension={**search, **extension})
        done = loadrec(job, tmp_path / "out", "--processes", processes)
    assert done.returncode == 0, done.stderr[-2000:]
    body, test, timeline = results(tmp_path / "out")
    assert test["StopReason"] == "search complete", test
    found = test["Search"]
    # 2 and 4 users, then 8 misses, 6 and 5 bisect (3 passes then 4 misses, 3 ends it open loop): within 5 %.
    assert found["AnswerUsers"] == knee and found["Complete"] and not found["AtCeiling"], found
    assert [p["Passed"] for p in found["Probes"]] == [p["Users"] <= knee for p in found["Probes"]], found
    assert found["Probes"][0]["Users"] == 2 and len(found["Probes"]) <= 6
    if answered_per_s is not None:
        assert found["AnswerRequestsPerSecond"] == answered_per_s
    # Both times, the search's spent and the STAIRS of its resolution (1 user) from 2 to the first miss, 5 s a level.
    assert found["SearchSeconds"] >= 5 * len(found["Probes"]) and found["StairsSecondsForSameResolution"] == 5 * knee
    # The figures come from the passing probe with the most invocations, as the timeline shows it served.
    metrics = body["InferenceRecommendations"][0]["Metrics"]
    assert metrics["ModelLatency"] <= P95_MS * 1000
    best = max(p["InvocationsPerMinute"] for p in found["Probes"] if p["Passed"])
    assert metrics["MaxInvocations"] == round(best) <= CAPACITY_PER_MINUTE * 1.02
    assert set(timeline["users"]) >= {p["Users"] for p in found["Probes"]}  # each probe's users ran
    assert f"search: {knee} users held the thresholds" in done.stdout
