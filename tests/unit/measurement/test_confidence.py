"""The bootstrap's intervals: coverage on synthetic seconds of known truth, exact rules, the record round trip."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from loadrec.engine.measurement.confidence import (
    MAX_INVOCATIONS,
    MODEL_LATENCY,
    Confidence,
    Counts,
    Interval,
    Quantiles,
    WindowSamples,
    block_length,
    change_interval,
    confidence,
    interval,
    replicates,
    resampled_rows,
)
from loadrec.engine.measurement.histograms import new_histogram, percentiles_ms

Z95 = 1.6448536269514722  # the standard normal's 95th percentile


def correlated_rates(rng: np.random.Generator, seconds: int, phi: float, mean: float = 50.0) -> np.ndarray:
    """Successes per second around ``mean``, each second's excess carried into the next by ``phi`` (AR(1))."""
    noise = rng.normal(0.0, 5.0, seconds)
    level, found = 0.0, []
    for shock in noise:
        level = phi * level + shock
        found.append(mean + level)
    return np.asarray(found)


def coverage(trials: int, make: Callable[[], WindowSamples], truth: float, figure: str) -> float:
    """The share of ``trials`` windows whose interval holds ``truth``."""
    hits = 0
    for _ in range(trials):
        bounds = confidence(make(), Quantiles()).get(figure)
        assert bounds is not None
        hits += bounds.low <= truth <= bounds.high
    return hits / trials


@pytest.mark.parametrize(
    ("seconds", "phi", "at_least"),
    [(60, 0.0, 0.90), (240, 0.0, 0.92), (240, 0.5, 0.87)],
)
def test_the_rate_interval_covers_the_true_rate(seconds: int, phi: float, at_least: float) -> None:
    rng = np.random.default_rng(7)
    found = coverage(200, lambda: WindowSamples(correlated_rates(rng, seconds, phi)), 50.0 * 60, MAX_INVOCATIONS)
    assert at_least <= found <= 0.99  # nominal 95 %: not too narrow, and not so wide it says nothing


def test_the_latency_interval_covers_the_true_percentile() -> None:
    rng = np.random.default_rng(11)
    mu, sigma = math.log(100.0), 0.3  # lognormal latencies, median 100 ms
    truth = math.exp(mu + Z95 * sigma)

    def window() -> WindowSamples:
        per_second = [np.round(rng.lognormal(mu, sigma, 40)) for _ in range(60)]
        return WindowSamples(np.full(60, 40.0), latency=Counts.from_values(per_second))

    assert 0.88 <= coverage(150, window, truth, MODEL_LATENCY) <= 0.995


def test_a_steady_window_has_a_tight_interval_and_a_noisy_one_a_wide_one() -> None:
    rng = np.random.default_rng(3)
    steady = confidence(WindowSamples(np.full(60, 50.0)), Quantiles())
    noisy = confidence(WindowSamples(rng.poisson(50, 60).astype(float) * rng.choice([0.5, 1.5], 60)), Quantiles())
    assert steady is not None and noisy is not None
    assert steady.intervals[MAX_INVOCATIONS] == Interval(3000.0, 3000.0)
    wide = noisy.intervals[MAX_INVOCATIONS]
    assert wide.high - wide.low > 300


def test_blocks_are_consecutive_seconds_wrapping_at_the_end() -> None:
    rows = resampled_rows(10, resamples=50, seed=1)
    assert rows.shape == (50, 10) and block_length(10) == 2
    for row in rows:
        for start in range(0, 10, 2):
            assert row[start + 1] == (row[start] + 1) % 10
    assert (resampled_rows(10, 50, 1) == rows).all()  # seeded: the same draw every time
    assert not (resampled_rows(10, 50, 2) == rows).all()


def test_block_lengths_follow_the_cube_root() -> None:
    assert [block_length(n) for n in (1, 7, 8, 60, 125, 600)] == [1, 2, 2, 4, 5, 8]


def test_the_quantile_follows_hdrhistograms_rule() -> None:
    histogram = new_histogram()
    for value_us in (10_000, 20_000, 30_000, 40_000, 900_000):
        histogram.record_value(value_us)
    counts = Counts.from_histograms([histogram, None])
    assert counts is not None
    for quantile in (50.0, 95.0, 99.0):
        expected = percentiles_ms(histogram, [quantile])[quantile]
        assert counts.quantile(None, quantile)[0] == pytest.approx(expected)


def test_an_empty_window_has_no_interval_and_a_figure_without_data_is_left_out() -> None:
    assert confidence(WindowSamples(np.zeros(0)), Quantiles()) is None
    found = replicates(WindowSamples(np.full(5, 2.0)), Quantiles())
    assert set(found) == {MAX_INVOCATIONS}
    assert interval(np.array([np.nan, np.nan])) is None


def test_rates_scale_with_the_instances_and_latencies_do_not() -> None:
    latency = Counts.from_values([[10.0, 12.0]] * 30)
    one = confidence(WindowSamples(np.full(30, 2.0), latency=latency), Quantiles())
    three = confidence(WindowSamples(np.full(30, 2.0), latency=latency), Quantiles(), instances=3)
    assert one is not None and three is not None
    assert three.intervals[MAX_INVOCATIONS] == one.intervals[MAX_INVOCATIONS].scaled(3)
    assert three.intervals[MODEL_LATENCY] == one.intervals[MODEL_LATENCY]


def test_a_change_beyond_the_noise_excludes_zero_and_one_within_it_does_not() -> None:
    rng = np.random.default_rng(5)
    base = replicates(WindowSamples(rng.poisson(50, 60).astype(float)), Quantiles(), seed=0)[MAX_INVOCATIONS]
    same = replicates(WindowSamples(rng.poisson(50, 60).astype(float)), Quantiles(), seed=1)[MAX_INVOCATIONS]
    half = replicates(WindowSamples(rng.poisson(25, 60).astype(float)), Quantiles(), seed=1)[MAX_INVOCATIONS]
    within, beyond = change_interval(base, same, blocks=15), change_interval(base, half, blocks=15)
    assert within is not None and within.low < 0 < within.high
    assert beyond is not None and -60 < beyond.low <= beyond.high < -40


def test_the_record_round_trips_and_refuses_a_reversed_interval() -> None:
    found = confidence(WindowSamples(np.arange(20, dtype=float)), Quantiles())
    assert found is not None
    again = Confidence.from_dict(found.to_dict())
    assert again.intervals.keys() == found.intervals.keys() and again.seconds == 20
    with pytest.raises(ValueError, match="low end"):
        Interval.from_list([2.0, 1.0])


def test_a_record_of_an_interval_of_no_figure_is_refused() -> None:
    found = confidence(WindowSamples(np.arange(20, dtype=float)), Quantiles())
    assert found is not None
    record = found.to_dict()
    record["Intervals"]["Bogus"] = [1.0, 2.0]
    with pytest.raises(ValueError, match="no figure loadrec reports"):
        Confidence.from_dict(record)
