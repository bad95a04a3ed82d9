"""A streaming model server that records its own truth: what it really served, timed on its side.

Written apart from loadrec (raw sockets, HTTP/1.1 and server-sent events by hand), so that
loadrec's figures are checked against something that is not loadrec. Every POST is answered
with ``--tokens`` OpenAI-style completion events, the first ``--ttft-ms`` after the request was
read, then one every ``--token-ms`` (on an absolute schedule: a late write does not delay the
next), ``--per-write`` of them to a write (a server that coalesces tokens). For each answer it
notes, on its own clock, the time to its first token and its time per output token
((last write − first write) / (tokens − 1)), and when each request arrived (epoch seconds, once
read whole). ``GET /truth`` answers them as JSON and starts afresh.

    python -m tests.truth_server --port 0 [--ttft-ms 200] [--token-ms 30] [--tokens 64] [--per-write 1]

prints ``listening on PORT`` once it listens.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import gevent  # noqa: E402
from gevent.server import StreamServer  # noqa: E402


@dataclass
class Truth:
    ttft_ms: list[float] = field(default_factory=list)
    itl_ms: list[float] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)

    def take(self) -> dict[str, list[float]]:
        answer = {"ttft_ms": self.ttft_ms, "itl_ms": self.itl_ms, "arrived": self.arrived}
        self.ttft_ms, self.itl_ms, self.arrived = [], [], []
        return answer


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def event(text: str) -> bytes:
    return b"data: " + json.dumps({"choices": [{"text": text}]}).encode() + b"\n\n"


class TruthServer:
    def __init__(self, ttft_ms: float, token_ms: float, tokens: int, per_write: int) -> None:
        self.ttft_s, self.token_s, self.tokens, self.per_write = ttft_ms / 1000, token_ms / 1000, tokens, per_write
        self.truth = Truth()

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
                stream.read(length)
                received = time.perf_counter()
                if request.startswith(b"GET /truth"):
                    body = json.dumps(self.truth.take()).encode()
                    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    sock.sendall(head % len(body) + body)  # type: ignore[attr-defined]
                    continue
                self.truth.arrived.append(time.time())
                self.answer(sock, received)
        except (OSError, ValueError):
            return
        finally:
            sock.close()  # type: ignore[attr-defined]

    def answer(self, sock: object, received: float) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        first = last = None
        sent = 0
        while sent < self.tokens:
            group = min(self.per_write, self.tokens - sent)
            due = received + self.ttft_s + (sent + group - 1) * self.token_s  # the group's last token is due
            pause = due - time.perf_counter()
            if pause > 0:
                gevent.sleep(pause)
            data = b"".join(event(f" t{sent + k}") for k in range(group))
            sock.sendall((head if first is None else b"") + chunk(data))  # type: ignore[attr-defined]
            now = time.perf_counter()
            if first is None:
                first = now
            last = now
            sent += group
        sock.sendall(chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")  # type: ignore[attr-defined]
        assert first is not None and last is not None
        self.truth.ttft_ms.append((first - received) * 1000)
        if self.tokens > 1 and last > first:
            self.truth.itl_ms.append((last - first) * 1000 / (self.tokens - 1))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft-ms", type=float, default=200.0)
    parser.add_argument("--token-ms", type=float, default=30.0)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--per-write", type=int, default=1)
    args = parser.parse_args()
    server = TruthServer(args.ttft_ms, args.token_ms, args.tokens, args.per_write)
    listener = StreamServer(("127.0.0.1", args.port), server.handle, backlog=4096)
    listener.init_socket()
    print(f"listening on {listener.socket.getsockname()[1]}", flush=True)
    listener.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
