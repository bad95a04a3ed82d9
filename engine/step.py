"""One job step (one load test) in its own process: ``python -m engine.step JOB --index N --out DIR``.

The orchestrator starts one of these per endpoint configuration, so tests running in
parallel never share a Locust runner or a gevent hub, and a crash in one cannot take
the others with it. The process runs the test, sizes and prices the result, reads the
endpoint's utilization from CloudWatch where there is one, and writes
``DIR/tests/N/result.json`` and ``timeline.csv`` the moment the test ends. SIGTERM or
Ctrl-C stops the test and still writes them, marked STOPPED.
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import gevent

from engine.extension import SageMakerTarget
from engine.jobfile import load_job
from engine.jobspec import JobSpec
from engine.limits import LimitsMode
from engine.loadtest import (
    PreparedTest,
    RunSettings,
    SetupError,
    TestRecord,
    load_payloads,
    prepare_test,
    run_test,
)
from engine.metrics import TimelineRow
from engine.monitor import MonitorSettings, StopReason
from engine.monitor_greenlet import LiveMonitor
from engine.outcome import FAILED, Measured, failure_reason, measure, size, status_of
from engine.prices import PriceTable, instance_price, load_prices, serverless_cost_per_hour
from engine.results import TestResult, write_test

EXIT_INTERRUPTED = 130


def price_per_hour(spec: JobSpec, index: int, measured: Measured, prices: PriceTable) -> float | None:
    """The target's own price, else the price table's: per instance-hour, or serverless."""
    target = spec.extension.targets[index]
    if target.price_per_hour is not None:
        return target.price_per_hour
    if not spec.endpoint_configurations:
        return None
    configuration = spec.endpoint_configurations[index]
    if configuration.serverless is not None:
        # Billed duration: the threshold-percentile latency, an upper bound of the mean.
        duration_ms = measured.latency_ms or 0.0
        hourly = serverless_cost_per_hour(
            prices, configuration.serverless.memory_size_mb, measured.invocations_per_minute, duration_ms
        )
        # Serverless cost grows linearly with the rate, so size() scaling it like instances holds.
        return hourly
    return instance_price(prices, configuration.instance_type) if configuration.instance_type else None


def result_of(
    spec: JobSpec, test: PreparedTest, settings: RunSettings, record: TestRecord, prices: PriceTable
) -> TestResult:
    monitor = record.monitor
    reason = monitor.reason or StopReason.PATTERN_COMPLETE
    windows = [entry.window for entry in monitor.history]
    measured = measure(windows, spec.stopping, settings.monitor, monitor.plateau, monitor.plateau_window)
    errors = record.timeline.error_samples()
    rows = record.timeline.rows()
    successes = sum(row.successes for row in rows)
    sizing = size(measured, spec.stopping, price_per_hour(spec, test.index, measured, prices)) if measured else None
    plateau = None
    if monitor.plateau is not None:
        plateau = {
            "Users": monitor.plateau.users,
            "StartSecond": monitor.plateau.start,
            "InvocationsPerMinute": round(monitor.plateau.invocations_per_minute, 1),
        }
    return TestResult(
        index=test.index,
        label=test.label,
        status=status_of(reason, successes),
        stop_reason=reason.value,
        stop_detail=monitor.detail,
        stop_second=max(0, round(record.end_epoch - record.start_epoch)),
        failure_reason=failure_reason(reason, monitor.detail, errors, successes),
        sizing=sizing,
        start_epoch=record.start_epoch,
        end_epoch=record.end_epoch,
        plateau=plateau,
        errors={kind: count for kind, (count, _) in errors.items()},
        workers=record.workers,
        worker_events=list(monitor.worker_events),
    )


def with_utilization(spec: JobSpec, result: TestResult) -> TestResult:
    """Add CloudWatch's CpuUtilization and MemoryUtilization for SageMaker targets; never invent them."""
    from dataclasses import replace

    from engine.cloudwatch import CloudWatchError, read_utilization, utilization_client

    target = spec.extension.targets[result.index]
    if not isinstance(target, SageMakerTarget) or result.start_epoch is None or result.end_epoch is None:
        return result
    if target.endpoint_url and not spec.extension.cloudwatch_endpoint_url:
        return replace(result, note="utilization not read: the endpoint is a local stand-in (EndpointUrl)")
    try:
        client = utilization_client(target.region, spec.extension.cloudwatch_endpoint_url)
        start = datetime.fromtimestamp(result.start_epoch, UTC)
        end = datetime.fromtimestamp(result.end_epoch, UTC)
        found = read_utilization(client, target.endpoint_name, target.target_variant or "AllTraffic", start, end)
    except CloudWatchError as error:
        return replace(result, note=f"utilization not read: {error}")
    values = {"CpuUtilization": found.cpu_utilization, "MemoryUtilization": found.memory_utilization}
    present = {key: value for key, value in values.items() if value is not None}
    return replace(result, utilization=present or None)


def publish(spec: JobSpec, result: TestResult, rows: list[TimelineRow]) -> TestResult:
    """Publish this test's client-side metrics under /aws/sagemaker/InferenceRecommendationsJobs."""
    from dataclasses import replace

    from engine.cloudwatch import CloudWatchError, MetricRow, publish_job_metrics, utilization_client

    start = int(result.start_epoch or 0)
    metrics = [
        MetricRow(
            timestamp=datetime.fromtimestamp(start + row.second, UTC),
            invocations=row.successes,
            errors=row.failures,
            latency_ms=row.latency_ms.get(50.0),
            users=row.running_users,
        )
        for row in rows
    ]
    target = spec.extension.targets[result.index]
    region = target.region if isinstance(target, SageMakerTarget) else None
    try:
        sent = publish_job_metrics(
            utilization_client(region, spec.extension.cloudwatch_endpoint_url), spec.name, metrics
        )
    except CloudWatchError as error:
        return replace(result, note=_join(result.note, f"metrics not published: {error}"))
    return replace(result, note=_join(result.note, f"{sent} data points published to CloudWatch"))


def _join(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadrec step", description="Run one load test of a job.")
    parser.add_argument("job")
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--limits", default=LimitsMode.AWS.value)
    parser.add_argument("--window", type=int, default=MonitorSettings.window_s)
    parser.add_argument("--evaluate-every", type=int, default=MonitorSettings.evaluate_every_s)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--processes", type=int, default=0)
    parser.add_argument("--expect-workers", type=int, default=0)
    parser.add_argument("--master-bind-host", default="127.0.0.1")
    parser.add_argument("--master-bind-port", type=int, default=0)
    parser.add_argument("--payloads", default=None)
    parser.add_argument("--prices", default=None)
    parser.add_argument("--publish-metrics", action="store_true")
    args = parser.parse_args(argv)

    spec = load_job(args.job, LimitsMode(args.limits))
    prices = load_prices(Path(args.prices) if args.prices else None)
    payloads = load_payloads(spec, Path(args.job).resolve().parent, args.payloads)
    test = prepare_test(spec, args.index, payloads)
    settings = RunSettings(
        monitor=MonitorSettings(window_s=args.window, evaluate_every_s=args.evaluate_every),
        seed=args.seed,
        processes=args.processes,
        expect_workers=args.expect_workers,
        master_bind_host=args.master_bind_host,
        master_bind_port=args.master_bind_port,
        job_path=str(Path(args.job).resolve()),
        limits=args.limits,
        payloads_override=args.payloads,
    )
    interrupted = False
    monitors: list[LiveMonitor] = []

    def on_signal() -> None:
        nonlocal interrupted
        interrupted = True
        for monitor in monitors:
            monitor.stop(StopReason.STOPPED_BY_USER, "stopped by a signal")

    handlers = [gevent.signal_handler(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)]
    prefix = f"[{test.index} {test.label}]"
    try:
        record = run_test(
            spec,
            test,
            settings,
            lambda line: print(f"{prefix} {line}", flush=True),
            lambda runner, monitor: monitors.append(monitor),
        )
    except SetupError as error:  # e.g. workers that did not connect or could not take the test
        write_test(Path(args.out), TestResult(test.index, test.label, FAILED, failure_reason=str(error)), [])
        return 1
    finally:
        for handler in handlers:
            handler.cancel()
    rows = record.timeline.rows()
    result = with_utilization(spec, result_of(spec, test, settings, record, prices))
    if args.publish_metrics:
        result = publish(spec, result, rows)
    write_test(Path(args.out), result, rows)
    return EXIT_INTERRUPTED if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
