"""One invocation against hostile endpoints, and over TLS: real sockets on loopback, servers in this process.

Each server is a gevent StreamServer speaking just enough HTTP/1.1 to misbehave on
purpose: redirecting to another host, answering without end, trickling, echoing the
request's secrets. Nothing here sleeps for a fixed time; the trickle test is bounded by
the request timeout it checks.
"""

from __future__ import annotations

import gc
import socket
import time
from collections.abc import Callable
from pathlib import Path

import gevent
import psutil
import pytest
from gevent.server import StreamServer
from geventhttpclient import HTTPClient
from locust.env import Environment

from loadrec.engine.job.targets import HttpTarget
from loadrec.engine.load.exchange import Connection, InvocationFailure, PreparedClient
from loadrec.engine.load.invocation import prepare
from loadrec.engine.load.users import make_user_class
from loadrec.payloads.source import Payload
from tests.loopback import Handler, serving
from tests.tls import private_ca

SECRET = "tok-9f8e7d6c5b4a"
MiB = 1024 * 1024


def answer(status: str, body: bytes, *headers: str) -> Handler:
    def handler(sock: socket.socket, _: bytes) -> None:
        head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    return handler


def send(url: str, timeout_s: float = 5.0, limit: int = 6 * MiB, **headers: str) -> int:
    connection = Connection(url, timeout_s, limit)
    try:
        return connection.send("POST", "/invocations", b"1,2,3", {"Content-Type": "text/csv", **headers}, [SECRET])
    finally:
        connection.close()


def failure(call: Callable[[], object]) -> InvocationFailure:
    with pytest.raises(InvocationFailure) as raised:
        call()
    return raised.value


def test_a_plain_answer_is_read_whole() -> None:
    with serving(answer("200 OK", b"[0.5]")) as (url, seen):
        assert send(url) == 5
    assert seen[0].startswith(b"POST /invocations HTTP/1.1")


def test_redirects_are_never_followed_and_their_location_is_redacted() -> None:
    with serving(answer("200 OK", b"ok")) as (elsewhere, reached):
        where = f"{elsewhere.removeprefix('http://')}/x?X-Amz-Signature={'f' * 64}&token=t0k3n"
        location = f"Location: http://user:{SECRET}@{where}"
        with serving(answer("302 Found", b"", location)) as (url, _):
            failed = failure(lambda: send(url))
    assert failed.kind == "HTTP 302" and not failed.connection
    # credentials and every query value masked: a token in the query is no signature the patterns know
    assert failed.sample == f"redirect to http://***@{elsewhere.removeprefix('http://')}/x?X-Amz-Signature=…&token=…"
    assert reached == []  # nothing was sent to the other host


def test_an_answer_declared_too_large_is_refused_unread() -> None:
    def huge(sock: socket.socket, _: bytes) -> None:
        sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {50 * MiB}\r\n\r\n".encode() + b"0" * MiB)

    with serving(huge) as (url, _):
        assert failure(lambda: send(url)).kind == "answer too large"


def test_an_endless_chunked_answer_is_read_no_further_than_the_limit() -> None:
    sent = []

    def endless(sock: socket.socket, _: bytes) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
        try:
            for _ in range(800):  # 50 MiB, if anyone read it all
                sock.sendall(chunk)
                sent.append(len(chunk))
        except OSError:
            return  # the client hung up, as it should

    with serving(endless) as (url, _):
        assert failure(lambda: send(url, limit=MiB)).kind == "answer too large"
        gevent.sleep(0.1)  # let the server notice the hang-up (the socket buffers hold the rest)
    assert sum(sent) < 20 * MiB


def test_the_timeout_bounds_the_whole_request_not_each_read() -> None:
    def trickle(sock: socket.socket, _: bytes) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            sock.sendall(b"x")
            gevent.sleep(0.05)  # each byte well within the timeout; the whole answer not

    with serving(trickle) as (url, _):
        started = time.perf_counter()
        failed = failure(lambda: send(url, timeout_s=0.5))
        elapsed = time.perf_counter() - started
    assert failed.kind == "timeout" and elapsed < 2.5


def test_connection_failures_are_named_and_marked_for_backoff() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    failed = failure(lambda: send(closed))
    assert failed.kind == "connection refused" and failed.connection


def test_echoed_secrets_are_masked_in_the_answer_sample() -> None:
    def echo(sock: socket.socket, head: bytes) -> None:
        body = b"denied; you sent:\r\n" + head
        sock.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    with serving(echo) as (url, _):
        failed = failure(lambda: send(url, **{"Authorization": "Bearer tok-123456", "X-Api-Key": SECRET}))
    assert failed.kind == "HTTP 401"
    assert "Bearer tok-123456" not in failed.sample and SECRET not in failed.sample
    assert "Authorization: ***" in failed.sample and "X-Api-Key: ***" in failed.sample


def test_a_connection_is_reused_between_requests() -> None:
    sockets = set()

    def keep_alive(sock: socket.socket, _: bytes) -> None:
        sockets.add(id(sock))
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with serving(keep_alive) as (url, seen):
        connection = Connection(url, 5.0, MiB)
        try:
            assert [connection.send("POST", "/", b"", {}) for _ in range(3)] == [2, 2, 2]
        finally:
            connection.close()
    assert len(seen) == 3 and len(sockets) == 1


def test_a_base_url_with_a_path_keeps_its_prefix() -> None:
    with serving(answer("200 OK", b"ok")) as (url, seen):
        connection = Connection(f"{url}/runtime/", 5.0, MiB)
        try:
            assert connection.send("POST", "/endpoints/e/invocations", b"", {}) == 2
        finally:
            connection.close()
    assert seen[0].startswith(b"POST /runtime/endpoints/e/invocations HTTP/1.1")


def test_a_request_cut_by_its_timeout_while_sending_leaves_no_socket_open() -> None:
    held: list[socket.socket] = []

    def never_reads(sock: socket.socket, _: object) -> None:
        held.append(sock)
        gevent.sleep(10)

    server = StreamServer(("127.0.0.1", 0), never_reads)
    server.start()
    gc.disable()  # a socket kept alive only by a reference cycle would stay open until a collection
    try:
        connection = Connection(f"http://127.0.0.1:{server.server_port}", 0.3, MiB)
        kinds = []
        for _ in range(3):
            kinds.append(failure(lambda: connection.send("POST", "/x", b"x" * 50 * MiB, {})).kind)
        gevent.sleep(0.05)
        assert kinds == ["timeout"] * 3
        port = server.server_port
        open_clients = [c for c in psutil.Process().net_connections("tcp") if c.raddr and c.raddr.port == port]
        assert len(held) == 3 and open_clients == []
    finally:
        gc.enable()
        server.stop(timeout=1)


def test_an_https_server_of_a_private_ca_is_refused_until_its_ca_is_trusted() -> None:
    certificates, other = private_ca(), private_ca()
    with serving(answer("200 OK", b"[0.5]"), tls=certificates.server) as (url, seen):
        assert url.startswith("https://127.0.0.1:")
        refused = failure(lambda: send(url))  # certifi's CAs do not include it
        assert (refused.kind, refused.connection) == ("TLS certificate not trusted", True)
        wrong = Connection(url, 5.0, MiB, other.ca_pem)  # another CA's bundle trusts only that CA
        try:
            assert failure(lambda: wrong.send("POST", "/", b"", {})).kind == "TLS certificate not trusted"
        finally:
            wrong.close()
        by_name = Connection(url.replace("127.0.0.1", "localhost"), 5.0, MiB, certificates.ca_pem)
        try:  # the certificate names 127.0.0.1 only
            assert failure(lambda: by_name.send("POST", "/", b"", {})).kind == "TLS certificate for another host"
        finally:
            by_name.close()
        trusted = Connection(url, 5.0, MiB, certificates.ca_pem)
        try:
            assert [trusted.send("POST", "/invocations", b"1,2,3", {}) for _ in range(2)] == [5, 5]
        finally:
            trusted.close()
    assert len(seen) == 2  # only the trusted connection's requests got through the handshake


def test_a_virtual_user_reaches_an_https_server_through_its_target_s_ca_bundle(tmp_path: Path) -> None:
    certificates = private_ca()
    (tmp_path / "ca.pem").write_text(certificates.ca_pem)
    with serving(answer("200 OK", b"[0.5]"), tls=certificates.server) as (url, seen):
        invocation = prepare(HttpTarget(f"{url}/invocations", ca_bundle="ca.pem"), base_dir=tmp_path)
        environment = Environment(user_classes=[])
        answers: list[tuple[int, object]] = []
        environment.events.request.add_listener(
            lambda response_length, exception, **_: answers.append((response_length, exception))
        )
        user = make_user_class(invocation, (Payload("row.csv", b"1,2,3", "text/csv"),), seed=1)(environment)
        user.on_start()
        try:
            user.invoke()
            user.invoke()
        finally:
            user.on_stop()
    assert answers == [(5, None), (5, None)] and len(seen) == 2


def test_a_prepared_head_is_byte_for_byte_what_geventhttpclient_sends() -> None:
    """The head a connection keeps built is geventhttpclient's own: the same bytes reach the server, whatever
    the headers and body; a request it must not build itself (Expect, chunked) takes geventhttpclient's path."""
    requests = [
        ("POST", "/invocations", b"1,2,3", {"Content-Type": "text/csv", "X-Amz-Date": "20261202T000000Z"}),
        ("POST", "/invocations", b"1,2,3,4", {"Content-Type": "text/csv", "X-Amz-Date": "20261202T000000Z"}),
        ("POST", "/invocations", b"1,2,3", {"Content-Type": "text/csv", "X-Amz-Date": "20261202T000001Z"}),
        ("POST", "/v1/completions?x=1", b"", {}),
        ("GET", "/ping", b"", {"Accept": "application/json"}),
    ]
    received: dict[str, list[bytes]] = {}
    with serving(answer("200 OK", b"ok")) as (url, seen):  # one server: the same Host for both
        for name, kind in (("plain", HTTPClient), ("prepared", PreparedClient)):
            client = kind.from_url(url, concurrency=1)
            try:
                for method, path, body, headers in [*requests, *requests]:  # the second time from the kept heads
                    response = client.request(method, path, body=body, headers=headers)
                    assert response.status_code == 200 and response.read() == b"ok"
                    response.release()
            finally:
                client.close()
            received[name], seen[:] = list(seen), []
    assert received["prepared"] == received["plain"] and len(received["plain"]) == 2 * len(requests)
    client = PreparedClient.from_url("http://127.0.0.1:9", concurrency=1)  # nothing is sent: heads only
    for special in ({"Expect": "100-continue"}, {"transfer-encoding": "chunked"}):
        assert client._head("POST", "/", b"x", special) is None  # geventhttpclient's own path sends these
    assert client._head("POST", "/", b"x", {}) is not None
