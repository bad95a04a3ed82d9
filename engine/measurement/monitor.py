"""The stopping-condition monitor: a pure evaluator (window stats in, decision out).

Rules, checked in this order on a trailing window (default 60 s) every few seconds:
1. Endpoint errors: with at least ``min_requests`` requests in the window, more than
   ``error_ratio`` of them failed → stop ("endpoint errors").
2. ModelLatencyThresholds: with at least ``min_requests`` successes, the window's
   percentile (P95/P99) is above ValueInMilliseconds → stop ("latency threshold");
   then, for streamed answers, each of the ``Loadrec`` key's TokenLatencyThresholds the
   same way on time to first token or inter-token latency (their own stop reasons), and
   the ``Loadrec.Slo``'s MinAttainmentPercent: with at least ``min_requests`` requests,
   fewer of them good than that share → stop ("SLO attainment").
3. MaxInvocations: once a full window has run, successful invocations per minute in it
   reach MaxInvocations → stop ("max invocations": the target load is proven).
4. FlatInvocations: over the last ``flat_levels`` completed user levels (runs of seconds
   with the same target users), each with more users than the one before, throughput
   grew by less than ``flat_gain`` from the first to the last → a plateau, which begins
   at the first of those levels. ``Stop`` ends the test ("flat invocations");
   ``Continue`` records the plateau once and goes on.
The Locust side (:mod:`loadrec.engine.load.live_monitor`) feeds it and acts on its decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import pairwise

from loadrec.engine.job.spec import StoppingConditions
from loadrec.engine.job.token_conditions import TTFT, TokenThreshold
from loadrec.engine.measurement.histograms import REPORTED_PERCENTILES
from loadrec.engine.measurement.metrics import WindowStats


class StopReason(StrEnum):
    """Why a test ended; exactly one per test."""

    PATTERN_COMPLETE = "pattern complete"
    LATENCY_THRESHOLD = "latency threshold"
    TTFT_THRESHOLD = "time to first token threshold"  # streamed answers (the Loadrec key's thresholds)
    ITL_THRESHOLD = "inter-token latency threshold"
    SLO_ATTAINMENT = "SLO attainment"  # the Loadrec key's Slo: too few requests met it
    MAX_INVOCATIONS = "max invocations"
    FLAT_INVOCATIONS = "flat invocations"
    JOB_DURATION = "job duration"
    STOPPED_BY_USER = "stopped by user"
    JOB_PROCESS_ENDED = "job process ended"  # the process that ran the job is gone (killed): not a person's stop
    ENDPOINT_ERRORS = "endpoint errors"
    RESULTS_NOT_WRITTEN = "results not written"  # the results folder refused a write: no load without a record
    SEARCH_COMPLETE = "search complete"  # Loadrec.Search found its answer (or its ceiling held)
    SEARCH_NO_PASS = "no load met the thresholds"  # Loadrec.Search: even MinUsers missed them


@dataclass(frozen=True)
class MonitorSettings:
    window_s: int = 60
    evaluate_every_s: int = 5
    min_requests: int = 20  # fewer requests say too little about a percentile or an error rate
    error_ratio: float = 0.5
    flat_gain: float = 0.05
    flat_levels: int = 3


@dataclass(frozen=True)
class Level:
    """A run of seconds [start, end) at the same target users, and its throughput."""

    users: int
    start: int
    end: int
    invocations_per_minute: float


@dataclass(frozen=True)
class Evaluation:
    stop: StopReason | None
    detail: str  # the values behind the decision, for the log and the results
    plateau: Level | None  # newly found plateau start (None if none, or already known)
    closest: str  # the condition nearest to firing, e.g. "P95 84.0/100 ms (84 %)"


def window_quantiles(stopping: StoppingConditions) -> tuple[float, ...]:
    """The percentiles a window must hold for the table and for every condition that reads one."""
    wanted = {*REPORTED_PERCENTILES, *(t.quantile for t in stopping.tokens.thresholds)}
    if stopping.latency is not None:
        wanted.add(stopping.latency.quantile)
    return tuple(sorted(wanted))


def levels(per_second: Sequence[tuple[int, int]]) -> list[Level]:
    """Completed levels from (target users, successes) per second (or output tokens per second, when the
    plateau is looked for in those: ``invocations_per_minute`` then holds tokens per minute).

    The last run is still going and is left out. The first second of a level is skipped
    when the level is longer than two seconds: users are still starting then.
    """
    found: list[Level] = []
    start = 0
    for index in range(1, len(per_second) + 1):
        if index < len(per_second) and per_second[index][0] == per_second[start][0]:
            continue
        if index == len(per_second):
            break  # the current level is not over
        users = per_second[start][0]
        first = start + 1 if index - start > 2 else start
        seconds = per_second[first:index]
        rate = sum(s for _, s in seconds) * 60.0 / len(seconds)
        if users > 0:
            found.append(Level(users, start, index, rate))
        start = index
    return found


def find_plateau(found: Sequence[Level], gain: float, count: int) -> Level | None:
    """The first level that starts a plateau: ``count`` levels of growing users, < ``gain`` growth."""
    for first in range(len(found) - count + 1):
        run = found[first : first + count]
        growing_users = all(a.users < b.users for a, b in pairwise(run))
        if growing_users and run[-1].invocations_per_minute < run[0].invocations_per_minute * (1 + gain):
            return run[0]
    return None


def evaluate(
    stopping: StoppingConditions,
    settings: MonitorSettings,
    window: WindowStats,
    completed_levels: Sequence[Level],
    plateau_known: bool,
) -> Evaluation:
    closest = _closest(stopping, settings, window)
    evaluation = _decide(stopping, settings, window, completed_levels, plateau_known, closest)
    if evaluation.stop in LATENCY_REASONS and window.generator is not None and window.generator.bound:
        # A latency the generator may have caused is never a silent stop: the decision says so.
        detail = f"{evaluation.detail} (the load generator was bound: {'; '.join(window.generator.reasons)})"
        return replace(evaluation, detail=detail)
    return evaluation


LATENCY_REASONS = (StopReason.LATENCY_THRESHOLD, StopReason.TTFT_THRESHOLD, StopReason.ITL_THRESHOLD,
                   StopReason.SLO_ATTAINMENT)  # fmt: skip


def attainment_missed(stopping: StoppingConditions, window: WindowStats) -> bool:
    """The window's share of good requests is below the SLO's MinAttainmentPercent (False: none set or judged)."""
    slo, share = stopping.slo, window.attainment
    return slo is not None and slo.min_attainment is not None and share is not None and (
        share * 100 < slo.min_attainment)  # fmt: skip


def _decide(
    stopping: StoppingConditions,
    settings: MonitorSettings,
    window: WindowStats,
    completed_levels: Sequence[Level],
    plateau_known: bool,
    closest: str,
) -> Evaluation:
    if window.requests >= settings.min_requests and window.failures > settings.error_ratio * window.requests:
        detail = f"{window.failures} of {window.requests} requests failed in the last {window.span_s} s"
        return Evaluation(StopReason.ENDPOINT_ERRORS, detail, None, closest)
    latency = stopping.latency
    if latency is not None and window.successes >= settings.min_requests:
        value = window.latency_ms.get(latency.quantile)
        if value is not None and value > latency.value_ms:
            detail = f"{latency.percentile} {value:.1f} ms > {latency.value_ms} ms"
            return Evaluation(StopReason.LATENCY_THRESHOLD, detail, None, closest)
    for threshold in stopping.tokens.thresholds:
        value = token_value(threshold, window) if window.successes >= settings.min_requests else None
        if value is not None and value > threshold.value_ms:
            reason = StopReason.TTFT_THRESHOLD if threshold.metric == TTFT else StopReason.ITL_THRESHOLD
            detail = f"{threshold.name} {value:.1f} ms > {threshold.value_ms:g} ms"
            return Evaluation(reason, detail, None, closest)
    if attainment_missed(stopping, window) and window.requests >= settings.min_requests:
        assert stopping.slo is not None and stopping.slo.min_attainment is not None  # missed says both are set
        share = window.attainment or 0.0
        detail = f"{share:.1%} of {window.requests} requests met the SLO < {stopping.slo.min_attainment:g}%"
        return Evaluation(StopReason.SLO_ATTAINMENT, detail, None, closest)
    if (
        stopping.max_invocations is not None
        and window.span_s >= settings.window_s
        and window.invocations_per_minute >= stopping.max_invocations
    ):
        detail = f"{window.invocations_per_minute:.0f} invocations/min >= {stopping.max_invocations}"
        return Evaluation(StopReason.MAX_INVOCATIONS, detail, None, closest)
    if not plateau_known:
        plateau = find_plateau(completed_levels, settings.flat_gain, settings.flat_levels)
        if plateau is not None:
            if stopping.tokens.flat_in_tokens:
                rate = f"output tokens flat at {plateau.invocations_per_minute / 60:.0f}/s"
            else:
                rate = f"invocations flat at {plateau.invocations_per_minute:.0f}/min"
            detail = f"{rate} from {plateau.users} users"
            stop = StopReason.FLAT_INVOCATIONS if stopping.flat_invocations == "Stop" else None
            return Evaluation(stop, detail, plateau, closest)
    return Evaluation(None, "", None, closest)


@dataclass(frozen=True)
class Reading:
    """A stopping condition's value in a window against its limit, as the page and the log show it."""

    condition: str  # e.g. "P95 model latency"
    value: str  # e.g. "84.0 ms"; "-" while there is none
    limit: str  # e.g. "100 ms"
    ratio: float | None  # value / limit (1.0: the limit is reached); None while there is no value
    judged: bool  # the monitor acts on it now (enough requests, a full window); otherwise ``waiting`` says why
    waiting: str = ""


def readings(stopping: StoppingConditions, settings: MonitorSettings, window: WindowStats) -> list[Reading]:
    """Each ratio condition the monitor checks, in its order and under its rules: errors, latency, invocations."""
    found = []
    share = window.failures / window.requests if window.requests else None
    found.append(
        _reading(
            "endpoint errors",
            "-" if share is None else f"{share:.0%} ({window.failures}/{window.requests})",
            f"{settings.error_ratio:.0%}",
            None if share is None else share / settings.error_ratio,
            "" if window.requests >= settings.min_requests else f"judged from {settings.min_requests} requests",
        )
    )
    latency = stopping.latency
    if latency is not None:
        value = window.latency_ms.get(latency.quantile)
        found.append(
            _reading(
                f"{latency.percentile} model latency",
                "-" if value is None else f"{value:.1f} ms",
                f"{latency.value_ms} ms",
                None if value is None else value / latency.value_ms,
                "" if window.successes >= settings.min_requests else f"judged from {settings.min_requests} successes",
            )
        )
    for threshold in stopping.tokens.thresholds:
        value = token_value(threshold, window)
        found.append(
            _reading(
                threshold.name,
                "-" if value is None else f"{value:.1f} ms",
                f"{threshold.value_ms:g} ms",
                None if value is None else value / threshold.value_ms,
                "" if window.successes >= settings.min_requests else f"judged from {settings.min_requests} answers",
            )
        )
    slo = stopping.slo
    if slo is not None and slo.min_attainment is not None:
        share = window.attainment
        allowed = 100 - slo.min_attainment  # the misses the SLO allows, in percent: the ratio is of them
        missed = None if share is None else 100 - share * 100
        ratio = None if missed is None else (missed / allowed if allowed else float(missed > 0))
        found.append(
            _reading(
                "SLO attainment",
                "-" if share is None else f"{share:.1%}",
                f"{slo.min_attainment:g}%",
                ratio,
                "" if window.requests >= settings.min_requests else f"judged from {settings.min_requests} requests",
            )
        )
    if stopping.max_invocations is not None:
        rate = window.invocations_per_minute
        found.append(
            _reading(
                "invocations per minute",
                f"{rate:,.0f}",
                f"{stopping.max_invocations:,}",
                rate / stopping.max_invocations,
                "" if window.span_s >= settings.window_s else "judged once the window is full",
            )
        )
    return found


def token_value(threshold: TokenThreshold, window: WindowStats) -> float | None:
    """The window's percentile of the threshold's metric (None: no streamed answer in it)."""
    values = window.ttft_ms if threshold.metric == TTFT else window.itl_ms
    return None if values is None else values.get(threshold.quantile)


def _reading(condition: str, value: str, limit: str, ratio: float | None, waiting: str) -> Reading:
    return Reading(condition, value, limit, ratio, judged=not waiting, waiting=waiting)


def closest(found: Sequence[Reading]) -> Reading | None:
    """The judged reading nearest its limit (the highest ratio; the first of equals)."""
    judged = [reading for reading in found if reading.judged and reading.ratio is not None]
    return max(judged, key=lambda reading: reading.ratio or 0.0) if judged else None


def _closest(stopping: StoppingConditions, settings: MonitorSettings, window: WindowStats) -> str:
    nearest = closest(readings(stopping, settings, window))
    if nearest is None:
        return "nothing judged yet"
    return f"{nearest.condition} {nearest.value} of {nearest.limit} ({nearest.ratio or 0.0:.0%})"
