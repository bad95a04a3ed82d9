"""The typed results of a job: the one status enum, a ``Benchmark`` per test, and the ``JobResults`` they make.

Everything people and programs read (describe.json, steps.json, timeline.csv, the
terminal table, report.html) is rendered from a ``JobResults``; nothing re-reads a
rendered file to draw another. A test's recommendation is its own ``Benchmark``'s
sizing, so joining tests to recommendations needs no matching.

AWS calls one load test a *benchmark* step; so does this module (a ``TestResult`` would
be mistaken for a test class by pytest).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from loadrec.engine.job.spec import JobSpec
from loadrec.engine.measurement.confidence import Confidence
from loadrec.engine.measurement.health import Verdict
from loadrec.engine.measurement.metrics import TimelineRow, WindowStats
from loadrec.engine.measurement.monitor import Level, StopReason
from loadrec.engine.measurement.open_model import RateFigures
from loadrec.engine.measurement.outcome import US_PER_MS, Sizing, Status
from loadrec.engine.measurement.probes import SearchFigures
from loadrec.engine.measurement.ranking import Candidate, Ranked, Weights, rank
from loadrec.engine.measurement.records import RecordsSummary
from loadrec.payloads.prompts import PromptSummary


@dataclass(frozen=True)
class Benchmark:
    """One load test: what it measured and what it means (AWS: a BENCHMARK step)."""

    index: int
    label: str
    status: Status
    stop_reason: str = ""
    stop_detail: str = ""
    stop_second: int | None = None
    failure_reason: str | None = None
    sizing: Sizing | None = None
    start_epoch: float | None = None
    end_epoch: float | None = None
    plateau: Level | None = None
    errors: dict[str, int] = field(default_factory=dict)
    workers: int = 0
    worker_events: tuple[dict[str, Any], ...] = ()  # lost workers, saturated CPUs
    utilization: dict[str, float] | None = None  # CpuUtilization, MemoryUtilization (CloudWatch)
    note: str | None = None
    run_id: str = ""  # the run that wrote it: a reused folder never mixes runs
    endpoint: str | None = None  # the endpoint loadrec created for it (a provisioned test): its URL or sagemaker:NAME
    endpoint_name: str | None = None  # and its EndpointName, as AWS's shapes show it
    ready_s: float | None = None  # how long that endpoint took to become ready
    model_setup_us: int | None = None  # a serverless endpoint's cold start (CloudWatch's, else measured)
    # The load generator's health: over the window the figures come from, and over the whole test.
    generator: Verdict | None = None
    generator_test: Verdict | None = None
    request_rate: RateFigures | None = None  # a request-rate test's own figures (None: a closed-loop test)
    prompts: PromptSummary | None = None  # what its bodies held, when Loadrec.Prompts made them
    output_tokens_counted_by: str | None = None  # streamed answers: the server's counts, events, or both
    records: RecordsSummary | None = None  # with --records: its per-request records file
    search: SearchFigures | None = None  # with Loadrec.Search: its probes and answer
    window: WindowStats | None = None  # the measured window its figures come from, at the reported percentiles
    confidence: Confidence | None = None  # its headline figures' 95 % intervals, from those seconds

    @property
    def measured(self) -> bool:
        """A recommendation can be made from it."""
        return self.status is Status.COMPLETED and self.sizing is not None

    @property
    def generator_bound(self) -> bool:
        """The figures come from a window in which loadrec itself was short of CPU: they hold its own delay."""
        return self.generator is not None and self.generator.bound

    @property
    def stopped_by_user(self) -> bool:
        return self.status is Status.STOPPED and self.stop_reason == StopReason.STOPPED_BY_USER.value

    def summary(self) -> str:
        """One line of what the test measured, for when its record could not be written."""
        parts = [f"{self.label}: {self.status}" + (f" ({self.stop_reason})" if self.stop_reason else "")]
        sizing = self.sizing
        if sizing is not None:
            latency = "" if sizing.model_latency_us is None else f", latency {sizing.model_latency_us / 1000:.1f} ms"
            parts.append(f"max {sizing.max_invocations} invocations/min on {sizing.initial_instance_count} instance(s)")
            parts[-1] += latency
        if self.errors:
            parts.append("errors " + ", ".join(f"{kind} x{count}" for kind, count in sorted(self.errors.items())))
        return "; ".join(parts)

    def to_json(self) -> str:
        data = asdict(self)
        for key in ("generator", "generator_test"):  # in the shape describe.json shows, read back checked
            verdict = getattr(self, key)
            data[key] = None if verdict is None else verdict.to_dict()
        data["request_rate"] = None if self.request_rate is None else self.request_rate.to_record()
        data["prompts"] = None if self.prompts is None else self.prompts.to_dict()
        data["search"] = None if self.search is None else self.search.to_record()
        data["confidence"] = None if self.confidence is None else self.confidence.to_dict()
        data["window"] = None if self.window is None else self.window.to_dict()
        return json.dumps(data, indent=2, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Benchmark:
        data = json.loads(text)
        sizing, plateau = data.pop("sizing"), data.pop("plateau")
        generator, generator_test = _verdict(data.pop("generator", None)), _verdict(data.pop("generator_test", None))
        rate, prompts, records = data.pop("request_rate", None), data.pop("prompts", None), data.pop("records", None)
        search, window, confidence = data.pop("search", None), data.pop("window", None), data.pop("confidence", None)
        if sizing and not (
            isinstance(sizing.get("initial_instance_count"), int) and sizing["initial_instance_count"] >= 1
        ):
            raise ValueError("a sizing of no instance")
        if (status := Status(data["status"])) in (Status.PENDING, Status.STOPPING):
            raise ValueError(f"{status} is an API job's status, never a test's")
        return cls(
            **{**data, "status": status, "worker_events": tuple(data.get("worker_events", ()))},
            sizing=Sizing(**sizing) if sizing else None,
            plateau=Level(**plateau) if plateau else None,
            generator=generator,
            generator_test=generator_test,
            request_rate=None if rate is None else RateFigures.from_record(rate),
            prompts=None if prompts is None else PromptSummary.from_dict(prompts),
            records=None if records is None else RecordsSummary(**records),
            search=None if search is None else SearchFigures.from_record(search),
            window=None if window is None else WindowStats.from_dict(window),
            confidence=None if confidence is None else Confidence.from_dict(confidence),
        )


def _verdict(data: Any) -> Verdict | None:
    """A Verdict as result.json holds it (raises KeyError, TypeError or ValueError on anything else)."""
    return None if data is None else Verdict.from_dict(data)


def not_run(index: int, label: str, reason: str, run_id: str = "") -> Benchmark:
    return Benchmark(index, label, Status.NOT_RUN, failure_reason=reason, run_id=run_id)


def ended_early(benchmark: Benchmark, reason: str, measured_seconds: int) -> Benchmark:
    """A test whose process ended before finishing it: FAILED, with what it had recorded (its seconds end it)."""
    if benchmark.start_epoch is None:
        return replace(benchmark, status=Status.FAILED, failure_reason=reason)
    end = benchmark.start_epoch + measured_seconds
    return replace(benchmark, status=Status.FAILED, failure_reason=reason, end_epoch=end, stop_second=measured_seconds)


def stopped_early(benchmark: Benchmark, detail: str, measured_seconds: int) -> Benchmark:
    """A test a person stopped before its process could take the stop (it was still starting, so the signal
    ended it the default way): STOPPED, as a stop says, with what it had recorded."""
    ended = ended_early(benchmark, detail, measured_seconds)
    return replace(
        ended, status=Status.STOPPED, failure_reason=None, stop_reason=StopReason.STOPPED_BY_USER.value,
        stop_detail=detail,
    )  # fmt: skip


@dataclass(frozen=True)
class JobResults:
    """A job's results at one moment: while it runs, and when it has ended."""

    spec: JobSpec
    run_id: str
    status: Status
    created: float
    updated: float
    benchmarks: tuple[Benchmark, ...]
    weights: Weights = field(default_factory=Weights)
    ranking: tuple[Ranked, ...] = ()
    failure_reason: str | None = None
    timelines: Mapping[int, tuple[TimelineRow, ...]] = field(default_factory=dict)
    job_arn: str = ""  # fixed when the run starts ("" for results made without one)

    @property
    def measured(self) -> list[Benchmark]:
        return [b for b in self.benchmarks if b.measured]

    @property
    def top(self) -> Benchmark | None:
        """The top recommendation (ranked first), once the job has ended."""
        if not self.ranking:
            return None
        return next(b for b in self.benchmarks if b.index == self.ranking[0].index)

    @property
    def in_rank_order(self) -> list[Benchmark]:
        """The ranked configurations best first, then the others in configuration order (as tables list them)."""
        position = {ranked.index: ranked.rank for ranked in self.ranking}
        return sorted(self.benchmarks, key=lambda b: (position.get(b.index, len(position) + 1), b.index))

    def rank_of(self, benchmark: Benchmark) -> Ranked | None:
        return next((r for r in self.ranking if r.index == benchmark.index), None)

    def with_weights(self, weights: Weights) -> JobResults:
        """The same results ranked by other importances (as Studio re-ranks when they change)."""
        ranking = ranking_of(self.benchmarks, weights) if self.status.finished else ()
        return replace(self, weights=weights, ranking=ranking)

    def recommendation_id(self, benchmark: Benchmark) -> str:
        """Unique per run and test, as AWS's RecommendationId is per job."""
        return uuid.uuid5(uuid.NAMESPACE_URL, f"loadrec/{self.run_id}/{benchmark.index}").hex[:12]


def ranking_of(benchmarks: Iterable[Benchmark], weights: Weights) -> tuple[Ranked, ...]:
    """The measured configurations ranked by ``weights`` (the ended job's recommendation order).

    When every one of them streamed, the ranking weighs what an LLM endpoint is bought for: cost per million
    output tokens, time to first token and output tokens per second per instance (with an SLO, *good* output
    tokens: those of the requests that met it); otherwise AWS's cost per inference, model latency and
    invocations per instance."""
    indexed = [(b.index, b.label, b.sizing) for b in benchmarks if b.measured and b.sizing is not None]
    streamed = bool(indexed) and all(sizing.output_tokens_per_second is not None for _, _, sizing in indexed)
    good = streamed and all(sizing.good_tokens_per_second is not None for _, _, sizing in indexed)
    candidates = [_candidate(index, label, sizing, streamed, good) for index, label, sizing in indexed]
    return tuple(rank(candidates, weights))


def _candidate(index: int, label: str, sizing: Sizing, streamed: bool, good: bool) -> Candidate:
    if streamed:
        latency = None if sizing.ttft_ms is None else round(sizing.ttft_ms * US_PER_MS)
        tokens = sizing.good_tokens_per_second if good else sizing.output_tokens_per_second
        cost = sizing.cost_per_million_good_tokens if good else sizing.cost_per_million_tokens
        return Candidate(index, label, cost, latency, (tokens or 0.0) / sizing.initial_instance_count)
    per_instance = sizing.invocations_per_instance
    return Candidate(index, label, sizing.cost_per_inference, sizing.model_latency_us, per_instance)


def job_status(benchmarks: Iterable[Benchmark], interrupted: bool, running: bool = False) -> Status:
    """IN_PROGRESS while running; STOPPED when a person stopped the job or one of its tests;
    COMPLETED when any test completed; FAILED otherwise."""
    benchmarks = list(benchmarks)
    if running:
        return Status.IN_PROGRESS
    if interrupted or any(b.stopped_by_user for b in benchmarks):
        return Status.STOPPED
    return Status.COMPLETED if any(b.status is Status.COMPLETED for b in benchmarks) else Status.FAILED


def job_results(
    spec: JobSpec,
    run_id: str,
    benchmarks: Iterable[Benchmark],
    times: tuple[float, float],
    weights: Weights,
    *,
    interrupted: bool = False,
    running: bool = False,
    timelines: Mapping[int, tuple[TimelineRow, ...]] | None = None,
    failure_reason: str | None = None,
    job_arn: str = "",
) -> JobResults:
    """The job's results from its tests' benchmarks: status, failure reason and, once ended, the ranking."""
    ordered = tuple(sorted(benchmarks, key=lambda b: b.index))
    status = Status.FAILED if failure_reason else job_status(ordered, interrupted, running)
    if status is Status.FAILED and failure_reason is None:
        reasons = [f"{b.label}: {b.failure_reason}" for b in ordered if b.failure_reason]
        failure_reason = "; ".join(reasons) or "no test completed"
    ranking = ranking_of(ordered, weights) if status.finished else ()
    created, updated = times
    return JobResults(
        spec,
        run_id,
        status,
        created,
        updated,
        ordered,
        weights,
        ranking,
        failure_reason,
        dict(timelines or {}),
        job_arn,
    )
