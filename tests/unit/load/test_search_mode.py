"""The Loadrec key's Search: parsed with its defaults, every bad value named on its own line; each probe's
verdict; the live monitor judging probes on an injected clock (a stand-in runner, windows judged in place);
the search's record as describe.json shows it and result.json reads it back."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.search_key import SearchKey
from loadrec.engine.job.spec import JobSpecError, LatencyThreshold, StoppingConditions, parse_job
from loadrec.engine.load.live_monitor import LiveMonitor, Watch
from loadrec.engine.measurement.metrics import Timeline, WindowStats
from loadrec.engine.measurement.monitor import MonitorSettings, StopReason
from loadrec.engine.measurement.outcome import Status, failure_reason, measure, status_of
from loadrec.engine.measurement.probes import ProbeResult, SearchFigures, verdict
from loadrec.engine.measurement.recording import SecondRecorder
from loadrec.engine.results.model import Benchmark
from loadrec.shapes.schedule import Stairs, TrafficPattern, build_schedule
from loadrec.shapes.search import Search
from tests.conftest import VALID_REQUEST

START = 1_800_000_000
P95_120 = StoppingConditions(latency=LatencyThreshold("P95", 95.0, 120))


def job_with(search: Any, stopping: Any = None) -> dict[str, Any]:
    request = copy.deepcopy(VALID_REQUEST)
    request.setdefault("Loadrec", {})["Search"] = search
    if stopping is not None:
        request["StoppingConditions"] = stopping
    return request


def problems(search: Any, stopping: Any = None) -> list[str]:
    with pytest.raises(JobSpecError) as raised:
        parse_job(job_with(search, stopping), LimitsMode.RELAXED)
    return [str(problem) for problem in raised.value.problems]


def test_max_users_alone_takes_the_defaults_and_the_spec_peaks_at_it() -> None:
    spec = parse_job(job_with({"MaxUsers": 64}), LimitsMode.AWS)
    assert spec.extension.search == SearchKey(64, 1, 5.0, 30)
    assert spec.peak_users == 64 and spec.schedule.peak_users != 64  # the pattern does not run
    search = spec.new_search()
    assert search is not None and (search.low, search.high, search.tolerance, search.probe_s) == (1, 64, 0.05, 30)
    assert spec.new_search() is not search  # each test runs its own
    raw = {"MinUsers": 2, "MaxUsers": 10, "TolerancePercent": 2.5, "ProbeSeconds": 4}
    assert parse_job(job_with(raw), LimitsMode.AWS).extension.search.to_dict() == raw  # type: ignore[union-attr]


def test_without_the_key_the_pattern_runs() -> None:
    spec = parse_job(copy.deepcopy(VALID_REQUEST), LimitsMode.RELAXED)
    assert spec.new_search() is None and spec.peak_users == spec.schedule.peak_users


S = "Loadrec.Search"
BAD_VALUES = [
    ([], [f"{S}: [] is an array, expected an object"]),
    ({}, [f"{S}.MaxUsers: is required"]),
    ({"MaxUsers": 0}, [f"{S}.MaxUsers: 0 is below the minimum of 1"]),
    ({"MaxUsers": 100_001}, [f"{S}.MaxUsers: 100001 is above the maximum of 100,000"]),
    ({"MaxUsers": 8.5}, [f"{S}.MaxUsers: 8.5 is a number, expected an integer"]),
    ({"MaxUsers": True}, [f"{S}.MaxUsers: true is a boolean, expected an integer"]),
    ({"MaxUsers": 8, "MinUsers": 9}, [f"{S}.MinUsers: 9 is more than MaxUsers (8)"]),
    ({"MaxUsers": 8, "MinUsers": 0}, [f"{S}.MinUsers: 0 is below the minimum of 1"]),
    ({"MaxUsers": 8, "TolerancePercent": 0}, [f"{S}.TolerancePercent: 0 must be above 0"]),
    ({"MaxUsers": 8, "TolerancePercent": "5"}, [f'{S}.TolerancePercent: "5" is a string, expected a number']),
    ({"MaxUsers": 8, "TolerancePercent": 51}, [f"{S}.TolerancePercent: 51 is above the maximum of 50"]),
    ({"MaxUsers": 8, "ProbeSeconds": 3}, [f"{S}.ProbeSeconds: 3 is below the minimum of 4"]),
    ({"MaxUsers": 8, "ProbeSeconds": 10**400}, [f"{S}.ProbeSeconds: 1000000"]),
    ({"MaxUsers": 8, "Users": 3}, [f"{S}.Users: unknown field (allowed here: MinUsers, MaxUsers,"]),
]


@pytest.mark.parametrize(("search", "expected"), BAD_VALUES)
def test_each_bad_value_is_one_line_naming_its_field(search: Any, expected: list[str]) -> None:
    found = problems(search)
    assert len(found) == len(expected), found
    for line, wanted in zip(found, expected, strict=True):
        assert wanted in line, found
    assert all("\n" not in line and len(line) < 300 for line in found)


def test_a_search_with_nothing_to_judge_by_is_refused_and_each_threshold_is_one() -> None:
    found = problems({"MaxUsers": 8}, {"MaxInvocations": 1000})
    named = "Loadrec.StoppingConditions.TokenLatencyThresholds or Loadrec.Slo.MinAttainmentPercent"
    assert found == [f"{S}: has nothing to judge a probe by: give StoppingConditions.ModelLatencyThresholds, {named}"]
    request = job_with({"MaxUsers": 8}, {"MaxInvocations": 1000})
    request["Loadrec"]["Slo"] = {"EndToEndMs": 100}  # goodput only: no share to keep, nothing to judge
    with pytest.raises(JobSpecError):
        parse_job(request, LimitsMode.RELAXED)
    request["Loadrec"]["Slo"]["MinAttainmentPercent"] = 90
    assert parse_job(request, LimitsMode.RELAXED).extension.search is not None


def window(successes: int, failures: int, p95_ms: float | None) -> WindowStats:
    return WindowStats(10, 13, successes, failures, 4, {95.0: p95_ms})


@pytest.mark.parametrize(
    ("successes", "failures", "p95", "expected"),
    [
        (100, 0, 119.9, (True, "")),
        (100, 0, 120.0, (True, "")),  # at the threshold: held, as the monitor holds it
        (100, 0, 120.1, (False, "P95 120.1 ms > 120 ms")),
        (50, 50, 100.0, (True, "")),  # half failed: the monitor's error ratio allows it
        (49, 51, 100.0, (False, "51 of 100 requests failed")),
        (0, 0, None, (False, "no successful invocation in 3 s")),
    ],
)
def test_a_probe_passes_only_when_every_threshold_held_and_most_requests_succeeded(
    successes: int, failures: int, p95: float | None, expected: tuple[bool, str]
) -> None:
    assert verdict(window(successes, failures, p95), P95_120, MonitorSettings()) == expected


class RunningRunner:
    """What the monitor reads of a Locust runner under load; a stop is only noted."""

    state = "running"
    user_count = 0
    stops = 0

    def stop(self) -> None:
        self.stops += 1


def test_the_monitor_judges_each_probe_on_its_second_half_and_stops_when_the_search_is_over() -> None:
    """An endpoint whose P95 is 100 ms up to 4 users and 200 ms beyond: the search answers 4, its measured
    window is the 4-user probe's."""
    search = Search(1, 32, 0.05, probe_s=6)
    timeline, lines = Timeline(START), []
    schedule = build_schedule(TrafficPattern("STAIRS", stairs=Stairs(20, 1, 4)))
    runner: Any = RunningRunner()
    settings = MonitorSettings(window_s=4, evaluate_every_s=1)
    watch = Watch(schedule, P95_120, settings, lines.append, clock=lambda: START, search=search)
    monitor = LiveMonitor(runner, timeline, watch, off_loop=lambda work: work())
    now = 0
    search.start(0.0)  # as the shape does at its first tick
    while (users := search.users()) is not None:
        for second in range(now, now + 6):  # the probe's seconds: its first half slow (users starting), then steady
            recorder = SecondRecorder(lambda at=second: START + at + 0.5)
            latency_us = 100_000 if users <= 4 and second >= now + 3 else 200_000
            for _ in range(20 * users):
                recorder.record_success(latency_us)
            timeline.add(s.to_wire() for s in recorder.take_all())
        monitor.judge_probe(now + 5)  # not yet due: nothing judged
        assert len(monitor.probes) == len(search.probes) - 1
        now += 6
        monitor.judge_probe(now)
    assert [(p.users, p.passed) for p in monitor.probes] == [
        (1, True), (2, True), (4, True), (8, False), (6, False), (5, False)
    ]  # fmt: skip
    assert (
        monitor.reason is StopReason.SEARCH_COMPLETE
        and monitor.detail == "4 users held the thresholds; 5 users did not"
    )
    assert [p.start for p in monitor.probes] == [0, 6, 12, 18, 24, 30] and monitor.probes[-1].end == 36
    assert all(w.span_s == 3 and w.end - w.start == 3 for w in monitor.probe_windows)
    assert "probe 4: 8 users missed (P95 200.1 ms > 120 ms)" in "\n".join(lines) and runner.stops == 0  # spawned
    measured = measure(monitor.probe_windows, P95_120, MonitorSettings(window_s=4))
    assert measured is not None and measured.invocations_per_minute == 80 * 60 and measured.latency_ms == pytest.approx(
        100.0, rel=0.01
    )  # fmt: skip


def test_a_search_whose_first_probe_fails_ends_failed_saying_why() -> None:
    search = Search(2, 32, 0.05, probe_s=4)
    timeline = Timeline(START)
    runner: Any = RunningRunner()
    schedule = build_schedule(TrafficPattern("STAIRS", stairs=Stairs(20, 1, 4)))
    watch = Watch(schedule, P95_120, MonitorSettings(), lambda _: None, clock=lambda: START, search=search)
    monitor = LiveMonitor(runner, timeline, watch, off_loop=lambda work: work())
    search.start(0.0)
    monitor.judge_probe(4)  # nothing answered at all
    assert monitor.reason is StopReason.SEARCH_NO_PASS
    assert monitor.detail == "2 users (MinUsers) missed them: no successful invocation in 2 s"
    assert status_of(StopReason.SEARCH_NO_PASS, successes=10) is Status.FAILED
    reason = failure_reason(StopReason.SEARCH_NO_PASS, monitor.detail, {}, 10)
    assert reason == "no load met the thresholds: 2 users (MinUsers) missed them: no successful invocation in 2 s"


def probe(users: int, passed: bool, start: int) -> ProbeResult:
    return ProbeResult(users, start, start + 30, passed, "" if passed else "P95 130.0 ms > 120 ms", 600.0 * users,
                       100.0, 10 * users, 0)  # fmt: skip


def test_the_search_record_says_the_answer_both_times_and_reads_back() -> None:
    key = SearchKey(200, 2, 5.0, 30)
    probes = tuple(probe(u, u <= 40, 30 * i) for i, u in enumerate((2, 4, 8, 16, 32, 64, 48, 40, 44, 42)))
    figures = SearchFigures(key, probes, complete=True, per_user_per_s=2.0)
    assert figures.answer == 40 and figures.seconds == 300
    assert figures.stairs_seconds == 21 * 30  # 2, 4, ..., 42: steps of 2 users (5 % of 40), 30 s each
    shown = figures.to_dict()
    assert shown["AnswerUsers"] == 40 and shown["AnswerRequestsPerSecond"] == 80.0 and not shown["AtCeiling"]
    assert shown["SearchSeconds"] == 300 and shown["StairsSecondsForSameResolution"] == 630
    assert shown["Probes"][-1] == {"Users": 42, "StartSecond": 270, "EndSecond": 300, "Passed": False,
                                   "InvocationsPerMinute": 25200.0, "ModelLatencyMs": 100.0, "Requests": 420,
                                   "Failures": 0, "Missed": "P95 130.0 ms > 120 ms"}  # fmt: skip
    assert "search: 40 users held the thresholds (80 requests/s) in 10 probes, 300 s" in figures.summary()
    benchmark = Benchmark(0, "ml.c5.large", Status.COMPLETED, search=figures)
    assert Benchmark.from_json(benchmark.to_json()) == benchmark
    damaged = json.loads(benchmark.to_json())
    damaged["search"]["key"]["MaxUsers"] = -1
    with pytest.raises(ValueError):
        Benchmark.from_json(json.dumps(damaged))


def test_a_search_at_its_ceiling_or_with_no_pass_says_so() -> None:
    key = SearchKey(8, 1, 5.0, 10)
    ceiling = SearchFigures(key, tuple(probe(u, True, 10 * i) for i, u in enumerate((1, 2, 4, 8))), True)
    assert ceiling.to_dict()["AtCeiling"] and "(MaxUsers: the search's ceiling)" in ceiling.summary()
    nothing = SearchFigures(key, (probe(1, False, 0),), True)
    assert nothing.answer is None and nothing.stairs_seconds == 10 and "no probe passed" in nothing.summary()
    stopped = SearchFigures(key, (probe(1, True, 0),), complete=False)
    assert "stopped before it ended" in stopped.summary() and not stopped.to_dict()["Complete"]
    assert SearchFigures(key, (), complete=False).summary() == "search: stopped before its first probe was judged"
