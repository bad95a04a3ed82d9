"""Request-rate load (``Loadrec.RequestRate``) end to end, checked against servers that are not loadrec.

A constant rate is held within 2 % as ``tests.truth_server`` counts what arrived; Poisson
arrivals split over two load processes have the rate and the spread of a Poisson process;
when the sample endpoint cannot keep up, latency timed from the intended send times grows
second by second and the arrivals over the in-flight cap are counted as dropped.
"""

from __future__ import annotations

import itertools
import json
import statistics
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.jobs import http_target, loadrec, results, streaming_job, write_job
from tests.e2e.servers import sample_endpoint, truth_server

pytestmark = pytest.mark.e2e

FAST_ANSWER = ("--ttft-ms", "5", "--token-ms", "1", "--tokens", "4")


def arrivals(url: str) -> list[float]:
    """The epoch seconds at which the truth server read each request, since it was last asked."""
    with urllib.request.urlopen(f"{url}/truth", timeout=10) as answer:
        return sorted(json.load(answer)["arrived"])


def steady(times: list[float]) -> list[float]:
    """The arrivals between the first and the last whole second: the ramp and the stop left out."""
    return [t for t in times if times[0] + 1 <= t < times[-1] - 1]


def test_a_constant_rate_is_held_within_two_percent_as_the_server_counts_it(tmp_path: Path) -> None:
    """10 users at 20 requests a second each: 200 a second, one every 5 ms, where the server reads them."""
    rate = {"RequestRate": {"RequestsPerSecondPerUser": 20}}
    with truth_server(*FAST_ANSWER) as url:
        job = streaming_job(tmp_path, url, users=10, seconds=12, extension=rate)
        done = loadrec(job, tmp_path / "out")
        served = arrivals(url)
    assert done.returncode == 0, done.stderr[-2000:]
    held = steady(served)
    per_second = len(held) / (held[-1] - held[0])
    assert abs(per_second - 200) <= 4, per_second  # within 2 % of the asked-for rate, by the server's clock
    _, test, timeline = results(tmp_path / "out")
    figures = test["RequestRate"]
    assert figures["RequestsPerSecondPerUser"] == 20 and figures["Arrivals"] == "Constant"
    assert figures["Dropped"] == 0 and timeline["dropped"].sum() == 0
    # Every request loadrec answered reached the server; those cut off in flight at the stop may have or not.
    answered = figures["Sent"] - figures["InFlightAtStop"]
    assert answered <= len(served) <= figures["Sent"], (figures["Sent"], figures["InFlightAtStop"], len(served))
    window = figures["MeasuredWindow"]
    assert window["TargetPerMinute"] == 12000
    assert abs(window["AnsweredPerMinute"] - 12000) <= 240, window
    assert figures["SendLatenessMs"]["P50"] < 20  # the sends went out on time


def test_poisson_arrivals_split_over_two_processes_have_a_poisson_rate_and_spread(tmp_path: Path) -> None:
    """Exponential gaps: their mean is 1/rate and their coefficient of variation 1 (a constant rate's is 0)."""
    rate = {"RequestRate": {"RequestsPerSecondPerUser": 15, "Arrivals": "Poisson"}}
    with truth_server(*FAST_ANSWER) as url:
        job = streaming_job(tmp_path, url, users=10, seconds=12, extension=rate)
        done = loadrec(job, tmp_path / "out", "--processes", "2")
        served = steady(arrivals(url))
    assert done.returncode == 0, done.stderr[-2000:]
    per_second = len(served) / (served[-1] - served[0])
    # About 1,500 arrivals: a Poisson count's standard deviation is under 3 % of it; 8 % is over 2.5 of them.
    assert abs(per_second - 150) <= 12, per_second
    gaps = [b - a for a, b in itertools.pairwise(served)]
    spread = statistics.pstdev(gaps) / statistics.fmean(gaps)
    assert 0.8 <= spread <= 1.2, spread
    _, test, timeline = results(tmp_path / "out")
    assert test["RequestRate"]["Arrivals"] == "Poisson" and test["RequestRate"]["Dropped"] == 0
    assert timeline["workers"].max() == 2  # both processes sent their share


def test_an_endpoint_that_cannot_keep_up_shows_latency_growing_and_drops_at_the_cap(tmp_path: Path) -> None:
    """100 requests a second asked of 40 a second's capacity (2 slots of 50 ms), at most 150 in flight.

    A closed-loop test would show a flat latency (its users wait for the answers); here the
    queue grows by about 60 requests a second until the cap (about 2.5 s), latency timed from
    the intended send times with it, then the arrivals the cap refuses are dropped and counted.
    """
    rate = {"RequestRate": {"RequestsPerSecondPerUser": 20, "MaxRequestsInFlight": 150}}
    stopping = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 60000}]}
    with sample_endpoint(workers=2, service_ms=50) as url:
        job = write_job(tmp_path, http_target(url), stopping, stairs=(10, 1, 5), extension=rate)
        done = loadrec(job, tmp_path / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "arrivals of the measured window were dropped at MaxRequestsInFlight 150" in done.stdout
    _, test, timeline = results(tmp_path / "out")
    answered = timeline[timeline["invocations"] > 0]
    first, rising = answered["p50_ms"].iloc[0], answered["p50_ms"].iloc[2]
    assert rising > first + 500, answered["p50_ms"].tolist()  # seconds of queue, not the 50 ms service time
    assert answered["p50_ms"].iloc[-1] > 2000  # the cap's queue: 150 in flight at 40 a second, about 3.75 s
    figures = test["RequestRate"]
    # What was not sent was dropped: together they are the 100 a second asked for, over the 10 s.
    assert figures["Dropped"] > 200 and timeline["dropped"].sum() == figures["Dropped"]
    assert abs(figures["Sent"] + figures["Dropped"] - 1000) <= 30, figures  # Sent: the cut-off 150 too
    assert 100 <= figures["InFlightAtStop"] <= 150
    assert figures["MeasuredWindow"]["Dropped"] > 0
    assert figures["MeasuredWindow"]["AnsweredPerMinute"] < 0.6 * figures["MeasuredWindow"]["TargetPerMinute"]
