"""The job's thresholds judged on its results: a verdict per configuration and threshold.

Pure: a function of the typed results (``JobResults``), so describe.json, the terminal,
JUnit and Markdown all show the same verdicts. Each configuration of the job is judged
against every threshold; a configuration without a recommendation (its test failed,
stopped or never ran), or without a value for the metric, fails: a gate that cannot
judge does not pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from loadrec.engine.job.thresholds_key import METRICS, Threshold
from loadrec.engine.measurement.metrics import TimelineRow
from loadrec.engine.measurement.outcome import US_PER_MS, Sizing
from loadrec.engine.results.model import Benchmark, JobResults


@dataclass(frozen=True)
class Judgement:
    """One threshold on one configuration."""

    index: int
    configuration: str
    threshold: Threshold
    value: float | None  # in the metric's unit; None: it could not be judged
    passed: bool
    detail: str

    def line(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return f"{self.configuration}: {self.threshold}: {verdict} ({self.detail})"

    def to_dict(self) -> dict[str, Any]:
        """As describe.json's ``Loadrec.Thresholds`` lists it."""
        return {"Index": self.index, "Configuration": self.configuration, "Threshold": str(self.threshold),
                "Value": self.value, "Passed": self.passed, "Detail": self.detail}  # fmt: skip


def judge(results: JobResults) -> tuple[Judgement, ...]:
    """Every threshold of the job on every configuration, in configuration order (() while the job runs)."""
    thresholds = results.spec.extension.thresholds
    if not thresholds or not results.status.finished:
        return ()
    return tuple(
        _judge(benchmark, threshold, results.timelines.get(benchmark.index, ()))
        for benchmark in results.benchmarks
        for threshold in thresholds
    )


def failed(judgements: Sequence[Judgement]) -> list[Judgement]:
    return [j for j in judgements if not j.passed]


def _judge(benchmark: Benchmark, threshold: Threshold, rows: Sequence[TimelineRow]) -> Judgement:
    def verdict(value: float | None, passed: bool, detail: str) -> Judgement:
        return Judgement(benchmark.index, benchmark.label, threshold, value, passed, detail)

    if not benchmark.measured:  # why it did not complete is the test's own line, beside the verdicts
        return verdict(
            None, False, f"cannot be judged: the test ended {benchmark.status.value} without a recommendation"
        )
    value = value_of(threshold.metric, benchmark, rows)
    if value is None:
        return verdict(None, False, f"cannot be judged: the test has no {threshold.metric}")
    passed = threshold.holds(value)
    return verdict(value, passed, f"{threshold.metric} was {value:.10g}")


def value_of(metric: str, benchmark: Benchmark, rows: Sequence[TimelineRow]) -> float | None:
    """``metric``'s value for a measured test (None: it has none)."""
    if metric == "ErrorRatePercent":
        return _error_rate(rows)
    if (percentile := _PERCENTILE.fullmatch(metric)) is not None:
        window = benchmark.window
        if window is None:
            return None
        family = {"Latency": window.latency_ms, "TimeToFirstToken": window.ttft_ms,
                  "InterTokenLatency": window.itl_ms}[percentile[1]]  # fmt: skip
        return None if family is None else family.get(float(percentile[2]))
    assert benchmark.sizing is not None  # a measured test has its sizing
    return _FROM_SIZING[metric](benchmark.sizing)


def _error_rate(rows: Sequence[TimelineRow]) -> float | None:
    requests = sum(row.successes + row.failures for row in rows)
    return None if not requests else 100.0 * sum(row.failures for row in rows) / requests


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


_FROM_SIZING: dict[str, Callable[[Sizing], float | None]] = {
    "MaxInvocations": lambda s: float(s.max_invocations),
    "ModelLatencyMs": lambda s: _scaled(s.model_latency_us, 1 / US_PER_MS),
    "CostPerHour": lambda s: s.cost_per_hour,
    "CostPerInference": lambda s: s.cost_per_inference,
    "CostPerMillionTokens": lambda s: s.cost_per_million_tokens,
    "CostPerMillionGoodTokens": lambda s: s.cost_per_million_good_tokens,
    "OutputTokensPerSecond": lambda s: s.output_tokens_per_second,
    "GoodRequestsPerSecond": lambda s: s.good_requests_per_second,
    "GoodTokensPerSecond": lambda s: s.good_tokens_per_second,
    "AttainmentPercent": lambda s: _scaled(s.attainment, 100.0),
}
_PERCENTILE = re.compile(r"(Latency|TimeToFirstToken|InterTokenLatency)P(\d+)Ms")
# Every metric the key names is read here: the percentiles from the window, the error rate from the timeline.
assert set(METRICS) == {*_FROM_SIZING, *filter(_PERCENTILE.fullmatch, METRICS), "ErrorRatePercent"}
