"""Per-request records (``--records``): what each request did, kept within a bound, evenly over the test.

A record is one request as its load process saw it::

    {"intended": 1764739200.125, "sent": 1764739200.1262, "latency_ms": 212.4, "ttft_ms": 80.1,
     "tpot_ms": 9.8, "input_tokens": 512, "output_tokens": 64, "status": "ok", "good": true,
     "worker": "ip-10-0-0-5:4121"}

``intended`` is when the request was due (a request-rate test's arrival; a closed-loop
user's moment it was ready to send), ``sent`` when it left (epoch seconds); ``latency_ms``
is loadrec's end-to-end latency (from ``intended`` in a request-rate test, from ``sent``
otherwise); ``ttft_ms``/``tpot_ms``/``output_tokens`` are a streamed answer's, None
otherwise; ``input_tokens`` the prompt's count when ``Loadrec.Prompts`` made the body;
``status`` ``ok`` or the failure's kind (``HTTP 500``, ``timeout`` …); ``good`` whether it
met ``Loadrec.Slo`` (None without one).

``Sample`` keeps at most ``limit`` of them, spread evenly over the whole test whatever
its length: while there is room every request is kept; when the room is full every
other kept one is let go and from then on only every second request is taken (then
every fourth, …). Every kept record therefore stands for the same number of requests,
its ``weight`` (1 while nothing was let go), which the file says on each line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DEFAULT_LIMIT = 100_000  # records a test keeps (about 15 MB in memory, 2 MB on disk)
MAX_LIMIT = 10_000_000
FIELDS = ("intended", "sent", "latency_ms", "ttft_ms", "tpot_ms", "input_tokens", "output_tokens", "status",
          "good", "worker")  # fmt: skip
MAX_TEXT = 200  # a status or worker name longer than this is no record loadrec wrote


def request_record(
    intended: float,
    sent: float,
    latency_ms: float,
    status: str,
    worker: str,
    ttft_ms: float | None = None,
    tpot_ms: float | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    good: bool | None = None,
) -> dict[str, Any]:
    return {"intended": round(intended, 6), "sent": round(sent, 6), "latency_ms": round(latency_ms, 3),
            "ttft_ms": None if ttft_ms is None else round(ttft_ms, 3),
            "tpot_ms": None if tpot_ms is None else round(tpot_ms, 3), "input_tokens": input_tokens,
            "output_tokens": output_tokens, "status": status, "good": good, "worker": worker}  # fmt: skip


def is_record(value: Any) -> bool:
    """``value`` is a record as a load process writes it (what a worker sends is checked before it is kept)."""
    if not isinstance(value, dict) or set(value) != set(FIELDS):
        return False
    times = [value[k] for k in ("intended", "sent", "latency_ms")]
    if not all(isinstance(t, int | float) and not isinstance(t, bool) and math.isfinite(t) for t in times):
        return False
    optional = [value[k] for k in ("ttft_ms", "tpot_ms")]
    if not all(t is None or (isinstance(t, int | float) and not isinstance(t, bool)) for t in optional):
        return False
    counts = [value[k] for k in ("input_tokens", "output_tokens")]
    if not all(c is None or (isinstance(c, int) and not isinstance(c, bool) and c >= 0) for c in counts):
        return False
    texts = [value["status"], value["worker"]]
    return all(isinstance(t, str) and len(t) <= MAX_TEXT for t in texts) and value["good"] in (None, True, False)


@dataclass
class Sample:
    """At most ``limit`` records of a test, evenly spread; ``seen`` counts every request offered."""

    limit: int = DEFAULT_LIMIT
    seen: int = 0
    stride: int = 1  # every ``stride``-th request is kept: each kept record stands for ``stride`` requests

    def __post_init__(self) -> None:
        self._kept: list[tuple[int, bytes]] = []  # (request number, the record's JSON without its weight)

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            number, self.seen = self.seen, self.seen + 1
            if number % self.stride:
                continue
            if len(self._kept) >= self.limit:
                self.stride *= 2
                self._kept = [kept for kept in self._kept if kept[0] % self.stride == 0]
                if number % self.stride:
                    continue
            self._kept.append((number, json.dumps(record, allow_nan=False)[:-1].encode()))

    @property
    def kept(self) -> int:
        return len(self._kept)

    @property
    def sampled(self) -> bool:
        """Some requests have no record of their own (the weight is above 1)."""
        return self.stride > 1

    def lines(self) -> bytes:
        """The kept records as JSON lines, in the order they came, each with its ``weight``."""
        tail = b', "weight": %d}\n' % self.stride
        return b"".join(line + tail for _, line in self._kept)


@dataclass(frozen=True)
class RecordsSummary:
    """What a test's records file holds, as describe.json and the terminal say it."""

    file: str  # from the results folder, e.g. tests/0/records.jsonl.gz
    records: int
    requests: int  # every request offered (a record each, or its share of one's weight)
    weight: int  # requests each record stands for (1: one record a request)
    limit: int
    damaged: int = 0  # records from a worker that did not read as loadrec writes them (left out)
    lost: int = 0  # records this process let go, nothing having taken them in time (its pending bound)

    def to_dict(self) -> dict[str, Any]:
        data = {"File": self.file, "Records": self.records, "Requests": self.requests, "Weight": self.weight,
                "Limit": self.limit, "Sampled": self.weight > 1}  # fmt: skip
        return data | ({"Damaged": self.damaged} if self.damaged else {}) | ({"Lost": self.lost} if self.lost else {})

    def summary(self) -> str:
        if self.weight == 1:
            return f"records: {self.records:,} requests in {self.file}"
        return (f"records: {self.records:,} of {self.requests:,} requests in {self.file} (past {self.limit:,}, "
                f"every {self.weight}th: each record's weight is {self.weight})")  # fmt: skip
