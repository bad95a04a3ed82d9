"""What the sample endpoint's streaming routes read and write: LLM requests, and their answers framed as
SageMaker's event stream or OpenAI-compatible server-sent events.

- ``/endpoints/NAME/invocations-response-stream`` (InvokeEndpointWithResponseStream): the
  body is TGI's ``{"inputs": …, "parameters": {"max_new_tokens": N}}`` (or OpenAI's
  ``prompt``/``messages``); each token goes out in a ``PayloadPart`` holding one JSON line
  ``{"token": {"text": …}}``, the last one with ``generated_text`` and
  ``details.generated_tokens``, as TGI and LMI stream them.
- ``/v1/completions`` and ``/v1/chat/completions`` with ``"stream": true``: ``data:``
  events of OpenAI's chunk shapes, a usage event when ``stream_options.include_usage``
  asks for it, then ``data: [DONE]``; without ``stream`` one JSON answer.

The timing (a slot held for the first token's time, then one token per interval) is the
endpoint's; this module only frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from loadrec.engine.sample.model import ModelInputError
from loadrec.engine.streaming.frames import encode_message, payload_part

EVENT_STREAM_TYPE = "application/vnd.amazon.eventstream"
SSE_TYPE = "text/event-stream"
MODEL_NAME = "loadrec-sample-markov"
MAX_TOKENS = 4096  # an answer longer than this is refused: the sample endpoint is no place for essays


@dataclass(frozen=True)
class LlmRequest:
    prompt: str
    tokens: int
    stream: bool
    chat: bool = False
    usage: bool = False  # OpenAI's stream_options.include_usage


def read_request(body: bytes, default_tokens: int, chat: bool = False) -> LlmRequest:
    """The request an LLM route got; ModelInputError (HTTP 400) when it is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        raise ModelInputError("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ModelInputError("the body must be a JSON object")
    prompt = _prompt(data, chat)
    parameters: dict[str, Any] = data["parameters"] if isinstance(data.get("parameters"), dict) else {}
    tokens = data.get("max_tokens", parameters.get("max_new_tokens", default_tokens))
    if not isinstance(tokens, int) or isinstance(tokens, bool) or not 1 <= tokens <= MAX_TOKENS:
        raise ModelInputError(f"max_tokens must be a whole number from 1 to {MAX_TOKENS}")
    options: dict[str, Any] = data["stream_options"] if isinstance(data.get("stream_options"), dict) else {}
    return LlmRequest(prompt, tokens, data.get("stream") is True, chat, options.get("include_usage") is True)


def _prompt(data: dict[str, Any], chat: bool) -> str:
    if chat:
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ModelInputError("messages must be a non-empty array")
        return " ".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
    for key in ("prompt", "inputs"):
        if isinstance(data.get(key), str):
            return str(data[key])
    if isinstance(data.get("messages"), list):
        return _prompt(data, chat=True)
    raise ModelInputError("the body needs a prompt (prompt, inputs or messages)")


def event_stream_token(word: str, generated: list[str] | None = None) -> bytes:
    """One token in a PayloadPart; the last one (``generated``: every token) says what was generated."""
    line: dict[str, Any] = {"token": {"text": word, "special": False}}
    if generated is not None:
        line |= {"generated_text": "".join(generated), "details": {"generated_tokens": len(generated)}}
    return payload_part(json.dumps(line).encode() + b"\n")


def stream_error(event_stream: bool) -> bytes:
    """An injected failure once the answer has begun: SageMaker's ModelStreamError, or an SSE error event."""
    message = {"Message": "injected failure", "ErrorCode": "ModelError"}
    if event_stream:
        headers = {
            ":message-type": "exception",
            ":exception-type": "ModelStreamError",
            ":content-type": "application/json",
        }
        return encode_message(headers, json.dumps(message).encode())
    return _sse({"error": {"message": "injected failure", "type": "server_error"}})


def sse_chunk(request: LlmRequest, word: str) -> bytes:
    choice = {"index": 0, "delta": {"content": word}} if request.chat else {"index": 0, "text": word}
    return _sse({"object": _object(request, chunk=True), "model": MODEL_NAME, "choices": [choice]})


def sse_end(request: LlmRequest, tokens: int) -> bytes:
    end = b""
    if request.usage:
        usage = {"prompt_tokens": len(request.prompt.split()), "completion_tokens": tokens}
        end += _sse({"object": _object(request, chunk=True), "model": MODEL_NAME, "choices": [], "usage": usage})
    return end + b"data: [DONE]\n\n"


def whole_answer(request: LlmRequest, words: list[str]) -> bytes:
    text = "".join(words)
    choice: dict[str, Any] = {"index": 0, "finish_reason": "length"}
    choice |= {"message": {"role": "assistant", "content": text}} if request.chat else {"text": text}
    usage = {"prompt_tokens": len(request.prompt.split()), "completion_tokens": len(words)}
    return json.dumps({"object": _object(request), "model": MODEL_NAME, "choices": [choice], "usage": usage}).encode()


def _object(request: LlmRequest, chunk: bool = False) -> str:
    if request.chat:
        return "chat.completion.chunk" if chunk else "chat.completion"
    return "text_completion"


def _sse(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event).encode() + b"\n\n"
