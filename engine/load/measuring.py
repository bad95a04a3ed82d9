"""A test's Benchmark from what it measured: the monitor's judged windows, the timeline, the context.

The session (:mod:`loadrec.engine.load.session`) calls :func:`benchmark_of` while the test
runs (IN_PROGRESS, after every evaluation) and once at its end (the status from the stop
reason, the measured window again at every reported percentile, the intervals, the
serverless cold start). It only reads: the warnings it finds are returned for the session
to say.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from loadrec.engine.load.context import TestContext
from loadrec.engine.load.live_monitor import LiveMonitor
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
from loadrec.engine.measurement.prices import price_per_hour
from loadrec.engine.measurement.probes import SearchFigures
from loadrec.engine.measurement.records import RecordsSummary
from loadrec.engine.results.model import Benchmark, Status


@dataclass(frozen=True)
class Measuring:
    """What a Benchmark is made from: the test's context and monitor, its timeline, and its process's facts."""

    context: TestContext
    monitor: LiveMonitor
    timeline: Timeline
    workers: int
    records: RecordsSummary | None  # with --records: the records file's summary


def benchmark_of(of: Measuring, status: Status | None, end: float) -> tuple[Benchmark, list[str]]:
    """The test's Benchmark at ``end`` and the warnings it carries; ``status`` None: the final one, its
    status decided by the stop reason."""
    context, monitor, timeline = of.context, of.monitor, of.timeline
    spec, settings = context.spec, context.settings
    reason = monitor.reason or StopReason.PATTERN_COMPLETE
    if monitor.search is not None:  # the figures come from the passing probes
        measured = measure(monitor.probe_windows, spec.stopping, settings.monitor)
    else:
        windows = [entry.window for entry in monitor.history]
        measured = measure(windows, spec.stopping, settings.monitor, monitor.plateau, monitor.plateau_window)
    errors = timeline.error_samples()
    successes = timeline.successes()
    price = price_per_hour(spec, context.index, measured, context.prices) if measured else None
    generator = measured.generator if measured else None
    window = measured.window if measured else None
    benchmark = Benchmark(
        index=context.index,
        label=context.label,
        status=status or status_of(reason, successes),
        sizing=size(measured, spec.stopping, price, bool(spec.existing_endpoints)) if measured else None,
        start_epoch=timeline.start_epoch,
        end_epoch=end,
        plateau=monitor.plateau,
        errors={kind: count for kind, (count, _) in errors.items()},
        workers=of.workers,
        worker_events=tuple(monitor.worker_events),
        run_id=context.run_id,
        generator=generator,
        request_rate=_rate_figures(context, timeline, measured),
        prompts=context.test.prompts,
        output_tokens_counted_by=timeline.token_counting(),
        records=of.records,
        search=_search_figures(context, monitor, reason),
    )
    if status is not None:
        return benchmark, []
    final = replace(
        benchmark,
        window=_window(context, timeline, window),
        confidence=_confidence(context, timeline, window, benchmark.sizing),
        stop_reason=reason.value,
        stop_detail=monitor.detail,
        stop_second=max(0, round(end - timeline.start_epoch)),
        model_setup_us=_model_setup_us(context, timeline),  # once, at the end: it reads the whole timeline
        failure_reason=failure_reason(reason, monitor.detail, errors, successes),
        generator_test=timeline.generator(),
    )
    warnings = [f"WARNING: {warning}" for warning in (final.request_rate.warnings() if final.request_rate else ())]
    if generator is not None and generator.bound:
        warnings.append(f"WARNING: the measured window is {generator.summary()}")
        if settings.strict and final.status is Status.COMPLETED:
            bound = f"generator-bound measured window ({'; '.join(generator.reasons)}); --strict"
            final = replace(final, status=Status.FAILED, failure_reason=bound)
    return final, warnings


def _model_setup_us(context: TestContext, timeline: Timeline) -> int | None:
    """For a serverless configuration: its cold start, as measured from here (CloudWatch's replaces it)."""
    configuration = context.spec.configuration_of(context.index)
    if configuration is None or configuration.serverless is None:
        return None
    median = timeline.window(timeline.last_second, timeline.last_second, (50.0,)).latency_ms.get(50.0)
    return model_setup_us(timeline.first_success_max_ms(), median)


def _rate_figures(context: TestContext, timeline: Timeline, measured: Measured | None) -> RateFigures | None:
    rate = context.spec.extension.request_rate
    return None if rate is None else rate_figures(rate, timeline, measured.window if measured else None)


def _search_figures(context: TestContext, monitor: LiveMonitor, reason: StopReason) -> SearchFigures | None:
    key = context.spec.extension.search
    if key is None:
        return None
    rate = context.spec.extension.request_rate
    complete = reason in (StopReason.SEARCH_COMPLETE, StopReason.SEARCH_NO_PASS)
    return SearchFigures(key, tuple(monitor.probes), complete, rate.per_user_per_s if rate else None)


def _window(context: TestContext, timeline: Timeline, window: WindowStats | None) -> WindowStats | None:
    """The measured window again, at the reported percentiles and the thresholds' (for results and gates)."""
    if window is None:
        return None
    quantiles = reported_quantiles(context.spec.stopping)
    wanted = sorted({*REPORTED_PERCENTILES, quantiles.latency, quantiles.ttft, quantiles.itl})
    return timeline.window(window.end, window.span_s, wanted)


def _confidence(
    context: TestContext, timeline: Timeline, window: WindowStats | None, sizing: Sizing | None
) -> Confidence | None:
    """The headline figures' intervals from the measured window's seconds (once, at the end: ~0.1 s)."""
    if window is None or sizing is None:
        return None
    samples = WindowSamples.from_wire(timeline.wires(window.start, window.end))
    return confidence(samples, reported_quantiles(context.spec.stopping), sizing.initial_instance_count)
