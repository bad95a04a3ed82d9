"""One test's lifecycle on Locust's events, the same for every entry point.

The headless test process (``loadrec run``), the web UI (``loadrec ui``) and a stock
``locust -f`` run all build a Locust environment and hand it to a ``LoadTestSession``:

- ``test_start``: a fresh timeline whose every second goes to ``tests/N/seconds.jsonl``
  as it completes, the live monitor, and ``tests/N/result.json`` saying IN_PROGRESS
  (rewritten with what is known after every evaluation, beside ``window.json``, the
  window that evaluation judged);
- ``test_stop``: the stop reason (a stop nobody decided is a person's: STOPPED), the
  test's Benchmark (sizing, price, CloudWatch), written to ``tests/N/``; then
  ``on_finished`` listeners run (the Locust plugin writes the job's files there; a
  headless test's process ends and the orchestrator writes them).

So every entry point writes identical results for the same job.

A results folder that refuses a write mid-test (a full disk, a folder removed) stops
the test at once (FAILED, "results not written"): load is never sent without a
record. What was measured is still said on the progress output.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import gevent
import gevent.event
from locust.env import Environment
from locust.runners import MasterRunner

from loadrec.engine.load.context import TestContext
from loadrec.engine.load.distributed import WORKER_REPORT_INTERVAL_S, attach_recorder, checked, collect_from_workers
from loadrec.engine.load.health_probe import run_off_loop, spawn_off_loop
from loadrec.engine.load.live_monitor import LiveMonitor
from loadrec.engine.load.measuring import Measuring, benchmark_of
from loadrec.engine.measurement.metrics import Timeline
from loadrec.engine.measurement.monitor import StopReason
from loadrec.engine.measurement.recording import SecondRecorder
from loadrec.engine.results.cloudwatch import publish, with_utilization
from loadrec.engine.results.model import Benchmark, Status
from loadrec.engine.results.records import RecordKeeper
from loadrec.engine.results.seconds import Journal
from loadrec.shapes.locust_shapes import ScheduleShape

logger = logging.getLogger(__name__)


class SessionState(StrEnum):
    """Where a session stands; the Recommender tab shows the value."""

    READY = "ready"  # no test yet: a Locust start begins one
    RUNNING = "running"
    FINISHING = "finishing"  # stopped, its results being written: a start now sends no load
    FINISHED = "finished"


@dataclass
class RunningTest:
    """The parts of the test under way, made at its start: none exists before, so none is ever asked for
    while it is missing."""

    timeline: Timeline
    monitor: LiveMonitor
    journal: Journal
    records: RecordKeeper | None  # with --records: its per-request records
    loop: gevent.Greenlet | None = None  # the monitor's greenlet


class LoadTestSession:
    """Runs one test per Locust start on ``environment`` and writes its results into the context's folder."""

    def __init__(self, environment: Environment, context: TestContext) -> None:
        self.environment, self.context = environment, context
        self.state = SessionState.READY
        self.running: RunningTest | None = None  # the test under way, or the last one
        self.benchmark: Benchmark | None = None  # the last test's outcome, once it finished
        self.workers = 0
        self.finished = gevent.event.Event()
        self.on_finished: list[Callable[[Benchmark], None]] = []
        self._writing: Any = None  # the progress write under way in a thread, if any
        self.cancelled = False  # stopped before its start: a later start sends no load
        self.write_error: str | None = None  # why the results folder refused a write, once it did
        runner = environment.runner
        self.recorder: SecondRecorder | None = None  # None on a master: its workers record
        if isinstance(runner, MasterRunner):
            collect_from_workers(environment, runner, self._add, self._add_records)  # once: to each test's own
        else:
            self.recorder = SecondRecorder(context.clock)
            attach_recorder(environment, self.recorder)
        environment.events.test_start.add_listener(self._on_start)
        environment.events.test_stop.add_listener(self._on_stop)

    @property
    def monitor(self) -> LiveMonitor | None:
        return self.running.monitor if self.running is not None else None

    @property
    def index(self) -> int:
        return self.context.index

    @property
    def takes_a_start(self) -> bool:
        """A Locust start now begins a test (not after a stop that came first, nor while one is being written)."""
        return not self.cancelled and self.state is not SessionState.FINISHING

    def stop(self, reason: StopReason, detail: str = "") -> None:
        """End the running test for ``reason`` (signals, a parent gone); before its start, it never starts."""
        if self.state is SessionState.RUNNING and self.running is not None:
            self.running.monitor.stop(reason, detail)
        elif self.state is SessionState.READY:
            self.cancelled = True
            context = self.context
            self._finish(
                Benchmark(self.index, context.label, Status.STOPPED, reason.value, detail, run_id=context.run_id)
            )

    def fail(self, reason: str) -> None:
        """The test could not start (e.g. workers): FAILED, nothing measured (unless it was stopped already)."""
        context = self.context
        self._finish(Benchmark(self.index, context.label, Status.FAILED, failure_reason=reason, run_id=context.run_id))

    def _add(self, seconds: list[dict[str, Any]]) -> None:
        """Seconds from the workers, each checked (what does not read as loadrec writes it is dropped, said)."""
        if self.running is not None:
            timeline = self.running.timeline
            kept, damaged = checked(seconds, timeline.start_epoch)
            if damaged:
                logger.warning("%d second(s) from a worker were damaged and are left out", damaged)
            timeline.add(kept)

    def _add_records(self, records: Any) -> None:
        if self.state is SessionState.RUNNING and self.running is not None and self.running.records is not None:
            self.running.records.offer(records)

    def _take_records(self, running: RunningTest) -> None:
        """This process's own requests' records, handed to the keeper (on the loop: only moved)."""
        if running.records is not None and self.recorder is not None:
            running.records.offer(self.recorder.take_records())

    def _on_start(self, **_: Any) -> None:
        runner = self.environment.runner
        if runner is None:
            return  # Locust fires test_start on a runner: never without one
        if not self.takes_a_start:
            # Stopped before it began, or a new start while the last test is still being written: no load.
            gevent.spawn(runner.stop)
            return
        if self.recorder is not None:
            self.recorder.take_all()  # whatever a previous run left behind
        if isinstance(runner, MasterRunner) and not self.workers:  # a stock master: whoever is connected
            self.workers = len(runner.clients.ready)
        context = self.context
        self.running, journal = None, None  # a start that fails has measured nothing (the last test is not it)
        try:
            start = int(context.clock())
            journal = context.folder.open_journal(self.index, start)
            timeline = Timeline(start, self._journal_write)
            limit = context.settings.records
            records = context.folder.records_keeper(self.index, limit) if limit else None
            lag = int(WORKER_REPORT_INTERVAL_S) + 1 if isinstance(runner, MasterRunner) else 0
            shape = self.environment.shape_class
            search = shape.search if isinstance(shape, ScheduleShape) else None  # the one the shape follows
            watch = context.watch(search)
            monitor = LiveMonitor(runner, timeline, watch, self.recorder, lag, self._save_progress)
            self.running = RunningTest(timeline, monitor, journal, records)
            self.state, self.benchmark = SessionState.RUNNING, None
            self.finished.clear()
            self._save_progress()
        except OSError as error:  # Locust's event hook would only log it, and the test would never end
            if journal is not None and self.running is None:
                journal.close()  # _finish closes only a running test's
            self._fail_running(f"its results could not be written ({error})")
            gevent.spawn(runner.stop)
            return
        self.running.loop = gevent.spawn(monitor.run)

    def _save_progress(self) -> None:
        """What is known so far, on disk while the test runs (written off the loop the users share)."""
        running = self.running
        if self.state is not SessionState.RUNNING or self.write_error is not None or running is None:
            return
        monitor, folder = running.monitor, self.context.folder
        window = monitor.history[-1].window if monitor.history else None
        now = self.context.clock()
        self._take_records(running)
        records = running.records

        def write() -> OSError | None:
            try:
                if records is not None:
                    records.flush()
                if window is not None:
                    folder.write_window(self.index, window)
                folder.write_benchmark(self._measure(running, Status.IN_PROGRESS, now))
            except OSError as error:
                return error
            return None

        # Kept, so that the end of the test waits for it: a progress write must never land after the result.
        self._writing = spawn_off_loop(write)
        error = self._writing.get()
        if error is not None:
            self._unwritable(error)

    def _journal_write(self, record: dict[str, Any]) -> None:
        if self.running is not None and self.write_error is None:
            try:
                self.running.journal.write(record)
            except OSError as error:
                self._unwritable(error)

    def _unwritable(self, error: OSError) -> None:
        """The folder refused a write: stop the test now (the first refusal is the one reported)."""
        if self.write_error is not None:
            return
        self.write_error = self.context.folder.refusal(error)
        self.context.say(f"results cannot be written to {self.write_error}; stopping the test")
        if self.running is not None:
            self.running.monitor.stop(StopReason.RESULTS_NOT_WRITTEN, self.write_error)

    def _on_stop(self, **_: Any) -> None:
        """Runs inside runner.stop(), after every user has stopped (and every worker sent its last seconds)."""
        running = self.running
        if self.state is not SessionState.RUNNING or running is None:
            return
        self.state = SessionState.FINISHING  # a second stop, or a start meanwhile, must not touch this test
        context, monitor, timeline = self.context, running.monitor, running.timeline
        if running.loop is not None:
            running.loop.kill(block=False)
        if self._writing is not None:
            self._writing.wait()  # a progress write still under way ends before the result is written
        end = context.clock()
        # Nobody decided: the pattern ran its course, or a person pressed Stop (a search ends itself with a reason).
        monitor.ended(pattern_complete=end - timeline.start_epoch >= context.spec.schedule.duration_s - 1)
        try:
            if self.recorder is not None:
                timeline.add(s.to_wire() for s in self.recorder.take_all())
            self._take_records(running)
            if running.records is not None:
                run_off_loop(running.records.flush)  # every record is in (workers sent theirs with their last seconds)
            monitor.conclude(timeline.offset(end))  # every second is in: the last window is judged too
            benchmark = with_utilization(context.spec, self._measure(running, None, end), context.test.target)
            if context.settings.publish_metrics:
                benchmark = publish(context.spec, benchmark, timeline.rows(), context.test.target)
        except Exception as error:  # Locust's event hook would only log it, and the test would never end
            self._fail_running(f"its results could not be completed ({type(error).__name__}: {error})")
            return
        self._finish(benchmark)

    def _fail_running(self, reason: str) -> None:
        context = self.context
        base = Benchmark(self.index, context.label, Status.FAILED, run_id=context.run_id)
        if self.running is not None:
            # The same fault again must not keep the test from ending: its seconds are on disk, unmeasured.
            with contextlib.suppress(Exception):
                base = self._measure(self.running, Status.FAILED, context.clock())
        self._finish(replace(base, failure_reason=reason))

    def _finish(self, benchmark: Benchmark) -> None:
        if self.finished.is_set() and self.state is SessionState.FINISHED:
            return  # already finished (a stop, then a failure to start): the first outcome stands
        self.state, self.benchmark = SessionState.FINISHED, benchmark
        try:
            if self.running is not None:
                self.running.journal.close()
            try:
                self.context.folder.write_benchmark(benchmark)
            except OSError as error:
                self._unwritable(error)
            if self.write_error is not None:  # the record is lost: say what was measured
                self.context.say(f"measured, not written: {benchmark.summary()}")
            for listener in self.on_finished:
                listener(benchmark)
        finally:
            self.finished.set()

    def _measure(self, running: RunningTest, status: Status | None, end: float) -> Benchmark:
        """The test's Benchmark from its monitor's history; ``status`` None: the final one (its warnings said)."""
        records = None
        if running.records is not None:  # with the records this process let go at its recorder's bound
            records = running.records.summary(self.recorder.records_lost if self.recorder is not None else 0)
        measuring = Measuring(self.context, running.monitor, running.timeline, self.workers, records)
        benchmark, warnings = benchmark_of(measuring, status, end)
        for line in warnings:
            self.context.say(line)
        return benchmark
