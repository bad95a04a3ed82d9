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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loadrec.engine.job.problems import Accepted, Problem, show
from loadrec.engine.job.rules import parse_percentile

KEY = "StoppingConditions"
TTFT, ITL = "TimeToFirstToken", "InterTokenLatency"
METRICS = {TTFT: "time to first token", ITL: "inter-token latency"}
INVOCATIONS, OUTPUT_TOKENS = "Invocations", "OutputTokens"


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


def rules(raw: Mapping[str, Any], path: str, accepted: Accepted) -> list[Problem]:
    """What the model leaves to ``Loadrec.StoppingConditions`` (``path`` names it), on the thresholds it
    ``accepted``: each percentile one strictly between 0 and 100, each metric and percentile judged once."""
    found: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    if not accepted.typed(f"{path}.TokenLatencyThresholds"):
        return found
    for index, entry in enumerate(raw.get("TokenLatencyThresholds", [])):
        where = f"{path}.TokenLatencyThresholds[{index}]"
        if not accepted.whole(where):
            continue
        metric, percentile = entry["Metric"], entry["Percentile"]
        if parse_percentile(percentile) is None:
            found.append(Problem(f"{where}.Percentile", f"{show(percentile)} is not a percentile between P0 and P100"))
        if (metric, percentile) in seen:
            found.append(Problem(where, f"a second {percentile} {metric} threshold"))
        seen.add((metric, percentile))
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
