"""The ``Slo`` key of ``Loadrec``: what a good request is, and how many of them a test must keep::

    "Loadrec": {
      "Slo": {"TimeToFirstTokenMs": 500, "TimePerOutputTokenMs": 50, "EndToEndMs": 10000,
              "MinAttainmentPercent": 95}
    }

A request is *good* when it succeeded and met every SLO given: its time to first token,
its time per output token (the answer's ITL) and its end-to-end latency at most these.
An answer of one token has no time per output token, so that SLO cannot fail it; a
streamed answer with no token has no TTFT, so that one does. Goodput is the good
requests (and their output tokens) per second; attainment the share of a window's
requests that were good (failures are never good). With ``MinAttainmentPercent`` a test
stops once its window's attainment falls below it (stop reason "SLO attainment"), and
the measured window must hold it, as a latency threshold must hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loadrec.engine.job.problems import Problem
from loadrec.engine.streaming.tokens import StreamTiming

KEY = "Slo"
LIMITS = ("TimeToFirstTokenMs", "TimePerOutputTokenMs", "EndToEndMs")
FIELDS = (*LIMITS, "MinAttainmentPercent")
STREAMED = ("TimeToFirstTokenMs", "TimePerOutputTokenMs")


@dataclass(frozen=True)
class Slo:
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    e2e_ms: float | None = None
    min_attainment: float | None = None  # percent; None: goodput is reported, never a stop

    def met(self, e2e_ms: float, timing: StreamTiming | None) -> bool:
        """A successful request of end-to-end ``e2e_ms`` (and, when streamed, ``timing``) is good."""
        if self.e2e_ms is not None and e2e_ms > self.e2e_ms:
            return False
        if self.ttft_ms is not None and (timing is None or timing.ttft_s is None or timing.ttft_s * 1e3 > self.ttft_ms):
            return False
        itl = None if timing is None else timing.itl_s
        return self.tpot_ms is None or itl is None or itl * 1e3 <= self.tpot_ms

    def to_dict(self) -> dict[str, float]:
        """As the job file writes it (describe.json echoes it)."""
        values = zip(FIELDS, (self.ttft_ms, self.tpot_ms, self.e2e_ms, self.min_attainment), strict=True)
        return {name: value for name, value in values if value is not None}


def rules(raw: Mapping[str, Any], path: str, streams: bool) -> list[Problem]:
    """What the model leaves to ``Loadrec.Slo``: one limit at least, and the token ones need a target that
    streams (``streams``)."""
    found = [] if any(name in raw for name in LIMITS) else [Problem(path, f"needs at least one of {', '.join(LIMITS)}")]
    if not streams:
        found += [Problem(f"{path}.{name}", "judges tokens, but no target streams (give one a Streaming key)")
                  for name in STREAMED if name in raw]  # fmt: skip
    return found


def parse(raw: Any) -> Slo | None:
    """The checked key (run ``check`` first); None when absent."""
    if raw is None:
        return None
    values = [None if raw.get(name) is None else float(raw[name]) for name in FIELDS]
    return Slo(*values)
