"""Latency and throughput per second, mergeable across Locust workers.

Every load process records its requests into per-second buckets (``SecondRecorder``):
a count of successes and failures (by kind) and an HdrHistogram of successful
latencies in microseconds. Completed seconds travel as plain dicts with the
histogram in HdrHistogram's compressed encoding, and the master (or the local
runner) merges them into a ``Timeline``, which answers trailing-window questions.

The histograms are :mod:`.histograms`'; a streamed answer's tokens ride along
(:mod:`.streamed`), and so does the load process's own health that second (:mod:`.health`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from hdrh.histogram import HdrHistogram

from loadrec.engine.measurement.health import WIRE_KEY as HEALTH_KEY
from loadrec.engine.measurement.health import Health, Verdict, verdict
from loadrec.engine.measurement.histograms import (
    REPORTED_PERCENTILES,
    bounded,
    new_histogram,
    percentiles_ms,
)
from loadrec.engine.measurement.streamed import StreamStats
from loadrec.engine.streaming.tokens import StreamTiming


@dataclass
class SecondStats:
    """Requests completed during one wall-clock second, by one process or merged."""

    second: int  # Unix epoch second
    successes: int = 0
    failures: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)  # error kind → first bytes of one answer
    histogram: HdrHistogram = field(default_factory=new_histogram)  # successful latencies, µs
    stream: StreamStats | None = None  # streamed answers' tokens (None: no answer streamed this second)
    health: Health | None = None  # the load process's own so far (its probe replaces it as the second goes on)
    # Kept apart, each the second's worst: noted per request (send delay) and per bookkeeping stretch (held).
    send_delay_ms: float = 0.0
    held_ms: float = 0.0

    def merge(self, other: SecondStats) -> None:
        self.successes += other.successes
        self.failures += other.failures
        self.errors.update(other.errors)
        for kind, sample in other.samples.items():
            self.samples.setdefault(kind, sample)
        self.histogram.add(other.histogram)
        if other.stream is not None:
            self.streamed().merge(other.stream)
        mine, theirs = self.generator, other.generator
        if theirs is not None:
            self.health = theirs if mine is None else mine.worst(theirs)
            self.send_delay_ms = self.held_ms = 0.0

    @property
    def generator(self) -> Health | None:
        """This second's health with its send delay and held time (the worst process's, once merged)."""
        if self.health is None and not (self.send_delay_ms or self.held_ms):
            return None
        return (self.health or Health()).worst(Health(send_delay_ms=self.send_delay_ms, held_ms=self.held_ms))

    def streamed(self) -> StreamStats:
        if self.stream is None:
            self.stream = StreamStats()
        return self.stream

    def to_wire(self) -> dict[str, Any]:
        histogram = self.histogram.encode().decode("ascii") if self.successes else None
        wire = {
            "s": self.second,
            "ok": self.successes,
            "ko": self.failures,
            "err": dict(self.errors),
            "smp": self.samples,
            "h": histogram,
        }
        if self.stream is not None:
            wire |= self.stream.to_wire()
        generator = self.generator
        if generator is not None:
            wire[HEALTH_KEY] = generator.to_wire()
        return wire

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> SecondStats:
        histogram = HdrHistogram.decode(data["h"]) if data.get("h") else new_histogram()
        errors = Counter(data.get("err", {}))
        stream = StreamStats.from_wire(data) if "tok" in data else None
        health = Health.from_wire(data[HEALTH_KEY]) if HEALTH_KEY in data else None
        return cls(data["s"], data["ok"], data["ko"], errors, dict(data.get("smp", {})), histogram, stream, health)


class SecondRecorder:
    """Collects one process's completed requests into per-second stats."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._open: dict[int, SecondStats] = {}

    def _bucket(self) -> SecondStats:
        second = int(self._clock())
        bucket = self._open.get(second)
        if bucket is None:
            bucket = self._open[second] = SecondStats(second)
        return bucket

    def record_success(
        self, latency_us: float, stream: StreamTiming | None = None, send_delay_ms: float | None = None
    ) -> None:
        bucket = self._bucket()
        bucket.successes += 1
        bucket.histogram.record_value(bounded(latency_us))
        if stream is not None:
            bucket.streamed().record(stream)
        if send_delay_ms is not None and send_delay_ms > bucket.send_delay_ms:
            bucket.send_delay_ms = send_delay_ms

    def record_failure(self, kind: str, sample: str = "", send_delay_ms: float | None = None) -> None:
        bucket = self._bucket()
        bucket.failures += 1
        bucket.errors[kind] += 1
        if kind not in bucket.samples:
            bucket.samples[kind] = sample
        if send_delay_ms is not None and send_delay_ms > bucket.send_delay_ms:
            bucket.send_delay_ms = send_delay_ms

    def record_health(self, health: Health) -> None:
        """The process's CPU share and loop lag so far this second (the probe's latest replaces the last)."""
        self._bucket().health = health

    def record_held(self, held_ms: float) -> None:
        """loadrec's own bookkeeping held the loop this long (the second keeps its longest)."""
        bucket = self._bucket()
        bucket.held_ms = max(bucket.held_ms, held_ms)

    def take_completed(self) -> list[SecondStats]:
        """Seconds that are over (the current one stays open)."""
        current = int(self._clock())
        done = [s for s in sorted(self._open) if s < current]
        return [self._open.pop(s) for s in done]

    def take_all(self) -> list[SecondStats]:
        """Every second, the current one included (when the test stops)."""
        return [self._open.pop(s) for s in sorted(self._open)]


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
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowStats:
        """Raises KeyError, TypeError or ValueError on anything but what ``to_dict`` writes."""
        start, end, successes, failures, users = (data[k] for k in ("Start", "End", "Successes", "Failures", "Users"))
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (start, end, successes, failures, users)):
            raise TypeError("a count that is not an integer")
        latency = _quantiles(data["LatencyMs"])
        generator = Verdict.from_dict(data["Generator"]) if "Generator" in data else None
        if "TtftMs" not in data:
            return cls(start, end, successes, failures, users, latency, generator=generator)
        tokens = data["OutputTokens"]
        if not isinstance(tokens, int) or isinstance(tokens, bool):
            raise TypeError("a count that is not an integer")
        ttft, itl = _quantiles(data["TtftMs"]), _quantiles(data["ItlMs"])
        rate = data.get("AnswerTokensPerSecond")
        rate = None if rate is None else float(rate)
        return cls(start, end, successes, failures, users, latency, ttft, itl, tokens, rate, generator)


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
        successes = failures = 0
        for offset in range(start, end):
            wire = self._seconds.get(offset)
            if wire is None:
                continue
            successes += wire["ok"]
            failures += wire["ko"]
            if wire.get("h"):
                histogram.add(HdrHistogram.decode(wire["h"]))
            if "tok" in wire:
                stream = stream or StreamStats()
                stream.merge(StreamStats.from_wire(wire))
        wanted = list(quantiles)
        latency = percentiles_ms(histogram, wanted)
        generator = self.generator(start, end)
        window = WindowStats(start, end, successes, failures, self.target_users(end - 1), latency, generator=generator)
        return window if stream is None else replace(window, **stream.figures(wanted))

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
            histogram = HdrHistogram.decode(wire["h"]) if wire.get("h") else new_histogram()
            target, running, workers = self._users.get(offset, (0, 0, 0))
            latency = percentiles_ms(histogram, REPORTED_PERCENTILES)
            row = TimelineRow(offset, target, running, workers, wire["ok"], wire["ko"], latency, dict(wire["err"]))
            if HEALTH_KEY in wire:
                row = replace(row, generator=Health.from_wire(wire[HEALTH_KEY]))
            if "tok" in wire:
                row = replace(row, **StreamStats.from_wire(wire).figures(REPORTED_PERCENTILES))
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
        """The slowest success of the first second that had one (the test's first invocations), in ms."""
        for offset in sorted(self._seconds):
            wire = self._seconds[offset]
            if wire["ok"] and wire.get("h"):
                return float(HdrHistogram.decode(wire["h"]).get_max_value()) / 1000.0
        return None

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
