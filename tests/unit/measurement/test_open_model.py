"""A request-rate test's own figures: drops and send lateness recorded per second, merged across processes,
checked on the wire, summed over windows, and carried into the test's record, describe.json and the terminal."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from loadrec.engine.job.request_rate import RequestRate
from loadrec.engine.measurement.metrics import Timeline
from loadrec.engine.measurement.open_model import RateFigures, rate_figures
from loadrec.engine.measurement.recording import SecondRecorder, SecondStats, check_wire
from loadrec.engine.results.aws import describe
from loadrec.engine.results.model import Benchmark
from loadrec.engine.results.outputs.terminal import render_results
from tests.report_fixture import COMPLETED, fixture_results
from tests.unit.measurement.test_metrics import Clock

START = 1000
RATE = RequestRate(10.0, "Poisson", 64)


def second(recorder: SecondRecorder, clock: Clock, at: float, late_ms: list[float], dropped: int) -> None:
    clock.now = at
    for late in late_ms:
        recorder.record_success(20_000.0, send_delay_ms=late, scheduled=True)
    for _ in range(dropped):
        recorder.record_unmeasured(dropped=1)


def recorded() -> list[dict[str, Any]]:
    """Three seconds of one process: 10 sends late 1..10 ms and no drop, then 5 sends and 3 drops, then 2 and 8
    and, at the stop, 4 requests cut off in flight."""
    clock = Clock(START + 0.5)
    recorder = SecondRecorder(clock)
    second(recorder, clock, START + 0.5, [float(k) for k in range(1, 11)], 0)
    second(recorder, clock, START + 1.5, [0.5] * 5, 3)
    second(recorder, clock, START + 2.5, [200.0, 0.5], 8)
    recorder.record_unmeasured(in_flight=4)
    return [s.to_wire() for s in recorder.take_all()]


def test_drops_and_lateness_ride_the_wire_and_merge() -> None:
    wires = recorded()
    assert [w.get("dr", 0) for w in wires] == [0, 3, 8] and [w.get("if", 0) for w in wires] == [0, 0, 4]
    for wire in wires:
        check_wire(wire, START)
    merged = SecondStats.from_wire(wires[1])
    merged.merge(SecondStats.from_wire(wires[2]))
    assert merged.dropped == 11 and merged.lateness is not None
    assert merged.lateness.get_total_count() == 7
    again = SecondStats.from_wire(merged.to_wire())
    assert (again.dropped, again.in_flight) == (11, 4)


def test_a_closed_loop_second_has_neither() -> None:
    recorder = SecondRecorder(Clock(START + 0.5))
    recorder.record_success(1000.0, send_delay_ms=3.0)  # a closed-loop user's delay: health only
    wire = recorder.take_all()[0].to_wire()
    assert "dr" not in wire and "sl" not in wire and "if" not in wire


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("dr", "3", TypeError),
        ("dr", True, TypeError),
        ("if", 1.5, TypeError),
        ("sl", 5, TypeError),
        ("sl", "xx", ValueError),
    ],
)
def test_a_damaged_drop_count_or_lateness_is_refused(key: str, value: Any, error: type[Exception]) -> None:
    wire = recorded()[1] | {key: value}
    with pytest.raises(error):
        check_wire(wire, START)


def test_windows_and_rows_count_the_drops_and_the_figures_sum_them() -> None:
    timeline = Timeline(START)
    timeline.add(recorded())
    for offset in range(3):
        timeline.set_users(offset, 2, 2)
    window = timeline.window(3, 2, (95.0,))
    assert (window.start, window.dropped, window.requests) == (1, 11, 7)
    rows = timeline.rows()
    assert [row.dropped for row in rows] == [0, 3, 8]
    assert rows[0].late_ms is not None and rows[0].late_ms[50.0] == pytest.approx(5.0, rel=0.01)
    figures = rate_figures(RATE, timeline, window)
    assert (figures.sent, figures.dropped, figures.in_flight_at_stop) == (21, 11, 4)  # 17 answered and 4 cut off
    assert figures.dropped_share == pytest.approx(11 / 32)
    assert figures.late_max_ms == pytest.approx(200.0, rel=0.001)
    assert figures.window_target_per_minute == pytest.approx(2 * 10 * 60)  # 2 users x 10/s, per minute
    assert figures.window_answered_per_minute == pytest.approx(7 * 60 / 2)
    assert figures.window_dropped == 11 and "11 arrivals of the measured window were dropped" in figures.warnings()[0]


def test_the_figures_survive_the_tests_record_and_show_in_describe_and_the_terminal() -> None:
    timeline = Timeline(START)
    timeline.add(recorded())
    figures = rate_figures(RATE, timeline, timeline.window(3, 3, (95.0,)))
    again = Benchmark.from_json(replace(COMPLETED, request_rate=figures).to_json())
    assert again.request_rate == figures
    results = fixture_results((again,), timelines=False)
    shown = describe(results)["Loadrec"]["Tests"][0]["RequestRate"]
    assert shown["Arrivals"] == "Poisson" and shown["Dropped"] == 11 and shown["Sent"] == 21
    assert shown["InFlightAtStop"] == 4
    assert shown["SendLatenessMs"]["Max"] == pytest.approx(200.0, rel=0.001)
    assert json.loads(json.dumps(shown)) == shown
    table = render_results(results)
    assert (
        "11 of 32 arrivals dropped (34.4%); 4 cut off in flight at the stop" in table
        and "! 11 arrivals of the measured window" in table
    )


@pytest.mark.parametrize(
    "damage", [{"sent": "x"}, {"in_flight": None}, {"rate": {"RequestsPerSecondPerUser": 0}}, {"window": [1]}]
)
def test_a_damaged_record_of_the_figures_is_refused(damage: dict[str, Any]) -> None:
    timeline = Timeline(START)
    timeline.add(recorded())
    record = rate_figures(RATE, timeline, None).to_record() | damage
    with pytest.raises((KeyError, TypeError, ValueError)):
        RateFigures.from_record(record)
