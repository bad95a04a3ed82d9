"""Per-second recording, wire format, merging and windows, with an injected clock."""

from __future__ import annotations

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from loadrec.engine.measurement.histograms import HIGHEST_US, new_histogram, percentiles_ms
from loadrec.engine.measurement.metrics import Timeline
from loadrec.engine.measurement.recording import SecondRecorder, SecondStats


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_recorder_buckets_by_completion_second() -> None:
    clock = Clock(1000.2)
    recorder = SecondRecorder(clock)
    recorder.record_success(1500.0)
    recorder.record_failure("HTTP 503", "busy")
    clock.now = 1001.7
    recorder.record_success(2500.0)
    done = recorder.take_completed()
    assert [(s.second, s.successes, s.failures, dict(s.errors)) for s in done] == [(1000, 1, 1, {"HTTP 503": 1})]
    assert done[0].samples == {"HTTP 503": "busy"}
    assert recorder.take_completed() == []
    assert [s.second for s in recorder.take_all()] == [1001]


def test_wire_round_trip_and_merge_keep_counts_and_percentiles() -> None:
    rng = np.random.default_rng(3)
    latencies = rng.lognormal(10, 0.6, 4000)
    parts = [SecondStats(50), SecondStats(50)]
    for index, value in enumerate(latencies):
        part = parts[index % 2]
        part.successes += 1
        part.histogram.record_value(round(value))
    timeline = Timeline(start_epoch=50)
    timeline.add([parts[0].to_wire()])
    timeline.add([SecondStats.from_wire(parts[1].to_wire()).to_wire()])
    stats = timeline.window(1, 1, [50.0, 95.0, 99.0])
    assert stats.successes == 4000
    for quantile in (50.0, 95.0, 99.0):
        exact = np.percentile(latencies, quantile, method="inverted_cdf") / 1000
        assert stats.latency_ms[quantile] == pytest.approx(exact, rel=0.001)


def test_window_counts_rates_and_ignores_seconds_before_the_start() -> None:
    timeline = Timeline(start_epoch=100)
    timeline.add([{"s": 99, "ok": 50, "ko": 0, "err": {}, "h": None}])  # a previous test's straggler
    for second in range(100, 106):
        timeline.add([{"s": second, "ok": 10, "ko": 1, "err": {"timeout": 1}, "h": None}])
        timeline.set_users(second - 100, target=3, running=3)
    stats = timeline.window(end=6, span=4, quantiles=[95.0])
    assert (stats.start, stats.end, stats.successes, stats.failures) == (2, 6, 40, 4)
    assert stats.invocations_per_minute == 600.0
    assert stats.latency_ms == {95.0: None}
    assert timeline.error_samples() == {"timeout": (6, "")}
    assert [row.second for row in timeline.rows()] == list(range(6))


def test_rows_are_computed_once_and_again_when_their_second_changes() -> None:
    timeline = Timeline(1000)
    fast = SecondStats(1000, successes=1)
    fast.histogram.record_value(1_000)
    timeline.add([fast.to_wire()])
    timeline.set_users(0, 1, 1)
    first = timeline.rows()
    assert timeline.rows()[0] is first[0]  # not computed again
    slow = SecondStats(1000, successes=1)  # another worker's report of the same second, late
    slow.histogram.record_value(9_000)
    timeline.add([slow.to_wire()])
    merged = timeline.rows()[0]
    assert merged.successes == 2 and merged.latency_ms[99.0] == pytest.approx(9.0, rel=1e-3)
    timeline.set_users(0, 3, 2)
    assert (timeline.rows()[0].users, timeline.rows()[0].running_users) == (3, 2)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.integers(min_value=1, max_value=HIGHEST_US), min_size=1, max_size=300),
    wire=st.booleans(),
)
def test_percentiles_are_hdrhistograms_own(values: list[int], wire: bool) -> None:
    """numpy over the counts gives exactly what HdrHistogram's percentile walk gives, for a histogram as
    recorded and as decoded from the wire (whose counts may be cut short)."""
    histogram = new_histogram()
    for value in values:
        histogram.record_value(value)
    if wire:
        histogram = HdrHistogram.decode(histogram.encode())
    quantiles = [0.0, 1.0, 50.0, 95.0, 99.0, 99.9, 100.0]
    expected = histogram.get_percentile_to_value_dict(quantiles)
    assert percentiles_ms(histogram, quantiles) == {q: expected[q] / 1000.0 for q in quantiles}


def test_the_cold_start_is_the_slowest_first_request_whatever_second_it_ends_in() -> None:
    now = [1000.2]
    recorder = SecondRecorder(clock=lambda: now[0])
    recorder.record_success(30_000, first=True)  # a second user's first request: warm, done at once
    recorder.record_success(20_000)
    now[0] = 1001.6
    recorder.record_success(1_500_000, first=True)  # the first user's, which met the cold endpoint
    recorder.record_success(25_000)
    timeline = Timeline(start_epoch=1000.0)
    timeline.add(second.to_wire() for second in recorder.take_all())
    assert timeline.first_success_max_ms() == 1500.0
