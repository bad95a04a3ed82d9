"""Locust LoadTestShape adapters over the pure schedule (:mod:`loadrec.shapes.schedule`).

``PhasesShape`` and ``StairsShape`` follow a ``Schedule`` given to them, at construction
or later with ``follow()`` (the job is known only once Locust has parsed its options:
:mod:`loadrec.engine.locust_plugin` reads ``--job`` and hands the schedule over). A
shape that was given no schedule ends the test at once.

Two details keep users on time (added users run within 1 s of their change point):
- Locust polls ``tick()`` once a second. When a change point is less than a second
  away, ``tick()`` waits for it, so the change is applied at the change point and not
  up to a second later.
- Locust's ``start()`` blocks until a ramp completes, spawning ``spawn_rate`` users a
  second. The shapes ask for a rate of the schedule's peak user count, so any change
  happens in one dispatch without waiting.

A shape may follow a ``Search`` instead (``Loadrec.Search``): it starts the search at
its first tick, asks each tick for the running probe's users, and ends the test once the
search is over. The live monitor judges the probes and tells the same search.

This package imports nothing from loadrec.engine: schedules are pure values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from fractions import Fraction
from typing import ClassVar

import gevent
from locust import LoadTestShape

from loadrec.shapes.schedule import Schedule
from loadrec.shapes.search import Search

logger = logging.getLogger(__name__)

TICK_INTERVAL_S = 1  # how often Locust's shape worker calls tick()


class ScheduleShape(LoadTestShape):
    """Follows a ``Schedule``; ends the test when the pattern ends."""

    abstract: ClassVar[bool] = True
    traffic_type: ClassVar[str]  # "PHASES", "STAIRS", or "" for either

    def __init__(
        self,
        schedule: Schedule | None = None,
        *,
        search: Search | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], object] = gevent.sleep,
    ) -> None:
        super().__init__()
        self._schedule = schedule
        self.search = search  # followed instead of the schedule when given
        self._clock = clock or self.get_run_time
        self._sleep = sleep
        self._started = False  # users of this run have been asked for

    def reset_time(self) -> None:
        """A new run (Locust calls this on every start)."""
        super().reset_time()
        self._started = False

    def follow(self, schedule: Schedule, search: Search | None = None) -> None:
        """Follow ``schedule`` (or ``search``, when given) from the next tick on."""
        self._schedule, self.search = schedule, search

    def tick(self) -> tuple[int, float] | None:
        if self.search is not None:
            return self._search_tick(self.search)
        schedule = self._schedule
        if schedule is None:
            logger.error("%s has no schedule: name the job with --job (or LOADREC_JOB)", type(self).__name__)
            return None
        now: float | Fraction = self._clock()
        upcoming = schedule.next_change_after(now)
        # A pattern shorter than a tick: its end is not waited for before its users ever ran.
        ending_unstarted = upcoming == schedule.duration_s and not self._started and now < TICK_INTERVAL_S
        if upcoming is not None and upcoming - Fraction(now) < TICK_INTERVAL_S and not ending_unstarted:
            self._sleep(float(upcoming - Fraction(now)))
            now = max(upcoming, Fraction(self._clock()))
        users = schedule.users_at(now)
        if users is None:
            return None
        self._started = True
        return users, float(max(schedule.peak_users, 1))

    def _search_tick(self, search: Search) -> tuple[int, float] | None:
        if not self._started:
            self._started = True
            search.start(0.0)  # the test's first second: the monitor judges probes in the test's seconds
        users = search.users()
        return None if users is None else (users, float(search.high))


class JobShape(ScheduleShape):
    """Whatever TrafficType the job has, PHASES or STAIRS."""

    traffic_type = ""


class PhasesShape(ScheduleShape):
    """TrafficType PHASES: each phase adds SpawnRate users every minute."""

    traffic_type = "PHASES"


class StairsShape(ScheduleShape):
    """TrafficType STAIRS: UsersPerStep more users every DurationInSeconds / NumberOfSteps."""

    traffic_type = "STAIRS"


def shape_class_for(traffic_type: str) -> type[ScheduleShape]:
    return {"PHASES": PhasesShape, "STAIRS": StairsShape}[traffic_type]
