"""Locust LoadTestShape adapters over the pure schedule (:mod:`shapes.schedule`).

``PhasesShape`` and ``StairsShape`` are what a stock ``locust -f`` run picks up: import
the one you need into your locustfile and name the job with ``--job job.json`` (or the
``LOADREC_JOB`` environment variable; ``--limits``/``LOADREC_LIMITS`` as for loadrec).

Two details keep users on time (added users run within 1 s of their change point):
- Locust polls ``tick()`` once a second. When a change point is less than a second
  away, ``tick()`` waits for it, so the change is applied at the change point and not
  up to a second later.
- Locust's ``start()`` blocks until a ramp completes, spawning ``spawn_rate`` users a
  second. The shapes ask for a rate of the schedule's peak user count, so any change
  happens in one dispatch without waiting.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from fractions import Fraction
from typing import ClassVar

import gevent
from locust import LoadTestShape, events

from shapes.schedule import Schedule

logger = logging.getLogger(__name__)

JOB_ENV = "LOADREC_JOB"
LIMITS_ENV = "LOADREC_LIMITS"
TICK_INTERVAL_S = 1  # how often Locust's shape worker calls tick()


@events.init_command_line_parser.add_listener
def _add_job_options(parser: argparse.ArgumentParser) -> None:
    try:
        parser.add_argument("--job", default=None, help="loadrec: the job file whose traffic pattern to run")
        parser.add_argument("--limits", default=None, choices=["aws", "relaxed"], help="loadrec: limits mode")
    except argparse.ArgumentError:  # already added (this module imported under two names)
        pass


class ScheduleShape(LoadTestShape):
    """Follows a ``Schedule``; ends the test when the pattern ends."""

    abstract: ClassVar[bool] = True
    traffic_type: ClassVar[str]

    def __init__(
        self,
        schedule: Schedule | None = None,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], object] = gevent.sleep,
    ) -> None:
        super().__init__()
        self._schedule = schedule
        self._clock = clock or self.get_run_time
        self._sleep = sleep

    def follow(self, schedule: Schedule) -> None:
        """Follow ``schedule`` from the next tick on (the job is known only once Locust has started)."""
        self._schedule = schedule

    def tick(self) -> tuple[int, float] | None:
        schedule = self._schedule or self._load_schedule()
        if schedule is None:
            return None
        now: float | Fraction = self._clock()
        upcoming = schedule.next_change_after(now)
        if upcoming is not None and upcoming - Fraction(now) < TICK_INTERVAL_S:
            self._sleep(float(upcoming - Fraction(now)))
            now = max(upcoming, Fraction(self._clock()))
        users = schedule.users_at(now)
        if users is None:
            return None
        return users, float(max(schedule.peak_users, 1))

    def _load_schedule(self) -> Schedule | None:
        """Read the job named by ``--job`` or $LOADREC_JOB (stock ``locust -f`` runs)."""
        # Imported here: loading a job needs botocore's model, which plain schedules do not.
        from engine.jobfile import JobFileError, load_job
        from engine.jobspec import JobSpecError
        from engine.limits import LimitsMode

        options = self.runner.environment.parsed_options if self.runner else None
        path = getattr(options, "job", None) or os.environ.get(JOB_ENV)
        mode = getattr(options, "limits", None) or os.environ.get(LIMITS_ENV) or LimitsMode.AWS.value
        if not path:
            logger.error("%s: no job given (use --job FILE or set %s)", type(self).__name__, JOB_ENV)
            return None
        try:
            spec = load_job(path, LimitsMode(mode))
        except (JobFileError, JobSpecError) as error:
            logger.error("%s: the job is not valid:\n%s", type(self).__name__, error)
            return None
        if self.traffic_type and spec.traffic.kind != self.traffic_type:
            logger.error(
                "%s runs %s jobs, but %s is %s: use %s",
                type(self).__name__,
                self.traffic_type,
                path,
                spec.traffic.kind,
                shape_class_for(spec.traffic.kind).__name__,
            )
            return None
        self._schedule = spec.schedule
        return self._schedule


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
