"""In-process Locust (a real LocalRunner): the live user count follows the schedule within 1 s."""

from __future__ import annotations

import time

import gevent
import pytest
from locust import User, constant, task
from locust.env import Environment
from locust.runners import STATE_STOPPED

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.shapes.locust_shapes import ScheduleShape, shape_class_for
from loadrec.shapes.schedule import Schedule

pytestmark = pytest.mark.functional

LATENESS_S = 1.0
SAMPLE_EVERY_S = 0.02


class IdleUser(User):
    wait_time = constant(0.05)

    @task
    def idle(self) -> None:
        pass


def observe(shape: ScheduleShape, timeout_s: float) -> list[tuple[float, int]]:
    """Run the shape on a LocalRunner; (seconds since start, live users) samples until it stops."""
    environment = Environment(user_classes=[IdleUser], shape_class=shape)
    runner = environment.create_local_runner()
    runner.start_shape()
    samples: list[tuple[float, int]] = []
    try:
        while runner.state != STATE_STOPPED:
            elapsed = time.perf_counter() - shape.start_time
            assert elapsed < timeout_s, "the shape did not end the test"
            samples.append((elapsed, runner.user_count))
            gevent.sleep(SAMPLE_EVERY_S)
        samples.append((time.perf_counter() - shape.start_time, runner.user_count))
    finally:
        runner.quit()
    return samples


def assert_follows(schedule: Schedule, samples: list[tuple[float, int]]) -> None:
    changes = list(schedule.change_points())
    ends = [float(c.at) for c in changes[1:]] + [float(schedule.duration_s)]
    previous: int | None = None
    for change, end in zip(changes, ends, strict=True):
        start = float(change.at)
        first = next(t for t, users in samples if t >= start - 0.05 and users == change.users)
        assert first - start < LATENESS_S, f"{change.users} users at {start} s came only at {first:.2f} s"
        settled = [users for t, users in samples if start + LATENESS_S <= t < end - 0.05]
        assert set(settled) <= {change.users}, f"users left {change.users} between {start} and {end} s: {settled}"
        if previous is not None:  # never early
            early = [users for t, users in samples if start - 0.5 <= t < start - 0.05]
            assert set(early) == {previous}, f"before {start} s expected {previous} users, saw {early}"
        previous = change.users
    stopped_at = next(t for t, users in samples if t >= schedule.duration_s - 0.05 and users == 0)
    assert stopped_at - schedule.duration_s < LATENESS_S


def job(pattern: dict[str, object]) -> dict[str, object]:
    return {
        "JobName": "functional",
        "JobType": "Advanced",
        "InputConfig": {
            "TrafficPattern": pattern,
            "EndpointConfigurations": [{"InstanceType": "ml.c5.large"}],
        },
        "StoppingConditions": {"MaxInvocations": 100},
    }


@pytest.mark.parametrize(
    "pattern",
    [
        {"TrafficType": "STAIRS", "Stairs": {"DurationInSeconds": 5, "NumberOfSteps": 3, "UsersPerStep": 4}},
        {
            "TrafficType": "PHASES",
            "Phases": [
                {"InitialNumberOfUsers": 2, "SpawnRate": 0, "DurationInSeconds": 2},
                {"InitialNumberOfUsers": 9, "SpawnRate": 0, "DurationInSeconds": 1},
                {"InitialNumberOfUsers": 1, "SpawnRate": 5, "DurationInSeconds": 2},
            ],
        },
    ],
    ids=["stairs-fractional-steps", "phases-up-and-down"],
)
def test_live_users_follow_the_schedule(pattern: dict[str, object]) -> None:
    spec = parse_job(job(pattern), LimitsMode.RELAXED)
    shape = shape_class_for(spec.traffic.kind)(spec.schedule)
    samples = observe(shape, timeout_s=spec.schedule.duration_s + 5)
    assert_follows(spec.schedule, samples)
