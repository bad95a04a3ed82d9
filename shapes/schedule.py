"""The traffic schedule: how many virtual users run at each moment of a test.

A pure function of the traffic pattern (no clock, no Locust), so it is tested with
exact tables and shared by validation, previews and the Locust shapes.

PHASES: phases run one after another; in phase k (start T_k, duration D_k)
    users(t) = InitialNumberOfUsers_k + SpawnRate_k * floor((t - T_k) / 60)
STAIRS: step = DurationInSeconds / NumberOfSteps (may be fractional)
    users(t) = UsersPerStep * (floor(t / step) + 1)      for 0 <= t < DurationInSeconds
At the end of the pattern the test ends: users(t) is None from then on.

Both are arithmetic ramps, one per phase (or one for the stairs), and are kept as such:
"users at t" and "the next change after t" are computed, never looked up in a list of
every step, so a pattern of a billion steps costs what a pattern of one does.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Literal

# Phases add users every this many seconds (SpawnRate is users per minute).
PHASE_SPAWN_INTERVAL_S = 60


@dataclass(frozen=True)
class Phase:
    initial_users: int
    spawn_rate: int  # users added per minute
    duration_s: int


@dataclass(frozen=True)
class Stairs:
    duration_s: int
    number_of_steps: int
    users_per_step: int


@dataclass(frozen=True)
class TrafficPattern:
    kind: Literal["PHASES", "STAIRS"]
    phases: tuple[Phase, ...] = ()
    stairs: Stairs | None = None


@dataclass(frozen=True)
class ChangePoint:
    """From ``at`` seconds on (exact, possibly fractional), ``users`` users run."""

    at: Fraction
    users: int


@dataclass(frozen=True)
class Ramp:
    """``first + increment * k`` users from ``start + k * step``, for k = 0 … count − 1."""

    start: Fraction
    step: Fraction
    count: int
    first: int
    increment: int

    def index_at(self, t: float | Fraction) -> int:
        """The step ``t`` falls in (``start <= t < end``)."""
        return min(math.floor((Fraction(t) - self.start) / self.step), self.count - 1)

    def users(self, index: int) -> int:
        return self.first + self.increment * index

    @property
    def peak(self) -> int:
        return max(self.users(0), self.users(self.count - 1))


@dataclass(frozen=True)
class Schedule:
    """Ramps back to back from 0; the test ends at ``duration_s``."""

    ramps: tuple[Ramp, ...]
    duration_s: int

    @cached_property
    def _starts(self) -> list[Fraction]:
        return [r.start for r in self.ramps]

    def users_at(self, t: float | Fraction) -> int | None:
        """Target users at ``t`` seconds from the start; None once the pattern is over."""
        if t < 0 or t >= self.duration_s:
            return None
        ramp = self.ramps[bisect.bisect_right(self._starts, t) - 1]
        return ramp.users(ramp.index_at(t))

    def next_change_after(self, t: float | Fraction) -> Fraction | None:
        """The first change point (or the end) strictly after ``t``; None after the end."""
        if t >= self.duration_s:
            return None
        current = self.users_at(t)
        for point in self._points_after(t):
            if point.users != current:
                return point.at
        return Fraction(self.duration_s)

    def change_points(self) -> Iterator[ChangePoint]:
        """Every moment the user count changes, in time order, the first at 0."""
        current: int | None = None
        for point in self._points_after(-1):
            if point.users != current:
                current = point.users
                yield point

    def _points_after(self, t: float | Fraction) -> Iterator[ChangePoint]:
        """Each step start after ``t``, whether or not it changes the count (lazily)."""
        first_ramp = max(bisect.bisect_right(self._starts, t) - 1, 0)
        for number, ramp in enumerate(self.ramps[first_ramp:]):
            index = ramp.index_at(t) + 1 if number == 0 and t >= ramp.start else 0
            if ramp.increment == 0 and index > 0:
                continue  # a flat ramp has nothing left after its first step
            for k in range(index, ramp.count if ramp.increment else 1):
                yield ChangePoint(ramp.start + ramp.step * k, ramp.users(k))

    def per_second(self) -> list[int]:
        """Target users at every whole second 0 … duration_s − 1."""
        table: list[int] = []
        points = list(self.change_points())
        ends = [p.at for p in points[1:]] + [Fraction(self.duration_s)]
        for point, end in zip(points, ends, strict=True):
            table += [point.users] * (math.ceil(end) - len(table))  # seconds before ``end``
        return table

    @property
    def peak_users(self) -> int:
        return max(r.peak for r in self.ramps)


def phase_end_users(initial_users: int, spawn_rate: int, duration_s: int) -> int:
    """Users running in the last second of a phase (used by the phase-boundary rule)."""
    return initial_users + spawn_rate * ((duration_s - 1) // PHASE_SPAWN_INTERVAL_S)


def pattern_duration_s(pattern: TrafficPattern) -> int:
    if pattern.kind == "PHASES":
        return sum(p.duration_s for p in pattern.phases)
    return pattern.stairs.duration_s if pattern.stairs else 0


def pattern_peak_users(pattern: TrafficPattern) -> int:
    """The most users the pattern ever runs, without building its schedule."""
    if pattern.kind == "PHASES":
        return max((max(p.initial_users, phase_end_users(*_fields(p))) for p in pattern.phases), default=0)
    return pattern.stairs.users_per_step * pattern.stairs.number_of_steps if pattern.stairs else 0


def _fields(phase: Phase) -> tuple[int, int, int]:
    return phase.initial_users, phase.spawn_rate, phase.duration_s


def build_schedule(pattern: TrafficPattern) -> Schedule:
    if pattern.kind == "PHASES":
        return _phases(pattern.phases)
    if pattern.stairs is None:
        raise ValueError("a STAIRS pattern needs its Stairs")
    return _stairs(pattern.stairs)


def _phases(phases: tuple[Phase, ...]) -> Schedule:
    ramps: list[Ramp] = []
    start = 0
    for phase in phases:
        spawns = math.ceil(phase.duration_s / PHASE_SPAWN_INTERVAL_S)
        ramps.append(
            Ramp(Fraction(start), Fraction(PHASE_SPAWN_INTERVAL_S), spawns, phase.initial_users, phase.spawn_rate)
        )
        start += phase.duration_s
    return Schedule(tuple(ramps), start)


def _stairs(stairs: Stairs) -> Schedule:
    step = Fraction(stairs.duration_s, stairs.number_of_steps)
    ramp = Ramp(Fraction(0), step, stairs.number_of_steps, stairs.users_per_step, stairs.users_per_step)
    return Schedule((ramp,), stairs.duration_s)
