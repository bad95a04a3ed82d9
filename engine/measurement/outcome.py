"""What a finished test means: status, stop reason, MaxInvocations, ModelLatency, instances, cost.

Pure functions of the monitor's history (the windows it evaluated) and the job's
stopping conditions, following the recommender:
- MaxInvocations: the highest successful invocations per minute in a window where the
  latency threshold held (full windows only, when any such window was full); with a
  plateau, the rate where the plateau begins.
- ModelLatency: that window's threshold percentile (P95 without a threshold), in µs.
- InitialInstanceCount = max(1, ceil(StoppingConditions.MaxInvocations / measured
  MaxInvocations per instance)); MaxInvocations is then scaled by it, linearly.
- CostPerHour = price per instance-hour × InitialInstanceCount;
  CostPerInference = CostPerHour / (MaxInvocations × 60).
- Streamed answers: the window is chosen under every threshold (the Loadrec key's TTFT
  and ITL ones too), for the most output tokens per second when FlatThroughput is
  OutputTokens; its output tokens per second (scaled with the instances), TTFT and
  ITL at the thresholds' percentiles (P95 without one), and the cost per million output
  tokens = CostPerHour / (tokens per second × 3600) × 10⁶.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from loadrec.engine.job.spec import StoppingConditions
from loadrec.engine.job.token_conditions import ITL, TTFT
from loadrec.engine.measurement.confidence import Quantiles
from loadrec.engine.measurement.health import Verdict
from loadrec.engine.measurement.metrics import WindowStats
from loadrec.engine.measurement.monitor import Level, MonitorSettings, StopReason, attainment_missed, token_value

DEFAULT_QUANTILE = 95.0
US_PER_MS = 1000


class Status(StrEnum):
    """A job's or a test's status, as AWS names them, and loadrec's NOT_RUN: the one status enum."""

    PENDING = "PENDING"  # a job ``loadrec serve`` accepted and has not started yet
    IN_PROGRESS = "IN_PROGRESS"
    STOPPING = "STOPPING"  # a job of ``loadrec serve`` asked to stop, still ending
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"
    NOT_RUN = "NOT_RUN"  # a test that never started; AWS's shapes have no such status and say STOPPED

    @property
    def aws(self) -> str:
        """The status in AWS's shapes."""
        return Status.STOPPED.value if self is Status.NOT_RUN else self.value

    @property
    def finished(self) -> bool:
        return self not in NOT_ENDED


NOT_ENDED = frozenset({Status.PENDING, Status.IN_PROGRESS, Status.STOPPING})  # AWS's job statuses before the end


@dataclass(frozen=True)
class Streamed:
    """A streamed endpoint's numbers in the measured window: output tokens per second, TTFT and ITL (ms)."""

    output_tokens_per_second: float
    ttft_ms: float | None
    itl_ms: float | None
    answer_tokens_per_second: float | None = None  # the median answer's decode rate


@dataclass(frozen=True)
class Goodput:
    """With an SLO, the measured window's: the share of its requests that met it, and good requests and good
    output tokens per second (one instance's)."""

    attainment: float | None
    requests_per_second: float
    tokens_per_second: float


@dataclass(frozen=True)
class Measured:
    """One instance's capacity under the test's conditions."""

    invocations_per_minute: float
    latency_ms: float | None
    streamed: Streamed | None = None
    generator: Verdict | None = None  # the load generator's health over the window these come from
    goodput: Goodput | None = None  # with an SLO
    window: WindowStats | None = field(default=None, compare=False)  # that window (where they come from, not a figure)


@dataclass(frozen=True)
class Sizing:
    initial_instance_count: int
    max_invocations: int  # per minute, for all instances
    model_latency_us: int | None
    cost_per_hour: float | None
    cost_per_inference: float | None
    # Streamed answers only: output tokens per second for all instances, TTFT and ITL at the reported
    # percentile (ms) and the cost per million output tokens.
    output_tokens_per_second: float | None = None
    ttft_ms: float | None = None
    itl_ms: float | None = None
    cost_per_million_tokens: float | None = None
    answer_tokens_per_second: float | None = None  # one answer's decode rate (the median answer)
    # With an SLO: the share of requests that met it, good requests and good output tokens per second for all
    # instances, and the cost per million good output tokens.
    attainment: float | None = None
    good_requests_per_second: float | None = None
    good_tokens_per_second: float | None = None
    cost_per_million_good_tokens: float | None = None

    @property
    def invocations_per_instance(self) -> float:
        """One instance's capacity: MaxInvocations before the instance count scaled it."""
        return self.max_invocations / self.initial_instance_count


def measure(
    history: Sequence[WindowStats],
    stopping: StoppingConditions,
    settings: MonitorSettings,
    plateau: Level | None = None,
    plateau_window: WindowStats | None = None,
) -> Measured | None:
    """The test's capacity per instance, or None when nothing succeeded."""
    quantile = reported_quantiles(stopping).latency
    if plateau is not None and plateau.invocations_per_minute > 0:
        latency = plateau_window.latency_ms.get(quantile) if plateau_window else None
        rate = plateau.invocations_per_minute
        if stopping.tokens.flat_in_tokens:  # the plateau was found in tokens: count requests
            rate = plateau_window.invocations_per_minute if plateau_window else 0.0
        generator = plateau_window.generator if plateau_window else None
        streamed = _streamed(plateau_window, stopping)
        return Measured(rate, latency, streamed, generator, _goodput(plateau_window), plateau_window)
    held = [w for w in history if w.successes and not thresholds_missed(w, stopping)]
    full = [w for w in held if w.span_s >= settings.window_s]
    candidates = full or held  # a test shorter than one window still measures something
    if not candidates:
        return None
    by_tokens = stopping.tokens.flat_in_tokens  # an LLM's work is its tokens, not its answers
    best = max(candidates, key=lambda w: w.output_tokens_per_second if by_tokens else w.invocations_per_minute)
    return Measured(best.invocations_per_minute, best.latency_ms.get(quantile), _streamed(best, stopping),
                    best.generator, _goodput(best), best)  # fmt: skip


def _goodput(window: WindowStats | None) -> Goodput | None:
    if window is None or window.good_per_second is None or window.good_tokens_per_second is None:
        return None
    return Goodput(window.attainment, window.good_per_second, window.good_tokens_per_second)


def reported_quantiles(stopping: StoppingConditions) -> Quantiles:
    """The percentile each latency figure is reported at: the latency threshold's, the first TTFT (ITL)
    threshold's, else P95."""
    ttft_q = next((t.quantile for t in stopping.tokens.thresholds if t.metric == TTFT), DEFAULT_QUANTILE)
    itl_q = next((t.quantile for t in stopping.tokens.thresholds if t.metric == ITL), DEFAULT_QUANTILE)
    return Quantiles(stopping.latency.quantile if stopping.latency else DEFAULT_QUANTILE, ttft_q, itl_q)


def _streamed(window: WindowStats | None, stopping: StoppingConditions) -> Streamed | None:
    """The window's streaming numbers, at their reported percentiles."""
    if window is None or window.ttft_ms is None or window.itl_ms is None:
        return None
    quantiles = reported_quantiles(stopping)
    return Streamed(
        window.output_tokens_per_second,
        window.ttft_ms.get(quantiles.ttft),
        window.itl_ms.get(quantiles.itl),
        window.answer_tokens_per_second,
    )


def thresholds_missed(window: WindowStats, stopping: StoppingConditions) -> list[str]:
    """Each latency threshold (AWS's, and the streamed answers' of the Loadrec key) and the SLO's attainment the
    window missed, said with its value (empty: every one held)."""
    found = []
    if stopping.latency is not None:
        value = window.latency_ms.get(stopping.latency.quantile)
        if value is None or value > stopping.latency.value_ms:
            shown = "none" if value is None else f"{value:.1f} ms"
            found.append(f"{stopping.latency.percentile} {shown} > {stopping.latency.value_ms} ms")
    for threshold in stopping.tokens.thresholds:
        value = token_value(threshold, window)
        if value is not None and value > threshold.value_ms:
            found.append(f"{threshold.name} {value:.1f} ms > {threshold.value_ms:g} ms")
    if attainment_missed(stopping, window):
        assert stopping.slo is not None  # missed says it is set
        found.append(f"SLO met by {window.attainment or 0.0:.1%} < {stopping.slo.min_attainment:g}%")
    return found


def size(
    measured: Measured, stopping: StoppingConditions, price_per_hour: float | None, existing: bool = False
) -> Sizing:
    """The recommendation from what was measured: instances enough for MaxInvocations, and their cost.
    ``existing``: an endpoint that exists (InputConfig.Endpoints) is reported as it performed, one of it."""
    per_instance = measured.invocations_per_minute
    count = 1
    if not existing and stopping.max_invocations is not None and per_instance > 0:
        count = max(1, math.ceil(stopping.max_invocations / per_instance))
    max_invocations = round(per_instance * count)
    latency_us = None if measured.latency_ms is None else round(measured.latency_ms * US_PER_MS)
    cost_per_hour = cost_per_inference = None
    if price_per_hour is not None:
        cost_per_hour = price_per_hour * count
        cost_per_inference = cost_per_hour / (max_invocations * 60) if max_invocations else None
    sizing = Sizing(count, max_invocations, latency_us, cost_per_hour, cost_per_inference)
    good = measured.goodput
    if good is not None:
        good_tokens = good.tokens_per_second * count
        sizing = replace(sizing, attainment=good.attainment, good_requests_per_second=good.requests_per_second * count,
                         good_tokens_per_second=good_tokens,
                         cost_per_million_good_tokens=per_million(cost_per_hour, good_tokens))  # fmt: skip
    streamed = measured.streamed
    if streamed is None:
        return sizing
    tokens = streamed.output_tokens_per_second * count
    return replace(sizing, output_tokens_per_second=tokens, ttft_ms=streamed.ttft_ms, itl_ms=streamed.itl_ms,
                   cost_per_million_tokens=per_million(cost_per_hour, tokens),
                   answer_tokens_per_second=streamed.answer_tokens_per_second)  # fmt: skip


def per_million(cost_per_hour: float | None, tokens_per_second: float) -> float | None:
    """The cost of a million tokens at ``tokens_per_second`` (None: no price, or no token)."""
    if cost_per_hour is None or tokens_per_second <= 0:
        return None
    return cost_per_hour / (tokens_per_second * 3600) * 1e6


def status_of(reason: StopReason, successes: int) -> Status:
    """STOPPED when a person stopped it; FAILED when the endpoint failed or never answered."""
    if reason in (StopReason.STOPPED_BY_USER, StopReason.JOB_PROCESS_ENDED):
        return Status.STOPPED
    if reason in (StopReason.ENDPOINT_ERRORS, StopReason.RESULTS_NOT_WRITTEN, StopReason.SEARCH_NO_PASS) or (
        successes == 0
    ):
        return Status.FAILED
    return Status.COMPLETED


def failure_reason(reason: StopReason, detail: str, errors: dict[str, tuple[int, str]], successes: int) -> str | None:
    """A FailureReason a person can act on: what failed, how often, what the endpoint said."""
    if status_of(reason, successes) is not Status.FAILED:
        return None
    if reason is StopReason.RESULTS_NOT_WRITTEN:
        return f"results could not be written: {detail}"
    if reason is StopReason.SEARCH_NO_PASS:
        return f"no load met the thresholds: {detail}"
    head = f"endpoint errors: {detail}" if reason is StopReason.ENDPOINT_ERRORS else "no successful invocation"
    if not errors:
        return f"{head} (no request completed)"
    kinds = sorted(errors.items(), key=lambda item: -item[1][0])
    parts = [
        f"{kind} x{count}" + (f": {sample.strip()!r}" if sample.strip() else "") for kind, (count, sample) in kinds[:3]
    ]
    return f"{head}; " + "; ".join(parts) if parts else head


def model_setup_us(first_max_ms: float | None, warm_median_ms: float | None) -> int | None:
    """ModelSetupTime measured from the outside (µs), for a serverless endpoint with no CloudWatch metric: the
    slowest of the test's first invocations (the one that met a cold endpoint) minus the median of all its
    successes (a warm one), at least 0; None without both."""
    if first_max_ms is None or warm_median_ms is None:
        return None
    return max(0, round((first_max_ms - warm_median_ms) * 1000))
