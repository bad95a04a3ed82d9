"""What one load process records each second, and how seconds merge across processes.

``SecondRecorder`` collects a process's completed requests into per-second buckets
(``SecondStats``): a count of successes and failures (by kind), an HdrHistogram of
successful latencies in microseconds, a streamed answer's tokens (:mod:`.streamed`), the
process's own health that second (:mod:`.health`) and its users' slowest first request
(a cold start); in a request-rate test also how late its sends went (a histogram) and how
many arrivals it dropped at the cap; with an SLO, its good requests and their output tokens
(goodput). Completed seconds travel as plain dicts (``to_wire``), the histogram in
HdrHistogram's compressed encoding; :mod:`.metrics`' ``Timeline`` merges them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from loadrec.engine.measurement.health import WIRE_KEY as HEALTH_KEY
from loadrec.engine.measurement.health import Health
from loadrec.engine.measurement.histograms import bounded, decoded, encoded, new_histogram
from loadrec.engine.measurement.streamed import StreamStats
from loadrec.engine.streaming.tokens import StreamTiming

FIRST_KEY = "f"  # a second's slowest first request of a user, µs (wire and seconds.jsonl)
DROPPED_KEY = "dr"  # a request-rate test's arrivals not sent that second (the cap was reached)
IN_FLIGHT_KEY = "if"  # and its requests cut off in flight when their users stopped (sent, never answered)
GOOD_KEY = "gd"  # with an SLO: the successes that met it
GOOD_TOKENS_KEY = "gt"  # and their output tokens
LATE_KEY = "sl"  # and how late its sends went after their intended times, a histogram in µs


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
    # The slowest success that was its user's first request (one that may meet a cold endpoint), µs.
    first_max_us: float = 0.0
    # A request-rate test's: arrivals dropped at the cap, and each send's lateness (µs; None: nothing scheduled).
    dropped: int = 0
    in_flight: int = 0  # sent, still unanswered when their users stopped
    good: int = 0  # with an SLO: successes that met it
    good_tokens: int = 0  # and their output tokens
    judged: bool = False  # some success was judged against an SLO (so good and good_tokens mean something)
    lateness: HdrHistogram | None = None

    def merge(self, other: SecondStats) -> None:
        self.first_max_us = max(self.first_max_us, other.first_max_us)
        self.dropped += other.dropped
        self.in_flight += other.in_flight
        self.good += other.good
        self.good_tokens += other.good_tokens
        self.judged = self.judged or other.judged
        if other.lateness is not None:
            self.late().add(other.lateness)
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

    def late(self) -> HdrHistogram:
        if self.lateness is None:
            self.lateness = new_histogram()
        return self.lateness

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
        if self.first_max_us:
            wire[FIRST_KEY] = round(self.first_max_us)
        if self.dropped:
            wire[DROPPED_KEY] = self.dropped
        if self.in_flight:
            wire[IN_FLIGHT_KEY] = self.in_flight
        if self.judged:
            wire |= {GOOD_KEY: self.good, GOOD_TOKENS_KEY: self.good_tokens}
        if self.lateness is not None and (late := encoded(self.lateness)):
            wire[LATE_KEY] = late
        return wire

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> SecondStats:
        histogram = decoded(data.get("h"))
        errors = Counter(data.get("err", {}))
        stream = StreamStats.from_wire(data) if "tok" in data else None
        health = Health.from_wire(data[HEALTH_KEY]) if HEALTH_KEY in data else None
        stats = cls(data["s"], data["ok"], data["ko"], errors, dict(data.get("smp", {})), histogram, stream, health)
        stats.first_max_us = float(data.get(FIRST_KEY, 0))
        stats.dropped = data.get(DROPPED_KEY, 0)
        stats.in_flight = data.get(IN_FLIGHT_KEY, 0)
        stats.good, stats.good_tokens = data.get(GOOD_KEY, 0), data.get(GOOD_TOKENS_KEY, 0)
        stats.judged = GOOD_KEY in data
        stats.lateness = decoded(data[LATE_KEY]) if data.get(LATE_KEY) else None
        return stats


# Records a process holds before they are taken (each report to a master, each progress write): a bound on
# memory should nothing take them (a master gone); far more than a second of any load brings.
MAX_PENDING_RECORDS = 200_000


class SecondRecorder:
    """Collects one process's completed requests into per-second stats."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._open: dict[int, SecondStats] = {}
        self._records: list[dict[str, Any]] = []  # with --records: requests' records not yet taken
        self.records_lost = 0  # records let go because nothing took them (the bound below was reached)

    def _bucket(self) -> SecondStats:
        second = int(self._clock())
        bucket = self._open.get(second)
        if bucket is None:
            bucket = self._open[second] = SecondStats(second)
        return bucket

    def record_success(
        self,
        latency_us: float,
        stream: StreamTiming | None = None,
        send_delay_ms: float | None = None,
        first: bool = False,
        scheduled: bool = False,
        good: bool | None = None,
    ) -> None:
        """``first``: the user's first request (its latency may hold a cold start: see ``first_max_us``);
        ``scheduled``: sent at an intended time, ``send_delay_ms`` after it (a request-rate test);
        ``good``: it met the test's SLO (None: the test has none)."""
        bucket = self._bucket()
        bucket.successes += 1
        bucket.judged = bucket.judged or good is not None
        if good:
            bucket.good += 1
            bucket.good_tokens += 0 if stream is None else stream.output_tokens
        if first and latency_us > bucket.first_max_us:
            bucket.first_max_us = latency_us
        bucket.histogram.record_value(bounded(latency_us))
        if stream is not None:
            bucket.streamed().record(stream)
        self._note_delay(bucket, send_delay_ms, scheduled)

    def record_failure(
        self, kind: str, sample: str = "", send_delay_ms: float | None = None, scheduled: bool = False
    ) -> None:
        bucket = self._bucket()
        bucket.failures += 1
        bucket.errors[kind] += 1
        if kind not in bucket.samples:
            bucket.samples[kind] = sample
        self._note_delay(bucket, send_delay_ms, scheduled)

    def record_unmeasured(self, dropped: int = 0, in_flight: int = 0, **_: object) -> None:
        """A request-rate test's arrivals never measured: ``dropped`` (not sent: its process had its cap in
        flight) and ``in_flight`` (sent, cut off unanswered when their user stopped)."""
        bucket = self._bucket()
        bucket.dropped += dropped
        bucket.in_flight += in_flight

    @staticmethod
    def _note_delay(bucket: SecondStats, send_delay_ms: float | None, scheduled: bool) -> None:
        if send_delay_ms is None:
            return
        bucket.send_delay_ms = max(bucket.send_delay_ms, send_delay_ms)
        if scheduled:  # lateness below 1 µs is recorded as 1 µs (the histogram's floor)
            bucket.late().record_value(bounded(send_delay_ms * 1000.0))

    def record_health(self, health: Health) -> None:
        """The process's CPU share and loop lag so far this second (the probe's latest replaces the last)."""
        self._bucket().health = health

    def record_held(self, held_ms: float) -> None:
        """loadrec's own bookkeeping held the loop this long (the second keeps its longest)."""
        bucket = self._bucket()
        bucket.held_ms = max(bucket.held_ms, held_ms)

    def record_request(self, record: dict[str, Any]) -> None:
        """A request's record (--records), kept until taken; past MAX_PENDING_RECORDS untaken, counted, not kept."""
        if len(self._records) < MAX_PENDING_RECORDS:
            self._records.append(record)
        else:
            self.records_lost += 1

    def take_records(self) -> list[dict[str, Any]]:
        taken, self._records = self._records, []
        return taken

    def take_completed(self) -> list[SecondStats]:
        """Seconds that are over (the current one stays open)."""
        current = int(self._clock())
        done = [s for s in sorted(self._open) if s < current]
        return [self._open.pop(s) for s in done]

    def take_all(self) -> list[SecondStats]:
        """Every second, the current one included (when the test stops)."""
        return [self._open.pop(s) for s in sorted(self._open)]


# A test's seconds lie within its pattern (at most 7 days) and a little after: a record beyond is damage.
MAX_RECORD_OFFSET_S = 8 * 24 * 3600


def check_wire(record: dict[str, Any], start: int) -> None:
    """Raises ValueError/TypeError unless ``record`` is a second's stats or a users sample, typed as written
    (every histogram decoded): what a seconds file or a worker hands over is checked before it is merged."""
    fields: tuple[str, ...]
    if "u" in record:
        fields = ("u", "t", "r", "w")
    elif "s" in record:
        fields = ("ok", "ko")
        if not isinstance(record["s"], int) or not 0 <= record["s"] - start <= MAX_RECORD_OFFSET_S:
            raise ValueError(f"second {str(record['s'])[:20]} is outside the test")
        errors = record.get("err", {})
        if not isinstance(errors, dict) or not isinstance(record.get("h") or "", str):
            raise TypeError("errors or histogram of the wrong type")
        if not all(isinstance(count, int) and not isinstance(count, bool) for count in errors.values()):
            raise TypeError("an error count that is not an integer")
        if HEALTH_KEY in record:
            Health.from_wire(record[HEALTH_KEY])  # raises on figures loadrec never writes
        decoded(record.get("h"))  # a flipped character in a histogram is damage now, not a traceback later
        if "tok" in record:
            StreamStats.from_wire(record)
        if FIRST_KEY in record:
            fields = (*fields, FIRST_KEY)  # a whole number of µs, like the counts
        optional = (DROPPED_KEY, IN_FLIGHT_KEY, GOOD_KEY, GOOD_TOKENS_KEY)
        fields = (*fields, *(key for key in optional if key in record))
        if not isinstance(record.get(LATE_KEY) or "", str):
            raise TypeError("a lateness histogram of the wrong type")
        decoded(record.get(LATE_KEY))
    else:
        return
    if not all(isinstance(record[key], int) and not isinstance(record[key], bool) for key in fields):
        raise TypeError(f"a count that is not an integer in {sorted(record)[:6]}")
    if "u" in record and not 0 <= record["u"] <= MAX_RECORD_OFFSET_S:
        raise ValueError(f"second {record['u']} is outside the test")
