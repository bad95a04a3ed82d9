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
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import gevent
import gevent.event
from locust.env import Environment
from locust.runners import MasterRunner

from loadrec.engine.job.spec import JobSpec
from loadrec.engine.load.distributed import WORKER_REPORT_INTERVAL_S, attach_recorder, checked, collect_from_workers
from loadrec.engine.load.health_probe import run_off_loop, spawn_off_loop
from loadrec.engine.load.live_monitor import LiveMonitor
from loadrec.engine.load.prepare import PreparedTest
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.measurement.confidence import Confidence, WindowSamples, confidence
from loadrec.engine.measurement.histograms import REPORTED_PERCENTILES
from loadrec.engine.measurement.metrics import Timeline, WindowStats
from loadrec.engine.measurement.monitor import StopReason
from loadrec.engine.measurement.open_model import RateFigures, rate_figures
from loadrec.engine.measurement.outcome import (
    Measured,
    Sizing,
    failure_reason,
    measure,
    model_setup_us,
    reported_quantiles,
    size,
    status_of,
)
from loadrec.engine.measurement.prices import PriceTable, price_per_hour
from loadrec.engine.measurement.probes import SearchFigures
from loadrec.engine.measurement.recording import SecondRecorder
from loadrec.engine.measurement.records import RecordsSummary
from loadrec.engine.results.cloudwatch import publish, with_utilization
from loadrec.engine.results.files import ResultsFolder
from loadrec.engine.results.model import Benchmark, Status
from loadrec.engine.results.records import RecordKeeper
from loadrec.engine.results.seconds import Journal
from loadrec.shapes.locust_shapes import ScheduleShape

logger = logging.getLogger(__name__)

READY, RUNNING, FINISHING, FINISHED = "ready", "running", "finishing", "finished"


class LoadTestSession:
    """Runs one test per Locust start on ``environment`` and writes its results into ``folder``."""

    def __init__(
        self,
        environment: Environment,
        spec: JobSpec,
        test: PreparedTest,
        settings: RunSettings,
        prices: PriceTable,
        folder: ResultsFolder,
        run_id: str,
        progress: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.environment, self.spec, self.test, self.settings = environment, spec, test, settings
        self.prices, self.folder, self.run_id, self.progress, self.clock = prices, folder, run_id, progress, clock
        self.state = READY
        self.timeline: Timeline | None = None
        self.monitor: LiveMonitor | None = None
        self.benchmark: Benchmark | None = None
        self.workers = 0
        self.finished = gevent.event.Event()
        self.on_finished: list[Callable[[Benchmark], None]] = []
        self._journal: Journal | None = None
        self._monitor_loop: gevent.Greenlet | None = None
        self._writing: Any = None  # the progress write under way in a thread, if any
        self.cancelled = False  # stopped before its start: a later start sends no load
        self.write_error: str | None = None  # why the results folder refused a write, once it did
        runner = environment.runner
        self.recorder: SecondRecorder | None = None
        self.records: RecordKeeper | None = None  # with --records: the running test's per-request records
        if isinstance(runner, MasterRunner):
            collect_from_workers(environment, runner, self._add, self._add_records)  # once: to each test's own
        else:
            self.recorder = SecondRecorder(clock)
            attach_recorder(environment, self.recorder)
        environment.events.test_start.add_listener(self._on_start)
        environment.events.test_stop.add_listener(self._on_stop)

    @property
    def index(self) -> int:
        return self.test.index

    @property
    def takes_a_start(self) -> bool:
        """A Locust start now begins a test (not after a stop that came first, nor while one is being written)."""
        return not self.cancelled and self.state != FINISHING

    def stop(self, reason: StopReason, detail: str = "") -> None:
        """End the running test for ``reason`` (signals, a parent gone); before its start, it never starts."""
        if self.state == RUNNING and self.monitor is not None:
            self.monitor.stop(reason, detail)
        elif self.state == READY:
            self.cancelled = True
            stopped = Benchmark(self.index, self.test.label, Status.STOPPED, reason.value, detail, run_id=self.run_id)
            self._finish(stopped)

    def fail(self, reason: str) -> None:
        """The test could not start (e.g. workers): FAILED, nothing measured (unless it was stopped already)."""
        self._finish(Benchmark(self.index, self.test.label, Status.FAILED, failure_reason=reason, run_id=self.run_id))

    def _add(self, seconds: list[dict[str, Any]]) -> None:
        """Seconds from the workers, each checked (what does not read as loadrec writes it is dropped, said)."""
        if self.timeline is not None:
            kept, damaged = checked(seconds, self.timeline.start_epoch)
            if damaged:
                logger.warning("%d second(s) from a worker were damaged and are left out", damaged)
            self.timeline.add(kept)

    def _add_records(self, records: Any) -> None:
        if self.records is not None and self.state == RUNNING:
            self.records.offer(records)

    def _take_records(self) -> None:
        """This process's own requests' records, handed to the keeper (on the loop: only moved)."""
        if self.records is not None and self.recorder is not None:
            self.records.offer(self.recorder.take_records())

    def _on_start(self, **_: Any) -> None:
        runner = self.environment.runner
        assert runner is not None
        if not self.takes_a_start:
            # Stopped before it began, or a new start while the last test is still being written: no load.
            gevent.spawn(runner.stop)
            return
        if self.recorder is not None:
            self.recorder.take_all()  # whatever a previous run left behind
        if isinstance(runner, MasterRunner) and not self.workers:  # a stock master: whoever is connected
            self.workers = len(runner.clients.ready)
        try:
            start = int(self.clock())
            self._journal = self.folder.open_journal(self.index, start)
            self.timeline = Timeline(start, self._journal_write)
            if self.settings.records:
                self.records = self.folder.records_keeper(self.index, self.settings.records)
            lag = int(WORKER_REPORT_INTERVAL_S) + 1 if isinstance(runner, MasterRunner) else 0
            shape = self.environment.shape_class
            search = shape.search if isinstance(shape, ScheduleShape) else None  # the one the shape follows
            self.monitor = LiveMonitor(
                runner, self.timeline, self.spec.schedule, self.spec.stopping, self.settings.monitor, self.recorder,
                lag, self.progress, self.clock, self._save_progress, search=search,
            )  # fmt: skip
            self.state, self.benchmark = RUNNING, None
            self.finished.clear()
            self._save_progress()
        except OSError as error:  # Locust's event hook would only log it, and the test would never end
            self._fail_running(f"its results could not be written ({error})")
            gevent.spawn(runner.stop)
            return
        self._monitor_loop = gevent.spawn(self.monitor.run)

    def _save_progress(self) -> None:
        """What is known so far, on disk while the test runs (written off the loop the users share)."""
        if self.state != RUNNING or self.write_error is not None or self.monitor is None:
            return
        window = self.monitor.history[-1].window if self.monitor.history else None
        now = self.clock()
        self._take_records()
        records = self.records

        def write() -> OSError | None:
            try:
                if records is not None:
                    records.flush()
                if window is not None:
                    self.folder.write_window(self.index, window)
                self.folder.write_benchmark(self._measure(Status.IN_PROGRESS, now))
            except OSError as error:
                return error
            return None

        # Kept, so that the end of the test waits for it: a progress write must never land after the result.
        self._writing = spawn_off_loop(write)
        error = self._writing.get()
        if error is not None:
            self._unwritable(error)

    def _journal_write(self, record: dict[str, Any]) -> None:
        if self._journal is not None and self.write_error is None:
            try:
                self._journal.write(record)
            except OSError as error:
                self._unwritable(error)

    def _unwritable(self, error: OSError) -> None:
        """The folder refused a write: stop the test now (the first refusal is the one reported)."""
        if self.write_error is not None:
            return
        self.write_error = self.folder.refusal(error)
        self.progress(f"results cannot be written to {self.write_error}; stopping the test")
        if self.monitor is not None:
            self.monitor.stop(StopReason.RESULTS_NOT_WRITTEN, self.write_error)

    def _on_stop(self, **_: Any) -> None:
        """Runs inside runner.stop(), after every user has stopped (and every worker sent its last seconds)."""
        if self.state != RUNNING:
            return
        self.state = FINISHING  # a second stop, or a start meanwhile, must not touch this test
        monitor, timeline = self.monitor, self.timeline
        assert monitor is not None and timeline is not None
        if self._monitor_loop is not None:
            self._monitor_loop.kill(block=False)
        if self._writing is not None:
            self._writing.wait()  # a progress write still under way ends before the result is written
        end = self.clock()
        if monitor.reason is None:  # nobody decided: the pattern ended, or a person pressed Stop
            # A search ends itself with a reason: without one, a person stopped it.
            searching = monitor.search is not None
            ended_early = searching or end - timeline.start_epoch < self.spec.schedule.duration_s - 1
            monitor.reason = StopReason.STOPPED_BY_USER if ended_early else StopReason.PATTERN_COMPLETE
        try:
            if self.recorder is not None:
                timeline.add(s.to_wire() for s in self.recorder.take_all())
            self._take_records()
            if self.records is not None:
                run_off_loop(self.records.flush)  # every record is in (the workers sent theirs with their last seconds)
            monitor.conclude(timeline.offset(end))  # every second is in: the last window is judged too
            benchmark = with_utilization(self.spec, self._measure(None, end), self.test.target)
            if self.settings.publish_metrics:
                benchmark = publish(self.spec, benchmark, timeline.rows(), self.test.target)
        except Exception as error:  # Locust's event hook would only log it, and the test would never end
            self._fail_running(f"its results could not be completed ({type(error).__name__}: {error})")
            return
        self._finish(benchmark)

    def _fail_running(self, reason: str) -> None:
        base = Benchmark(self.index, self.test.label, Status.FAILED, run_id=self.run_id)
        if self.monitor is not None and self.timeline is not None:
            # The same fault again must not keep the test from ending: its seconds are on disk, unmeasured.
            with contextlib.suppress(Exception):
                base = self._measure(Status.FAILED, self.clock())
        self._finish(replace(base, failure_reason=reason))

    def _finish(self, benchmark: Benchmark) -> None:
        if self.finished.is_set() and self.state == FINISHED:
            return  # already finished (a stop, then a failure to start): the first outcome stands
        self.state, self.benchmark = FINISHED, benchmark
        try:
            if self._journal is not None:
                self._journal.close()
            try:
                self.folder.write_benchmark(benchmark)
            except OSError as error:
                self._unwritable(error)
            if self.write_error is not None:  # the record is lost: say what was measured
                self.progress(f"measured, not written: {benchmark.summary()}")
            for listener in self.on_finished:
                listener(benchmark)
        finally:
            self.finished.set()

    def _model_setup_us(self, timeline: Timeline) -> int | None:
        """For a serverless configuration: its cold start, as measured from here (CloudWatch's replaces it)."""
        configuration = self.spec.configuration_of(self.index)
        if configuration is None or configuration.serverless is None:
            return None
        median = timeline.window(timeline.last_second, timeline.last_second, (50.0,)).latency_ms.get(50.0)
        return model_setup_us(timeline.first_success_max_ms(), median)

    def _records_summary(self) -> RecordsSummary | None:
        """The records file's summary, with the records this process let go at its recorder's bound."""
        if self.records is None:
            return None
        return self.records.summary(self.recorder.records_lost if self.recorder is not None else 0)

    def _rate_figures(self, timeline: Timeline, measured: Measured | None) -> RateFigures | None:
        rate = self.spec.extension.request_rate
        return None if rate is None else rate_figures(rate, timeline, measured.window if measured else None)

    def _search_figures(self, reason: StopReason) -> SearchFigures | None:
        key, monitor = self.spec.extension.search, self.monitor
        if key is None or monitor is None:
            return None
        rate = self.spec.extension.request_rate
        complete = reason in (StopReason.SEARCH_COMPLETE, StopReason.SEARCH_NO_PASS)
        return SearchFigures(key, tuple(monitor.probes), complete, rate.per_user_per_s if rate else None)

    def _window(self, timeline: Timeline, window: WindowStats | None) -> WindowStats | None:
        """The measured window again, at the reported percentiles and the thresholds' (for results and gates)."""
        if window is None:
            return None
        quantiles = reported_quantiles(self.spec.stopping)
        wanted = sorted({*REPORTED_PERCENTILES, quantiles.latency, quantiles.ttft, quantiles.itl})
        return timeline.window(window.end, window.span_s, wanted)

    def _confidence(self, timeline: Timeline, window: WindowStats | None, sizing: Sizing | None) -> Confidence | None:
        """The headline figures' intervals from the measured window's seconds (once, at the end: ~0.1 s)."""
        if window is None or sizing is None:
            return None
        samples = WindowSamples.from_wire(timeline.wires(window.start, window.end))
        return confidence(samples, reported_quantiles(self.spec.stopping), sizing.initial_instance_count)

    def _measure(self, status: Status | None, end: float) -> Benchmark:
        """The test's Benchmark from the monitor's history; ``status`` None: decided by its stop reason."""
        monitor, timeline = self.monitor, self.timeline
        assert monitor is not None and timeline is not None
        reason = monitor.reason or StopReason.PATTERN_COMPLETE
        if monitor.search is not None:  # the figures come from the passing probes
            measured = measure(monitor.probe_windows, self.spec.stopping, self.settings.monitor)
        else:
            windows = [entry.window for entry in monitor.history]
            measured = measure(windows, self.spec.stopping, self.settings.monitor, monitor.plateau,
                               monitor.plateau_window)  # fmt: skip
        errors = timeline.error_samples()
        successes = timeline.successes()
        price = price_per_hour(self.spec, self.index, measured, self.prices) if measured else None
        generator = measured.generator if measured else None
        window = measured.window if measured else None
        benchmark = Benchmark(
            index=self.index,
            label=self.test.label,
            status=status or status_of(reason, successes),
            sizing=size(measured, self.spec.stopping, price, bool(self.spec.existing_endpoints)) if measured else None,
            start_epoch=timeline.start_epoch,
            end_epoch=end,
            plateau=monitor.plateau,
            errors={kind: count for kind, (count, _) in errors.items()},
            workers=self.workers,
            worker_events=tuple(monitor.worker_events),
            run_id=self.run_id,
            generator=generator,
            request_rate=self._rate_figures(timeline, measured),
            prompts=self.test.prompts,
            output_tokens_counted_by=timeline.token_counting(),
            records=self._records_summary(),
            search=self._search_figures(reason),
        )
        if status is not None:
            return benchmark
        final = replace(
            benchmark,
            window=self._window(timeline, window),
            confidence=self._confidence(timeline, window, benchmark.sizing),
            stop_reason=reason.value,
            stop_detail=monitor.detail,
            stop_second=max(0, round(end - timeline.start_epoch)),
            model_setup_us=self._model_setup_us(timeline),  # once, at the end: it reads the whole timeline
            failure_reason=failure_reason(reason, monitor.detail, errors, successes),
            generator_test=timeline.generator(),
        )
        for warning in final.request_rate.warnings() if final.request_rate else ():
            self.progress(f"WARNING: {warning}")
        if generator is not None and generator.bound:
            self.progress(f"WARNING: the measured window is {generator.summary()}")
            if self.settings.strict and final.status is Status.COMPLETED:
                bound = f"generator-bound measured window ({'; '.join(generator.reasons)}); --strict"
                final = replace(final, status=Status.FAILED, failure_reason=bound)
        return final
