"""The pure monitor: levels, plateaus and decisions as exact tables."""

from __future__ import annotations

import pytest

from loadrec.engine.job.spec import LatencyThreshold, StoppingConditions
from loadrec.engine.measurement.metrics import WindowStats
from loadrec.engine.measurement.monitor import (
    Evaluation,
    Level,
    MonitorSettings,
    StopReason,
    closest,
    evaluate,
    find_plateau,
    levels,
    readings,
)

P95_100 = LatencyThreshold("P95", 95.0, 100)
SETTINGS = MonitorSettings(window_s=10, evaluate_every_s=2, min_requests=20)


def window(
    successes: int = 100, failures: int = 0, p95: float | None = 50.0, span: int = 10, users: int = 4
) -> WindowStats:
    return WindowStats(0, span, successes, failures, users, {50.0: p95, 95.0: p95, 99.0: p95})


def test_levels_from_seconds_skip_the_ramp_second_and_the_running_level() -> None:
    per_second = [(2, 5), (2, 10), (2, 10), (4, 12), (4, 20), (4, 20), (6, 21), (6, 21)]
    assert levels(per_second) == [Level(2, 0, 3, 600.0), Level(4, 3, 6, 1200.0)]


def test_short_levels_keep_every_second() -> None:
    assert levels([(1, 4), (1, 6), (3, 9), (5, 0)]) == [Level(1, 0, 2, 300.0), Level(3, 2, 3, 540.0)]


def test_levels_without_users_are_left_out() -> None:
    assert levels([(0, 0), (0, 0), (2, 10), (2, 10), (3, 1)]) == [Level(2, 2, 4, 600.0)]


@pytest.mark.parametrize(
    ("rates", "users", "plateau_at"),
    [
        ([100, 200, 300, 400], [1, 2, 3, 4], None),  # still growing
        ([100, 200, 205, 209], [1, 2, 3, 4], 2),  # 200 → 209 is 4.5 %: flat from 2 users
        ([100, 200, 205, 211], [1, 2, 3, 4], None),  # 5.5 %: not flat
        ([200, 200, 200], [3, 3, 3], None),  # users did not grow
        ([300, 290, 280, 500], [2, 4, 6, 8], 2),  # a drop counts as flat
    ],
)
def test_plateau_rule(rates: list[float], users: list[int], plateau_at: int | None) -> None:
    found = [Level(u, i * 10, i * 10 + 10, r) for i, (u, r) in enumerate(zip(users, rates, strict=True))]
    plateau = find_plateau(found, gain=0.05, count=3)
    assert (plateau.users if plateau else None) == plateau_at


def test_latency_above_threshold_stops() -> None:
    stopping = StoppingConditions(latency=P95_100)
    result = evaluate(stopping, SETTINGS, window(p95=100.5), [], False)
    assert result.stop is StopReason.LATENCY_THRESHOLD
    assert result.detail == "P95 100.5 ms > 100 ms"
    assert evaluate(stopping, SETTINGS, window(p95=100.0), [], False).stop is None


def test_latency_needs_enough_requests() -> None:
    stopping = StoppingConditions(latency=P95_100)
    assert evaluate(stopping, SETTINGS, window(successes=19, p95=500.0), [], False).stop is None


def test_max_invocations_needs_a_full_window() -> None:
    stopping = StoppingConditions(max_invocations=600)
    assert evaluate(stopping, SETTINGS, window(successes=100, span=10), [], False).stop is StopReason.MAX_INVOCATIONS
    assert evaluate(stopping, SETTINGS, window(successes=99, span=10), [], False).stop is None  # 594/min
    assert evaluate(stopping, SETTINGS, window(successes=60, span=5), [], False).stop is None  # 720/min, partial


def test_endpoint_errors_stop_when_more_than_half_fail() -> None:
    stopping = StoppingConditions()
    result = evaluate(stopping, SETTINGS, window(successes=10, failures=11), [], False)
    assert result.stop is StopReason.ENDPOINT_ERRORS
    assert result.detail == "11 of 21 requests failed in the last 10 s"
    assert evaluate(stopping, SETTINGS, window(successes=10, failures=10), [], False).stop is None


def test_errors_come_before_latency() -> None:
    stopping = StoppingConditions(latency=P95_100)
    result = evaluate(stopping, SETTINGS, window(successes=20, failures=30, p95=900.0), [], False)
    assert result.stop is StopReason.ENDPOINT_ERRORS


FLAT = [Level(2, 0, 10, 1000.0), Level(4, 10, 20, 1020.0), Level(6, 20, 30, 1030.0)]


def test_flat_invocations_stop() -> None:
    result = evaluate(StoppingConditions(flat_invocations="Stop"), SETTINGS, window(), FLAT, False)
    assert result.stop is StopReason.FLAT_INVOCATIONS and result.plateau == FLAT[0]


def test_flat_invocations_continue_records_the_plateau_once() -> None:
    stopping = StoppingConditions(flat_invocations="Continue")
    first = evaluate(stopping, SETTINGS, window(), FLAT, False)
    assert first.stop is None and first.plateau == FLAT[0]
    assert evaluate(stopping, SETTINGS, window(), FLAT, True).plateau is None


def test_closest_condition_is_named() -> None:
    stopping = StoppingConditions(max_invocations=1200, latency=P95_100)
    result = evaluate(stopping, SETTINGS, window(successes=150, p95=40.0), [], False)
    assert result.closest == "invocations per minute 900 of 1,200 (75%)"
    errors = window(successes=150, p95=40.0, failures=50)
    found = readings(stopping, SETTINGS, errors)
    assert [(r.condition, r.value, r.limit, r.judged) for r in found] == [
        ("endpoint errors", "25% (50/200)", "50%", True),
        ("P95 model latency", "40.0 ms", "100 ms", True),
        ("invocations per minute", "900", "1,200", True),
    ]
    assert [r.ratio for r in found] == [0.5, 0.4, 0.75]
    assert closest(found) == found[2]
    assert evaluate(StoppingConditions(), SETTINGS, window(successes=0, p95=None), [], False).closest == (
        "nothing judged yet"
    )


def test_readings_the_monitor_does_not_act_on_yet_say_why_and_are_never_the_closest() -> None:
    """One failure in one request is 200 % of the error limit, but the monitor waits for 20 requests."""
    stopping = StoppingConditions(max_invocations=1200, latency=P95_100)
    early = WindowStats(0, 4, 0, 1, 1, {50.0: None, 95.0: None, 99.0: None})
    found = readings(stopping, SETTINGS, early)
    assert [(r.ratio, r.judged, r.waiting) for r in found] == [
        (2.0, False, "judged from 20 requests"),
        (None, False, "judged from 20 successes"),
        (0.0, False, "judged once the window is full"),
    ]
    assert closest(found) is None
    assert evaluate(stopping, SETTINGS, early, [], False) == Evaluation(None, "", None, "nothing judged yet")
