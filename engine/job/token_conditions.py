"""Stopping conditions for streamed answers, in the ``Loadrec`` key (AWS's own keep their meaning)::

    "Loadrec": {
      "StoppingConditions": {
        "TokenLatencyThresholds": [
          {"Metric": "TimeToFirstToken", "Percentile": "P95", "ValueInMilliseconds": 800},
          {"Metric": "InterTokenLatency", "Percentile": "P99", "ValueInMilliseconds": 60}
        ],
        "FlatThroughput": "OutputTokens"
      }
    }

Each threshold stops a test once the trailing window's percentile of that metric is
above it (stop reasons "time to first token threshold", "inter-token latency threshold"),
judged like ModelLatency (from enough answers in the window). ``FlatThroughput``
``OutputTokens`` makes FlatInvocations look for the plateau in output tokens per second
rather than invocations (for LLMs, whose answers vary in length); ``Invocations`` is
AWS's rule and the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loadrec.engine.job.problems import Problem, is_number, show, unknown_fields
from loadrec.engine.job.rules import parse_percentile

KEY = "StoppingConditions"
FIELDS = ("TokenLatencyThresholds", "FlatThroughput")
THRESHOLD_FIELDS = ("Metric", "Percentile", "ValueInMilliseconds")
TTFT, ITL = "TimeToFirstToken", "InterTokenLatency"
METRICS = {TTFT: "time to first token", ITL: "inter-token latency"}
INVOCATIONS, OUTPUT_TOKENS = "Invocations", "OutputTokens"
MAX_THRESHOLDS = 10


@dataclass(frozen=True)
class TokenThreshold:
    metric: str  # TTFT or ITL
    percentile: str  # as written, e.g. "P95"
    quantile: float
    value_ms: float

    @property
    def name(self) -> str:
        return f"{self.percentile} {METRICS[self.metric]}"


@dataclass(frozen=True)
class TokenConditions:
    thresholds: tuple[TokenThreshold, ...] = ()
    flat_throughput: str = INVOCATIONS

    @property
    def flat_in_tokens(self) -> bool:
        """The plateau is looked for (and the best window chosen) in output tokens per second."""
        return self.flat_throughput == OUTPUT_TOKENS


def check(raw: Any, path: str) -> list[Problem]:
    """Problems with ``Loadrec.StoppingConditions`` (``path`` names it)."""
    if not isinstance(raw, dict):
        return [Problem(path, "must be an object with TokenLatencyThresholds and/or FlatThroughput")]
    found = unknown_fields(raw, FIELDS, path)
    flat = raw.get("FlatThroughput", INVOCATIONS)
    if flat not in (INVOCATIONS, OUTPUT_TOKENS):
        found.append(Problem(f"{path}.FlatThroughput", f"{show(flat)} is not one of: {INVOCATIONS}, {OUTPUT_TOKENS}"))
    thresholds = raw.get("TokenLatencyThresholds", [])
    if not isinstance(thresholds, list) or len(thresholds) > MAX_THRESHOLDS:
        return [*found, Problem(f"{path}.TokenLatencyThresholds", f"must be an array of at most {MAX_THRESHOLDS}")]
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(thresholds):
        where = f"{path}.TokenLatencyThresholds[{index}]"
        if not isinstance(entry, dict):
            found.append(Problem(where, "must be an object with Metric, Percentile and ValueInMilliseconds"))
            continue
        found += unknown_fields(entry, THRESHOLD_FIELDS, where)
        found += [Problem(f"{where}.{k}", "is required") for k in THRESHOLD_FIELDS if k not in entry]
        metric, percentile, value = entry.get("Metric"), entry.get("Percentile"), entry.get("ValueInMilliseconds")
        if "Metric" in entry and (not isinstance(metric, str) or metric not in METRICS):
            found.append(Problem(f"{where}.Metric", f"{show(metric)} is not one of: {', '.join(METRICS)}"))
        if "Percentile" in entry and (not isinstance(percentile, str) or parse_percentile(percentile) is None):
            found.append(Problem(f"{where}.Percentile", f"{show(percentile)} is not a percentile such as P95"))
        positive = is_number(value) and value > 0
        if "ValueInMilliseconds" in entry and not positive:
            found.append(Problem(f"{where}.ValueInMilliseconds", f"{show(value)} must be a number of ms above 0"))
        if (str(metric), str(percentile)) in seen:
            found.append(Problem(where, f"a second {percentile} {metric} threshold"))
        seen.add((str(metric), str(percentile)))
    return found


def asks_for_tokens(raw: Any) -> bool:
    """The conditions judge tokens (a threshold, or the plateau in output tokens): a target must stream."""
    return isinstance(raw, dict) and bool(
        raw.get("TokenLatencyThresholds") or raw.get("FlatThroughput") == OUTPUT_TOKENS
    )


def parse(raw: Any) -> TokenConditions:
    """The checked ``Loadrec.StoppingConditions`` (absent: none)."""
    if not raw:
        return TokenConditions()
    thresholds = []
    for entry in raw.get("TokenLatencyThresholds", []):
        quantile = parse_percentile(entry["Percentile"])
        assert quantile is not None  # checked
        thresholds.append(TokenThreshold(entry["Metric"], entry["Percentile"], quantile, entry["ValueInMilliseconds"]))
    return TokenConditions(tuple(thresholds), raw.get("FlatThroughput", INVOCATIONS))
