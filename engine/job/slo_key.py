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

from dataclasses import dataclass
from typing import Any

from loadrec.engine.job.problems import Problem, is_number, show, unknown_fields
from loadrec.engine.streaming.tokens import StreamTiming

KEY = "Slo"
LIMITS = ("TimeToFirstTokenMs", "TimePerOutputTokenMs", "EndToEndMs")
FIELDS = (*LIMITS, "MinAttainmentPercent")
STREAMED = ("TimeToFirstTokenMs", "TimePerOutputTokenMs")
MAX_MS = 3_600_000.0  # an hour: no request is load-tested for longer


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


def check(raw: Any, path: str, streams: bool) -> list[Problem]:
    """Problems with ``Loadrec.Slo``; ``streams``: some target streams (the token SLOs need one)."""
    if not isinstance(raw, dict):
        return [Problem(path, 'must be an object, e.g. {"TimeToFirstTokenMs": 500, "EndToEndMs": 10000}')]
    found = unknown_fields(raw, FIELDS, path)
    if not any(name in raw for name in LIMITS):
        found.append(Problem(path, f"needs at least one of {', '.join(LIMITS)}"))
    for name in LIMITS:
        value = raw.get(name)
        if name in raw and (not is_number(value) or not 0 < value <= MAX_MS):
            found.append(
                Problem(f"{path}.{name}", f"{show(value)} must be a number of ms above 0, at most {MAX_MS:,.0f}")
            )
        elif name in raw and name in STREAMED and not streams:
            found.append(Problem(f"{path}.{name}", "judges tokens, but no target streams (give one a Streaming key)"))
    share = raw.get("MinAttainmentPercent")
    if "MinAttainmentPercent" in raw and (not is_number(share) or not 0 < share <= 100):
        found.append(
            Problem(f"{path}.MinAttainmentPercent", f"{show(share)} must be a percentage above 0, at most 100")
        )
    return found


def parse(raw: Any) -> Slo | None:
    """The checked key (run ``check`` first); None when absent."""
    if raw is None:
        return None
    values = [None if raw.get(name) is None else float(raw[name]) for name in FIELDS]
    return Slo(*values)
