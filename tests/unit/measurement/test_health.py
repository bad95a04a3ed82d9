"""The load generator's health: the verdict rule, the probe's arithmetic (injected times), the wire and the merge
across processes (the worst counts), and a monitor that says so when it stops on a latency the generator may
have caused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from loadrec.engine.job.spec import LatencyThreshold, StoppingConditions
from loadrec.engine.load.health_probe import Gauge, held_by
from loadrec.engine.load.settings import usable_cores
from loadrec.engine.measurement.health import LIMITS, Health, HealthLimits, Verdict, verdict
from loadrec.engine.measurement.metrics import Timeline, WindowStats
from loadrec.engine.measurement.monitor import MonitorSettings, StopReason, evaluate
from loadrec.engine.measurement.recording import SecondRecorder, SecondStats
from loadrec.engine.results.seconds import SecondsFileError, SecondsFollower

START = 1_800_000_000
CALM = Health(cpu_percent=30.0, lag_ms=2.0, send_delay_ms=1.0, held_ms=0.5)
LIMITS_UNDER_TEST = HealthLimits(cpu_percent=90.0, lag_ms=50.0, send_delay_ms=50.0, held_ms=50.0, bound_share=0.1)


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("health", "passed"),
    [
        (CALM, []),
        (Health(cpu_percent=89.9), []),
        (Health(cpu_percent=90.0), ["CPU 90 % (limit 90 %)"]),
        (Health(lag_ms=50.0), ["event-loop lag 50 ms (limit 50 ms)"]),
        (Health(send_delay_ms=75.0), ["send delay 75 ms (limit 50 ms)"]),
        (Health(held_ms=120.0), ["loop held 120 ms by loadrec (limit 50 ms)"]),
        (Health(99.0, 80.0, 0.0, 0.0), ["CPU 99 % (limit 90 %)", "event-loop lag 80 ms (limit 50 ms)"]),
    ],
)
def test_a_second_is_bound_when_any_figure_reaches_its_limit(health: Health, passed: list[str]) -> None:
    assert LIMITS_UNDER_TEST.passed(health) == passed


@pytest.mark.parametrize(
    ("bound", "calm", "is_bound"),
    [
        (0, 20, False),
        (2, 18, False),  # 10 % of the window: a stray second does not condemn it
        (3, 17, True),  # 15 %: past the share
        (20, 0, True),
    ],
)
def test_a_window_is_bound_past_its_share_of_bound_seconds(bound: int, calm: int, is_bound: bool) -> None:
    found = verdict([Health(cpu_percent=99.0, lag_ms=70.0)] * bound + [CALM] * calm, LIMITS_UNDER_TEST)
    assert found is not None
    assert (found.seconds, found.bound_seconds, found.bound) == (bound + calm, bound, is_bound)
    expected = {(True, True): Health(99.0, 70.0, 1.0, 0.5), (True, False): Health(99.0, 70.0), (False, True): CALM}
    assert found.worst == expected[(bool(bound), bool(calm))]
    if bound:
        assert found.reasons == ("CPU 99 % (limit 90 %)", "event-loop lag 70 ms (limit 50 ms)")
    else:
        assert found.reasons == ()


def test_no_health_recorded_is_no_verdict_and_a_verdict_says_what_to_do() -> None:
    assert verdict([]) is None
    bound = verdict([Health(cpu_percent=100.0)] * 5)
    assert bound is not None and bound.bound
    assert bound.summary().startswith("GENERATOR-BOUND in 5 of 5 s (CPU 100 % (limit 90 %))")
    assert "--processes N" in bound.summary()
    assert bound.to_dict()["Advice"] and Verdict.from_dict(bound.to_dict()) == bound
    calm = verdict([CALM])
    assert calm is not None and not calm.bound and "Advice" not in calm.to_dict()
    assert Verdict.from_dict(calm.to_dict()) == calm


def test_the_gauge_makes_a_seconds_cpu_share_and_worst_lag_from_its_ticks() -> None:
    gauge = Gauge()
    assert gauge.tick(10, wall_s=0.05, cpu_s=0.01, lag_ms=0.5) == Health(cpu_percent=20.0, lag_ms=0.5)
    assert gauge.tick(10, wall_s=0.15, cpu_s=0.15, lag_ms=100.0) == Health(cpu_percent=80.0, lag_ms=100.0)
    assert gauge.tick(10, wall_s=0.05, cpu_s=0.0, lag_ms=1.0) == Health(cpu_percent=64.0, lag_ms=100.0)
    assert gauge.tick(11, wall_s=0.05, cpu_s=0.05, lag_ms=0.2) == Health(cpu_percent=100.0, lag_ms=0.2)  # anew


def test_held_time_is_noted_from_the_injected_clock() -> None:
    wall, clock = Clock(), Clock(0.0)
    recorder = SecondRecorder(wall)
    with held_by(recorder, clock):
        clock.now += 0.012
    with held_by(recorder, clock):
        clock.now += 0.004
    with held_by(None, clock):  # a master has no recorder: nothing to note
        clock.now += 1.0
    (second,) = recorder.take_all()
    assert second.generator == Health(held_ms=pytest.approx(12.0))


def test_a_seconds_health_travels_on_the_wire_and_merges_by_the_worst_process() -> None:
    clock = Clock()
    first, second = SecondRecorder(clock), SecondRecorder(clock)
    first.record_health(Health(cpu_percent=40.0, lag_ms=3.0))
    first.record_health(Health(cpu_percent=45.0, lag_ms=5.0))  # the probe's latest replaces the last
    first.record_success(1000, send_delay_ms=2.0)
    second.record_health(Health(cpu_percent=97.0, lag_ms=1.0))
    second.record_success(1000, send_delay_ms=60.0)
    second.record_failure("HTTP 503", send_delay_ms=8.0)
    timeline = Timeline(START)
    timeline.add(s.to_wire() for s in first.take_all() + second.take_all())
    merged = Health(cpu_percent=97.0, lag_ms=5.0, send_delay_ms=60.0)
    assert timeline.rows()[0].generator == merged
    found = timeline.generator()
    assert found is not None and found.bound and found.worst == merged
    window = timeline.window(1, 1, (95.0,))
    assert window.generator == found and window.generator_bound
    assert WindowStats.from_dict(window.to_dict()) == window
    assert SecondStats.from_wire(SecondStats(START).to_wire()).generator is None  # nothing measured: nothing said


def test_a_second_without_health_says_nothing_and_the_default_limits_are_the_documented_ones() -> None:
    timeline = Timeline(START)
    timeline.add([SecondStats(START, successes=1).to_wire()])
    assert timeline.generator() is None and timeline.window(1, 1, (95.0,)).generator is None
    assert (LIMITS.cpu_percent, LIMITS.lag_ms, LIMITS.send_delay_ms, LIMITS.held_ms) == (90.0, 50.0, 50.0, 50.0)


def _window(health: Health, p95_ms: float) -> WindowStats:
    found = verdict([health] * 10)
    return WindowStats(0, 10, 100, 0, 4, {50.0: p95_ms / 2, 95.0: p95_ms, 99.0: p95_ms}, generator=found)


def test_a_latency_stop_in_a_generator_bound_window_says_the_generator_was_bound() -> None:
    stopping = StoppingConditions(latency=LatencyThreshold("P95", 95.0, 100))
    bound = evaluate(stopping, MonitorSettings(), _window(Health(cpu_percent=100.0), 150.0), [], False)
    assert bound.stop is StopReason.LATENCY_THRESHOLD
    assert bound.detail == "P95 150.0 ms > 100 ms (the load generator was bound: CPU 100 % (limit 90 %))"
    calm = evaluate(stopping, MonitorSettings(), _window(CALM, 150.0), [], False)
    assert calm.stop is StopReason.LATENCY_THRESHOLD and calm.detail == "P95 150.0 ms > 100 ms"


@pytest.mark.parametrize("value", [10**400, float("inf"), float("nan"), -1.0, True, "12", None])
def test_a_health_figure_loadrec_never_writes_is_refused(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        Health.from_wire({"c": value, "l": 0.0, "d": 0.0, "k": 0.0})


def test_a_seconds_file_with_a_hostile_health_figure_is_damage_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "seconds.jsonl"
    hostile = {"s": START, "ok": 1, "ko": 0, "err": {}, "h": None, "gh": {"c": 10**400, "l": 0, "d": 0, "k": 0}}
    path.write_text(json.dumps({"start": START}) + "\n" + json.dumps(hostile) + "\n")
    with pytest.raises(SecondsFileError) as damaged:
        SecondsFollower(path).read()
    assert "damaged, not a seconds file" in str(damaged.value) and "\n" not in str(damaged.value)


def test_a_verdict_read_back_is_checked() -> None:
    good = verdict([Health(cpu_percent=95.0)] + [CALM] * 9)
    assert good is not None and good.reasons and not good.bound  # 1 of 10: reasons, yet within the share
    assert Verdict.from_dict(good.to_dict()) == good
    for damaged in ({**good.to_dict(), "Seconds": -1}, {**good.to_dict(), "GeneratorBound": "yes"},
                    {**good.to_dict(), "CpuPercent": "99"}, {**good.to_dict(), "Reasons": "CPU"}):  # fmt: skip
        with pytest.raises((TypeError, ValueError)):
            Verdict.from_dict(damaged)


@pytest.mark.parametrize(
    ("cpu_max", "cores"),
    [("max 100000\n", None), ("200000 100000\n", 2), ("50000 100000\n", 1), ("garbage", None)],
)
def test_usable_cores_follow_a_containers_quota(tmp_path: Path, cpu_max: str, cores: int | None) -> None:
    (tmp_path / "cpu.max").write_text(cpu_max)
    affinity = len(os.sched_getaffinity(0))
    assert usable_cores(tmp_path / "cpu.max") == (affinity if cores is None else min(cores, affinity))
    assert usable_cores(tmp_path / "absent") == affinity
