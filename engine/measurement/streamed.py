"""Streamed answers in one second's stats: output tokens, time to first token, inter-token latency (one value
per answer, :mod:`loadrec.engine.streaming.tokens`), and each answer's own decode rate, mergeable across
load processes like latency.

On the wire beside the second's other stats (``tok``, ``tt``, ``it``, ``tps``; ``na`` answers,
``sc`` of them whose tokens the server counted and ``kc`` the job's tokenizer did), only for
a second in which an answer streamed; a decode rate is recorded in thousandths of a token
per second, so ``percentiles_ms`` reads it back in tokens per second.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from loadrec.engine.measurement.histograms import bounded, decoded, encoded, new_histogram, percentiles_ms
from loadrec.engine.streaming.tokens import SERVER, TOKENIZER, StreamTiming


@dataclass
class StreamStats:
    """Streamed answers completed in one second: output tokens, time to first token and inter-token latency
    (µs), and each answer's decode rate (thousandths of a token per second)."""

    tokens: int = 0
    ttft: HdrHistogram = field(default_factory=new_histogram)
    itl: HdrHistogram = field(default_factory=new_histogram)  # one per answer of two tokens or more
    rate: HdrHistogram = field(default_factory=new_histogram)
    answers: int = 0
    server_counted: int = 0  # answers whose output tokens are the server's own count (usage)
    tokenizer_counted: int = 0  # and those the job's tokenizer counted (the others: one token per event)

    def record(self, timing: StreamTiming) -> None:
        self.tokens += timing.output_tokens
        self.answers += 1
        self.server_counted += timing.counted_by == SERVER
        self.tokenizer_counted += timing.counted_by == TOKENIZER
        if timing.ttft_s is not None:
            self.ttft.record_value(bounded(timing.ttft_s * 1e6))
        itl = timing.itl_s
        if itl is not None:
            self.itl.record_value(bounded(itl * 1e6))
            self.rate.record_value(bounded(RATE_SCALE / itl))

    def merge(self, other: StreamStats) -> None:
        self.tokens += other.tokens
        self.answers += other.answers
        self.server_counted += other.server_counted
        self.tokenizer_counted += other.tokenizer_counted
        self.ttft.add(other.ttft)
        self.itl.add(other.itl)
        self.rate.add(other.rate)

    def figures(self, quantiles: Iterable[float]) -> dict[str, Any]:
        """What a window or a timeline row shows of these answers (their fields of the same names)."""
        wanted = list(quantiles)
        return {
            "ttft_ms": percentiles_ms(self.ttft, wanted),
            "itl_ms": percentiles_ms(self.itl, wanted),
            "output_tokens": self.tokens,
            "answer_tokens_per_second": percentiles_ms(self.rate, (50.0,))[50.0],  # thousandths: read in tokens/s
        }

    def to_wire(self) -> dict[str, Any]:
        wire = {"tok": self.tokens, "tt": encoded(self.ttft), "it": encoded(self.itl), "tps": encoded(self.rate)}
        return wire | dict(zip(COUNT_KEYS, (self.answers, self.server_counted, self.tokenizer_counted), strict=True))

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> StreamStats:
        histograms = (decoded(data.get(key)) for key in ("tt", "it", "tps"))
        counts = [data.get(key, 0) for key in COUNT_KEYS]
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
            raise TypeError("an answer count that is not a whole number")
        return cls(int(data["tok"]), *histograms, *counts)


# The wire's keys for a second's answers, those whose tokens the server counted, and the job's tokenizer did.
COUNT_KEYS = ("na", "sc", "kc")
RATE_SCALE = 1000  # a decode rate is kept in thousandths: percentiles_ms (which divides by 1000) reads tokens/s
