"""Streamed answers, decoded as they arrive: SageMaker's event stream, server-sent events, JSON lines.

A decoder is fed the body's bytes in whatever pieces the network delivers (a piece may
end in the middle of a line, an event or a frame) and returns the ``Piece`` values
completed so far: the text one event carries, and the server's own count of output
tokens when it sends one (``usage``). ``end()`` says whether the body stopped cleanly.

- ``EventStreamDecoder``: InvokeEndpointWithResponseStream's
  ``application/vnd.amazon.eventstream`` frames, parsed by botocore's own
  ``EventStreamBuffer`` (prelude and message CRCs checked). ``PayloadPart`` bytes go to an
  inner decoder (the model server's own framing inside the parts); ``ModelStreamError``
  (with its ErrorCode) and ``InternalStreamFailure`` are failures of those kinds; a CRC
  error or a frame cut short is ``stream corrupted``/``stream truncated``.
- ``SseDecoder``: OpenAI-compatible ``text/event-stream`` (``data:`` lines, an event per
  blank line, ``data: [DONE]`` at the end).
- ``JsonLinesDecoder``: one JSON object per line.
- ``TextDecoder``: each non-empty part is text as it is (no framing).

What text a JSON event carries is read by ``text_of``: OpenAI completions
(``choices[0].text``), chat completions (``choices[0].delta.content``), TGI/LMI
(``token.text``, special tokens skipped: TGI's ``special``, LMI's ``special_token``), LMI's
dynamic-batching lines (``outputs``: a list of texts), else a top-level ``text`` or
``generated_text``. LMI ends a failed generation with a line whose
``details.finish_reason`` is ``error``: the answer fails (``stream error``).
"""

from __future__ import annotations

import codecs
import json
import re
import struct
import zlib
from typing import Any, NamedTuple, Protocol

from botocore.eventstream import ChecksumMismatch, EventStreamBuffer, ParserError

EVENT_STREAM, SSE, JSON_LINES, TEXT = "EventStream", "ServerSentEvents", "JsonLines", "Text"
FRAMINGS = (SSE, JSON_LINES, TEXT)  # what an HTTP answer, or a SageMaker event stream's parts, may hold
DONE = "[DONE]"
MAX_LINE_BYTES = 1024 * 1024  # a line (or an SSE event) longer than this is no streaming answer
MAX_FRAME_BYTES = 1024 * 1024  # an event stream frame too (SageMaker's hold a token or a few)
PRELUDE_BYTES = 12  # an event stream frame's total length, headers' length and their CRC
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")


class StreamFailure(Exception):
    """The stream broke: ``kind`` names how (``ModelStreamError: ModelError``, ``stream truncated``, …)."""

    def __init__(self, kind: str, sample: str = "") -> None:
        super().__init__(kind)
        self.kind, self.sample = kind, sample


class Piece(NamedTuple):
    """One event of the answer: its text ("" for none) and the server's output token count, if it gave one.

    A named tuple, not a dataclass: one is made per token, and a frozen dataclass costs several times more."""

    text: str
    usage: int | None = None


class Decoder(Protocol):
    done: bool  # the answer said it is complete ([DONE]): nothing after it is read

    def feed(self, data: bytes) -> list[Piece]: ...

    def end(self) -> list[Piece]: ...


def text_of(event: Any) -> str:
    """The generated text a JSON event carries ("" for none: a role header, a usage-only event)."""
    if not isinstance(event, dict):
        return ""
    choices = event.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        choice = choices[0]
        delta = choice.get("delta")
        if isinstance(delta, dict):
            content = delta.get("content")
            return content if isinstance(content, str) else ""
        text = choice.get("text")
        return text if isinstance(text, str) else ""
    token = event.get("token")
    if isinstance(token, dict):  # TGI marks special tokens "special", LMI "special_token"
        text = token.get("text")
        special = token.get("special") or token.get("special_token")
        return text if isinstance(text, str) and not special else ""
    outputs = event.get("outputs")  # LMI's JSON lines under dynamic batching: {"outputs": ["text", ...]}
    if isinstance(outputs, list):
        return "".join(item for item in outputs if isinstance(item, str))
    for key in ("text", "generated_text"):
        value = event.get(key)
        if isinstance(value, str):
            return value
    return ""


def usage_of(event: Any) -> int | None:
    """The server's count of output tokens: OpenAI's ``usage.completion_tokens``, TGI's
    ``details.generated_tokens``; None when the event has none."""
    if not isinstance(event, dict):
        return None
    for outer, inner in (("usage", "completion_tokens"), ("details", "generated_tokens")):
        holder = event.get(outer)
        if isinstance(holder, dict):
            count = holder.get(inner)
            if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
                return count
    return None


def _piece(payload: str) -> Piece | None:
    """The piece a JSON event's text holds; None for the end marker. An error the server reports inside the
    stream (``{"error": …}``, OpenAI's and TGI's way once the answer has begun) fails the answer."""
    if payload[-1:] != "}" and payload.strip() == DONE:  # a JSON object ends in "}": no strip for it
        return None
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError):  # not JSON, or nested past what Python parses
        raise StreamFailure("stream malformed", payload[:200]) from None
    if isinstance(event, dict) and ("error" in event or event.get("object") == "error"):
        raise StreamFailure("stream error", json.dumps(event.get("error", event))[:200])
    details = event.get("details") if isinstance(event, dict) else None
    if isinstance(details, dict) and details.get("finish_reason") == "error":  # LMI's way: its last line says it
        said = event.get("generated_text")
        raise StreamFailure("stream error", (said if isinstance(said, str) and said else json.dumps(details))[:200])
    counted = isinstance(event, dict) and ("usage" in event or "details" in event)  # most events carry no count
    return Piece(text_of(event), usage_of(event) if counted else None)


class _Lines:
    """Complete lines out of arbitrary pieces (a piece may end mid-line, or mid-character). Only the new
    bytes are searched, so a long line delivered in small pieces costs its length, not its square."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[str]:
        end = data.rfind(b"\n")
        if end < 0:
            self._pending += data
            self._check()
            return []
        complete = bytes(self._pending) + data[:end] if self._pending else data[:end]
        self._pending = bytearray(data[end + 1 :])
        self._check()
        text = complete.decode("utf-8", errors="replace")  # whole lines: no character is cut (one decode a read)
        lines = text.split("\n")
        return [line.rstrip("\r") for line in lines] if "\r" in text else lines

    def _check(self) -> None:
        if len(self._pending) > MAX_LINE_BYTES:
            raise StreamFailure("stream malformed", "a line longer than 1 MiB")

    def rest(self) -> str:
        rest, self._pending = bytes(self._pending), bytearray()
        return rest.rstrip(b"\r").decode("utf-8", errors="replace")


class JsonLinesDecoder:
    def __init__(self) -> None:
        self._lines = _Lines()
        self.done = False

    def feed(self, data: bytes) -> list[Piece]:
        return self._pieces(self._lines.feed(data))

    def end(self) -> list[Piece]:
        return self._pieces([self._lines.rest()])

    def _pieces(self, lines: list[str]) -> list[Piece]:
        pieces = []
        for line in lines:
            # TGI's SageMaker container frames its lines as SSE ("data:{…}") inside the parts: the same JSON.
            line = line[5:] if line.startswith("data:") else line
            if line.strip() and not self.done:
                piece = _piece(line)
                if piece is None:
                    self.done = True
                else:
                    pieces.append(piece)
        return pieces


class SseDecoder:
    """Server-sent events: ``data:`` lines make an event, a blank line ends it; comments and other fields
    (``event:``, ``id:``, ``retry:``) carry no text."""

    def __init__(self) -> None:
        self._lines = _Lines()
        self._data: list[str] = []
        self._size = 0
        self._error = False  # the event is named "error"
        self.done = False

    def feed(self, data: bytes) -> list[Piece]:
        pieces: list[Piece] = []
        for line in self._lines.feed(data):
            if line.startswith("data:"):  # the usual line: no dispatch on what else a line may be
                self._data_line(line)
            else:
                self._line(line, pieces)
        return pieces

    def end(self) -> list[Piece]:
        pieces: list[Piece] = []
        rest = self._lines.rest()
        if rest:
            self._line(rest, pieces)
        self._line("", pieces)  # the last event may lack its blank line
        return pieces

    def _line(self, line: str, pieces: list[Piece]) -> None:
        if line == "":
            if self._error:
                raise StreamFailure("stream error", "\n".join(self._data)[:200])
            if self._data and not self.done:
                piece = _piece(self._data[0] if len(self._data) == 1 else "\n".join(self._data))
                if piece is None:
                    self.done = True
                else:
                    pieces.append(piece)
            self._data, self._size = [], 0
        elif line.startswith("data:"):
            self._data_line(line)
        elif line.startswith("event:") and line[6:].strip() == "error":
            self._error = True

    def _data_line(self, line: str) -> None:
        value = line[5:]
        self._data.append(value[1:] if value.startswith(" ") else value)
        self._size += len(value) + 1  # an empty data line still holds a line
        if self._size > MAX_LINE_BYTES:
            raise StreamFailure("stream malformed", "an event longer than 1 MiB")


class TextDecoder:
    def __init__(self) -> None:
        self.done = False  # plain text has no end marker: the body's end is the answer's
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")  # a character may straddle parts

    def feed(self, data: bytes) -> list[Piece]:
        text = self._utf8.decode(data)
        return [Piece(text)] if text else []

    def end(self) -> list[Piece]:
        text = self._utf8.decode(b"", final=True)
        return [Piece(text)] if text else []


def decoder_for(framing: str) -> Decoder:
    """A fresh decoder for one answer in ``framing`` (one of FRAMINGS)."""
    decoders: dict[str, type[Decoder]] = {SSE: SseDecoder, JSON_LINES: JsonLinesDecoder, TEXT: TextDecoder}
    return decoders[framing]()


class EventStreamDecoder:
    """SageMaker's response stream; each PayloadPart's bytes are decoded by an ``inner`` framing.

    Whole frames only are handed to botocore's parser (each frame's length is read from its
    prelude first): its buffer appends by copying, so feeding it a large frame piece by piece
    would cost the frame's length squared, and a frame longer than MAX_FRAME_BYTES is refused
    before it is held."""

    def __init__(self, inner: str = JSON_LINES) -> None:
        self._pending = bytearray()
        self._inner = decoder_for(inner)
        self.done = False

    def feed(self, data: bytes) -> list[Piece]:
        self._pending += data
        pieces: list[Piece] = []
        while len(self._pending) >= PRELUDE_BYTES:
            total = struct.unpack_from("!I", self._pending)[0]
            if not PRELUDE_BYTES + 4 <= total <= MAX_FRAME_BYTES:
                raise StreamFailure("stream corrupted", f"an event stream frame of {total} bytes")
            if len(self._pending) < total:
                break
            frame = bytes(self._pending[:total])
            del self._pending[:total]
            pieces += self._frame(frame)
        self.done = self._inner.done
        return pieces

    def _frame(self, frame: bytes) -> list[Piece]:
        buffer = EventStreamBuffer()
        buffer.add_data(frame)
        try:
            messages = list(buffer)
        except ChecksumMismatch:
            raise StreamFailure("stream corrupted", "an event stream frame failed its CRC check") from None
        except (ParserError, UnicodeDecodeError, KeyError, ValueError, struct.error) as error:
            raise StreamFailure("stream corrupted", type(error).__name__) from None
        pieces: list[Piece] = []
        for message in messages:
            pieces += self._message(message.headers, message.payload)
        return pieces

    def end(self) -> list[Piece]:
        if self._pending:
            raise StreamFailure("stream truncated", "the answer ended inside an event stream frame")
        return self._inner.end()

    def _message(self, headers: dict[str, Any], payload: bytes) -> list[Piece]:
        kind = headers.get(":message-type")
        if kind == "event" and headers.get(":event-type") == "PayloadPart":
            return self._inner.feed(payload)
        if kind == "exception":
            name = _kind(headers.get(":exception-type"), "exception")
            detail = _json_object(payload)
            code = detail.get("ErrorCode")
            label = f"{name}: {_kind(code, 'error')}" if code else name
            raise StreamFailure(label, str(detail.get("Message", ""))[:200])
        if kind == "error":
            raise StreamFailure(
                _kind(headers.get(":error-code"), "stream error"), str(headers.get(":error-message", ""))[:200]
            )
        return []  # an event of another type: nothing to read


def _kind(value: Any, fallback: str) -> str:
    """A name the server gave, as a failure kind only when it looks like one (kinds are counted per name)."""
    return value if isinstance(value, str) and _KIND.fullmatch(value) else fallback


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event stream frame (string headers), as SageMaker sends them: what the sample endpoint streams."""
    encoded = b"".join(
        struct.pack("!B", len(name.encode()))
        + name.encode()
        + struct.pack("!BH", 7, len(value.encode()))
        + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    body = prelude + encoded + payload
    return body + struct.pack("!I", zlib.crc32(body))


def payload_part(data: bytes) -> bytes:
    return encode_message(
        {":message-type": "event", ":event-type": "PayloadPart", ":content-type": "application/octet-stream"}, data
    )


def _json_object(payload: bytes) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
