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
(``HealthLimits``, chosen from measurements: README, "Generator health"); a window is
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
class Health:
    """One second of one load process (or the worst of several)."""

    cpu_percent: float = 0.0
    lag_ms: float = 0.0
    send_delay_ms: float = 0.0
    held_ms: float = 0.0

    def worst(self, other: Health) -> Health:
        return Health(
            max(self.cpu_percent, other.cpu_percent),
            max(self.lag_ms, other.lag_ms),
            max(self.send_delay_ms, other.send_delay_ms),
            max(self.held_ms, other.held_ms),
        )

    def to_wire(self) -> dict[str, float]:
        return {
            "c": round(self.cpu_percent, 1),
            "l": round(self.lag_ms, 2),
            "d": round(self.send_delay_ms, 2),
            "k": round(self.held_ms, 2),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Health:
        """Raises KeyError, TypeError or ValueError on anything but what ``to_wire`` writes."""
        return cls(*(_figure(data[key]) for key in ("c", "l", "d", "k")))


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
    """Past any of these a second is generator-bound (README, "Generator health", gives the measurements)."""

    cpu_percent: float = 90.0
    lag_ms: float = 50.0
    send_delay_ms: float = 50.0
    held_ms: float = 50.0
    bound_share: float = 0.10  # a window is generator-bound when more than this share of its seconds are

    def passed(self, health: Health) -> list[str]:
        """The figures of ``health`` past their limits, in words (empty: within every limit)."""
        found = []
        if health.cpu_percent >= self.cpu_percent:
            found.append(f"CPU {health.cpu_percent:.0f} % (limit {self.cpu_percent:g} %)")
        if health.lag_ms >= self.lag_ms:
            found.append(f"event-loop lag {health.lag_ms:.0f} ms (limit {self.lag_ms:g} ms)")
        if health.send_delay_ms >= self.send_delay_ms:
            found.append(f"send delay {health.send_delay_ms:.0f} ms (limit {self.send_delay_ms:g} ms)")
        if health.held_ms >= self.held_ms:
            found.append(f"loop held {health.held_ms:.0f} ms by loadrec (limit {self.held_ms:g} ms)")
        return found


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
        if limits.passed(health):
            bound += 1
            worst_bound = worst_bound.worst(health)
    if not count:
        return None
    return Verdict(count, bound, worst, tuple(limits.passed(worst_bound)), bound > limits.bound_share * count)
