"""One streamed answer's timing: time to first token, the gaps between tokens, and how many there were.

Pure: the caller passes the time (seconds, any monotonic clock) at which each decoded
piece arrived. The rules, as LLM benchmarkers state them:
- **TTFT**: from the request's start to the first piece carrying non-empty text (a role
  header or an empty keep-alive event is no token).
- **ITL**: the gaps between consecutive text-carrying pieces; pieces that arrive in one
  network read share its arrival time (a gap of 0), as any client sees them.
- **Output tokens**: the server's own count when it sends one (OpenAI's
  ``usage.completion_tokens``, TGI's ``details.generated_tokens``; the last one wins);
  otherwise one token per text-carrying event (vLLM, TGI, SGLang and LMI stream one
  token per event).
- **Tokens per second** (one request's decode rate): the tokens after the first over
  the time from the first to the last, when there are two or more at least 1 ms apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loadrec.engine.streaming.frames import Piece

MIN_DECODE_S = 0.001


@dataclass(frozen=True)
class StreamTiming:
    """A finished answer's numbers, in seconds."""

    ttft_s: float | None  # None: no token came
    itl_s: tuple[float, ...]
    output_tokens: int
    end_to_end_s: float

    @property
    def tokens_per_second(self) -> float | None:
        decode_s = sum(self.itl_s)
        if self.output_tokens < 2 or decode_s < MIN_DECODE_S:  # a tail read in one go says nothing of a rate
            return None
        return (self.output_tokens - 1) / decode_s


@dataclass
class TokenClock:
    """Collects the arrival times of an answer's pieces; ``finish`` gives its ``StreamTiming``."""

    started: float
    first: float | None = None
    last: float | None = None
    gaps: list[float] = field(default_factory=list)
    events: int = 0  # text-carrying pieces
    usage: int | None = None

    def add(self, pieces: list[Piece], now: float) -> None:
        for piece in pieces:
            if piece.usage is not None:
                self.usage = piece.usage
            if not piece.text:
                continue
            self.events += 1
            if self.first is None:
                self.first = now
            elif self.last is not None:
                self.gaps.append(now - self.last)
            self.last = now

    def finish(self, now: float) -> StreamTiming:
        tokens = self.usage if self.usage is not None else self.events
        ttft = None if self.first is None else self.first - self.started
        return StreamTiming(ttft, tuple(self.gaps), tokens, now - self.started)
