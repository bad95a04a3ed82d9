"""The traffic schedule as exact tables."""

from __future__ import annotations

from fractions import Fraction

from loadrec.shapes.schedule import (
    Phase,
    Ramp,
    Schedule,
    Stairs,
    TrafficPattern,
    build_schedule,
    pattern_duration_s,
    pattern_peak_users,
    phase_end_users,
)


def phases(*items: tuple[int, int, int]) -> Schedule:
    return build_schedule(TrafficPattern("PHASES", phases=tuple(Phase(*p) for p in items)))


def stairs(duration: int, steps: int, users: int) -> Schedule:
    return build_schedule(TrafficPattern("STAIRS", stairs=Stairs(duration, steps, users)))


def changes(schedule: Schedule) -> list[tuple[Fraction, int]]:
    return [(c.at, c.users) for c in schedule.change_points()]


def test_two_phases_from_the_aws_guide_step_every_minute() -> None:
    schedule = phases((1, 1, 120), (1, 1, 120))
    assert changes(schedule) == [(0, 1), (60, 2), (120, 1), (180, 2)]
    assert schedule.duration_s == 240
    assert schedule.per_second() == [1] * 60 + [2] * 60 + [1] * 60 + [2] * 60


def test_three_phases_with_partial_minutes() -> None:
    schedule = phases((2, 3, 150), (4, 1, 61), (1, 2, 30))
    assert changes(schedule) == [(0, 2), (60, 5), (120, 8), (150, 4), (210, 5), (211, 1)]
    assert schedule.duration_s == 241
    table = schedule.per_second()
    assert len(table) == 241
    assert table[0] == 2 and table[59] == 2 and table[60] == 5 and table[119] == 5
    assert table[120] == 8 and table[149] == 8 and table[150] == 4 and table[209] == 4
    assert table[210] == 5 and table[211] == 1 and table[240] == 1


def test_spawn_rate_zero_holds_the_initial_users() -> None:
    schedule = phases((3, 0, 180))
    assert changes(schedule) == [(0, 3)]
    assert schedule.per_second() == [3] * 180


def test_equal_consecutive_phases_merge_into_one_change_point() -> None:
    schedule = phases((2, 0, 60), (2, 1, 120))
    assert changes(schedule) == [(0, 2), (120, 3)]


def test_stairs_example_steps_every_120_seconds() -> None:
    schedule = stairs(600, 5, 2)
    assert changes(schedule) == [(0, 2), (120, 4), (240, 6), (360, 8), (480, 10)]
    assert schedule.per_second() == [2] * 120 + [4] * 120 + [6] * 120 + [8] * 120 + [10] * 120


def test_stairs_with_a_fractional_step() -> None:
    schedule = stairs(100, 3, 2)
    assert changes(schedule) == [(0, 2), (Fraction(100, 3), 4), (Fraction(200, 3), 6)]
    # whole seconds: 33 < 33.33 still on step one, 34 on step two; 66 < 66.67, 67 on step three
    assert schedule.per_second() == [2] * 34 + [4] * 33 + [6] * 33
    assert schedule.users_at(33.3) == 2 and schedule.users_at(33.34) == 4


def test_stairs_single_step() -> None:
    schedule = stairs(120, 1, 3)
    assert changes(schedule) == [(0, 3)]
    assert schedule.per_second() == [3] * 120
    assert schedule.peak_users == 3


def test_users_at_outside_the_pattern_is_none() -> None:
    schedule = stairs(4, 2, 1)
    assert schedule.users_at(-0.1) is None
    assert schedule.users_at(3.999) == 2
    assert schedule.users_at(4) is None


def test_next_change_after_ends_with_the_pattern_end() -> None:
    schedule = Schedule((Ramp(Fraction(0), Fraction(5, 2), 2, 1, 1),), 4)
    assert schedule.next_change_after(-1) == 0
    assert schedule.next_change_after(0) == Fraction(5, 2)
    assert schedule.next_change_after(2.5) == 4
    assert schedule.next_change_after(4) is None


def test_next_change_after_skips_boundaries_that_change_nothing() -> None:
    schedule = phases((2, 0, 60), (2, 0, 60), (2, 1, 120))
    assert schedule.next_change_after(0) == 180
    assert schedule.next_change_after(180) == 240


def test_a_billion_steps_is_answered_without_listing_them() -> None:
    schedule = stairs(10**9, 10**9, 1)
    assert schedule.users_at(0) == 1
    assert schedule.users_at(123_456_789.5) == 123_456_790
    assert schedule.next_change_after(123_456_789.5) == 123_456_790
    assert schedule.peak_users == 10**9
    assert changes_head(schedule, 3) == [(0, 1), (1, 2), (2, 3)]


def test_a_phase_of_a_trillion_seconds_is_answered_without_listing_its_minutes() -> None:
    schedule = phases((1, 1, 10**12), (5, 0, 60))
    assert schedule.duration_s == 10**12 + 60
    assert schedule.users_at(10**12 - 1) == 1 + (10**12 - 1) // 60
    assert schedule.users_at(10**12) == 5
    assert schedule.next_change_after(10**12 - 1) == 10**12
    assert schedule.peak_users == 1 + (10**12 - 1) // 60


def test_pattern_figures_without_a_schedule() -> None:
    pattern = TrafficPattern("PHASES", phases=(Phase(1, 2, 121), Phase(4, 0, 60)))
    assert pattern_duration_s(pattern) == 181
    assert pattern_peak_users(pattern) == 5 == build_schedule(pattern).peak_users
    tall = TrafficPattern("STAIRS", stairs=Stairs(100, 7, 3))
    assert pattern_duration_s(tall) == 100
    assert pattern_peak_users(tall) == 21 == build_schedule(tall).peak_users


def changes_head(schedule: Schedule, count: int) -> list[tuple[Fraction, int]]:
    return [(c.at, c.users) for c, _ in zip(schedule.change_points(), range(count), strict=False)]


def test_phase_end_users_counts_the_last_second() -> None:
    assert phase_end_users(1, 1, 120) == 2
    assert phase_end_users(1, 1, 121) == 3
    assert phase_end_users(1, 3, 60) == 1
    assert phase_end_users(2, 0, 3600) == 2
