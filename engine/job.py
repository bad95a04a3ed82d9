"""A whole job: one load test per endpoint configuration, each in its own process.

As the recommender does: at most ``MaxNumberOfTests`` tests (the rest are recorded as
not run, with the reason), at most ``MaxParallelOfTests`` at once, and no new test
starts once ``JobDurationInSeconds`` has passed (running ones finish). One test failing
does not fail the others. The job files are rebuilt each time a test ends.

Everything that can fail on bad input (targets, credentials, payloads) is checked for
every test before the first request. Ctrl-C or SIGTERM stops the running tests (each
writes what it measured, marked STOPPED) and starts no more.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gevent

from engine.jobspec import JobSpec
from engine.loadtest import PreparedTest, RunSettings, load_payloads, prepare_test
from engine.outcome import COMPLETED, FAILED, STOPPED
from engine.ranking import Candidate, Ranked, Weights, rank
from engine.results import NOT_RUN, TestResult, read_test, write_job

IN_PROGRESS = "IN_PROGRESS"
POLL_S = 0.2
STOP_GRACE_S = 30.0  # a stopped test process has this long to write its results


@dataclass
class JobOutcome:
    status: str
    tests: list[TestResult]
    ranking: list[Ranked]
    interrupted: bool


def prepare_job(spec: JobSpec, job_dir: Path, payloads_override: str | None) -> list[PreparedTest]:
    """Every test, ready to run; raises SetupError before any load."""
    payloads = load_payloads(spec, job_dir, payloads_override)
    count = len(spec.endpoint_configurations) or len(spec.existing_endpoints)
    return [prepare_test(spec, index, payloads) for index in range(count)]


def step_command(
    job_path: str, index: int, out: Path, settings: RunSettings, prices: str | None, publish: bool = False
) -> list[str]:
    command = [sys.executable, "-m", "engine.step", job_path, "--index", str(index), "--out", str(out)]
    command += ["--limits", settings.limits, "--window", str(settings.monitor.window_s)]
    command += ["--evaluate-every", str(settings.monitor.evaluate_every_s), "--processes", str(settings.processes)]
    if settings.expect_workers:
        command += ["--expect-workers", str(settings.expect_workers), "--master-bind-host", settings.master_bind_host]
        command += ["--master-bind-port", str(settings.master_bind_port)]
    if settings.seed is not None:
        command += ["--seed", str(settings.seed)]
    if settings.payloads_override:
        command += ["--payloads", settings.payloads_override]
    if prices:
        command += ["--prices", prices]
    if publish:
        command.append("--publish-metrics")
    return command


class JobRunner:
    def __init__(
        self,
        spec: JobSpec,
        tests: list[PreparedTest],
        settings: RunSettings,
        out: Path,
        weights: Weights,
        prices: str | None,
        progress: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        publish_metrics: bool = False,
    ) -> None:
        if settings.job_path is None:
            raise ValueError("a job runs from its job file: each test process reads it")
        self.spec, self.tests, self.settings, self.out = spec, tests, settings, out
        self.weights, self.prices, self.progress, self.clock = weights, prices, progress, clock
        self.publish_metrics = publish_metrics
        self.results: dict[int, TestResult] = {}
        self.running: dict[int, subprocess.Popen[bytes]] = {}
        self.interrupted = False
        self.stopped_at: float | None = None
        self.created = clock()

    def run(self) -> JobOutcome:
        limit = self.spec.resource_limit
        # Workers started elsewhere serve one master (one port) at a time: their tests run one by one.
        parallel = 1 if self.settings.expect_workers else limit.max_parallel_of_tests
        pending = deque(self.tests[: limit.max_number_of_tests])
        for test in self.tests[limit.max_number_of_tests :]:
            self._not_run(test, f"MaxNumberOfTests is {limit.max_number_of_tests}")
        handlers = [gevent.signal_handler(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)]
        try:
            self._write(IN_PROGRESS)
            while pending or self.running:
                while pending and len(self.running) < parallel and not self.interrupted:
                    if self._past_job_duration():
                        for test in pending:
                            self._not_run(test, f"JobDurationInSeconds ({self.spec.job_duration_s} s) had passed")
                        pending.clear()
                        break
                    self._start(pending.popleft())
                if self.interrupted:
                    for test in pending:
                        self._not_run(test, "the job was stopped before this test started")
                    pending.clear()
                self._reap()
                gevent.sleep(POLL_S)
        finally:
            for handler in handlers:
                handler.cancel()
        status = job_status(list(self.results.values()), self.interrupted)
        ranking = self._ranking()
        self._write(status, ranking)
        ordered = [self.results[i] for i in sorted(self.results)]
        return JobOutcome(status, ordered, ranking, self.interrupted)

    def _past_job_duration(self) -> bool:
        duration = self.spec.job_duration_s
        return duration is not None and self.clock() - self.created >= duration

    def _start(self, test: PreparedTest) -> None:
        assert self.settings.job_path is not None
        self.progress(f"test {test.index}: {test.label} -> {test.target.label}")
        command = step_command(
            self.settings.job_path, test.index, self.out, self.settings, self.prices, self.publish_metrics
        )
        self.running[test.index] = subprocess.Popen(command)

    def _reap(self) -> None:
        for index, process in list(self.running.items()):
            code = process.poll()
            if code is None and self.stopped_at is not None and self.clock() - self.stopped_at > STOP_GRACE_S:
                process.kill()  # it had its chance to write what it measured
                code = process.wait()
            if code is None:
                continue
            del self.running[index]
            result = read_test(self.out, index)
            if result is None:
                label = self.tests[index].label
                reason = f"the test process ended with exit code {code} before writing its results"
                result = TestResult(index, label, FAILED, failure_reason=reason)
            self.results[index] = result
            self.progress(
                f"test {index}: {result.status}" + (f", stopped by {result.stop_reason}" if result.stop_reason else "")
            )
            self._write(IN_PROGRESS)

    def _not_run(self, test: PreparedTest, reason: str) -> None:
        self.results[test.index] = TestResult(test.index, test.label, NOT_RUN, failure_reason=reason)

    def _on_signal(self) -> None:
        self.interrupted = True
        self.stopped_at = self.clock()
        self.progress("stopping: running tests write what they measured")
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def _ranking(self) -> list[Ranked]:
        candidates = [
            Candidate(
                r.index,
                r.label,
                r.sizing.cost_per_inference,
                r.sizing.model_latency_us,
                r.sizing.max_invocations / r.sizing.initial_instance_count,
            )
            for r in self.results.values()
            if r.status == COMPLETED and r.sizing is not None
        ]
        return rank(candidates, self.weights)

    def _write(self, status: str, ranking: list[Ranked] | None = None) -> None:
        ordered = [self.results[i] for i in sorted(self.results)]
        failure = None
        if status == FAILED:
            reasons = [f"{r.label}: {r.failure_reason}" for r in ordered if r.failure_reason]
            failure = "; ".join(reasons) or "no test completed"
        write_job(self.out, self.spec, status, (self.created, self.clock()), ordered, failure, ranking, self.weights)


def job_status(results: list[TestResult], interrupted: bool) -> str:
    if interrupted:
        return STOPPED
    return COMPLETED if any(r.status == COMPLETED for r in results) else FAILED
