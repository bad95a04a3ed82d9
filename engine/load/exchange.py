"""One invocation on the wire: send, read a bounded answer, and say how it went.

Locust's FastHttpSession follows redirects (to any host), reads answers whole whatever
their size, and times out each socket operation rather than the request: an endpoint
that redirects elsewhere, answers 50 MiB or trickles a byte a second would fool the
results or the memory. So each virtual user drives geventhttpclient (the HTTP client
under Locust's FastHttpUser, as fast) through a ``Connection`` of its own, which
- never follows a redirect: a 3xx is a failure ``HTTP 302``, its Location redacted;
- reads at most ``max_answer_bytes`` (beyond: failure ``answer too large``, read no further);
- bounds the whole request, from connect to last byte, by ``timeout_s`` (failure ``timeout``);
- names connection failures (``connection refused``, ``connection reset``, …);
- reads a streamed answer (``StreamReader``) as it arrives, decoding and timing its tokens.
``Backoff`` spaces a user's retries while the endpoint refuses connections.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl  # its error classes only (gevent's TLS raises them); the entry points patch before this import
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import gevent
import gevent.socket
from geventhttpclient import HTTPClient
from geventhttpclient.client import _may_retry_after_send_error
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError, HTTPSocketPoolResponse

from loadrec.engine.access.redaction import redact, request_secrets
from loadrec.engine.job.headers import shown_url
from loadrec.engine.streaming.frames import Decoder, StreamFailure
from loadrec.engine.streaming.tokens import StreamTiming, TokenClock
from loadrec.engine.trust.bundles import context_factory

ANSWER_SAMPLE_CHARACTERS = 200  # of a failed answer, for a FailureReason a person can act on
# A failed answer's first bytes are redacted whole before being cut to a sample: far more
# than the sample, so no secret straddles the cut.
SAMPLE_SOURCE_BYTES = 16 * 1024
READ_BLOCK_BYTES = 64 * 1024


class InvocationFailure(Exception):
    """A failed invocation: its kind (``HTTP 503``, ``timeout``, …) and a redacted answer sample."""

    def __init__(self, kind: str, sample: str = "", connection: bool = False) -> None:
        super().__init__(kind)
        self.kind, self.sample, self.connection = kind, sample, connection


class Response(Protocol):
    """What a Connection reads of an answer (geventhttpclient's response has it)."""

    @property
    def status_code(self) -> int: ...
    def get(self, key: str, default: str | None = None) -> str | list[str] | None: ...
    def read(self, length: int | None = None) -> bytes: ...
    def release(self) -> None: ...


class Client(Protocol):
    def request(self, method: str, request_uri: str, body: bytes, headers: Mapping[str, str]) -> Response: ...
    def close(self) -> None: ...


HEADS_KEPT = 64  # request heads a connection keeps built (a user sends a few payloads, re-signed each second)


class PreparedClient(HTTPClient):
    """geventhttpclient's client, with each request's head built once and reused.

    Its ``request`` merges, checks and formats the headers anew for every request: a third of
    a user's CPU on a fast endpoint. A virtual user sends the same few requests over and over,
    so the head (exactly what geventhttpclient would build: same checks, same Host and
    Content-Length) is kept by method, path, headers and body length. Bodies are bytes, never
    chunked or ``Expect: 100-continue`` (those go to geventhttpclient's own path); a broken send
    is answered as geventhttpclient does (the early answer if any, a retry only if it would).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heads: dict[tuple[object, ...], bytes | None] = {}

    def request(self, method: str, request_uri: str, body: Any = b"", headers: Any = None) -> Any:
        if not isinstance(body, bytes):
            return super().request(method, request_uri, body, headers)
        key = (method, request_uri, len(body), tuple(headers.items()) if headers else ())
        head = self._heads.get(key, b"")
        if head == b"":
            head = self._heads[key] = self._head(method, request_uri, body, headers)
            if len(self._heads) > HEADS_KEPT:
                del self._heads[next(iter(self._heads))]
        if head is None:
            return super().request(method, request_uri, body, headers)
        attempts_left = self._connection_pool.size + 1
        while True:
            sock = self._connection_pool.get_socket()
            try:
                sock.sendall(head + body)
            except gevent.socket.error as error:
                if error.errno not in (errno.ECONNRESET, errno.EPIPE):
                    self._connection_pool.release_socket(sock)
                    raise
                try:  # the server may have answered (and closed) before reading it all
                    return self._response(sock, method)
                except (gevent.socket.error, HTTPParseError):
                    if attempts_left > 0 and _may_retry_after_send_error(method):
                        attempts_left -= 1
                        continue
                    raise
            try:
                return self._response(sock, method)
            except HTTPConnectionClosed:
                if attempts_left > 0 and _may_retry_after_send_error(method):
                    attempts_left -= 1
                    continue
                raise

    def _head(self, method: str, request_uri: str, body: bytes, headers: Mapping[str, str] | None) -> bytes | None:
        """The request head as geventhttpclient builds it; None: this request takes its own path."""
        names = {name.lower() for name in (headers or {})}
        if {"expect", "transfer-encoding"} & names:
            return None
        built: str = self._build_request(method.upper(), request_uri, body=body, headers=headers, chunked=False)
        return built.encode("latin-1")

    def _response(self, sock: Any, method: str) -> Any:
        return HTTPSocketPoolResponse(
            sock, self._connection_pool, block_size=self.block_size, method=method.upper(),
            headers_type=self.headers_type,
        )  # fmt: skip


def http_client(base_url: str, timeout_s: float, ca_pem: str | None = None) -> Client:
    """One connection to ``base_url``; TLS certificates are verified (Locust's default is not to), against
    ``ca_pem``'s CAs when given, else certifi's, in the process's one context for them."""
    client: Client = PreparedClient.from_url(
        base_url,
        concurrency=1,
        connection_timeout=timeout_s,
        network_timeout=timeout_s,
        ssl_context_factory=context_factory(ca_pem),
    )
    return client


class Connection:
    """A virtual user's connection to its target; ``send`` returns the answer's length or raises."""

    def __init__(self, base_url: str, timeout_s: float, max_answer_bytes: int, ca_pem: str | None = None) -> None:
        parts = urlsplit(base_url)
        # A base URL may carry a path (an EndpointUrl behind a prefix): the client knows only the origin.
        self.origin, self.prefix = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
        self.timeout_s, self.max_answer_bytes, self.ca_pem = timeout_s, max_answer_bytes, ca_pem
        self._client: Client | None = None

    def send(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
        resolved: Iterable[str] = (),
        stream: StreamReader | None = None,
    ) -> int:
        """``resolved``: the request's env: values, masked (with its sensitive headers) in a failed answer's sample;
        ``stream``: a successful answer is read as it arrives, by it (its ``timing`` says how it came)."""
        failure: InvocationFailure | None = None
        deadline = gevent.Timeout(self.timeout_s)
        deadline.start()
        try:
            if self._client is None:
                self._client = http_client(self.origin, self.timeout_s, self.ca_pem)
            response = self._client.request(method, self.prefix + path, body=body, headers=headers)
            try:
                status = response.status_code
                if stream is not None and 200 <= status < 300:
                    size, sample = stream.read(response, self.max_answer_bytes), b""
                else:
                    size, sample = self._read(response, keep=not 200 <= status < 300)
            finally:
                response.release()  # an answer not read to its end closes the connection
        except gevent.Timeout as timeout:
            if timeout is not deadline:
                raise
            timeout.__traceback__ = None  # it would hold the frames, and the socket, it interrupted
            failure = InvocationFailure("timeout")
        except InvocationFailure as refused:
            failure = refused.with_traceback(None)
        except StreamFailure as broken:  # the model's own error message may quote the request
            failure = InvocationFailure(broken.kind, _sample(broken.sample, request_secrets(headers, resolved)))
        except Exception as error:  # every other failure is named, never raised raw
            failure = _failure_of(error)
        finally:
            deadline.close()
        if failure is not None:
            # No traceback of the interrupted request stays referenced, so a half-sent socket is
            # closed as soon as it is dropped, not at some later garbage collection.
            if failure.kind != "answer too large":
                self.close()  # the connection is in an unknown state: start afresh
            try:
                raise failure
            finally:
                failure = None  # no cycle between this frame and the traceback
        if 200 <= status < 300:
            return size
        # The secrets are worked out only now: a successful request (the hot path) never needs them.
        secrets = request_secrets(headers, resolved)
        if 300 <= status < 400:
            location = shown_url(str(response.get("location") or ""))  # its query may hold a token
            raise InvocationFailure(f"HTTP {status}", _sample(f"redirect to {location}", secrets))
        raise InvocationFailure(f"HTTP {status}", _sample(sample.decode("utf-8", errors="replace"), secrets))

    def _read(self, response: Response, keep: bool) -> tuple[int, bytes]:
        """The answer's size, and its first bytes when ``keep`` (a failed answer's sample);
        ``answer too large`` as soon as it is known to exceed the bound."""
        declared = response.get("content-length")
        if isinstance(declared, str) and declared.strip().isdigit() and int(declared) > self.max_answer_bytes:
            raise InvocationFailure("answer too large")
        kept = bytearray()
        size = 0
        while chunk := response.read(READ_BLOCK_BYTES):
            size += len(chunk)
            if size > self.max_answer_bytes:
                raise InvocationFailure("answer too large")
            if keep and len(kept) < SAMPLE_SOURCE_BYTES:
                kept += chunk[: SAMPLE_SOURCE_BYTES - len(kept)]
        return size, bytes(kept)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


class StreamReader:
    """Reads one successful streamed answer as the network delivers it: each piece is decoded at once and its
    tokens timed on ``clock`` (the one the request's start was read on)."""

    def __init__(
        self,
        decoder: Decoder,
        started: float,
        clock: Callable[[], float] = time.perf_counter,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        self.decoder, self.clock = decoder, clock
        self.tokens = TokenClock(started, count=count_tokens)
        self.timing: StreamTiming | None = None

    def read(self, response: Response, max_bytes: int) -> int:
        """The answer's size; ``no tokens`` when it carried none (a request that did not ask to stream, a
        schema no rule reads): a success without a token would pass every token threshold unseen."""
        size = 0
        for chunk in _arrivals(response):
            size += len(chunk)
            if size > max_bytes:
                raise InvocationFailure("answer too large")
            self.tokens.add(self.decoder.feed(chunk), self.clock())
            if self.decoder.done:
                break  # [DONE] said: a server that keeps the stream open must not turn it into a timeout
        self.tokens.add(self.decoder.end(), self.clock())
        self.timing = self.tokens.finish(self.clock())
        if self.timing.ttft_s is None:
            raise InvocationFailure(
                "no tokens", "a successful answer streamed no token: does the request ask to stream?"
            )
        return size


def _arrivals(response: Response) -> Iterator[bytes]:
    """The body in the pieces the network delivers. geventhttpclient's ``read(n)`` waits for n bytes (or the
    end), which would hold every token back until a block filled; this reads what each receive brings,
    through the response's own parser (its buffer and socket: geventhttpclient is pinned).

    The socket's own timeout is lifted meanwhile: gevent arms a timer for every receive that waits (a
    streamed answer waits once per token), and the request's deadline bounds the whole answer already."""
    buffered: bytearray = response._body_buffer  # type: ignore[attr-defined]
    lifted = response._sock  # type: ignore[attr-defined]
    timeout = lifted.gettimeout() if lifted is not None else None
    if lifted is not None:
        lifted.settimeout(None)
    try:
        while True:
            if buffered:
                chunk = bytes(buffered)
                del buffered[:]
                yield chunk
                continue
            sock = response._sock  # type: ignore[attr-defined]
            if response.message_complete or sock is None:  # type: ignore[attr-defined]
                return
            data = sock.recv(READ_BLOCK_BYTES)
            if not data and not response.message_complete:  # type: ignore[attr-defined]
                # The end of a body that had no length to say when it ends is the end of the connection.
                with contextlib.suppress(Exception):
                    response.feed(data)  # type: ignore[attr-defined]
                if not response.message_complete and not buffered:  # type: ignore[attr-defined]
                    raise InvocationFailure("stream truncated", "the connection closed before the answer ended")
                continue
            response.feed(data)  # type: ignore[attr-defined]
    finally:
        if lifted is not None:
            with contextlib.suppress(OSError):  # closed meanwhile: nothing to restore
                lifted.settimeout(timeout)


_CONNECTION_ERRORS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.EPIPE: "connection reset",
}


# OpenSSL's verify codes (X509_V_ERR_*) by what a user does about them.
_UNTRUSTED = "TLS certificate not trusted"  # a self-signed or private CA: see CaBundle
_CERTIFICATE_ERRORS = {
    2: _UNTRUSTED,  # unable to get issuer certificate
    18: _UNTRUSTED,  # self-signed certificate
    19: _UNTRUSTED,  # self-signed certificate in the chain
    20: _UNTRUSTED,  # unable to get local issuer certificate
    21: _UNTRUSTED,  # unable to verify the first certificate
    9: "TLS certificate not yet valid",
    10: "TLS certificate expired",
    62: "TLS certificate for another host",  # hostname mismatch
    64: "TLS certificate for another host",  # IP address mismatch
}


def _failure_of(error: Exception) -> InvocationFailure:
    if isinstance(error, socket.timeout | TimeoutError):
        return InvocationFailure("timeout")
    if isinstance(error, socket.gaierror):
        return InvocationFailure("host not found", connection=True)
    if isinstance(error, ssl.SSLCertVerificationError):
        return InvocationFailure(_CERTIFICATE_ERRORS.get(error.verify_code, "TLS certificate refused"), connection=True)
    if isinstance(error, ssl.SSLError):  # the handshake itself: no common protocol or cipher, not TLS at all
        return InvocationFailure("TLS error", connection=True)
    if isinstance(error, OSError) and error.errno in _CONNECTION_ERRORS:
        return InvocationFailure(_CONNECTION_ERRORS[error.errno], connection=True)
    if type(error).__name__ == "HTTPConnectionClosed":
        return InvocationFailure("connection closed", connection=True)
    return InvocationFailure(type(error).__name__)  # the type only: a message may quote the answer


def _sample(text: str, secrets: Iterable[str]) -> str:
    return redact(text, secrets)[:ANSWER_SAMPLE_CHARACTERS]


@dataclass
class Backoff:
    """A user's pause after a connection failure: doubling from ``first_s`` to ``longest_s``.

    A dead endpoint answers "connection refused" in microseconds; without a pause each
    user would try thousands of times a second. Any other outcome resets it.
    """

    first_s: float = 0.005
    longest_s: float = 1.0
    current_s: float = 0.0

    def after(self, failure: InvocationFailure | None) -> float:
        if failure is None or not failure.connection:
            self.current_s = 0.0
        else:
            self.current_s = min(max(self.current_s * 2, self.first_s), self.longest_s)
        return self.current_s
