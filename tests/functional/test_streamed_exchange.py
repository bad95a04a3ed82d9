"""A streamed answer on the wire: real sockets on loopback, servers in this process that stream as a model
server does, or badly (cut short, never ending, tokenless, reporting an error midway).

The tokens are timed as they arrive, whatever the body's framing (chunked, a length, or
read until the connection closes); a broken stream is a failure of its own kind.
"""

from __future__ import annotations

import json
import socket
import time

import gevent
import pytest

from loadrec.engine.load.exchange import Connection, InvocationFailure, StreamReader
from loadrec.engine.streaming.frames import SSE, decoder_for
from loadrec.engine.streaming.tokens import StreamTiming
from tests.loopback import Handler, serving

GAP_S = 0.05


def event(text: str) -> bytes:
    return b"data: " + json.dumps({"choices": [{"text": text}]}).encode() + b"\n\n"


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def chunked(events: list[bytes], end: bool = True, close: bool = False) -> Handler:
    """Each event in a chunk of its own, GAP_S apart; ``end``: the last chunk; ``close``: hang up after."""

    def handler(sock: socket.socket, _: bytes) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for index, data in enumerate(events):
            if index:
                gevent.sleep(GAP_S)
            sock.sendall(chunk(data))
        if end:
            sock.sendall(b"0\r\n\r\n")
        if close:
            sock.shutdown(socket.SHUT_RDWR)

    return handler


def until_close(events: list[bytes]) -> Handler:
    def handler(sock: socket.socket, _: bytes) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
        for index, data in enumerate(events):
            if index:
                gevent.sleep(GAP_S)
            sock.sendall(data)
        sock.shutdown(socket.SHUT_RDWR)

    return handler


def stream(url: str, timeout_s: float = 5.0) -> tuple[StreamTiming, Connection]:
    connection = Connection(url, timeout_s, 1024 * 1024)
    reader = StreamReader(decoder_for(SSE), started=time.perf_counter())
    connection.send("POST", "/v1/completions", b"{}", {"Content-Type": "application/json"}, (), reader)
    assert reader.timing is not None
    return reader.timing, connection


WORDS = [event(" a"), event(" b"), event(" c"), b"data: [DONE]\n\n"]


@pytest.mark.parametrize("handler", [chunked(WORDS), until_close(WORDS)], ids=["chunked", "until-close"])
def test_tokens_are_timed_as_they_arrive(handler: Handler) -> None:
    with serving(handler) as (url, _):
        timing, connection = stream(url)
        connection.close()
    assert timing.output_tokens == 3
    assert timing.ttft_s is not None and timing.ttft_s < GAP_S  # the first event came with the headers
    assert timing.reads == 3  # each event came in a read of its own
    assert timing.itl_s is not None and GAP_S * 0.8 < timing.itl_s < GAP_S * 3


def test_the_connection_serves_the_next_answer_after_a_streamed_one() -> None:
    with serving(chunked(WORDS)) as (url, seen):
        first, connection = stream(url)
        reader = StreamReader(decoder_for(SSE), started=0.0)
        connection.send("POST", "/v1/completions", b"{}", {}, (), reader)
        connection.close()
    assert first.output_tokens == 3 and reader.timing is not None and reader.timing.output_tokens == 3
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("handler", "kind"),
    [
        (chunked([event(" a"), event(" b")], end=False, close=True), "stream truncated"),
        (
            chunked([event(" a"), b"data: " + json.dumps({"error": {"message": "OOM"}}).encode() + b"\n\n"]),
            "stream error",
        ),
        (chunked([b'data: {"choices": [{"delta": {"role": "assistant"}}]}\n\n', b"data: [DONE]\n\n"]), "no tokens"),
        (chunked([b"data: {not json\n\n"]), "stream malformed"),
    ],
    ids=["cut-short", "error-event", "tokenless", "malformed"],
)
def test_a_broken_stream_is_a_failure_of_its_kind(handler: Handler, kind: str) -> None:
    with serving(handler) as (url, _), pytest.raises(InvocationFailure) as failed:
        stream(url)
    assert failed.value.kind == kind


def test_an_answer_left_open_after_done_is_complete_not_a_timeout() -> None:
    never_ends = chunked([event(" a"), b"data: [DONE]\n\n", b": still here\n\n"], end=False)

    def handler(sock: socket.socket, head: bytes) -> None:
        never_ends(sock, head)
        gevent.sleep(5)  # holds the stream open past the client's timeout

    with serving(handler) as (url, _):
        timing, connection = stream(url, timeout_s=1.0)
        connection.close()
    assert timing.output_tokens == 1


def test_a_kept_connection_gets_its_socket_timeout_back_after_a_streamed_answer() -> None:
    """The socket's per-receive timeout is lifted while an answer streams (the request's deadline bounds it)
    and put back once it has been read, so the next request on the kept connection is bounded as before."""
    with serving(chunked(WORDS)) as (url, _):
        timing, connection = stream(url, timeout_s=4.0)
        try:
            pool = connection._client._connection_pool  # type: ignore[union-attr]
            kept = pool._socket_queue.get(block=False)  # the connection's one socket, back in its pool
            assert timing.output_tokens == 3 and kept.gettimeout() == 4.0
            pool._socket_queue.put(kept)
        finally:
            connection.close()
