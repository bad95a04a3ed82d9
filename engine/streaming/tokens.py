"""One streamed answer's timing: time to first token, the gaps between tokens, and how many there were.

Pure: the caller passes the time (seconds, any monotonic clock) at which each decoded
piece arrived. The rules, as LLM benchmarkers state them:
- **TTFT**: from the request's start to the first piece carrying non-empty text (a role
  header or an empty keep-alive event is no token).
- **ITL** (inter-token latency, one per answer): (last token's arrival − first token's
  arrival) / (output tokens − 1), i.e. time per output token after the first, as vLLM's
  benchmark, GuideLLM and AIPerf define it. Tokens that arrive in one network read share
  its arrival time, so the gaps between reads say nothing per token; this survives them
  (4 tokens in one read every 120 ms is 30 ms per token). None for fewer than two tokens
  or a whole answer read at once (no time between its first and last token).
- **Arrival gaps**: the gaps between consecutive text-carrying pieces as reads delivered
  them (0 within one read), kept as their own distribution.
- **Output tokens**: the server's own count when it sends one (OpenAI's
  ``usage.completion_tokens``, TGI's ``details.generated_tokens``; the last one wins);
  otherwise one token per text-carrying event (vLLM, TGI, SGLang and LMI stream one
  token per event).
- **Tokens per second** (one request's decode rate): 1 / ITL, the tokens after the first
  over the time from the first to the last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loadrec.engine.streaming.frames import Piece

MIN_DECODE_S = 0.001


@dataclass(frozen=True)
class StreamTiming:
    """A finished answer's numbers, in seconds."""

    ttft_s: float | None  # None: no token came
    gaps_s: tuple[float, ...]  # between arrivals of text-carrying pieces (0 within one read)
    output_tokens: int
    end_to_end_s: float

    @property
    def decode_s(self) -> float:
        """From the first token's arrival to the last's."""
        return sum(self.gaps_s)

    @property
    def itl_s(self) -> float | None:
        """Time per output token after the first (None: fewer than two tokens, or all read at once)."""
        if self.output_tokens < 2 or self.decode_s < MIN_DECODE_S:  # one read says nothing of a rate
            return None
        return self.decode_s / (self.output_tokens - 1)

    @property
    def tokens_per_second(self) -> float | None:
        itl = self.itl_s
        return None if itl is None else 1.0 / itl


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
