"""A search's probes: each one's verdict on its window, and what the search found, as results show it.

A probe passes when its judged window (the probe's second half) has successes, no more
than the monitor's ``error_ratio`` of its requests failed, and every threshold held
(:func:`~loadrec.engine.measurement.outcome.thresholds_missed`). ``SearchFigures`` is the
record of a finished (or stopped) search: every probe with its figures, the answer, the
seconds it spent, and the seconds a STAIRS of the same resolution and the same time per
level would have spent climbing to the first level past the answer (the comparison the
search is made for).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from loadrec.engine.job import search_key
from loadrec.engine.job.loadrec_model import check_part
from loadrec.engine.job.problems import Accepted
from loadrec.engine.job.search_key import SearchKey
from loadrec.engine.job.spec import StoppingConditions
from loadrec.engine.measurement.metrics import WindowStats
from loadrec.engine.measurement.monitor import MonitorSettings
from loadrec.engine.measurement.outcome import DEFAULT_QUANTILE, thresholds_missed
from loadrec.shapes.search import stairs_seconds


def verdict(window: WindowStats, stopping: StoppingConditions, settings: MonitorSettings) -> tuple[bool, str]:
    """(the probe passed, what it missed: "" when it passed)."""
    if not window.successes:
        return False, f"no successful invocation in {window.span_s} s"
    if window.failures > settings.error_ratio * window.requests:
        return False, f"{window.failures} of {window.requests} requests failed"
    missed = thresholds_missed(window, stopping)
    return not missed, "; ".join(missed)


@dataclass(frozen=True)
class ProbeResult:
    """One probe: its users from ``start`` to ``end`` (test seconds), its verdict and its judged window's figures."""

    users: int
    start: int
    end: int
    passed: bool
    missed: str  # what it missed ("" when it passed)
    invocations_per_minute: float
    latency_ms: float | None  # at the latency threshold's percentile (P95 without one)
    requests: int
    failures: int
    attainment: float | None = None  # with an SLO

    @classmethod
    def judged(
        cls, users: int, start: int, end: int, window: WindowStats, stopping: StoppingConditions, passed: bool,
        missed: str,
    ) -> ProbeResult:  # fmt: skip
        quantile = stopping.latency.quantile if stopping.latency else DEFAULT_QUANTILE
        return cls(users, start, end, passed, missed, window.invocations_per_minute, window.latency_ms.get(quantile),
                   window.requests, window.failures, window.attainment)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "Users": self.users,
            "StartSecond": self.start,
            "EndSecond": self.end,
            "Passed": self.passed,
            "InvocationsPerMinute": round(self.invocations_per_minute, 1),
            "ModelLatencyMs": None if self.latency_ms is None else round(self.latency_ms, 3),
            "Requests": self.requests,
            "Failures": self.failures,
        }
        if self.attainment is not None:
            shown["AttainmentPercent"] = round(self.attainment * 100, 3)
        if self.missed:
            shown["Missed"] = self.missed
        return shown


@dataclass(frozen=True)
class SearchFigures:
    key: SearchKey
    probes: tuple[ProbeResult, ...]
    complete: bool  # the search ended by itself (False: stopped before it found its answer)
    per_user_per_s: float | None = None  # a request-rate test: the rate each user stands for

    @property
    def answer(self) -> int | None:
        """The most users a probe passed with (None: none passed)."""
        return max((p.users for p in self.probes if p.passed), default=None)

    @property
    def seconds(self) -> int:
        return sum(p.end - p.start for p in self.probes)

    @property
    def stairs_seconds(self) -> float:
        """A STAIRS from MinUsers in steps of the search's resolution at the answer, ProbeSeconds a level, up to
        the first level past the answer (where a latency stop would end it)."""
        answer = self.answer
        if answer is None:
            return float(self.key.probe_s)  # its first level fails, as the first probe did
        resolution = max(1, math.floor(self.key.tolerance_percent / 100 * answer))
        top = min(self.key.max_users, answer + resolution)
        return stairs_seconds(self.key.min_users, top, resolution, self.key.probe_s)

    def summary(self) -> str:
        if not self.probes:  # stopped before any probe was due: nothing to answer or compare
            return "search: stopped before its first probe was judged"
        answer = self.answer
        found = "no probe passed" if answer is None else f"{answer} users held the thresholds"
        if answer is not None and self.per_user_per_s is not None:
            found += f" ({answer * self.per_user_per_s:g} requests/s)"
        if answer is not None and answer >= self.key.max_users:
            found += " (MaxUsers: the search's ceiling)"
        ending = "" if self.complete else ", stopped before it ended"
        return (f"search: {found} in {len(self.probes)} probes, {self.seconds} s{ending} "
                f"(a STAIRS as fine: {self.stairs_seconds:.0f} s)")  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """As describe.json's ``Loadrec.Tests[i].Search`` shows it."""
        answer = self.answer
        shown: dict[str, Any] = {**self.key.to_dict(), "AnswerUsers": answer, "Complete": self.complete}
        if self.per_user_per_s is not None:
            shown["AnswerRequestsPerSecond"] = None if answer is None else answer * self.per_user_per_s
        shown |= {
            "AtCeiling": answer is not None and answer >= self.key.max_users,
            "SearchSeconds": self.seconds,
            "StairsSecondsForSameResolution": self.stairs_seconds,
            "Probes": [probe.to_dict() for probe in self.probes],
        }
        return shown

    def to_record(self) -> dict[str, Any]:
        """For the test's record on disk (``from_record`` reads it back, checked)."""
        return {
            "key": self.key.to_dict(),
            "probes": [asdict(probe) for probe in self.probes],
            "complete": self.complete,
            "per_user_per_s": self.per_user_per_s,
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> SearchFigures:
        """Raises KeyError, TypeError or ValueError on anything ``to_record`` does not write."""
        model = check_part(search_key.KEY, data["key"], "key")
        if problems := model or search_key.rules(data["key"], "key", None, Accepted(model)):
            raise ValueError(str(problems[0]))
        key = search_key.parse(data["key"])
        assert key is not None  # checked
        probes = tuple(ProbeResult(**dict(probe)) for probe in data["probes"])
        if not all(isinstance(p.users, int) and isinstance(p.passed, bool) for p in probes):
            raise TypeError("a probe that is not loadrec's")
        rate = data["per_user_per_s"]
        return cls(key, probes, bool(data["complete"]), None if rate is None else float(rate))
