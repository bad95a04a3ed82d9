"""Latency and throughput per second, mergeable across Locust workers.

Every load process records its requests into per-second buckets (:mod:`.recording`);
completed seconds travel as plain dicts, and the master (or the local runner) merges
them into a ``Timeline``, which answers trailing-window questions.

The histograms are :mod:`.histograms`'; a streamed answer's tokens ride along
(:mod:`.streamed`), and so does the load process's own health that second (:mod:`.health`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from hdrh.histogram import HdrHistogram

from loadrec.engine.measurement.health import WIRE_KEY as HEALTH_KEY
from loadrec.engine.measurement.health import Health, Verdict, verdict
from loadrec.engine.measurement.histograms import (
    REPORTED_PERCENTILES,
    decoded,
    new_histogram,
    percentiles_ms,
)
from loadrec.engine.measurement.recording import (
    DROPPED_KEY,
    FIRST_KEY,
    GOOD_KEY,
    GOOD_TOKENS_KEY,
    IN_FLIGHT_KEY,
    LATE_KEY,
    SecondStats,
)
from loadrec.engine.measurement.streamed import COUNT_KEYS, StreamStats


@dataclass(frozen=True)
class WindowStats:
    """A trailing window [start, end) of the timeline, seconds from the test start."""

    start: int
    end: int
    successes: int
    failures: int
    users: int  # target users at the end of the window
    latency_ms: dict[float, float | None]  # quantile → ms
    ttft_ms: dict[float, float | None] | None = None  # streamed answers only (None: none streamed)
    itl_ms: dict[float, float | None] | None = None
    output_tokens: int = 0
    answer_tokens_per_second: float | None = None  # the median answer's decode rate
    generator: Verdict | None = None  # the load generator's health over the window (None: not measured)
    dropped: int = 0  # a request-rate test's arrivals not sent (the cap was reached)
    good: int | None = None  # with an SLO: the successes that met it (None: no SLO judged any request)
    good_tokens: int = 0  # and their output tokens

    @property
    def attainment(self) -> float | None:
        """The share of the window's requests that were good (failures never are); None without an SLO."""
        return None if self.good is None or not self.requests else self.good / self.requests

    @property
    def good_per_second(self) -> float | None:
        return None if self.good is None or not self.span_s else self.good / self.span_s

    @property
    def good_tokens_per_second(self) -> float | None:
        return None if self.good is None or not self.span_s else self.good_tokens / self.span_s

    @property
    def generator_bound(self) -> bool:
        return self.generator is not None and self.generator.bound

    @property
    def span_s(self) -> int:
        return self.end - self.start

    @property
    def output_tokens_per_second(self) -> float:
        return self.output_tokens / self.span_s if self.span_s else 0.0

    @property
    def invocations_per_minute(self) -> float:
        return self.successes * 60.0 / self.span_s if self.span_s else 0.0

    @property
    def requests(self) -> int:
        return self.successes + self.failures

    def to_dict(self) -> dict[str, Any]:
        latency = {f"{q:g}": value for q, value in self.latency_ms.items()}
        data = {"Start": self.start, "End": self.end, "Successes": self.successes, "Failures": self.failures,
                "Users": self.users, "LatencyMs": latency}  # fmt: skip
        if self.ttft_ms is not None and self.itl_ms is not None:
            data["TtftMs"] = {f"{q:g}": value for q, value in self.ttft_ms.items()}
            data["ItlMs"] = {f"{q:g}": value for q, value in self.itl_ms.items()}
            data["OutputTokens"] = self.output_tokens
            data["AnswerTokensPerSecond"] = self.answer_tokens_per_second
        if self.generator is not None:
            data["Generator"] = self.generator.to_dict()
        if self.dropped:
            data["Dropped"] = self.dropped
        if self.good is not None:
            data |= {"Good": self.good, "GoodOutputTokens": self.good_tokens}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowStats:
        """Raises KeyError, TypeError or ValueError on anything but what ``to_dict`` writes."""
        start, end, successes, failures, users = (data[k] for k in ("Start", "End", "Successes", "Failures", "Users"))
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (start, end, successes, failures, users)):
            raise TypeError("a count that is not an integer")
        if not 0 <= start <= end:
            raise ValueError("a window that ends before it starts")
        latency = _quantiles(data["LatencyMs"])
        generator = Verdict.from_dict(data["Generator"]) if "Generator" in data else None
        dropped, good, good_tokens = data.get("Dropped", 0), data.get("Good"), data.get("GoodOutputTokens", 0)
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (dropped, good_tokens, good or 0)):
            raise TypeError("a count that is not an integer")
        if "TtftMs" not in data:
            return cls(start, end, successes, failures, users, latency, generator=generator, dropped=dropped,
                       good=good, good_tokens=good_tokens)  # fmt: skip
        tokens = data["OutputTokens"]
        if not isinstance(tokens, int) or isinstance(tokens, bool):
            raise TypeError("a count that is not an integer")
        ttft, itl = _quantiles(data["TtftMs"]), _quantiles(data["ItlMs"])
        rate = data.get("AnswerTokensPerSecond")
        rate = None if rate is None else float(rate)
        return cls(start, end, successes, failures, users, latency, ttft, itl, tokens, rate, generator, dropped, good,
                   good_tokens)  # fmt: skip


def _quantiles(data: Any) -> dict[float, float | None]:
    return {float(q): None if v is None else float(v) for q, v in dict(data).items()}


@dataclass(frozen=True)
class TimelineRow:
    second: int  # from the test start
    users: int  # target users (the schedule)
    running_users: int  # users Locust had running
    workers: int  # worker processes carrying the load (0: the load ran in the master's own process)
    successes: int
    failures: int
    latency_ms: dict[float, float | None]
    errors: dict[str, int]
    ttft_ms: dict[float, float | None] | None = None  # streamed answers only
    itl_ms: dict[float, float | None] | None = None
    output_tokens: int = 0
    answer_tokens_per_second: float | None = None  # the median answer's decode rate
    generator: Health | None = None  # the load generator's health this second (the worst process's)
    dropped: int = 0  # a request-rate test's arrivals not sent
    late_ms: dict[float, float | None] | None = None  # and how late its sends went (None: none scheduled)
    good: int | None = None  # with an SLO: the successes that met it (None: none judged)
    good_tokens: int = 0


Journal = Callable[[dict[str, Any]], None]


class Timeline:
    """Per-second stats of one test, merged from every load process.

    Histograms are kept in their compressed encoding (a few KB a second), so an hour-long
    test stays small; windows decode the seconds they need. A ``journal`` receives every
    part as it arrives (seconds in their wire form, users as ``{"u": offset, ...}``), so
    ``replay`` can rebuild the same timeline from what was written down.
    """

    def __init__(self, start_epoch: float, journal: Journal | None = None) -> None:
        self.start_epoch = int(start_epoch)
        self._seconds: dict[int, dict[str, Any]] = {}  # offset → wire form
        self._users: dict[int, tuple[int, int, int]] = {}  # offset → (target, running, workers)
        self._rows: dict[int, TimelineRow] = {}  # offset → its row, until the second changes (percentiles cost)
        self._last = -1  # the last second with any data (kept, not searched: the monitor's thread reads it)
        self._journal = journal

    @classmethod
    def replay(cls, start_epoch: int, records: Iterable[dict[str, Any]]) -> Timeline:
        """The timeline a journal's records describe (in the order they were written)."""
        timeline = cls(start_epoch)
        for record in records:
            timeline.apply(record)
        return timeline

    def apply(self, record: dict[str, Any]) -> None:
        """One journal record: a second's stats or a users sample (anything else is ignored)."""
        if "u" in record:
            self.set_users(record["u"], record["t"], record["r"], record["w"])
        elif "s" in record:
            self.add([record])

    def offset(self, epoch: float) -> int:
        return int(epoch) - self.start_epoch

    def add(self, stats: Iterable[dict[str, Any]]) -> None:
        for wire in stats:
            offset = wire["s"] - self.start_epoch
            if offset < 0:
                continue  # from before this test started (a worker's previous test)
            if self._journal is not None:
                self._journal(wire)
            self._rows.pop(offset, None)
            self._last = max(self._last, offset)
            known = self._seconds.get(offset)
            if known is None:
                self._seconds[offset] = wire
            else:
                merged = SecondStats.from_wire(known)
                merged.merge(SecondStats.from_wire(wire))
                self._seconds[offset] = merged.to_wire()

    def set_users(self, offset: int, target: int, running: int, workers: int = 0) -> None:
        if self._users.get(offset) == (target, running, workers):
            return
        self._users[offset] = (target, running, workers)
        self._rows.pop(offset, None)
        self._last = max(self._last, offset)
        if self._journal is not None:
            self._journal({"u": offset, "t": target, "r": running, "w": workers})

    def target_users(self, offset: int) -> int:
        return self._users.get(offset, (0, 0, 0))[0]

    @property
    def last_second(self) -> int:
        """One past the last second with any data (requests or users)."""
        return self._last + 1

    def window(self, end: int, span: int, quantiles: Iterable[float]) -> WindowStats:
        start = max(0, end - span)
        histogram = new_histogram()
        stream: StreamStats | None = None
        successes = failures = dropped = good_tokens = 0
        good: int | None = None
        for offset in range(start, end):
            wire = self._seconds.get(offset)
            if wire is None:
                continue
            successes += wire["ok"]
            failures += wire["ko"]
            dropped += wire.get(DROPPED_KEY, 0)
            if GOOD_KEY in wire:
                good = (good or 0) + wire[GOOD_KEY]
                good_tokens += wire[GOOD_TOKENS_KEY]
            if wire.get("h"):
                histogram.add(decoded(wire["h"]))
            if "tok" in wire:
                stream = stream or StreamStats()
                stream.merge(StreamStats.from_wire(wire))
        wanted = list(quantiles)
        latency = percentiles_ms(histogram, wanted)
        generator = self.generator(start, end)
        window = WindowStats(start, end, successes, failures, self.target_users(end - 1), latency, generator=generator,
                             dropped=dropped, good=good, good_tokens=good_tokens)  # fmt: skip
        return window if stream is None else replace(window, **stream.figures(wanted))

    def wires(self, start: int, end: int) -> list[dict[str, Any] | None]:
        """Seconds [start, end) in their wire form (None: a second without data), for the bootstrap."""
        return [self._seconds.get(offset) for offset in range(start, min(end, self.last_second + 1))]

    def generator(self, start: int = 0, end: int | None = None) -> Verdict | None:
        """The verdict on the load generator's health over seconds [start, end) (the whole test by default)."""
        stop = self.last_second if end is None else end
        found = (self._seconds.get(offset) for offset in range(max(0, start), stop))
        return verdict(Health.from_wire(wire[HEALTH_KEY]) for wire in found if wire and HEALTH_KEY in wire)

    def rows(self) -> list[TimelineRow]:
        """Every second from the start, computed once each (a live page asks every second)."""
        return [self._row(offset) for offset in range(self.last_second)]

    def _row(self, offset: int) -> TimelineRow:
        row = self._rows.get(offset)
        if row is None:
            wire = self._seconds.get(offset) or {"ok": 0, "ko": 0, "err": {}, "h": None}
            histogram = decoded(wire.get("h"))
            target, running, workers = self._users.get(offset, (0, 0, 0))
            latency = percentiles_ms(histogram, REPORTED_PERCENTILES)
            row = TimelineRow(offset, target, running, workers, wire["ok"], wire["ko"], latency, dict(wire["err"]))
            if HEALTH_KEY in wire:
                row = replace(row, generator=Health.from_wire(wire[HEALTH_KEY]))
            if wire.get(DROPPED_KEY) or wire.get(LATE_KEY):
                late = percentiles_ms(decoded(wire.get(LATE_KEY)), REPORTED_PERCENTILES)
                row = replace(row, dropped=wire.get(DROPPED_KEY, 0), late_ms=late)
            if "tok" in wire:
                row = replace(row, **StreamStats.from_wire(wire).figures(REPORTED_PERCENTILES))
            if GOOD_KEY in wire:
                row = replace(row, good=wire[GOOD_KEY], good_tokens=wire[GOOD_TOKENS_KEY])
            self._rows[offset] = row
        return row

    def error_samples(self) -> dict[str, tuple[int, str]]:
        """Error kind → (count over the test, first bytes of one answer)."""
        found: dict[str, tuple[int, str]] = {}
        for offset in sorted(self._seconds):
            wire = self._seconds[offset]
            for kind, count in wire.get("err", {}).items():
                total, sample = found.get(kind, (0, wire.get("smp", {}).get(kind, "")))
                found[kind] = (total + count, sample)
        return found

    def first_success_max_ms(self) -> float | None:
        """The slowest first request of a user (each user's first invocation is the one that may meet a cold
        endpoint, however many start together), in ms; for seconds recorded without it, the slowest success
        of the first second that had one."""
        firsts = [wire.get(FIRST_KEY, 0) for wire in list(self._seconds.values())]
        if any(firsts):
            return float(max(firsts)) / 1000.0
        for offset in sorted(self._seconds):
            wire = self._seconds[offset]
            if wire["ok"] and wire.get("h"):
                return float(decoded(wire["h"]).get_max_value()) / 1000.0
        return None

    def arrivals(self) -> tuple[int, int, int, HdrHistogram]:
        """A request-rate test's requests sent (answered, failed or cut off), arrivals dropped, requests cut off
        in flight at the stop, and the lateness of its sends in µs, so far."""
        sent = dropped = in_flight = 0
        late = new_histogram()
        for wire in list(self._seconds.values()):
            sent += wire["ok"] + wire["ko"] + wire.get(IN_FLIGHT_KEY, 0)
            dropped += wire.get(DROPPED_KEY, 0)
            in_flight += wire.get(IN_FLIGHT_KEY, 0)
            if wire.get(LATE_KEY):
                late.add(decoded(wire[LATE_KEY]))
        return sent, dropped, in_flight, late

    def token_counting(self) -> str | None:
        """How the test's output tokens were counted: ``server`` (each answer's own usage count), ``tokenizer``
        (the job's, on the answer's text), ``events`` (one per text-carrying event), or which for how many
        answers; None when nothing streamed."""
        seconds = list(self._seconds.values())
        answers, server, tokenizer = (sum(wire.get(key, 0) for wire in seconds) for key in COUNT_KEYS)
        if not answers:
            return None
        counts = [("server", server), ("tokenizer", tokenizer), ("events", answers - server - tokenizer)]
        used = [(name, count) for name, count in counts if count]
        if len(used) == 1:
            return used[0][0]
        return ", ".join(f"{name} for {count:,}" for name, count in used) + f" of {answers:,} answers"

    def successes(self) -> int:
        """Successful invocations over the whole test."""
        # A snapshot first (one C call, so whole under the GIL): the monitor's thread asks while the loop adds.
        return sum(wire["ok"] for wire in list(self._seconds.values()))

    def output_tokens_per_second(self) -> list[tuple[int, int]]:
        """(target users, output tokens of streamed answers) for every second so far."""
        return self._per_second("tok")

    def successes_per_second(self) -> list[tuple[int, int]]:
        """(target users, successes) for every second so far, for plateau detection."""
        return self._per_second("ok")

    def _per_second(self, key: str) -> list[tuple[int, int]]:
        return [(self.target_users(o), self._seconds.get(o, {}).get(key, 0)) for o in range(self.last_second)]
