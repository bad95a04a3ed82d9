"""The search for the most load that still meets the SLOs: which probe comes next, and when it is over.

A pure decision core (probe outcomes and the clock in, the next probe out), for a search
mode that spends fewer seconds than a STAIRS of the same resolution:

1. Probe ``low`` users (or the rate they stand for in a request-rate test). Each probe
   holds its load for ``probe_s`` seconds; its verdict is its last window's (every
   threshold held: latency, tokens, the SLO's attainment, the error ratio).
2. While probes pass, grow geometrically (×2) up to ``high``: the first failure brackets
   the answer between the last pass and it.
3. Bisect the bracket until it is within ``tolerance`` of its lower end
   (``failed − passed ≤ max(1, tolerance × passed)``): the answer is the last pass.
A first probe that fails answers None (nothing meets the SLOs); a pass at ``high`` answers
``high`` (the search's ceiling, said as such). The clock is passed in, so decisions are
tested without time passing.

It lives with the shapes: like a schedule it only says how many users run next; the
probes' verdicts come from the live monitor (:mod:`loadrec.engine.load.live_monitor`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Probe:
    users: int
    start: float
    end: float | None = None
    passed: bool | None = None  # None while it runs


@dataclass
class Search:
    low: int
    high: int
    tolerance: float  # e.g. 0.02: the answer is within 2 % of the true limit
    probe_s: float
    probes: list[Probe] = field(default_factory=list)
    done: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.low <= self.high or self.tolerance <= 0 or self.probe_s <= 0:
            raise ValueError(f"a search needs 1 <= low <= high, a tolerance and a probe time above 0: {self}")

    def start(self, now: float) -> int:
        """The first probe's users, begun at ``now`` (a search started again begins afresh)."""
        self.probes, self.done = [Probe(self.low, now)], False
        return self.low

    @property
    def max_probes(self) -> int:
        """The most probes any endpoint can take: doublings from ``low`` to ``high``, then halvings of a bracket
        no wider than ``high``."""
        growing = math.ceil(math.log2(self.high / self.low)) + 1
        return growing + math.ceil(math.log2(max(2, self.high)))

    @property
    def max_seconds(self) -> float:
        """The longest the search can run (every probe its full time)."""
        return self.max_probes * self.probe_s

    def users(self) -> int | None:
        """The users the running probe asks for; None before the start and once the search is over."""
        return None if self.done or not self.probes else self.current.users

    @property
    def current(self) -> Probe:
        return self.probes[-1]

    def due(self, now: float) -> bool:
        """The running probe has held its load for its time: its verdict can be taken."""
        return not self.done and bool(self.probes) and now - self.current.start >= self.probe_s

    def judge(self, now: float, passed: bool) -> int | None:
        """The running probe's verdict; the next probe's users (begun at ``now``), or None when the search is over."""
        probe = self.current
        self.probes[-1] = Probe(probe.users, probe.start, now, passed)
        following = self._next()
        if following is None:
            self.done = True
            return None
        self.probes.append(Probe(following, now))
        return following

    @property
    def passed(self) -> int | None:
        """The most users a probe passed with (None: none passed)."""
        return max((p.users for p in self.probes if p.passed), default=None)

    @property
    def failed(self) -> int | None:
        """The fewest users a probe failed with, above every pass (None: none failed)."""
        best = self.passed or 0
        return min((p.users for p in self.probes if p.passed is False and p.users > best), default=None)

    def _next(self) -> int | None:
        passed, failed = self.passed, self.failed
        if passed is None:
            return None  # the least load asked for already misses the SLOs
        if failed is None:
            return None if passed >= self.high else min(self.high, passed * 2)
        if failed - passed <= max(1, math.floor(self.tolerance * passed)):
            return None  # bracketed closely enough: the answer is ``passed``
        return (passed + failed) // 2


def stairs_seconds(low: int, high: int, resolution: int, step_s: float) -> float:
    """What a STAIRS from ``low`` to ``high`` users in steps of ``resolution`` takes, each step ``step_s`` long
    (the comparison the search is judged by: the same resolution, the same time per level)."""
    return (math.ceil((high - low) / max(1, resolution)) + 1) * step_s
