"""The API server's guards against slow clients, in-process on loopback: a request that keeps trickling is
closed at its deadline, and one address cannot hold more than its share of connections."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.pool
import pytest
from gevent import socket

from loadrec.engine.api import serve


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "2"), ("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    monkeypatch.setattr(serve, "REQUEST_DEADLINE_S", 0.5)
    monkeypatch.setattr(serve, "MAX_CONNECTIONS_PER_CLIENT", 3)
    running = serve._Server(("127.0.0.1", 0), hello, log=None, spawn=gevent.pool.Pool(16), handler_class=serve._Handler)
    running.start()
    try:
        yield "127.0.0.1", running.server_port
    finally:
        running.stop(timeout=1)


def closed_by_server(sock: socket.socket, within_s: float) -> bool:
    """Trickle a header byte every 50 ms; True once the server has closed the connection."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            sock.sendall(b"a")
            sock.settimeout(0.05)
            if sock.recv(1) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def test_a_request_that_trickles_past_its_deadline_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as trickle:
        trickle.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        assert closed_by_server(trickle, within_s=5.0)
        assert time.monotonic() - started < 2.0  # the deadline (0.5 s), not the silent-read timeout (30 s)
    with socket.create_connection(server) as prompt:  # a whole request in time is answered
        prompt.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert prompt.makefile("rb").read().endswith(b"ok")


def test_one_address_holds_at_most_its_share_of_connections(server: tuple[str, int]) -> None:
    held = [socket.create_connection(server) for _ in range(3)]
    try:
        for sock in held:
            sock.sendall(b"G")
        gevent.sleep(0.1)
        with socket.create_connection(server) as one_more:
            one_more.settimeout(2)
            assert one_more.recv(1) == b""  # closed at once, before a byte is read
        other = socket.socket()
        other.bind(("127.0.0.2", 0))
        with other:
            other.connect(server)
            other.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert other.makefile("rb").read().endswith(b"ok")  # another address is served
    finally:
        for sock in held:
            sock.close()
