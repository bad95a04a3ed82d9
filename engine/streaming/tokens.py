"""One streamed answer's timing: time to first token, time per output token, and how many tokens there were.

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
- **Reads**: how many network reads brought text (an answer read whole is one). The gaps
  between reads are not kept as a distribution: recording one per token costs more than the
  rest of a token's reading, and ITL above is what the benchmarkers compare.
- **Output tokens**: the server's own count when it sends one (OpenAI's
  ``usage.completion_tokens``, TGI's ``details.generated_tokens``; the last one wins);
  otherwise, with a ``count`` (the job's tokenizer), the answer's text counted by it;
  otherwise one token per text-carrying event (vLLM, TGI, SGLang and LMI stream one
  token per event). ``counted_by`` says which.
- **Tokens per second** (one request's decode rate): 1 / ITL, the tokens after the first
  over the time from the first to the last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from loadrec.engine.streaming.frames import Piece

MIN_DECODE_S = 0.001
SERVER, TOKENIZER, EVENTS = "server", "tokenizer", "events"  # how an answer's output tokens were counted


@dataclass(frozen=True)
class StreamTiming:
    """A finished answer's numbers, in seconds."""

    ttft_s: float | None  # None: no token came
    decode_s: float  # from the first token's arrival to the last's
    output_tokens: int
    end_to_end_s: float
    reads: int = 0  # network reads that brought text
    counted_by: str = EVENTS  # SERVER (its usage), TOKENIZER (the answer's text counted) or EVENTS

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
    events: int = 0  # text-carrying pieces
    reads: int = 0  # reads (calls of ``add``) that brought text
    usage: int | None = None
    count: Callable[[str], int] | None = None  # the job's tokenizer: counts the text when the server does not
    texts: list[str] = field(default_factory=list)  # the answer's text, kept only to be counted

    def add(self, pieces: list[Piece], now: float) -> None:
        texts = 0
        for piece in pieces:
            if piece.usage is not None:
                self.usage = piece.usage
            if piece.text:
                texts += 1
                if self.count is not None:
                    self.texts.append(piece.text)
        if texts:
            self.events += texts
            self.reads += 1
            if self.first is None:
                self.first = now
            self.last = now

    def finish(self, now: float) -> StreamTiming:
        if self.usage is not None:
            tokens, counted_by = self.usage, SERVER
        elif self.count is not None and self.texts:
            tokens, counted_by = self.count("".join(self.texts)), TOKENIZER
        else:
            tokens, counted_by = self.events, EVENTS
        ttft = None if self.first is None else self.first - self.started
        decode = 0.0 if self.first is None or self.last is None else self.last - self.first
        return StreamTiming(ttft, decode, tokens, now - self.started, self.reads, counted_by)
