"""The health probe: a greenlet in every load process that measures, each tick, how late the loop woke it.

Every ``TICK_S`` it sleeps and notes how much later than asked it woke (the event-loop lag: a
user whose answer arrived waited as long for the loop) and the process's CPU time since the
last tick. ``Gauge`` (pure: times in, figures out) turns ticks into the current second's CPU
share and worst lag, which the probe hands to the process's ``SecondRecorder``, so every
second's record carries them (:mod:`loadrec.engine.measurement.health` says what they mean).
Send delays come from the users themselves; held times from the monitor and the reporters
(``held_by``). ``run_off_loop`` is where their heavy work goes instead.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import gevent

from loadrec.engine.measurement.health import Health
from loadrec.engine.measurement.recording import SecondRecorder

T = TypeVar("T")
OffLoop = Callable[[Callable[[], Any]], Any]  # runs a function elsewhere and returns its result
TICK_S = 0.05  # 20 wake-ups a second: a lag of more than a tick is seen within its second, for ~nothing


@dataclass
class Gauge:
    """One second's CPU share and worst loop lag, from the ticks that ended in it."""

    second: int | None = None
    cpu_s: float = 0.0
    wall_s: float = 0.0
    lag_ms: float = 0.0

    def tick(self, second: int, wall_s: float, cpu_s: float, lag_ms: float) -> Health:
        """A tick ending in ``second`` that took ``wall_s`` (the process used ``cpu_s`` meanwhile) and woke
        ``lag_ms`` late: the second's figures so far."""
        if second != self.second:
            self.second, self.cpu_s, self.wall_s, self.lag_ms = second, 0.0, 0.0, 0.0
        self.cpu_s += max(0.0, cpu_s)
        self.wall_s += max(0.0, wall_s)
        self.lag_ms = max(self.lag_ms, lag_ms)
        share = 100.0 * self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0
        return Health(cpu_percent=share, lag_ms=self.lag_ms)


class HealthProbe:
    """Started with a test's load in this process, stopped with it."""

    def __init__(
        self,
        recorder: SecondRecorder,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.perf_counter,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        self.recorder, self.wall, self.clock, self.cpu = recorder, wall, clock, cpu
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        if self._greenlet is None or self._greenlet.dead:
            self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        greenlet, self._greenlet = self._greenlet, None
        if greenlet is not None:
            greenlet.kill(block=False)

    def _run(self) -> None:
        gauge = Gauge()
        last, last_cpu = self.clock(), self.cpu()
        while True:
            asleep = self.clock()
            gevent.sleep(TICK_S)
            now, cpu = self.clock(), self.cpu()
            lag_ms = max(0.0, (now - asleep - TICK_S) * 1000.0)
            self.recorder.record_health(gauge.tick(int(self.wall()), now - last, cpu - last_cpu, lag_ms))
            last, last_cpu = now, cpu


@contextmanager
def held_by(recorder: SecondRecorder | None, clock: Callable[[], float] = time.perf_counter) -> Iterator[None]:
    """Note how long the enclosed bookkeeping held the loop in ``recorder`` (None: nothing is noted)."""
    started = clock()
    try:
        yield
    finally:
        if recorder is not None:
            recorder.record_held((clock() - started) * 1000.0)


SWITCH_INTERVAL_S = 0.001  # how long the loop may wait for the GIL while a thread works (Python's default: 5 ms)


def spawn_off_loop(work: Callable[[], T]) -> Any:
    """``work()`` started in gevent's thread pool; what it returns is waited for (``get()``, ``wait()``) by any
    greenlet, while the loop runs on. The thread and the loop share the GIL, which a thread hands over after
    ``sys.getswitchinterval()``: 1 ms here, so a user whose answer arrived waits at most that long."""
    if sys.getswitchinterval() > SWITCH_INTERVAL_S:
        sys.setswitchinterval(SWITCH_INTERVAL_S)
    return gevent.get_hub().threadpool.spawn(work)


def run_off_loop(work: Callable[[], T]) -> T:
    """``work()`` in gevent's thread pool: the calling greenlet waits for its result, the loop runs on."""
    result: T = spawn_off_loop(work).get()
    return result
