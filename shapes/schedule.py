"""The traffic schedule: how many virtual users run at each moment of a test.

A pure function of the traffic pattern (no clock, no Locust), so it is tested with
exact tables and shared by validation, previews and the Locust shapes.

PHASES: phases run one after another; in phase k (start T_k, duration D_k)
    users(t) = InitialNumberOfUsers_k + SpawnRate_k * floor((t - T_k) / 60)
STAIRS: step = DurationInSeconds / NumberOfSteps (may be fractional)
    users(t) = UsersPerStep * (floor(t / step) + 1)      for 0 <= t < DurationInSeconds
At the end of the pattern the test ends: users(t) is None from then on.
"""

from __future__ import annotations

import bisect
import math
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
class Schedule:
    """Change points in time order, the first at 0; the test ends at ``duration_s``."""

    changes: tuple[ChangePoint, ...]
    duration_s: int

    @cached_property
    def _starts(self) -> list[Fraction]:
        return [c.at for c in self.changes]

    def users_at(self, t: float | Fraction) -> int | None:
        """Target users at ``t`` seconds from the start; None once the pattern is over."""
        if t < 0 or t >= self.duration_s:
            return None
        return self._users(t)

    def _users(self, t: float | Fraction) -> int:
        return self.changes[bisect.bisect_right(self._starts, t) - 1].users

    def next_change_after(self, t: float | Fraction) -> Fraction | None:
        """The first change point (or the end) strictly after ``t``; None after the end."""
        for change in self.changes:
            if change.at > t:
                return change.at
        return Fraction(self.duration_s) if t < self.duration_s else None

    def per_second(self) -> list[int]:
        """Target users at every whole second 0 … duration_s − 1."""
        return [self._users(t) for t in range(self.duration_s)]

    @property
    def peak_users(self) -> int:
        return max(c.users for c in self.changes)


def phase_end_users(initial_users: int, spawn_rate: int, duration_s: int) -> int:
    """Users running in the last second of a phase (used by the phase-boundary rule)."""
    return initial_users + spawn_rate * ((duration_s - 1) // PHASE_SPAWN_INTERVAL_S)


def build_schedule(pattern: TrafficPattern) -> Schedule:
    if pattern.kind == "PHASES":
        return _phases(pattern.phases)
    if pattern.stairs is None:
        raise ValueError("a STAIRS pattern needs its Stairs")
    return _stairs(pattern.stairs)


def _phases(phases: tuple[Phase, ...]) -> Schedule:
    changes: list[ChangePoint] = []
    start = 0
    for phase in phases:
        spawns = math.ceil(phase.duration_s / PHASE_SPAWN_INTERVAL_S)
        for minute in range(spawns):
            _append(
                changes,
                start + minute * PHASE_SPAWN_INTERVAL_S,
                phase.initial_users + phase.spawn_rate * minute,
            )
        start += phase.duration_s
    return Schedule(tuple(changes), start)


def _stairs(stairs: Stairs) -> Schedule:
    step = Fraction(stairs.duration_s, stairs.number_of_steps)
    changes: list[ChangePoint] = []
    for index in range(stairs.number_of_steps):
        _append(changes, step * index, stairs.users_per_step * (index + 1))
    return Schedule(tuple(changes), stairs.duration_s)


def _append(changes: list[ChangePoint], at: int | Fraction, users: int) -> None:
    """Add a change point, skipping ones that change nothing (SpawnRate 0, equal phases)."""
    if not changes or changes[-1].users != users:
        changes.append(ChangePoint(Fraction(at), users))
