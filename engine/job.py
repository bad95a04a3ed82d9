"""A whole job: one load test per endpoint configuration, results written after each.

Everything that can fail on bad input (targets, credentials, payloads) is checked for
every test before the first request. Ctrl-C or SIGTERM stops the running test, keeps
every second it measured, and marks the job STOPPED.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gevent
from locust.runners import Runner

from engine.jobspec import JobSpec
from engine.loadtest import PreparedTest, RunSettings, TestRecord, load_payloads, prepare_test, run_test
from engine.monitor import StopReason
from engine.monitor_greenlet import LiveMonitor
from engine.outcome import COMPLETED, FAILED, STOPPED, failure_reason, measure, size, status_of
from engine.results import TestResult, describe, write_results

IN_PROGRESS = "IN_PROGRESS"


@dataclass
class JobOutcome:
    status: str
    tests: list[TestResult]
    interrupted: bool


def prepare_job(spec: JobSpec, job_dir: Path, payloads_override: str | None) -> list[PreparedTest]:
    """Every test, ready to run; raises SetupError before any load."""
    payloads = load_payloads(spec, job_dir, payloads_override)
    count = len(spec.endpoint_configurations) or len(spec.existing_endpoints)
    return [prepare_test(spec, index, payloads) for index in range(count)]


def run_job(
    spec: JobSpec,
    tests: list[PreparedTest],
    settings: RunSettings,
    out: Path,
    progress: Callable[[str], None],
) -> JobOutcome:
    created = time.time()
    results: list[TestResult] = []
    current: list[LiveMonitor] = []
    interrupted = False

    def on_signal() -> None:
        nonlocal interrupted
        interrupted = True
        progress("stopping: results so far are kept")
        for monitor in current:
            monitor.stop(StopReason.STOPPED_BY_USER, "stopped by a signal")

    def on_runner(runner: Runner, monitor: LiveMonitor) -> None:
        current[:] = [monitor]

    handlers = [gevent.signal_handler(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)]
    try:
        write_results(out, describe(spec, IN_PROGRESS, created, time.time(), results, None), results)
        for test in tests[: spec.resource_limit.max_number_of_tests]:
            if interrupted:
                break
            progress(f"test {test.index}: {test.label} -> {test.target.label}")
            record = run_test(spec, test, settings, progress, on_runner)
            results.append(test_result(spec, settings, record))
            progress(f"test {test.index}: {results[-1].status}, stopped by {results[-1].stop_reason}")
            write_results(out, describe(spec, IN_PROGRESS, created, time.time(), results, None), results)
    finally:
        for handler in handlers:
            handler.cancel()
    status = job_status(results, interrupted)
    failure = None
    if status == FAILED:
        failure = (
            "; ".join(f"{r.label}: {r.failure_reason}" for r in results if r.failure_reason) or "no test completed"
        )
    write_results(out, describe(spec, status, created, time.time(), results, failure), results)
    return JobOutcome(status, results, interrupted)


def job_status(results: list[TestResult], interrupted: bool) -> str:
    if interrupted:
        return STOPPED
    return COMPLETED if any(r.status == COMPLETED for r in results) else FAILED


def test_result(spec: JobSpec, settings: RunSettings, record: TestRecord) -> TestResult:
    monitor = record.monitor
    reason = monitor.reason or StopReason.PATTERN_COMPLETE
    windows = [entry.window for entry in monitor.history]
    measured = measure(windows, spec.stopping, settings.monitor, monitor.plateau, monitor.plateau_window)
    errors = record.timeline.error_samples()
    target = spec.extension.targets[record.index]
    sizing = size(measured, spec.stopping, target.price_per_hour) if measured else None
    plateau = None
    if monitor.plateau is not None:
        plateau = {
            "Users": monitor.plateau.users,
            "StartSecond": monitor.plateau.start,
            "InvocationsPerMinute": round(monitor.plateau.invocations_per_minute, 1),
        }
    rows = record.timeline.rows()
    successes = sum(row.successes for row in rows)
    return TestResult(
        index=record.index,
        label=record.label,
        status=status_of(reason, successes),
        stop_reason=reason.value,
        stop_detail=monitor.detail,
        failure_reason=failure_reason(reason, monitor.detail, errors, successes),
        sizing=sizing,
        start_epoch=record.start_epoch,
        end_epoch=record.end_epoch,
        plateau=plateau,
        errors={kind: count for kind, (count, _) in errors.items()},
        workers=record.workers,
        rows=tuple(rows),
    )
