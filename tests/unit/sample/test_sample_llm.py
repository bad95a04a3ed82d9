"""The sample endpoint's LLM routes called directly (no time: 0 ms to the first token and between tokens):
what they stream, in both framings, reads back through loadrec's own decoders as the generator's tokens."""

from __future__ import annotations

import json

import pytest

from loadrec.engine.sample.endpoint import LlmSettings, SampleEndpoint
from loadrec.engine.sample.generator import generate
from loadrec.engine.streaming.frames import (
    JSON_LINES,
    SSE,
    Decoder,
    EventStreamDecoder,
    Piece,
    StreamFailure,
    decoder_for,
)
from tests.unit.sample.test_sample_endpoint_app import call

INSTANT = LlmSettings(ttft_ms=0, token_ms=0, answer_tokens=7)


def pieces(decoder: Decoder, body: bytes) -> list[Piece]:
    return [*decoder.feed(body), *decoder.end()]


@pytest.mark.parametrize("usage", [True, False])
def test_chat_completions_stream_the_generators_tokens_as_server_sent_events(usage: bool) -> None:
    app = SampleEndpoint(2, 0, llm=INSTANT)
    request = {"messages": [{"role": "user", "content": "down the rabbit-hole"}], "stream": True, "max_tokens": 9}
    if usage:
        request["stream_options"] = {"include_usage": True}
    answer = call(app, "POST", "/v1/chat/completions", json.dumps(request).encode(), "application/json")
    assert answer.code == 200 and answer.headers["Content-Type"] == "text/event-stream"
    got = pieces(decoder_for(SSE), answer.body)
    words = list(generate("down the rabbit-hole", 9))
    assert [p.text for p in got if p.text] == words
    assert [p.usage for p in got if p.usage is not None] == ([9] if usage else [])
    assert answer.body.endswith(b"data: [DONE]\n\n")


def test_the_response_stream_sends_one_payload_part_per_token_and_the_count_last() -> None:
    app = SampleEndpoint(2, 0, llm=INSTANT)
    body = json.dumps({"inputs": "Alice was", "parameters": {"max_new_tokens": 5}}).encode()
    answer = call(app, "POST", "/endpoints/llm/invocations-response-stream", body, "application/json")
    assert answer.headers["Content-Type"] == "application/vnd.amazon.eventstream"
    got = pieces(EventStreamDecoder(JSON_LINES), answer.body)
    assert [p.text for p in got] == list(generate("Alice was", 5))
    assert got[-1].usage == 5


def test_without_stream_the_completion_comes_whole_with_its_usage() -> None:
    app = SampleEndpoint(2, 0, llm=INSTANT)
    answer = call(app, "POST", "/v1/completions", b'{"prompt": "Alice was"}', "application/json")
    body = answer.json()
    assert body["choices"][0]["text"] == "".join(generate("Alice was", 7))  # the default answer length
    assert body["usage"]["completion_tokens"] == 7
    assert app.stats.invocations == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1]",
        b'{"max_tokens": 3}',
        b'{"prompt": "x", "max_tokens": 0}',
        b'{"prompt": "x", "max_tokens": 5000}',
    ],
)
def test_a_request_that_is_no_llm_request_is_a_400(body: bytes) -> None:
    answer = call(SampleEndpoint(2, 0, llm=INSTANT), "POST", "/v1/completions", body, "application/json")
    assert answer.code == 400 and "error" in answer.json()


def test_the_same_prompt_gets_the_same_answer() -> None:
    assert list(generate("Alice was", 20)) == list(generate("Alice was", 20))
    assert list(generate("Alice was", 20)) != list(generate("The Rabbit", 20))
    assert all(word.startswith(" ") and word.strip() for word in generate("anything at all", 50))


@pytest.mark.parametrize(
    ("path", "body", "framing", "kind"),
    [
        ("/v1/completions", b'{"prompt": "Alice", "stream": true}', SSE, "stream error"),
        (
            "/endpoints/llm/invocations-response-stream",
            b'{"inputs": "Alice"}',
            "event-stream",
            "ModelStreamError: ModelError",
        ),
    ],
)
def test_injected_failures_come_after_the_first_token_as_servers_report_them(
    path: str, body: bytes, framing: str, kind: str
) -> None:
    app = SampleEndpoint(2, 0, error_rate=1.0, llm=INSTANT)
    answer = call(app, "POST", path, body, "application/json")
    assert answer.code == 200  # the answer had begun
    decoder = EventStreamDecoder(JSON_LINES) if framing == "event-stream" else decoder_for(SSE)
    with pytest.raises(StreamFailure) as failed:
        pieces(decoder, answer.body)
    assert failed.value.kind == kind
    assert app.stats.injected_failures == 1
