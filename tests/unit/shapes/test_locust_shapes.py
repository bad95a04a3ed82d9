"""The LoadTestShape adapters, driven by an injected clock (no sleeping)."""

from __future__ import annotations

import pytest

from loadrec.shapes.locust_shapes import StairsShape
from loadrec.shapes.schedule import Stairs, TrafficPattern, build_schedule
from loadrec.shapes.search import Search


class FakeClock:
    """A clock that only moves when the shape sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def stairs_shape(clock: FakeClock, duration: int = 10, steps: int = 4, users: int = 3) -> StairsShape:
    schedule = build_schedule(TrafficPattern("STAIRS", stairs=Stairs(duration, steps, users)))
    return StairsShape(schedule, clock=clock, sleep=clock.sleep)


def test_tick_returns_target_users_and_a_rate_that_ramps_in_one_dispatch() -> None:
    clock = FakeClock()
    shape = stairs_shape(clock)  # steps of 2.5 s: 3, 6, 9, 12 users; peak 12
    assert shape.tick() == (3, 12.0)
    assert clock.slept == []


def test_tick_waits_for_a_change_point_less_than_a_second_away() -> None:
    clock = FakeClock()
    shape = stairs_shape(clock)
    clock.now = 1.4  # the change at 2.5 s is 1.1 s away: the next tick comes first
    assert shape.tick() == (3, 12.0)
    assert clock.slept == []
    clock.now = 1.8  # 0.7 s away: wait for it rather than apply it 0.3 s late
    assert shape.tick() == (6, 12.0)
    assert clock.slept == [0.7]
    assert clock.now == pytest.approx(2.5)


def test_tick_ends_the_test_at_the_end_of_the_pattern() -> None:
    clock = FakeClock()
    shape = stairs_shape(clock)
    clock.now = 9.4
    assert shape.tick() is None
    assert clock.slept == [0.6]
    clock.now = 12.0
    assert shape.tick() is None


def test_a_pattern_shorter_than_a_tick_still_runs_its_users() -> None:
    clock = FakeClock()
    shape = stairs_shape(clock, duration=1, steps=1, users=2)
    assert shape.tick() == (2, 2.0)  # not a wait for the end before any user ran
    assert clock.slept == []
    clock.now = 0.5
    assert shape.tick() is None and clock.slept == [0.5]  # then it ends on time
    shape.reset_time()  # a new run starts its users again
    clock.now = 0.0
    assert shape.tick() == (2, 2.0)


def test_a_shape_following_a_search_runs_its_probes_and_ends_with_it() -> None:
    clock = FakeClock()
    search = Search(2, 16, 0.05, probe_s=10)
    shape = stairs_shape(clock)  # a 10 s pattern, followed no more
    shape.follow(build_schedule(TrafficPattern("STAIRS", stairs=Stairs(10, 4, 3))), search)
    assert shape.tick() == (2, 16.0)  # the search begun at the first tick; a rate of MaxUsers: one dispatch
    assert search.probes[0].start == 0.0
    clock.now = 50.0  # far past the pattern's end: the search, not the pattern, says when the test ends
    assert shape.tick() == (2, 16.0)
    assert search.judge(10.0, passed=True) == 4
    assert shape.tick() == (4, 16.0)
    assert search.judge(20.0, passed=False) == 3 and search.judge(30.0, passed=False) is None
    assert shape.tick() is None and clock.slept == []
    shape.reset_time()  # a new run: the search begins afresh
    assert shape.tick() == (2, 16.0) and len(search.probes) == 1
