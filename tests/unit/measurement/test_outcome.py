"""MaxInvocations, ModelLatency, instance count and cost from a test's windows."""

from __future__ import annotations

import pytest

from loadrec.engine.job.spec import LatencyThreshold, StoppingConditions
from loadrec.engine.measurement.metrics import Timeline, WindowStats
from loadrec.engine.measurement.monitor import Level, MonitorSettings, StopReason
from loadrec.engine.measurement.outcome import (
    Measured,
    Status,
    failure_reason,
    measure,
    model_setup_us,
    size,
    status_of,
)
from loadrec.engine.measurement.recording import SecondStats

SETTINGS = MonitorSettings(window_s=10)
STOPPING = StoppingConditions(max_invocations=3000, latency=LatencyThreshold("P99", 99.0, 100))


def window(successes: int, p99: float | None, span: int = 10) -> WindowStats:
    return WindowStats(0, span, successes, 0, 4, {99.0: p99})


def test_highest_rate_where_the_threshold_held() -> None:
    history = [window(100, 50.0), window(150, 90.0), window(200, 120.0)]
    assert measure(history, STOPPING, SETTINGS) == Measured(900.0, 90.0)


def test_full_windows_win_over_partial_ones() -> None:
    history = [window(80, 10.0, span=4), window(100, 50.0)]  # 1200/min partial vs 600/min full
    assert measure(history, STOPPING, SETTINGS) == Measured(600.0, 50.0)
    assert measure([window(80, 10.0, span=4)], STOPPING, SETTINGS) == Measured(1200.0, 10.0)


def test_a_plateau_gives_the_rate_where_it_begins() -> None:
    plateau = Level(4, 10, 20, 1113.0)
    plateau_window = WindowStats(10, 20, 185, 0, 4, {99.0: 70.0})
    assert measure([window(300, 90.0)], STOPPING, SETTINGS, plateau, plateau_window) == Measured(1113.0, 70.0)


def test_partial_windows_count_when_no_full_window_held() -> None:
    history = [window(40, 50.0, span=2), window(90, 60.0, span=3), window(150, 130.0)]
    assert measure(history, STOPPING, SETTINGS) == Measured(1800.0, 60.0)


def test_nothing_measured() -> None:
    assert measure([window(0, None), window(50, 150.0)], STOPPING, SETTINGS) is None


def test_the_guide_example_reproduces_exactly() -> None:
    # ml.c5d.xlarge at $0.69/hour, 1113 invocations per minute: CostPerInference 1.0332e-05 per the AWS guide
    sizing = size(Measured(1113.0, 100.0), StoppingConditions(max_invocations=1000), 0.69)
    assert sizing.initial_instance_count == 1 and sizing.max_invocations == 1113
    assert sizing.cost_per_hour == 0.69
    assert sizing.cost_per_inference == pytest.approx(1.0332e-05, rel=1e-4)
    assert sizing.cost_per_inference == 0.69 / (1113 * 60)
    assert sizing.model_latency_us == 100_000


@pytest.mark.parametrize(("target", "count"), [(None, 1), (500, 1), (1113, 1), (1114, 2), (30000, 27)])
def test_instance_count_follows_the_target_rate(target: int | None, count: int) -> None:
    sizing = size(Measured(1113.0, 50.0), StoppingConditions(max_invocations=target), 0.5)
    assert sizing.initial_instance_count == count
    assert sizing.max_invocations == 1113 * count
    assert sizing.cost_per_hour == 0.5 * count
    assert sizing.cost_per_inference == sizing.cost_per_hour / (sizing.max_invocations * 60)


def test_an_existing_endpoint_is_reported_as_it_performed() -> None:
    # The case: 1,236/min measured, MaxInvocations 30,000 asked: 25 instances is a sizing, not a measure.
    sizing = size(Measured(1236.0, 50.0), StoppingConditions(max_invocations=30_000), 0.2, existing=True)
    assert (sizing.initial_instance_count, sizing.max_invocations, sizing.cost_per_hour) == (1, 1236, 0.2)


def test_no_price_no_cost() -> None:
    sizing = size(Measured(600.0, 50.0), StoppingConditions(), None)
    assert (sizing.cost_per_hour, sizing.cost_per_inference) == (None, None)


def test_statuses() -> None:
    assert status_of(StopReason.LATENCY_THRESHOLD, 10) == Status.COMPLETED
    assert status_of(StopReason.STOPPED_BY_USER, 10) == Status.STOPPED
    assert status_of(StopReason.ENDPOINT_ERRORS, 10) == Status.FAILED
    assert status_of(StopReason.PATTERN_COMPLETE, 0) == Status.FAILED


def test_failure_reason_names_status_and_answer() -> None:
    errors = {"HTTP 500": (42, '{"error": "injected failure"}'), "timeout": (3, "")}
    text = failure_reason(StopReason.ENDPOINT_ERRORS, "45 of 60 requests failed in the last 10 s", errors, 15)
    assert text == (
        "endpoint errors: 45 of 60 requests failed in the last 10 s; "
        'HTTP 500 x42: \'{"error": "injected failure"}\'; timeout x3'
    )
    assert failure_reason(StopReason.PATTERN_COMPLETE, "", {}, 100) is None
    assert failure_reason(StopReason.PATTERN_COMPLETE, "", {}, 0) == "no successful invocation (no request completed)"
    refused = failure_reason(StopReason.PATTERN_COMPLETE, "", {"connection refused": (9, "")}, 0)
    assert refused == "no successful invocation; connection refused x9"


def test_model_setup_time_is_the_first_invocations_slowest_minus_the_warm_median() -> None:
    assert model_setup_us(450.0, 50.0) == 400_000
    assert model_setup_us(40.0, 50.0) == 0  # no cold start: never a negative time
    assert model_setup_us(None, 50.0) is None and model_setup_us(450.0, None) is None
    timeline = Timeline(1000)
    assert timeline.first_success_max_ms() is None
    timeline.add([SecondStats(1000, failures=2).to_wire()])  # failures only: not a first invocation
    first = SecondStats(1001, successes=2)
    for latency_us in (450_000, 50_000):
        first.histogram.record_value(latency_us)
    timeline.add([first.to_wire()])
    assert timeline.first_success_max_ms() == pytest.approx(450.0, rel=1e-3)
