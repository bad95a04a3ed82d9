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
import math
import os
import random
import re
import ssl
import sys
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import NoReturn
from wsgiref.types import StartResponse, WSGIEnvironment

import gevent
import gevent.event
import gevent.lock

from loadrec.engine.job.headers import authority
from loadrec.engine.load.settings import host_address
from loadrec.engine.process.lifeline import stop_signals
from loadrec.engine.sample import streaming
from loadrec.engine.sample.generator import generate
from loadrec.engine.sample.model import JSON, ModelInputError, invoke, model
from loadrec.engine.sample.streaming import MAX_TOKENS
from loadrec.engine.sample.wsgi import (
    MAX_BODY_BYTES,
    VARIANT_HEADER,
    NoDelayServer,
    Response,
    closing_connection,
    error,
    read_body,
    respond,
)

INVOCATIONS_PATH = re.compile(r"^/(?:endpoints/[^/]+/)?invocations$")
STREAM_PATH = re.compile(r"^/endpoints/[^/]+/invocations-response-stream$")
COMPLETIONS_PATHS = {"/v1/completions": False, "/v1/chat/completions": True}  # path → chat
DRAIN_TIMEOUT_S = 5.0  # how long a stopping server waits for requests already in progress


def capacity_per_minute(workers: int, service_ms: float) -> float:
    """Invocations per minute at saturation; infinite when requests take no service time."""
    if service_ms <= 0:
        return math.inf
    return 60.0 * workers * 1000.0 / service_ms


@dataclass(frozen=True)
class LlmSettings:
    """The LLM routes' timing: the first token after ``ttft_ms`` in a slot, then one every ``token_ms``."""

    ttft_ms: float = 100.0
    token_ms: float = 10.0
    answer_tokens: int = 32  # when the request does not say (max_tokens, max_new_tokens)


@dataclass
class EndpointStats:
    """Counts kept instead of a per-request log, which would slow the server down."""

    invocations: int = 0
    injected_failures: int = 0
    rejected: int = 0


class SampleEndpoint:
    """The WSGI application: routing, worker slots, failure injection."""

    def __init__(
        self,
        workers: int,
        service_ms: float,
        error_rate: float = 0.0,
        seed: int = 0,
        cold_start_ms: float = 0.0,
        llm: LlmSettings | None = None,
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
        self.llm = llm or LlmSettings()
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
            start_response = closing_connection(start_response)
        try:
            chunks = self._route(environ, start_response)
        except BaseException:
            self._request_done()
            raise
        # The server calls close() once the response is written: only then is the request done.
        return Response(chunks, self._request_done)

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

    def _route(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if path == "/ping":
            if method != "GET":
                return respond(start_response, 405, *error(f"{method} not allowed on /ping"), allow="GET")
            return respond(start_response, 200, b"ok", "text/plain")
        llm = STREAM_PATH.match(path) is not None or path in COMPLETIONS_PATHS
        if INVOCATIONS_PATH.match(path) or llm:
            if method != "POST":
                return respond(start_response, 405, *error(f"{method} not allowed on {path}"), allow="POST")
            return self._llm(environ, start_response, path) if llm else self._invocation(environ, start_response)
        return respond(start_response, 404, *error(f"no route for {path}"))

    def _llm(self, environ: WSGIEnvironment, start_response: StartResponse, path: str) -> Iterable[bytes]:
        """An LLM request: its tokens generated in a slot, streamed as they come (or answered whole)."""
        body = read_body(environ)
        if body is None:
            self.stats.rejected += 1
            return respond(start_response, 413, *error(f"payload larger than {MAX_BODY_BYTES} bytes"))
        event_stream = STREAM_PATH.match(path) is not None
        try:
            request = streaming.read_request(body, self.llm.answer_tokens, COMPLETIONS_PATHS.get(path, False))
        except ModelInputError as problem:
            self.stats.rejected += 1
            return respond(start_response, 400, *error(str(problem)))
        if not (event_stream or request.stream):
            words = list(self._tokens(request))
            self.stats.invocations += 1
            return respond(start_response, 200, streaming.whole_answer(request, words), JSON)
        content_type = streaming.EVENT_STREAM_TYPE if event_stream else streaming.SSE_TYPE
        start_response("200 OK", [("Content-Type", content_type), VARIANT_HEADER])  # chunked: no length
        return self._stream(request, event_stream)

    def _stream(self, request: streaming.LlmRequest, event_stream: bool) -> Iterator[bytes]:
        """The answer's events; with ``--error-rate``, a share of the answers fail after their first token, as a
        model server reports an error once it has begun (ModelStreamError, or an SSE error event)."""
        words: list[str] = []
        fails = bool(self.error_rate) and self._rng.random() < self.error_rate
        # closing(): the slot is freed at once when the client leaves mid-answer, not at some later collection.
        with contextlib.closing(self._tokens(request)) as tokens:
            for word in tokens:
                words.append(word)
                if event_stream:
                    yield streaming.event_stream_token(word, words if len(words) == request.tokens else None)
                else:
                    yield streaming.sse_chunk(request, word)
                if fails:
                    self.stats.injected_failures += 1
                    yield streaming.stream_error(event_stream)
                    return
        if not event_stream:
            yield streaming.sse_end(request, len(words))
        self.stats.invocations += 1

    def _tokens(self, request: streaming.LlmRequest) -> Generator[str, None, None]:
        """The answer's tokens, in a slot held from the first token's wait to the last token (a sequence of a
        serving batch): under load requests queue for a slot, and time to first token climbs."""
        with self._slots:
            gevent.sleep(self.llm.ttft_ms / 1000.0)
            for index, word in enumerate(generate(request.prompt, request.tokens)):
                if index:
                    gevent.sleep(self.llm.token_ms / 1000.0)
                yield word

    def _invocation(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        body = read_body(environ)
        if body is None:
            self.stats.rejected += 1
            return respond(start_response, 413, *error(f"payload larger than {MAX_BODY_BYTES} bytes"))
        with self._slots:
            started = time.perf_counter()
            cold, self._cold_start_s = self._cold_start_s, 0.0
            if cold:
                gevent.sleep(cold)
                started = time.perf_counter()
            if self.error_rate and self._rng.random() < self.error_rate:
                self._hold_rest_of_service_time(started)
                self.stats.injected_failures += 1
                return respond(start_response, 500, *error("injected failure"))
            try:
                output, content_type = invoke(body, environ.get("CONTENT_TYPE"), environ.get("HTTP_ACCEPT"))
            except ModelInputError as problem:
                # A real model rejects bad input as soon as it sees it: no service time is spent.
                self.stats.rejected += 1
                return respond(start_response, 400, *error(str(problem)))
            self._hold_rest_of_service_time(started)
        self.stats.invocations += 1
        return respond(start_response, 200, output, content_type)

    def _hold_rest_of_service_time(self, started: float) -> None:
        remaining = self.service_s - (time.perf_counter() - started)
        if remaining > 0:
            gevent.sleep(remaining)


def _format_number(value: float) -> str:
    if math.isinf(value):
        return "unbounded"
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def serve(
    host: str,
    port: int,
    workers: int,
    service_ms: float,
    error_rate: float = 0.0,
    cold_start_ms: float = 0.0,
    llm: LlmSettings | None = None,
    tls: ssl.SSLContext | None = None,
) -> None:
    """Bind, announce the address on stdout, and serve until SIGINT or SIGTERM; ``tls``: the server's TLS
    context (its certificate), to serve https."""
    app = SampleEndpoint(workers, service_ms, error_rate, cold_start_ms=cold_start_ms, llm=llm)
    # log=None: no access log line per request; errors still go to stderr.
    server = NoDelayServer((host, port), app, log=None, **({} if tls is None else {"ssl_context": tls}))
    with stop_signals() as stopping:  # before the address is announced
        server.start()
        try:
            bound_host, bound_port = server.address[:2]
            print(
                f"sample endpoint listening on {'https' if tls else 'http'}://{authority(bound_host, bound_port)} "
                f"({workers} workers, "
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
        if not ((isinstance(value, int) or math.isfinite(value)) and low <= value <= high):  # an int never overflows
            bounds = f"at least {low:g}" if math.isinf(high) else f"between {low:g} and {high:g}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value

    return parse


WORKERS_ENV, SERVICE_MS_ENV = "LOADREC_SAMPLE_WORKERS", "LOADREC_SAMPLE_SERVICE_MS"
MAX_WORKERS = 10_000  # concurrent slots: beyond, a number too large for gevent's semaphore, not a server
WORKERS, SERVICE_MS = _ranged(int, 1, MAX_WORKERS), _ranged(float, 0)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sample-endpoint",
        description="A sample model endpoint with a fixed number of worker slots, like one SageMaker instance.",
    )
    add = parser.add_argument
    add("--host", type=host_address, default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    add("--port", type=_ranged(int, 0, 65535), default=8080, help="port to bind; 0 picks a free one (default 8080)")
    add("--workers", type=WORKERS, help=f"concurrent worker slots (default: ${WORKERS_ENV}, else 2)")
    add("--service-ms", type=SERVICE_MS, help=f"ms each request holds its slot (default: ${SERVICE_MS_ENV}, else 20)")
    add("--error-rate", type=_ranged(float, 0, 1), default=0.0, help="fraction of requests failing with HTTP 500")
    add("--cold-start-ms", type=_ranged(float, 0, 600_000), default=0.0, help="extra ms of the first invocation")
    llm = LlmSettings()
    add(
        "--ttft-ms",
        type=_ranged(float, 0, 600_000),
        default=llm.ttft_ms,
        help=f"LLM routes: ms to the first token, in a slot (default {llm.ttft_ms:g})",
    )
    add(
        "--token-ms",
        type=_ranged(float, 0, 60_000),
        default=llm.token_ms,
        help=f"LLM routes: ms between tokens (default {llm.token_ms:g})",
    )
    add("--answer-tokens", type=_ranged(int, 1, MAX_TOKENS), default=llm.answer_tokens,
        help=f"LLM routes: tokens in an answer whose request sets none (default {llm.answer_tokens})")  # fmt: skip
    add("--tls-cert", metavar="PEM", help="serve https with this certificate chain (with --tls-key)")
    add("--tls-key", metavar="PEM", help="the certificate's private key")
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
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    tls = None
    if args.tls_cert is not None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:  # read now: a wrong file is one line at start, not a failed handshake per connection
            tls.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as error:
            parser.exit(2, f"{parser.prog}: error: --tls-cert/--tls-key: {error.strerror or error}\n")
    try:
        llm = LlmSettings(args.ttft_ms, args.token_ms, int(args.answer_tokens))
        serve(args.host, args.port, args.workers, args.service_ms, args.error_rate, args.cold_start_ms, llm, tls)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        print(f"sample endpoint: cannot listen on {authority(args.host, args.port)}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
