"""A whole job: one load test per endpoint configuration, each in its own process.

Which test runs when is :mod:`loadrec.engine.running.plan`'s decision; this module
starts the test processes (``python -P -m loadrec.engine.running.step DIR N``: ``-P``
so that the current directory can never shadow loadrec), reaps them, and rewrites the
job's files each time a test ends. One test failing does not fail the others; a test
process that dies (SIGKILL included) is FAILED with the signal named, and keeps every
second it measured; an endpoint it had created and not deleted (its record says so) is
removed then. Ctrl-C or SIGTERM stops the running tests (each writes what it
measured, marked STOPPED) and starts no more. So does a results folder that refuses a
write (a full disk, a folder removed): the job is then FAILED, saying where it could not
write, and its results are still returned (from what could be read, else from memory)
for the summary.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

import gevent

from loadrec.engine.exit_codes import EXIT_RESULTS_NOT_WRITTEN
from loadrec.engine.job.problems import Say
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.load.prepare import PreparedTest
from loadrec.engine.measurement.metrics import TimelineRow
from loadrec.engine.measurement.monitor import StopReason
from loadrec.engine.process.job_lock import running_job
from loadrec.engine.process.lifeline import STOP_SIGNALS
from loadrec.engine.provision.base import remove_leftover
from loadrec.engine.results.files import ResultsFolder, ResultsFolderError
from loadrec.engine.results.model import Benchmark, JobResults, Status, ended_early, job_results, not_run, stopped_early
from loadrec.engine.results.outputs.job_files import job_files
from loadrec.engine.running.manifest import RunManifest, finish_manifest, load_results, write_manifest
from loadrec.engine.running.plan import STOPPED_BEFORE_START, JobPlan, NotRun

STEP_MODULE = "loadrec.engine.running.step"
POLL_S = 0.2
STOP_GRACE_S = 30.0  # a stopped test process has this long to write its results


class TestProcess(Protocol):
    """What the runner needs of a test's process (a ``subprocess.Popen``; unit tests pass one in memory)."""

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


def start_test_process(folder: ResultsFolder, index: int) -> TestProcess:
    """Test ``index``'s own process, reading the job from ``folder`` (``-P``: the current folder never shadows
    loadrec)."""
    return subprocess.Popen([sys.executable, "-P", "-m", STEP_MODULE, str(folder.path.resolve()), str(index)])


def write_job_files(folder: ResultsFolder, running: bool | None = None) -> JobResults:
    """Render every job file from the folder's tests, as they stand; returns the results."""
    results = load_results(folder, running)
    folder.write_job(job_files(results))
    return results


def exit_description(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"its process was killed by {name}"
    if code == EXIT_RESULTS_NOT_WRITTEN:
        return f"{StopReason.RESULTS_NOT_WRITTEN}: the results folder refused a write, so the test was stopped"
    return f"its process ended with exit code {code} before the test did"


class JobRunner:
    def __init__(
        self,
        spec: JobSpec,
        tests: list[PreparedTest],
        folder: ResultsFolder,
        manifest: RunManifest,
        progress: Say,
        clock: Callable[[], float] = time.time,
        launch: Callable[[ResultsFolder, int], TestProcess] = start_test_process,
        pause: Callable[[float], object] = gevent.sleep,
    ) -> None:
        self.spec, self.tests, self.folder, self.manifest = spec, tests, folder, manifest
        self.progress, self.clock, self.launch, self.pause = progress, clock, launch, pause
        self.running: dict[int, TestProcess] = {}
        self.interrupted = False
        self.stopped_at: float | None = None
        self.write_error: str | None = None  # where and why the results folder refused a write
        self.ended: dict[int, Benchmark] = {}  # each ended test's result, in case it cannot be read back
        limit, settings = spec.resource_limit, manifest.settings
        # Workers started elsewhere serve one master (one port) at a time: their tests run one by one.
        parallel = 1 if settings.master is not None else limit.max_parallel_of_tests
        self.plan = JobPlan(len(tests), limit.max_number_of_tests, parallel, spec.job_duration_s, manifest.created)

    def run(self, handle_signals: bool = True) -> JobResults:
        """The whole job, to its end; a stop signal (Ctrl-C, SIGTERM, SIGHUP) stops it unless the caller handles
        them (the web UI)."""
        signals = STOP_SIGNALS if handle_signals else ()
        handlers = [gevent.signal_handler(sig, self.stop) for sig in signals]
        with running_job(self.spec.name):  # loadrec cleanup refuses while it is held
            return self._run(handlers)

    def _run(self, handlers: list[Any]) -> JobResults:
        try:
            self._guarded(lambda: write_manifest(self.folder, self.manifest))
            self._not_run(self.plan.skipped)
            self._guarded(lambda: write_job_files(self.folder, running=True))
            while not self.plan.done or self.running:
                halted = self.interrupted or self.write_error is not None
                decision = self.plan.next(self.clock(), len(self.running), halted)
                self._not_run(decision.not_run)
                for index in decision.start:
                    if self.interrupted or self.write_error is not None:  # stopped while the last one started
                        self._not_run((NotRun(index, STOPPED_BEFORE_START),))
                    else:
                        self._start(self.tests[index])
                self._reap()
                self.pause(POLL_S)
        except BaseException:
            self._end_tests()  # no load is left running behind an error (or a kill of this greenlet)
            raise
        finally:
            for handler in handlers:
                handler.cancel()
        finished = finish_manifest(self.manifest, self.clock(), self.interrupted)
        self._guarded(lambda: write_manifest(self.folder, finished))
        if self.write_error is None:
            try:
                return write_job_files(self.folder, running=False)
            except (OSError, ResultsFolderError) as error:
                self._refused(error)
        return self._unwritten_results()

    def _guarded(self, write: Callable[[], object]) -> None:
        """Run a write to the results folder; a refusal stops the job (once the folder refused, none is tried)."""
        if self.write_error is not None:
            return
        try:
            write()
        except (OSError, ResultsFolderError) as error:  # refused, or damaged under our feet
            self._refused(error)

    def _refused(self, error: OSError | ResultsFolderError) -> None:
        problem = self.folder.refusal(error) if isinstance(error, OSError) else str(error)
        self.write_error = problem
        self.progress(f"results cannot be written to {problem}; stopping the job")
        self._stop_tests()

    def _unwritten_results(self) -> JobResults:
        """The job's results when they could not be written: FAILED, with whatever can still be read."""
        benchmarks = dict(self.ended)  # what this process saw of each test wins over what the folder says
        timelines: dict[int, tuple[TimelineRow, ...]] = {}
        try:
            readable = load_results(self.folder, running=False)
            benchmarks = {b.index: b for b in readable.benchmarks} | benchmarks
            timelines = dict(readable.timelines)
        except (OSError, ResultsFolderError):
            pass  # nothing readable
        return job_results(
            self.spec,
            self.manifest.run_id,
            benchmarks.values(),
            (self.manifest.created, self.clock()),
            self.manifest.settings.weights,
            timelines=timelines,
            failure_reason=f"results could not be written to {self.write_error}",
            job_arn=self.manifest.job_arn,
        )

    def _start(self, test: PreparedTest) -> None:
        where = test.target.label if test.target is not None else "an endpoint created for it"
        self.progress(f"test {test.index}: {test.label} -> {where}")
        process = self.running[test.index] = self.launch(self.folder, test.index)
        if self.stopped_at is not None:  # a stop came while it started (starting yields to other greenlets)
            process.send_signal(signal.SIGTERM)

    def _reap(self) -> None:
        for index, process in list(self.running.items()):
            code = process.poll()
            if code is None and self.stopped_at is not None and self.clock() - self.stopped_at > STOP_GRACE_S:
                process.kill()  # it had its chance to write what it measured
                code = process.wait()
            if code is None:
                continue
            del self.running[index]
            self._remove_leftovers(index)
            benchmark = self.ended[index] = self._ended(index, code)
            self.progress(
                f"test {index}: {benchmark.status}" + (f" ({benchmark.stop_reason})" if benchmark.stop_reason else "")
            )
            self._guarded(lambda: write_job_files(self.folder, running=True))

    def _remove_leftovers(self, index: int) -> None:
        """What a provisioner created for a test whose process could not delete it (killed, say) goes now."""
        record = self.folder.read_provisioned(index)
        if record is not None and not record.get("Deleted") and not self.manifest.settings.keep_endpoints:
            done = remove_leftover(record)
            if done is not None:
                self.progress(f"test {index}: {done}")

    def _ended(self, index: int, code: int) -> Benchmark:
        """Test ``index``'s result once its process has exited: as written, or FAILED if it never finished."""
        benchmark, timeline = None, None
        try:
            benchmark = self.folder.read_benchmark(index, self.manifest.run_id)
        except ResultsFolderError as error:  # damaged: what it says cannot be trusted
            self.progress(f"test {index}: {error}")
        if benchmark is not None and benchmark.status is not Status.IN_PROGRESS:
            return benchmark
        try:
            timeline = self.folder.read_timeline(index)
        except ResultsFolderError as error:
            self.progress(f"test {index}: {error}")
        test = self.tests[index]
        if benchmark is None:
            benchmark = Benchmark(index, test.label, Status.FAILED, run_id=self.manifest.run_id)
        measured = timeline.last_second if timeline else 0
        if self.interrupted and code == -signal.SIGTERM:  # the stop we sent, before it could take it
            benchmark = stopped_early(benchmark, "stopped while its process was starting", measured)
        else:
            benchmark = ended_early(benchmark, exit_description(code), measured)
        self._guarded(lambda: self.folder.write_benchmark(benchmark))
        return benchmark

    def _not_run(self, skipped: tuple[NotRun, ...]) -> None:
        for entry in skipped:
            label = self.tests[entry.index].label
            benchmark = self.ended[entry.index] = not_run(entry.index, label, entry.reason, self.manifest.run_id)
            self._guarded(lambda: self.folder.write_benchmark(benchmark))  # noqa: B023 - called at once

    def stop(self) -> None:
        """A person's stop (Ctrl-C, SIGTERM, a Stop press): running tests end STOPPED, no other starts."""
        if self.interrupted:
            return  # already stopping; the grace period runs from the first signal
        self.interrupted = True
        self.progress("stopping: running tests write what they measured")
        self._stop_tests()

    def _end_tests(self) -> None:
        """Stop every running test and wait for it (killed after the grace period)."""
        self._stop_tests()
        for index, process in self.running.items():
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self._remove_leftovers(index)

    def _stop_tests(self) -> None:
        if self.stopped_at is None:
            self.stopped_at = self.clock()  # the grace period runs from the first stop
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
