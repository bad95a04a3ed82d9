"""A request-rate user's arrival times: exact tables for Constant, seeded statistics for Poisson."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterator

import pytest

from loadrec.shapes.arrivals import CONSTANT, POISSON, arrival_offsets, stream_draws, target_per_minute


class FixedDraws:
    """Draws that are known in advance: ``random()`` gives ``phase``, ``expovariate`` the next gap."""

    def __init__(self, phase: float = 0.0, gaps: tuple[float, ...] = ()) -> None:
        self.phase, self.gaps = phase, iter(gaps)

    def random(self) -> float:
        return self.phase

    def expovariate(self, lambd: float, /) -> float:
        return next(self.gaps)


def first(offsets: Iterator[float], count: int) -> list[float]:
    return list(itertools.islice(offsets, count))


@pytest.mark.parametrize(
    ("per_second", "phase", "expected"),
    [
        (4.0, 0.5, [0.125, 0.375, 0.625, 0.875, 1.125]),
        (1.0, 0.0, [0.0, 1.0, 2.0, 3.0, 4.0]),
        (0.5, 0.25, [0.5, 2.5, 4.5, 6.5, 8.5]),
        (10.0, 0.9, [0.09, 0.19, 0.29, 0.39, 0.49]),
    ],
)
def test_a_constant_stream_is_spaced_from_its_phase(per_second: float, phase: float, expected: list[float]) -> None:
    got = first(arrival_offsets(per_second, CONSTANT, FixedDraws(phase)), 5)
    assert got == pytest.approx(expected, abs=1e-12)


def test_a_constant_stream_does_not_drift_over_a_week() -> None:
    offsets = arrival_offsets(3.0, CONSTANT, FixedDraws(0.0))
    week = 7 * 24 * 3600 * 3  # a week of arrivals at 3 a second
    late = next(itertools.islice(offsets, week, None))
    assert late == pytest.approx(7 * 24 * 3600, abs=1e-6)  # the index times the period, not a running sum


def test_a_poisson_stream_adds_its_gaps() -> None:
    got = first(arrival_offsets(2.0, POISSON, FixedDraws(gaps=(0.5, 0.25, 1.0, 0.125))), 4)
    assert got == [0.5, 0.75, 1.75, 1.875]


def test_a_seeded_poisson_stream_has_the_mean_and_spread_of_its_rate() -> None:
    """Gaps of mean 1/R and standard deviation 1/R; counts per second of mean and variance R (index ≈ 1)."""
    rate = 20.0
    times = first(arrival_offsets(rate, POISSON, stream_draws(7, 0, 0)), 200_000)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert statistics.fmean(gaps) == pytest.approx(1 / rate, rel=0.01)
    assert statistics.pstdev(gaps) == pytest.approx(1 / rate, rel=0.02)
    per_second = [0] * int(times[-1])
    for t in times:
        if t < len(per_second):
            per_second[int(t)] += 1
    assert statistics.fmean(per_second) == pytest.approx(rate, rel=0.01)
    assert statistics.pvariance(per_second) / statistics.fmean(per_second) == pytest.approx(1.0, abs=0.05)


def test_the_same_seed_gives_the_same_times_and_each_user_its_own() -> None:
    def times(seed: int | None, process: int, user: int) -> list[float]:
        return first(arrival_offsets(5.0, POISSON, stream_draws(seed, process, user)), 20)

    assert times(3, 0, 0) == times(3, 0, 0)
    assert times(3, 0, 0) != times(3, 0, 1)  # users of one process differ
    assert times(3, 0, 0) != times(3, 1, 0)  # and so do the same user numbers on two workers
    assert times(3, 0, 0) != times(4, 0, 0)
    assert times(None, 0, 0) != times(None, 0, 0)  # unseeded: a different run each time


def test_constant_phases_of_many_users_spread_over_the_period() -> None:
    phases = [next(arrival_offsets(1.0, CONSTANT, stream_draws(1, 0, user))) for user in range(1000)]
    assert all(0 <= p < 1 for p in phases)
    assert statistics.fmean(phases) == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("per_second", [0.0, -1.0])
def test_a_rate_that_sends_nothing_is_refused(per_second: float) -> None:
    with pytest.raises(ValueError, match="sends nothing"):
        arrival_offsets(per_second, CONSTANT, FixedDraws())


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="Constant, Poisson"):
        arrival_offsets(1.0, "Bursty", FixedDraws())


@pytest.mark.parametrize(("users", "per_second", "expected"), [(1, 1.0, 60.0), (10, 2.5, 1500.0), (0, 4.0, 0.0)])
def test_the_target_rate_is_users_times_the_rate_per_user(users: int, per_second: float, expected: float) -> None:
    assert math.isclose(target_per_minute(users, per_second), expected)
