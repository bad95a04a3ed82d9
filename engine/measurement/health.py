"""The load generator's own health, per second, and the verdict on a window: can its figures be trusted?

A load process that runs out of CPU reads its answers late: every latency it records then
holds its own delay, and a recommendation drawn from it names the wrong instance count. So
each load process measures, every second (:mod:`loadrec.engine.load.health_probe`):

- ``cpu_percent``: its CPU time over the wall time (100: one core, all a gevent loop can use);
- ``lag_ms``: how late a periodic timer fired, at worst: how long a ready greenlet (a user whose
  answer has arrived) may have waited for the loop;
- ``send_delay_ms``: how late a user started a request after it was ready to send, at worst;
- ``held_ms``: the longest stretch loadrec's own bookkeeping (the monitor, the recorder, the
  writers) held the loop.

Seconds merge across processes and workers by their worst values (the worst process counts).

**The verdict.** A second is *generator-bound* when any figure passes its limit
(``HealthLimits``, chosen from measurements: docs/results.md, "Generator health"); a window is
generator-bound when more than ``bound_share`` of its measured seconds are. A figure drawn from
a generator-bound window is flagged wherever it is shown, never printed silently.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

WIRE_KEY = "gh"  # a second's health on the wire: {"c": cpu %, "l": lag ms, "d": send delay ms, "k": held ms}
ADVICE = "spread the users over more load processes (--processes N) or machines (loadrec worker)"


@dataclass(frozen=True)
class Figure:
    """One health figure: its field, its key on the wire, its decimals there, and how a passed limit reads."""

    name: str
    wire: str
    decimals: int
    words: str  # formatted with the value and the limit


FIGURES = (
    Figure("cpu_percent", "c", 1, "CPU {value:.0f} % (limit {limit:g} %)"),
    Figure("lag_ms", "l", 2, "event-loop lag {value:.0f} ms (limit {limit:g} ms)"),
    Figure("send_delay_ms", "d", 2, "send delay {value:.0f} ms (limit {limit:g} ms)"),
    Figure("held_ms", "k", 2, "loop held {value:.0f} ms by loadrec (limit {limit:g} ms)"),
)


@dataclass(frozen=True)
class Health:
    """One second of one load process (or the worst of several); its fields are FIGURES' names."""

    cpu_percent: float = 0.0
    lag_ms: float = 0.0
    send_delay_ms: float = 0.0
    held_ms: float = 0.0

    def worst(self, other: Health) -> Health:
        return Health(*(max(getattr(self, f.name), getattr(other, f.name)) for f in FIGURES))

    def to_wire(self) -> dict[str, float]:
        return {f.wire: round(getattr(self, f.name), f.decimals) for f in FIGURES}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Health:
        """Raises KeyError, TypeError or ValueError on anything but what ``to_wire`` writes."""
        return cls(*(_figure(data[f.wire]) for f in FIGURES))


def _figure(value: Any) -> float:
    """A health figure as written: a finite number of 0 or more (ValueError or TypeError otherwise)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError("a health figure that is not a number")
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise ValueError("a health figure out of range") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError("a health figure that is not a finite number of 0 or more")
    return number


@dataclass(frozen=True)
class HealthLimits:
    """Past any of these a second is generator-bound (docs/results.md, "Generator health", gives the measurements);
    one limit per figure, by the figure's name."""

    cpu_percent: float = 90.0
    lag_ms: float = 50.0
    send_delay_ms: float = 50.0
    held_ms: float = 50.0
    bound_share: float = 0.10  # a window is generator-bound when more than this share of its seconds are

    def passed(self, health: Health) -> list[str]:
        """The figures of ``health`` past their limits, in words (empty: within every limit)."""
        found = []
        for figure in FIGURES:
            value, limit = getattr(health, figure.name), getattr(self, figure.name)
            if value >= limit:
                found.append(figure.words.format(value=value, limit=limit))
        return found

    def bound(self, health: Health) -> bool:
        """A second past any limit is generator-bound."""
        return bool(self.passed(health))


LIMITS = HealthLimits()


@dataclass(frozen=True)
class Verdict:
    """A span of seconds judged: how many were measured and bound, and the worst figures among them."""

    seconds: int  # seconds with a health record
    bound_seconds: int
    worst: Health
    reasons: tuple[str, ...]  # the worst second's figures past their limits (empty: none passed)
    bound: bool

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "GeneratorBound": self.bound,
            "Seconds": self.seconds,
            "BoundSeconds": self.bound_seconds,
            "CpuPercent": round(self.worst.cpu_percent, 1),
            "LoopLagMs": round(self.worst.lag_ms, 1),
            "SendDelayMs": round(self.worst.send_delay_ms, 1),
            "HeldMs": round(self.worst.held_ms, 1),
        }
        if self.reasons:
            data["Reasons"] = list(self.reasons)
        if self.bound:
            data["Advice"] = ADVICE
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """Raises KeyError, TypeError or ValueError on anything but what ``to_dict`` writes."""
        seconds, bound_seconds, bound = data["Seconds"], data["BoundSeconds"], data["GeneratorBound"]
        counts = (seconds, bound_seconds)
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
            raise TypeError("a count that is not a whole number of 0 or more")
        if not isinstance(bound, bool) or not isinstance(data.get("Reasons", []), list):
            raise TypeError("a verdict that is not true or false, or reasons that are not a list")
        worst = Health.from_wire(
            {"c": data["CpuPercent"], "l": data["LoopLagMs"], "d": data["SendDelayMs"], "k": data["HeldMs"]}
        )
        reasons = tuple(str(reason) for reason in data.get("Reasons", ()))
        return cls(seconds, bound_seconds, worst, reasons, bound)

    def summary(self) -> str:
        """One line: the verdict, the worst figures and, when bound, what to do."""
        figures = (
            f"CPU {self.worst.cpu_percent:.0f} %, loop lag {self.worst.lag_ms:.0f} ms, "
            f"send delay {self.worst.send_delay_ms:.0f} ms, held {self.worst.held_ms:.0f} ms"
        )
        if not self.bound:
            return f"generator within limits ({figures} at worst)"
        return (
            f"GENERATOR-BOUND in {self.bound_seconds} of {self.seconds} s ({'; '.join(self.reasons)}): "
            f"latencies hold loadrec's own delay; {ADVICE}"
        )


def verdict(seconds: Iterable[Health], limits: HealthLimits = LIMITS) -> Verdict | None:
    """The verdict on these seconds (None: no health was recorded, e.g. results of an older loadrec)."""
    count = bound = 0
    worst = worst_bound = Health()
    for health in seconds:
        count += 1
        worst = worst.worst(health)
        if limits.bound(health):
            bound += 1
            worst_bound = worst_bound.worst(health)
    if not count:
        return None
    return Verdict(count, bound, worst, tuple(limits.passed(worst_bound)), bound > limits.bound_share * count)
