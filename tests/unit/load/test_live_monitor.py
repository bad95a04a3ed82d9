"""The live monitor's final evaluation, with a stand-in runner, the window judged in place and an injected
clock: a test whose evaluations were further apart than it lasted still gets its window judged once."""

from __future__ import annotations

from typing import Any

import pytest

from loadrec.engine.job.spec import LatencyThreshold, StoppingConditions
from loadrec.engine.load.live_monitor import LiveMonitor, Watch
from loadrec.engine.measurement.metrics import Timeline
from loadrec.engine.measurement.monitor import MonitorSettings, StopReason
from loadrec.engine.measurement.recording import SecondRecorder
from loadrec.shapes.schedule import Stairs, TrafficPattern, build_schedule
from loadrec.shapes.search import Search

START = 1_800_000_000


class StoppedRunner:
    """What the monitor reads of a Locust runner whose users have all stopped."""

    state = "stopped"
    user_count = 0

    def stop(self) -> None:
        raise AssertionError("a final evaluation stops nothing")


def monitor_of(timeline: Timeline, lines: list[str]) -> LiveMonitor:
    stopping = StoppingConditions(max_invocations=30_000, latency=LatencyThreshold("P95", 95.0, 1))  # 1 ms: exceeded
    schedule = build_schedule(TrafficPattern("STAIRS", stairs=Stairs(20, 1, 4)))
    runner: Any = StoppedRunner()
    settings = MonitorSettings(window_s=60, evaluate_every_s=1000)
    watch = Watch(schedule, stopping, settings, lines.append, clock=lambda: START + 20.5)
    return LiveMonitor(runner, timeline, watch, off_loop=lambda work: work())


def test_the_final_evaluation_judges_the_last_window_once_and_stops_nothing() -> None:
    recorder = SecondRecorder(lambda: START + 3.5)
    for _ in range(40):
        recorder.record_success(20_000)  # 20 ms each: past the 1 ms threshold
    timeline = Timeline(START)
    timeline.add(s.to_wire() for s in recorder.take_all())
    lines: list[str] = []
    monitor = monitor_of(timeline, lines)
    monitor.conclude(20)
    assert len(monitor.history) == 1
    window = monitor.history[0].window
    assert (window.start, window.end, window.successes) == (0, 20, 40)
    assert monitor.history[0].evaluation.stop is not None  # the threshold was passed: said, not acted on
    assert monitor.reason is None and len(lines) == 1 and "inv/min" in lines[0]
    monitor.conclude(20)  # already judged up to that second: nothing again
    assert len(monitor.history) == 1


@pytest.mark.parametrize(
    ("decided", "pattern_complete", "searching", "reason"),
    [
        (None, True, False, StopReason.PATTERN_COMPLETE),  # the pattern ran its course
        (None, False, False, StopReason.STOPPED_BY_USER),  # stopped early, by nobody's rule: a person
        (None, True, True, StopReason.STOPPED_BY_USER),  # a search ends itself with a reason: without one, a person
        (StopReason.MAX_INVOCATIONS, True, False, StopReason.MAX_INVOCATIONS),  # a decision stands
    ],
)
def test_the_end_of_a_test_names_its_reason_once(
    decided: StopReason | None, pattern_complete: bool, searching: bool, reason: StopReason
) -> None:
    monitor = monitor_of(Timeline(START), [])
    monitor.search = Search(1, 8, 0.1, probe_s=4) if searching else None
    monitor.reason = decided
    monitor.ended(pattern_complete)
    assert monitor.reason is reason
