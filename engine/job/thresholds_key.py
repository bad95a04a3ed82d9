"""The ``Thresholds`` key of ``Loadrec`` (and ``loadrec run --threshold``): conditions that gate a pipeline.

Each threshold is a string ``"METRIC OP NUMBER"``, as k6 writes its thresholds::

    "Loadrec": {"Thresholds": ["LatencyP95Ms <= 100", "MaxInvocations >= 2000", "ErrorRatePercent < 1"]}

Every threshold applies to every configuration of the job. A test that did not complete
with a recommendation, or that has no value for the metric (TTFT of a test that does not
stream, goodput without an SLO), fails the threshold: a gate that cannot judge does not
pass. What each metric is, and its unit, is written once here (``METRICS``); the values
are read from the results by :mod:`loadrec.engine.results.thresholds`.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loadrec.engine.job.problems import Problem, show

KEY = "Thresholds"
MAX_THRESHOLDS = 100
MAX_TEXT = 200
_PERCENTILES = ("P50", "P95", "P99")  # the percentiles results report (histograms.REPORTED_PERCENTILES)

# name → what it is, with its unit. The measured window's figures unless said otherwise.
METRICS: dict[str, str] = {
    "MaxInvocations": "invocations per minute, all instances (the recommendation's MaxInvocations)",
    "ModelLatencyMs": "ms, the recommendation's ModelLatency (at the latency threshold's percentile, else P95)",
    **{f"LatencyP{q[1:]}Ms": f"ms, the measured window's {q} latency" for q in _PERCENTILES},
    **{f"TimeToFirstTokenP{q[1:]}Ms": f"ms, the measured window's {q} time to first token" for q in _PERCENTILES},
    **{f"InterTokenLatencyP{q[1:]}Ms": f"ms, the measured window's {q} inter-token latency" for q in _PERCENTILES},
    "ErrorRatePercent": "percent of the whole test's requests that failed",
    "CostPerHour": "dollars per hour, all instances",
    "CostPerInference": "dollars per inference",
    "CostPerMillionTokens": "dollars per million output tokens (streamed answers)",
    "CostPerMillionGoodTokens": "dollars per million good output tokens (with an SLO)",
    "OutputTokensPerSecond": "output tokens per second, all instances (streamed answers)",
    "GoodRequestsPerSecond": "requests per second that met the SLO, all instances",
    "GoodTokensPerSecond": "output tokens per second of the requests that met the SLO, all instances",
    "AttainmentPercent": "percent of the measured window's requests that met the SLO",
}
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_FORM = re.compile(r"\s*([A-Za-z0-9]+)\s*(<=|>=|<|>)\s*(\S+)\s*")


@dataclass(frozen=True)
class Threshold:
    metric: str
    op: str
    limit: float

    def holds(self, value: float) -> bool:
        return OPERATORS[self.op](value, self.limit)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.limit:.15g}"  # every digit given: 1234567 stays 1234567


class ThresholdError(ValueError):
    """A threshold that does not parse; its message says what is allowed."""


def parse_threshold(text: Any) -> Threshold:
    """The threshold ``text`` says; raises ThresholdError."""
    if not isinstance(text, str):
        raise ThresholdError(f'{show(text)} must be a string "METRIC OP NUMBER", e.g. "LatencyP95Ms <= 100"')
    if len(text) > MAX_TEXT:
        raise ThresholdError(f"{show(text)} is longer than {MAX_TEXT} characters")
    match = _FORM.fullmatch(text)
    if match is None:
        raise ThresholdError(
            f'{show(text)} must read "METRIC OP NUMBER" with OP one of {", ".join(OPERATORS)}, '
            'e.g. "LatencyP95Ms <= 100"'
        )
    metric, op, number = match.groups()
    if metric not in METRICS:
        raise ThresholdError(f"{show(text)}: unknown metric {show(metric)}; one of {', '.join(METRICS)}")
    try:
        limit = float(number)
    except ValueError:
        raise ThresholdError(f"{show(text)}: {show(number)} is not a number") from None
    if not math.isfinite(limit):
        raise ThresholdError(f"{show(text)}: {show(number)} must be a finite number")
    return Threshold(metric, op, limit)


def check(texts: dict[int, str], path: str) -> list[Problem]:
    """Problems with ``Loadrec.Thresholds`` past the model: each string's form, at its index (``texts``: the
    entries the model accepted)."""
    found = []
    for index, text in texts.items():
        try:
            parse_threshold(text)
        except ThresholdError as error:
            found.append(Problem(f"{path}[{index}]", str(error)))
    return found


def parse(raw: Any) -> tuple[Threshold, ...]:
    """The checked key (run ``check`` first), each threshold once (a flag may repeat the job's); () when absent."""
    return tuple(dict.fromkeys(parse_threshold(text) for text in raw or ()))
