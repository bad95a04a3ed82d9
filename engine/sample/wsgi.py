"""The sample endpoint's WSGI plumbing: reading a bounded body, answering, knowing when a request is done.

Kept apart from the endpoint's behaviour (slots, service time, the model) so each reads in one sitting.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

from gevent.pywsgi import WSGIHandler, WSGIServer

from loadrec.engine.sample.model import JSON

# SageMaker rejects payloads above 6 MB; so does the sample endpoint, before taking a slot.
MAX_BODY_BYTES = 6 * 1024 * 1024
VARIANT_HEADER = ("x-Amzn-Invoked-Production-Variant", "AllTraffic")


class Response:
    """A response body whose close() tells the endpoint the request is finished (PEP 3333)."""

    def __init__(self, chunks: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._chunks = chunks
        self._on_close: Callable[[], None] | None = on_close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:  # a stream the client left: its generator ends, and frees its slot
            close()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()


def closing_connection(start_response: StartResponse) -> StartResponse:
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
        return start_response(status, [*headers, ("Connection", "close")], exc_info)

    return start


def read_body(environ: WSGIEnvironment) -> bytes | None:
    """The request body, or None when it exceeds MAX_BODY_BYTES."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length_header = environ.get("CONTENT_LENGTH") or ""
    if length_header.strip().isdigit():
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            return None
        return bytes(stream.read(length)) if length else b""
    # No Content-Length (chunked): read at most one byte past the limit to detect an oversized body.
    body = bytes(stream.read(MAX_BODY_BYTES + 1))
    return None if len(body) > MAX_BODY_BYTES else body


def error(message: str) -> tuple[bytes, str]:
    return json.dumps({"error": message}).encode(), JSON


def respond(
    start_response: StartResponse, status: int, body: bytes, content_type: str, allow: str | None = None
) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), VARIANT_HEADER]
    if allow is not None:
        headers.append(("Allow", allow))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]


class QuietHandler(WSGIHandler):
    """A client gone mid-request (a load test that stops cuts its connections, TLS ones without a
    close_notify) is its own affair, not a traceback: pywsgi ignores a reset socket, but not a body that
    ends early nor an https connection's EOF. The endpoint's requests do no I/O but their connection's,
    so an OSError while one is handled is that connection's."""

    def handle_error(self, t: Any, v: Any, tb: Any) -> None:
        if isinstance(v, OSError):
            self.close_connection = True
            return
        super().handle_error(t, v, tb)


class NoDelayServer(WSGIServer):
    """pywsgi sends a response's headers and body in two writes; with Nagle's algorithm on, the body
    waits for the client's delayed ACK of the headers (~40 ms on Linux) on every keep-alive request,
    which would swamp the service time. TCP_NODELAY sends both at once."""

    handler_class = QuietHandler

    def handle(self, sock: socket.socket, address: tuple[str, int]) -> None:
        with contextlib.suppress(OSError):  # not every socket family has the option
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)

    def wrap_socket_and_handle(self, client_socket: socket.socket, address: tuple[str, int]) -> None:
        """Serving https: a client that breaks off the handshake (it does not trust the certificate, say)
        is its own affair, not a traceback in this server's log."""
        try:
            super().wrap_socket_and_handle(client_socket, address)
        except (ssl.SSLError, ConnectionError):
            client_socket.close()
