"""The built-in sample endpoint: a real HTTP server that behaves like one SageMaker instance.

It serves the model of :mod:`loadrec.engine.sample.model` on SageMaker's container and runtime
paths with a fixed number of worker slots. Each invocation holds a slot for
max(service time, compute time), so the endpoint saturates near
``60 × workers × 1000 / service_ms`` invocations per minute, and past that latency
climbs because requests queue for a slot, which is what a load test has to find.

The server is gevent's pywsgi: a slot is a ``BoundedSemaphore`` that greenlets wait on
cooperatively, so queueing costs no threads and the service time is a ``gevent.sleep``
that leaves the process free to accept and parse other requests meanwhile.
"""

from gevent import monkey

monkey.patch_all()  # a process entry point (``loadrec sample-endpoint``): before anything imports ssl

import argparse
import contextlib
import json
import math
import os
import random
import re
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, NoReturn
from wsgiref.types import StartResponse, WSGIEnvironment

import gevent
import gevent.event
import gevent.lock
from gevent.pywsgi import WSGIServer

from loadrec.engine.sample.model import JSON, ModelInputError, invoke, model

# SageMaker rejects payloads above 6 MB; so does the sample endpoint, before taking a slot.
MAX_BODY_BYTES = 6 * 1024 * 1024
VARIANT_HEADER = ("x-Amzn-Invoked-Production-Variant", "AllTraffic")
INVOCATIONS_PATH = re.compile(r"^/(?:endpoints/[^/]+/)?invocations$")
DRAIN_TIMEOUT_S = 5.0  # how long a stopping server waits for requests already in progress


def capacity_per_minute(workers: int, service_ms: float) -> float:
    """Invocations per minute at saturation; infinite when requests take no service time."""
    if service_ms <= 0:
        return math.inf
    return 60.0 * workers * 1000.0 / service_ms


@dataclass
class EndpointStats:
    """Counts kept instead of a per-request log, which would slow the server down."""

    invocations: int = 0
    injected_failures: int = 0
    rejected: int = 0


class SampleEndpoint:
    """The WSGI application: routing, worker slots, failure injection."""

    def __init__(
        self, workers: int, service_ms: float, error_rate: float = 0.0, seed: int = 0, cold_start_ms: float = 0.0
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if not service_ms >= 0:
            raise ValueError(f"service_ms must be 0 or more, got {service_ms}")
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"error_rate must be between 0 and 1, got {error_rate}")
        self.workers = workers
        self.service_s = service_ms / 1000.0
        self.error_rate = error_rate
        self.stats = EndpointStats()
        self._slots = gevent.lock.BoundedSemaphore(workers)
        # The first invocation loads the model, as a serverless endpoint's first one after a cold start does.
        self._cold_start_s: float = cold_start_ms / 1000.0
        self._rng = random.Random(seed)
        self._in_flight = 0
        self._idle = gevent.event.Event()
        self._idle.set()
        self._draining = False
        model()  # train now, not inside the first request's slot

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self._in_flight += 1
        self._idle.clear()
        if self._draining:
            start_response = _closing_connection(start_response)
        try:
            chunks = self._route(environ, start_response)
        except BaseException:
            self._request_done()
            raise
        # The server calls close() once the response is written: only then is the request done.
        return _Response(chunks, self._request_done)

    def _request_done(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    def drain(self, timeout_s: float) -> bool:
        """Close connections after their next response and wait, at most ``timeout_s``, until no request
        is in progress; True if none is. Without the first part a client that keeps its connection busy
        would hold a stopping server for the whole timeout."""
        self._draining = True
        return bool(self._idle.wait(timeout_s))

    def _route(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if path == "/ping":
            if method != "GET":
                return _respond(start_response, 405, *_error(f"{method} not allowed on /ping"), allow="GET")
            return _respond(start_response, 200, b"ok", "text/plain")
        if INVOCATIONS_PATH.match(path):
            if method != "POST":
                return _respond(start_response, 405, *_error(f"{method} not allowed on {path}"), allow="POST")
            return self._invocation(environ, start_response)
        return _respond(start_response, 404, *_error(f"no route for {path}"))

    def _invocation(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        body = _read_body(environ)
        if body is None:
            self.stats.rejected += 1
            return _respond(start_response, 413, *_error(f"payload larger than {MAX_BODY_BYTES} bytes"))
        with self._slots:
            started = time.perf_counter()
            cold, self._cold_start_s = self._cold_start_s, 0.0
            if cold:
                gevent.sleep(cold)
                started = time.perf_counter()
            if self.error_rate and self._rng.random() < self.error_rate:
                self._hold_rest_of_service_time(started)
                self.stats.injected_failures += 1
                return _respond(start_response, 500, *_error("injected failure"))
            try:
                output, content_type = invoke(body, environ.get("CONTENT_TYPE"), environ.get("HTTP_ACCEPT"))
            except ModelInputError as problem:
                # A real model rejects bad input as soon as it sees it: no service time is spent.
                self.stats.rejected += 1
                return _respond(start_response, 400, *_error(str(problem)))
            self._hold_rest_of_service_time(started)
        self.stats.invocations += 1
        return _respond(start_response, 200, output, content_type)

    def _hold_rest_of_service_time(self, started: float) -> None:
        remaining = self.service_s - (time.perf_counter() - started)
        if remaining > 0:
            gevent.sleep(remaining)


class _Response:
    """A response body whose close() tells the endpoint the request is finished (PEP 3333)."""

    def __init__(self, chunks: list[bytes], on_close: Callable[[], None]) -> None:
        self._chunks = chunks
        self._on_close: Callable[[], None] | None = on_close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()


def _closing_connection(start_response: StartResponse) -> StartResponse:
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
        return start_response(status, [*headers, ("Connection", "close")], exc_info)

    return start


def _read_body(environ: WSGIEnvironment) -> bytes | None:
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


def _error(message: str) -> tuple[bytes, str]:
    return json.dumps({"error": message}).encode(), JSON


def _respond(
    start_response: StartResponse, status: int, body: bytes, content_type: str, allow: str | None = None
) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), VARIANT_HEADER]
    if allow is not None:
        headers.append(("Allow", allow))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]


def build_app(
    workers: int, service_ms: float, error_rate: float = 0.0, seed: int = 0, cold_start_ms: float = 0.0
) -> SampleEndpoint:
    """The WSGI application of an endpoint with ``workers`` slots of ``service_ms`` each."""
    return SampleEndpoint(workers, service_ms, error_rate, seed, cold_start_ms)


class _NoDelayServer(WSGIServer):
    """pywsgi sends a response's headers and body in two writes; with Nagle's algorithm on, the body
    waits for the client's delayed ACK of the headers (~40 ms on Linux) on every keep-alive request,
    which would swamp the service time. TCP_NODELAY sends both at once."""

    def handle(self, sock: socket.socket, address: tuple[str, int]) -> None:
        with contextlib.suppress(OSError):  # not every socket family has the option
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


def _format_number(value: float) -> str:
    if math.isinf(value):
        return "unbounded"
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(
    host: str, port: int, workers: int, service_ms: float, error_rate: float = 0.0, cold_start_ms: float = 0.0
) -> None:
    """Bind, announce the address on stdout, and serve until SIGINT or SIGTERM."""
    app = build_app(workers, service_ms, error_rate, cold_start_ms=cold_start_ms)
    # Handlers go in before the address is announced: a signal sent as soon as the line is read
    # must already mean "stop cleanly", not the default of dying by the signal.
    stopping = gevent.event.Event()
    handlers = [gevent.signal_handler(signum, stopping.set) for signum in (signal.SIGINT, signal.SIGTERM)]
    # log=None: no access log line per request; errors still go to stderr.
    server = _NoDelayServer((host, port), app, log=None)
    try:
        server.start()
        try:
            bound_host, bound_port = server.address[:2]
            print(
                f"sample endpoint listening on {_url(bound_host, bound_port)} ({workers} workers, "
                f"{_format_number(service_ms)} ms per request, "
                f"capacity {_format_number(capacity_per_minute(workers, service_ms))} invocations/min)",
                flush=True,
            )
            stopping.wait()
        finally:
            # Stop accepting, then let requests already in progress finish (within a bound) so a
            # load test that ends with SIGTERM sees its last responses rather than closed connections.
            server.close()
            app.drain(DRAIN_TIMEOUT_S)
    finally:
        for handler in handlers:
            handler.cancel()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage block: the flag and what is wrong with its value.
        self.exit(2, f"{self.prog}: error: {message}\n")


def _ranged(kind: type[int] | type[float], low: float, high: float = math.inf) -> Callable[[str], float]:
    """An argparse type: a number of ``kind`` in [low, high]; NaN and infinities are never valid."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a {'whole ' if kind is int else ''}number") from None
        if not (math.isfinite(value) and low <= value <= high):
            bounds = f"at least {low:g}" if math.isinf(high) else f"between {low:g} and {high:g}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value

    return parse


WORKERS_ENV, SERVICE_MS_ENV = "LOADREC_SAMPLE_WORKERS", "LOADREC_SAMPLE_SERVICE_MS"
WORKERS, SERVICE_MS = _ranged(int, 1), _ranged(float, 0)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sample-endpoint",
        description="A sample model endpoint with a fixed number of worker slots, like one SageMaker instance.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    add("--port", type=_ranged(int, 0, 65535), default=8080, help="port to bind; 0 picks a free one (default 8080)")
    add("--workers", type=WORKERS, help=f"concurrent worker slots (default: ${WORKERS_ENV}, else 2)")
    add("--service-ms", type=SERVICE_MS, help=f"ms each request holds its slot (default: ${SERVICE_MS_ENV}, else 20)")
    add("--error-rate", type=_ranged(float, 0, 1), default=0.0, help="fraction of requests failing with HTTP 500")
    add("--cold-start-ms", type=_ranged(float, 0, 600_000), default=0.0, help="extra ms of the first invocation")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # A job can vary these per test as environment parameters (the Command provisioner sets them).
    for name, variable, parse, default in (
        ("workers", WORKERS_ENV, WORKERS, 2), ("service_ms", SERVICE_MS_ENV, SERVICE_MS, 20.0)
    ):  # fmt: skip
        if getattr(args, name) is None:
            text = os.environ.get(variable)
            try:
                setattr(args, name, default if text is None else parse(text))
            except argparse.ArgumentTypeError as error:
                parser.exit(2, f"{parser.prog}: error: {variable}: {error}\n")
    try:
        serve(args.host, args.port, args.workers, args.service_ms, args.error_rate, args.cold_start_ms)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        print(f"sample endpoint: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
