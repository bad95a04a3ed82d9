"""Streamed answers decoded as they arrive (engine/streaming): the same payloads as botocore's own parser for
the same bytes however the network splits them, each framing's rules, failures by kind, and the token clock."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer

from loadrec.engine.measurement.metrics import Timeline
from loadrec.engine.measurement.recording import SecondRecorder, check_wire
from loadrec.engine.streaming.frames import (
    JSON_LINES,
    SSE,
    TEXT,
    EventStreamDecoder,
    Piece,
    StreamFailure,
    decoder_for,
    encode_message,
    payload_part,
    text_of,
    usage_of,
)
from loadrec.engine.streaming.tokens import StreamTiming, TokenClock
from tests.unit.measurement.test_metrics import Clock

WORDS = ["The", " quick", " brown", " fox", " jumps", " — ", "naïve", " 🦊"]


def tgi_lines(words: list[str]) -> list[bytes]:
    lines = [
        json.dumps({"token": {"id": i, "text": w, "special": False}}).encode() + b"\n" for i, w in enumerate(words)
    ]
    lines.append(json.dumps({"token": {"text": "</s>", "special": True}, "details": {"generated_tokens": 9}}).encode())
    return [*lines[:-1], lines[-1] + b"\n"]


def event_stream(parts: list[bytes]) -> bytes:
    return b"".join(payload_part(part) for part in parts)


def decode(decoder: Any, data: bytes, cuts: list[int]) -> list[Piece]:
    pieces: list[Piece] = []
    previous = 0
    for cut in [*cuts, len(data)]:
        pieces += decoder.feed(data[previous:cut])
        previous = cut
    return pieces + decoder.end()


START = 1000


def test_event_stream_payloads_are_botocores_for_the_same_bytes_at_every_split() -> None:
    parts = tgi_lines(WORDS)
    data = event_stream(parts)
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    assert [message.payload for message in buffer] == parts  # botocore's parser: the reference
    expected = [Piece(w) for w in WORDS] + [Piece("", 9)]
    for cut in range(len(data) + 1):
        assert decode(EventStreamDecoder(JSON_LINES), data, [cut]) == expected, cut
    assert decode(EventStreamDecoder(JSON_LINES), data, list(range(1, len(data)))) == expected  # byte by byte


def test_a_payload_part_may_split_a_line_the_inner_framing_joins_it() -> None:
    line = json.dumps({"token": {"text": "split"}}).encode() + b"\n"
    data = event_stream([line[:7], line[7:]])
    assert decode(EventStreamDecoder(JSON_LINES), data, []) == [Piece("split")]


@pytest.mark.parametrize("where", [3, 9, 20, -2], ids=["prelude", "prelude-crc", "payload", "message-crc"])
def test_a_corrupted_frame_is_a_failure_of_its_own_kind(where: int) -> None:
    data = bytearray(event_stream(tgi_lines(["a"])))
    data[where] ^= 0x01
    with pytest.raises(StreamFailure) as broken:
        decode(EventStreamDecoder(JSON_LINES), bytes(data), [])
    assert broken.value.kind == "stream corrupted"


def test_an_answer_that_ends_inside_a_frame_is_truncated() -> None:
    data = event_stream(tgi_lines(["a", "b"]))
    decoder = EventStreamDecoder(JSON_LINES)
    assert decoder.feed(data[:-5]) == [Piece("a"), Piece("b")]  # the last frame (the count) is cut
    with pytest.raises(StreamFailure) as cut:
        decoder.end()
    assert cut.value.kind == "stream truncated"


@pytest.mark.parametrize(
    ("headers", "payload", "kind"),
    [
        (
            {":exception-type": "ModelStreamError"},
            {"Message": "OOM", "ErrorCode": "ModelError"},
            "ModelStreamError: ModelError",
        ),
        ({":exception-type": "InternalStreamFailure"}, {"Message": "broken"}, "InternalStreamFailure"),
    ],
)
def test_stream_exceptions_are_failures_of_their_kind(
    headers: dict[str, str], payload: dict[str, str], kind: str
) -> None:
    frame = encode_message({":message-type": "exception", ":content-type": "application/json", **headers},
                           json.dumps(payload).encode())  # fmt: skip
    decoder = EventStreamDecoder(JSON_LINES)
    assert decoder.feed(event_stream(tgi_lines(["ok"]))) == [Piece("ok"), Piece("", 9)]
    with pytest.raises(StreamFailure) as failed:
        decoder.feed(frame)
    assert (failed.value.kind, failed.value.sample) == (kind, payload["Message"])


def openai_sse(words: list[str], chat: bool = True) -> bytes:
    events = [b": keep-alive\n\n", b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n'] if chat else []
    for word in words:
        choice = {"delta": {"content": word}} if chat else {"text": word}
        events.append(b"data: " + json.dumps({"choices": [choice]}).encode() + b"\r\n\r\n")
    events.append(b'data: {"choices":[],"usage":{"completion_tokens":11}}\n\n')
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)


@pytest.mark.parametrize("chat", [True, False], ids=["chat", "completions"])
def test_server_sent_events_give_the_same_pieces_at_every_split(chat: bool) -> None:
    data = openai_sse(WORDS, chat)
    expected = [Piece("")] * chat + [Piece(w) for w in WORDS] + [Piece("", 11)]
    for cut in range(len(data) + 1):
        assert decode(decoder_for(SSE), data, [cut]) == expected, cut


def test_an_sse_event_of_several_data_lines_is_one_event_and_nothing_follows_done() -> None:
    data = b'data: {"text":\ndata: "two lines"}\n\ndata: [DONE]\n\ndata: {"text": "after"}\n\n'
    assert decode(decoder_for(SSE), data, []) == [Piece("two lines")]


def test_json_lines_skip_special_tokens_and_read_the_servers_count() -> None:
    data = b"".join(tgi_lines(WORDS))
    for cut in range(len(data) + 1):
        assert decode(decoder_for(JSON_LINES), data, [cut]) == [*(Piece(w) for w in WORDS), Piece("", 9)]


def test_plain_text_keeps_a_character_split_across_parts() -> None:
    data = "naïve 🦊".encode()
    assert "".join(p.text for p in decode(decoder_for(TEXT), data, [3, 9])) == "naïve 🦊"


@pytest.mark.parametrize("framing", [SSE, JSON_LINES])
def test_an_event_that_is_no_json_is_a_malformed_stream(framing: str) -> None:
    with pytest.raises(StreamFailure) as bad:
        decode(decoder_for(framing), b"data: {oops\n\n" if framing == SSE else b"{oops\n", [])
    assert bad.value.kind == "stream malformed"


def test_a_line_without_end_beyond_a_mebibyte_is_refused_before_it_fills_memory() -> None:
    decoder = decoder_for(JSON_LINES)
    with pytest.raises(StreamFailure):
        for _ in range(20):
            decoder.feed(b"x" * 100_000)


@pytest.mark.parametrize(
    ("event", "text", "usage"),
    [
        ({"choices": [{"delta": {"content": "hi"}}]}, "hi", None),
        ({"choices": [{"delta": {}}], "usage": {"completion_tokens": 4}}, "", 4),
        ({"choices": [{"text": "yo", "index": 0}]}, "yo", None),
        ({"token": {"text": "<eos>", "special": True}, "details": {"generated_tokens": 2}}, "", 2),
        ({"generated_text": "all of it"}, "all of it", None),
        ({"outputs": [" Alice", " was"]}, " Alice was", None),  # LMI under dynamic batching
        ({"outputs": [{"x": 1}]}, "", None),
        ({"token": {"id": [2], "text": "</s>", "log_prob": -0.1, "special_token": True}}, "", None),  # LMI
        ({"token": {"id": [42], "text": " hi", "log_prob": -0.3, "special_token": False}}, " hi", None),
        ([1, 2], "", None),
        ({"usage": {"completion_tokens": True}}, "", None),
    ],
)
def test_what_a_json_event_carries(event: Any, text: str, usage: int | None) -> None:
    assert (text_of(event), usage_of(event)) == (text, usage)


@pytest.mark.parametrize(
    ("arrivals", "ttft", "reads", "itl", "tokens"),
    [
        ([], None, 0, None, 0),
        ([(0.5, ["a"])], 0.5, 1, None, 1),
        ([(0.2, [""]), (0.5, ["a"]), (0.75, ["b"]), (1.0, ["c"])], 0.5, 3, 0.25, 3),
        ([(0.5, ["a", "b"]), (1.5, ["c"])], 0.5, 2, 0.5, 3),
        ([(0.5, ["a", "b", "c"])], 0.5, 1, None, 3),  # the whole answer in one read: no time per token
    ],
)
def test_the_token_clock(
    arrivals: list[tuple[float, list[str]]], ttft: float | None, reads: int, itl: float | None, tokens: int
) -> None:
    clock = TokenClock(started=10.0)
    for at, texts in arrivals:
        clock.add([Piece(t) for t in texts], 10.0 + at)
    timing = clock.finish(12.0)
    assert (timing.ttft_s, timing.output_tokens, timing.end_to_end_s, timing.reads) == (ttft, tokens, 2.0, reads)
    assert timing.itl_s == pytest.approx(itl)
    assert timing.tokens_per_second == (None if itl is None else pytest.approx(1 / itl))


def test_inter_token_latency_survives_tokens_coalesced_four_to_a_read() -> None:
    """A server spacing tokens 30 ms apart whose writes reach the client four at a time (every 120 ms): the
    gaps between tokens as read are 0, 0, 0, 120 ms, but each answer's time per output token is the spacing."""
    clock = TokenClock(started=0.0)
    for read in range(16):  # 64 tokens: 0, 30, 60, ..., 1890 ms, delivered with the fourth of each group
        first = read * 4
        clock.add([Piece(f"t{first + k}") for k in range(4)], 0.2 + (first + 3) * 0.030)
    timing = clock.finish(2.5)
    assert (timing.output_tokens, timing.reads) == (64, 16)
    assert timing.itl_s == pytest.approx(15 * 0.120 / 63)  # 28.6 ms: (last − first) / (tokens − 1)
    assert abs(timing.itl_s - 0.030) / 0.030 < 0.05  # within 5 % of the true spacing, read four at a time


def test_the_servers_count_wins_over_counting_events() -> None:
    clock = TokenClock(started=0.0)
    clock.add([Piece("ab"), Piece("cd"), Piece("", usage=7)], 1.0)
    timing = clock.finish(2.0)
    assert (timing.output_tokens, timing.counted_by) == (7, "server")
    events = TokenClock(started=0.0)
    events.add([Piece("ab"), Piece("cd")], 1.0)
    assert (events.finish(2.0).output_tokens, events.finish(2.0).counted_by) == (2, "events")
    counted = TokenClock(started=0.0, count=lambda text: len(text))  # a tokenizer: here, one token a character
    counted.add([Piece("ab"), Piece("cd")], 1.0)
    assert (counted.finish(2.0).output_tokens, counted.finish(2.0).counted_by) == (4, "tokenizer")
    counted.add([Piece("", usage=3)], 1.5)
    assert (counted.finish(2.0).output_tokens, counted.finish(2.0).counted_by) == (3, "server")  # the server wins


@pytest.mark.parametrize(
    ("server", "tokenizer", "events", "said"),
    [(3, 0, 0, "server"), (0, 0, 2, "events"), (0, 4, 0, "tokenizer"),
     (3, 0, 2, "server for 3, events for 2 of 5 answers"),
     (1, 2, 3, "server for 1, tokenizer for 2, events for 3 of 6 answers"),
     (0, 0, 0, None)],
)  # fmt: skip
def test_a_test_says_how_its_output_tokens_were_counted(
    server: int, tokenizer: int, events: int, said: str | None
) -> None:
    """Over every second and load process: the answers that carried the server's count, the tokenizer's, events."""
    clock = Clock(START + 0.5)
    recorder = SecondRecorder(clock)
    kinds = ["server"] * server + ["tokenizer"] * tokenizer + ["events"] * events
    for k, kind in enumerate(kinds):
        clock.now = START + 0.5 + k  # one answer a second, each second its own record
        recorder.record_success(1000.0, StreamTiming(0.1, 0.5, 8, 1.0, 2, counted_by=kind))
    recorder.record_success(1000.0)  # an answer read whole counts for neither
    wires = [stats.to_wire() for stats in recorder.take_all()]
    for wire in wires:
        check_wire(wire, START)
    timeline = Timeline(START)
    timeline.add(wires)
    assert timeline.token_counting() == said


@pytest.mark.parametrize("value", ["3", -1, True])
def test_a_damaged_answer_count_is_refused(value: Any) -> None:
    recorder = SecondRecorder(Clock(START + 0.5))
    recorder.record_success(1000.0, StreamTiming(0.1, 0.5, 8, 1.0, 2))
    wire = recorder.take_all()[0].to_wire() | {"sc": value}
    with pytest.raises(TypeError):
        check_wire(wire, START)


@pytest.mark.parametrize(
    ("framing", "data"),
    [
        (SSE, b'data: {"choices":[{"text":"a"}]}\n\ndata: {"error": {"message": "OOM"}}\n\n'),
        (SSE, b'data: {"choices":[{"text":"a"}]}\n\nevent: error\ndata: overloaded\n\n'),
        (JSON_LINES, b'{"token": {"text": "a"}}\n{"object": "error", "message": "OOM"}\n'),
        (
            JSON_LINES,
            b'{"token": {"id": [5], "text": " a", "special_token": false}}\n'
            b'{"token": {"id": -1, "text": "", "log_prob": -1, "special_token": true}, '
            b'"generated_text": "CUDA out of memory", "details": {"finish_reason": "error"}}\n',
        ),
    ],
    ids=["sse-error-object", "sse-error-event", "json-lines-error", "lmi-error-line"],
)
def test_an_error_reported_inside_the_stream_fails_the_answer(framing: str, data: bytes) -> None:
    with pytest.raises(StreamFailure) as failed:
        decode(decoder_for(framing), data, [])
    assert failed.value.kind == "stream error"


def test_json_lines_framed_as_sse_inside_event_stream_parts_read_the_same() -> None:
    """TGI's SageMaker container frames each line as "data:{…}" inside the parts."""
    parts = [b'data:{"token": {"text": "one"}}\n\n', b'data:{"token": {"text": " two"}}\n\n']
    assert decode(EventStreamDecoder(JSON_LINES), event_stream(parts), []) == [Piece("one"), Piece(" two")]


def test_an_event_stream_frame_longer_than_allowed_is_refused_before_it_is_held() -> None:
    header = (16 * 1024 * 1024).to_bytes(4, "big") + b"\x00" * 8  # a prelude announcing 16 MiB
    with pytest.raises(StreamFailure) as refused:
        EventStreamDecoder(JSON_LINES).feed(header)
    assert refused.value.kind == "stream corrupted"


@pytest.mark.parametrize(
    ("name", "kind"), [("ModelStreamError", "ModelStreamError"), ("x" * 500, "exception"), ("bad name!", "exception")]
)
def test_a_servers_exception_name_becomes_a_kind_only_when_it_looks_like_one(name: str, kind: str) -> None:
    frame = encode_message({":message-type": "exception", ":exception-type": name}, b"{}")
    with pytest.raises(StreamFailure) as failed:
        EventStreamDecoder(JSON_LINES).feed(frame)
    assert failed.value.kind == kind


def test_a_long_line_in_small_pieces_costs_its_length_not_its_square() -> None:
    decoder = decoder_for(JSON_LINES)
    piece = b"x" * 100
    for _ in range(10_000):  # 1 MB in 100-byte pieces: instant when only new bytes are searched
        decoder.feed(piece)
    with pytest.raises(StreamFailure):
        decoder.feed(piece * 500)
