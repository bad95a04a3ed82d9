"""In-process Locust (a real LocalRunner): a load process whose loop is held by a CPU-bound greenlet marks
its seconds generator-bound, and one left alone does not."""

from __future__ import annotations

import time

import gevent
import pytest
from locust import User, constant, task
from locust.env import Environment
from locust.event import Events

from loadrec.engine.load.distributed import attach_recorder
from loadrec.engine.measurement.health import LIMITS
from loadrec.engine.measurement.metrics import Timeline
from loadrec.engine.measurement.recording import SecondRecorder

pytestmark = pytest.mark.functional

RUN_S = 3.5


class QuickUser(User):
    wait_time = constant(0.01)

    @task
    def invoke(self) -> None:
        self.environment.events.request.fire(
            request_type="POST", name="invoke", response_time=1.0, response_length=0, exception=None, context={}
        )


def run(hog: bool) -> Timeline:
    """Three and a half seconds of load in this process, its loop held 0.3 s of every 0.4 s when ``hog``."""
    environment = Environment(user_classes=[QuickUser], events=Events())
    recorder = SecondRecorder()
    attach_recorder(environment, recorder)  # the probe starts and stops with the test, as in every load process
    runner = environment.create_local_runner()
    started = time.time()
    timeline = Timeline(started)

    def hold_the_loop() -> None:
        while time.time() < started + RUN_S:
            busy_until = time.perf_counter() + 0.3
            while time.perf_counter() < busy_until:  # CPU-bound, never yielding: what a stuck parser would do
                pass
            gevent.sleep(0.1)

    runner.start(5, spawn_rate=5)
    hog_loop = gevent.spawn(hold_the_loop) if hog else None
    gevent.sleep(RUN_S)
    runner.stop()
    if hog_loop is not None:
        hog_loop.join()
    runner.quit()
    timeline.add(s.to_wire() for s in recorder.take_all())
    return timeline


def test_a_loop_held_by_a_cpu_bound_greenlet_marks_its_seconds_generator_bound() -> None:
    timeline = run(hog=True)
    lags = [row.generator.lag_ms for row in timeline.rows() if row.generator is not None]
    assert sum(lag >= LIMITS.lag_ms for lag in lags) >= 3, lags  # held 0.3 s at a time: every second sees it
    verdict = timeline.generator()
    assert verdict is not None and verdict.bound
    assert any("event-loop lag" in reason for reason in verdict.reasons)


def test_a_loop_left_alone_is_within_every_limit() -> None:
    verdict = run(hog=False).generator()
    assert verdict is not None and not verdict.bound and verdict.bound_seconds == 0
    assert verdict.worst.lag_ms < LIMITS.lag_ms
