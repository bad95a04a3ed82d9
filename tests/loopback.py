"""A scriptable HTTP/1.1 server on loopback, in the test's own (gevent) process.

``serving(handler)`` reads each request (several per connection while the client keeps
it open), drops its body and calls ``handler(sock, request_head)``, which answers as
plainly or as badly as a test needs: redirecting, answering without end, echoing
secrets. It yields the base URL and the request heads seen, in order.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from gevent.server import StreamServer

Handler = Callable[[socket.socket, bytes], None]


def requests(sock: socket.socket) -> Iterator[bytes]:
    """Each request's head on a connection, as it arrives (its body read and dropped), until the client closes."""
    buffer = b""
    while True:
        while b"\r\n\r\n" not in buffer:
            data = sock.recv(65536)
            if not data:
                return
            buffer += data
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next((int(x.split(b":")[1]) for x in lines if x.lower().startswith(b"content-length")), 0)
        while len(buffer) < length:
            buffer += sock.recv(65536)
        buffer = buffer[length:]
        yield head


@contextmanager
def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, list[bytes]]]:
    """``tls``: the server's TLS context (its certificate), for an https:// URL."""
    seen: list[bytes] = []

    def handle(sock: socket.socket, _: object) -> None:
        with sock:
            for head in requests(sock):
                seen.append(head)
                handler(sock, head)

    server = StreamServer(("127.0.0.1", 0), handle, **({"ssl_context": tls} if tls else {}))
    server.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_port}", seen
    finally:
        server.stop(timeout=1)
