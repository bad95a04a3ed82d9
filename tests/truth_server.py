"""A streaming model server that records its own truth: what it really served, timed on its side.

Written apart from loadrec (raw sockets, HTTP/1.1 and server-sent events by hand), so that
loadrec's figures are checked against something that is not loadrec. Every POST is answered
with ``--tokens`` OpenAI-style completion events, the first ``--ttft-ms`` after the request was
read, then one every ``--token-ms`` (on an absolute schedule: a late write does not delay the
next), ``--per-write`` of them to a write (a server that coalesces tokens). For each answer it
notes, on its own clock, the time to its first token and its time per output token
((last write − first write) / (tokens − 1)), and when each request arrived (epoch seconds, once
read whole). With ``--tokenizer FILE`` (a Hugging Face tokenizer.json) it also reads each
request's prompt (``prompt``, the last chat message's ``content`` or ``inputs``), counts its
tokens with that tokenizer, and answers ``max_tokens`` (or ``parameters.max_new_tokens``)
tokens when the request asks for a number; it notes each distinct prompt's count and asked-for
output tokens. ``GET /truth`` answers them as JSON and starts afresh.

    python -m tests.truth_server --port 0 [--ttft-ms 200] [--token-ms 30] [--tokens 64] [--per-write 1]
                                 [--tokenizer tokenizer.json]

prints ``listening on PORT`` once it listens.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from gevent.server import StreamServer  # noqa: E402


@dataclass
class Truth:
    ttft_ms: list[float] = field(default_factory=list)
    itl_ms: list[float] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    # Each distinct prompt (by its text's hash): [its tokens as the tokenizer counts them, the output tokens asked].
    prompts: dict[str, list[int | None]] = field(default_factory=dict)

    def take(self) -> dict[str, Any]:
        answer = {"ttft_ms": self.ttft_ms, "itl_ms": self.itl_ms, "arrived": self.arrived, "prompts": self.prompts}
        self.ttft_ms, self.itl_ms, self.arrived, self.prompts = [], [], [], {}
        return answer


def prompt_of(body: dict[str, Any]) -> tuple[str | None, int | None]:
    """(the prompt's text, the output tokens it asks for) in an OpenAI, TGI, LMI or JumpStart body."""
    if isinstance(body.get("messages"), list) and body["messages"]:
        text = body["messages"][-1].get("content")
    else:
        text = body.get("prompt", body.get("inputs"))
    parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    asked = body.get("max_tokens", parameters.get("max_new_tokens"))
    return (text if isinstance(text, str) else None), (asked if isinstance(asked, int) else None)


def single_tokens(tokenizer: Any) -> list[str]:
    """Words of the tokenizer's vocabulary, each with a leading space, that it reads back as one token."""
    found = []
    for number in range(tokenizer.get_vocab_size()):
        text = tokenizer.decode([number])
        if (
            text.startswith(" ")
            and text[1:].isalpha()
            and tokenizer.encode(text, add_special_tokens=False).ids == [number]
        ):
            found.append(text)
    return found


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def event(text: str) -> bytes:
    # As OpenAI-compatible servers (vLLM, SGLang, TGI's Messages API) write a completions chunk: peer tools read the
    # "object" before the choices.
    chunk = {"object": "text_completion", "choices": [{"index": 0, "text": text, "finish_reason": None}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


class TruthServer:
    def __init__(self, ttft_ms: float, token_ms: float, tokens: int, per_write: int, tokenizer: Any = None) -> None:
        self.ttft_s, self.token_s, self.tokens, self.per_write = ttft_ms / 1000, token_ms / 1000, tokens, per_write
        self.tokenizer = tokenizer
        # With a tokenizer, each event's text is one of its tokens (a word and its leading space, which it
        # reads back as that one token): every client that counts with it counts what the server sent.
        self.words = [f" t{k}" for k in range(64)] if tokenizer is None else single_tokens(tokenizer)
        self.truth = Truth()

    def tokens_for(self, body: bytes) -> int:
        """The tokens to answer: the request's own number when a tokenizer reads it, else ``--tokens``."""
        if self.tokenizer is None:
            return self.tokens
        try:
            text, asked = prompt_of(json.loads(body))
        except (ValueError, AttributeError):
            return self.tokens
        if text is not None:
            key = hashlib.sha256(text.encode()).hexdigest()
            self.truth.prompts[key] = [len(self.tokenizer.encode(text, add_special_tokens=False).ids), asked]
        return asked if asked is not None and asked > 0 else self.tokens

    def handle(self, sock: object, _: object) -> None:
        stream = sock.makefile("rb")  # type: ignore[attr-defined]
        try:
            while True:
                request = stream.readline()
                if not request:
                    return
                length = 0
                while (line := stream.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = stream.read(length)
                received = time.perf_counter()
                if request.startswith(b"GET /truth"):
                    body = json.dumps(self.truth.take()).encode()
                    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    sock.sendall(head % len(body) + body)  # type: ignore[attr-defined]
                    continue
                self.truth.arrived.append(time.time())
                self.answer(sock, received, self.tokens_for(body))
        except (OSError, ValueError):
            return
        finally:
            sock.close()  # type: ignore[attr-defined]

    def answer(self, sock: object, received: float, tokens: int) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        first = last = None
        sent = 0
        while sent < tokens:
            group = min(self.per_write, tokens - sent)
            due = received + self.ttft_s + (sent + group - 1) * self.token_s  # the group's last token is due
            pause = due - time.perf_counter()
            if pause > 0:
                gevent.sleep(pause)
            data = b"".join(event(self.words[(sent + k) % len(self.words)]) for k in range(group))
            sock.sendall((head if first is None else b"") + chunk(data))  # type: ignore[attr-defined]
            now = time.perf_counter()
            if first is None:
                first = now
            last = now
            sent += group
        sock.sendall(chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")  # type: ignore[attr-defined]
        assert first is not None and last is not None
        self.truth.ttft_ms.append((first - received) * 1000)
        if tokens > 1 and last > first:
            self.truth.itl_ms.append((last - first) * 1000 / (tokens - 1))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft-ms", type=float, default=200.0)
    parser.add_argument("--token-ms", type=float, default=30.0)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--per-write", type=int, default=1)
    parser.add_argument("--tokenizer", default=None)
    args = parser.parse_args()
    tokenizer = None
    if args.tokenizer:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(args.tokenizer)
    server = TruthServer(args.ttft_ms, args.token_ms, args.tokens, args.per_write, tokenizer)
    listener = StreamServer(("127.0.0.1", args.port), server.handle, backlog=4096)
    listener.init_socket()
    print(f"listening on {listener.socket.getsockname()[1]}", flush=True)
    listener.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
