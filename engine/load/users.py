"""The virtual user: a Locust user that invokes one target in a loop.

Like the recommender's users, each one sends a request, waits for the whole answer,
and sends the next, with no think time. Payloads are taken round robin from a random
offset per user (``payloads.picker``); ``--seed`` makes the offsets repeatable.

Each user sends on a ``Connection`` of its own (:mod:`loadrec.engine.load.exchange`:
no redirects, a bounded answer, a whole-request timeout) and reports every outcome
through Locust's ``request`` event (fired in whichever process runs the user), so
Locust's own statistics and loadrec's histograms see the same requests; a streamed
answer's token timing rides in the event's context (``STREAM_CONTEXT``), and so does how
late the user sent after it was ready to (``DELAY_CONTEXT``: a busy loop makes users late,
which the generator's health reports). A failure carries its kind and a redacted answer
sample in an ``InvocationFailure``.

In a request-rate test (``configure(..., open_load)``) each user is instead a stream of
arrivals (:mod:`.open_loop`): every request goes at its intended time on a connection of
the user's pool, is timed from that time, and says how late it went (``DELAY_CONTEXT``,
``SCHEDULED_CONTEXT``); ``unmeasured_arrivals`` fires for each arrival over the process's cap
(``dropped=1``) and, when the user stops, for its requests still in flight (``in_flight=N``).
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import ClassVar, cast

import gevent
import gevent.pool
from locust import User, constant, task
from locust.event import EventHook, Events

from loadrec.engine.job.slo_key import Slo
from loadrec.engine.load.exchange import Backoff, Connection, InvocationFailure, StreamReader
from loadrec.engine.load.invocation import Invocation
from loadrec.engine.load.open_loop import InFlight, OpenLoad, run_arrivals
from loadrec.engine.measurement.records import request_record
from loadrec.engine.streaming.frames import EventStreamDecoder, decoder_for
from loadrec.engine.streaming.tokens import StreamTiming
from loadrec.payloads import Payload, PayloadPicker

USER_CLASS_NAME = "InvocationUser"  # workers look users up by class name
REQUEST_NAME = "invoke"
STREAM_CONTEXT = "loadrec_stream"  # the request event's context key for a streamed answer's StreamTiming
DELAY_CONTEXT = "loadrec_delay"  # and for how late (ms) the request was sent after its user was ready
FIRST_CONTEXT = "loadrec_first"  # and for a user's first request (the one that may meet a cold endpoint)
SCHEDULED_CONTEXT = "loadrec_scheduled"  # and for a request sent at an intended time (a request-rate test)
GOOD_CONTEXT = "loadrec_good"  # and, with an SLO, for a success that met it (Loadrec.Slo)
RECORD_CONTEXT = "loadrec_record"  # and, with --records, for the request's record (measurement.records)
UNMEASURED_EVENT = "loadrec_unmeasured"  # the Events attribute for a request-rate test's unmeasured arrivals


def unmeasured_arrivals(events: Events) -> EventHook:
    """The hook fired for arrivals that will never be measured: ``dropped`` (not sent: the cap was reached)
    and ``in_flight`` (sent, but still unanswered when their user stopped)."""
    hook = getattr(events, UNMEASURED_EVENT, None)
    if not isinstance(hook, EventHook):
        hook = EventHook()
        setattr(events, UNMEASURED_EVENT, hook)  # Locust's Events takes hooks of a plugin's own this way
    return hook


class InvocationUser(User):
    """Invokes the target it is configured with; ``configure`` binds it to one test.

    Configuring the class (not building one per test) lets a Locust worker keep one
    user class, known to the master by name, across the tests of a job.
    """

    abstract = True
    wait_time = constant(0)
    invocation: ClassVar[Invocation | None] = None
    payloads: ClassVar[tuple[Payload, ...]] = ()
    seed: ClassVar[int | None] = None
    user_numbers: ClassVar[Iterator[int]] = itertools.count()
    open_load: ClassVar[OpenLoad | None] = None  # a request-rate test (None: closed loop)
    in_flight: ClassVar[InFlight] = InFlight(1)  # this process's outstanding requests, in a request-rate test
    slo: ClassVar[Slo | None] = None  # what a good request is (None: no goodput is kept)
    records: ClassVar[bool] = False  # each request's record rides its event (--records)
    worker: ClassVar[str] = ""  # this load process, as records name it (host:pid)
    count_tokens: ClassVar[Callable[[str], int] | None] = None  # the job's tokenizer (Loadrec.Prompts.Tokenizer)

    @classmethod
    def configure(
        cls,
        invocation: Invocation,
        payloads: tuple[Payload, ...],
        seed: int | None,
        open_load: OpenLoad | None = None,
        slo: Slo | None = None,
        records: bool = False,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        cls.host = invocation.base_url
        cls.count_tokens = count_tokens
        cls.invocation, cls.payloads, cls.seed, cls.open_load, cls.slo = invocation, payloads, seed, open_load, slo
        cls.records, cls.worker = records, f"{socket.gethostname()}:{os.getpid()}"
        cls.user_numbers = itertools.count()
        cls.in_flight = InFlight(open_load.cap if open_load is not None else 1)

    def on_start(self) -> None:
        assert self.invocation is not None, "configure() the user class before starting users"
        self._number = next(self.user_numbers)
        self._picker = PayloadPicker(self.payloads, self.seed, self._number)
        self._connections: list[Connection] = []  # every connection this user opened
        self._idle: list[Connection] = []  # and those not carrying a request now
        self._sending = gevent.pool.Group()  # a request-rate user's requests in flight
        self._backoff = Backoff()
        self._ready: float | None = None  # when this user was last ready to send (None: not yet)

    def on_stop(self) -> None:
        if cut := len(self._sending):  # sent, never answered: not measured (as a closed loop's), but counted
            unmeasured_arrivals(self.environment.events).fire(in_flight=cut)
        self._sending.kill(block=True)
        for connection in self._connections:
            connection.close()

    @task
    def invoke(self) -> None:
        if self.open_load is not None:
            self._send_at_the_rate(self.open_load)  # until the user is stopped
            return
        started = time.perf_counter()
        context: dict[str, object] = (
            {FIRST_CONTEXT: True} if self._ready is None else {DELAY_CONTEXT: (started - self._ready) * 1000.0}
        )
        failure = self._exchange(started, context)
        if pause := self._backoff.after(failure):
            gevent.sleep(pause)
        self._ready = time.perf_counter()  # wait_time is 0: the next request is due now

    def _send_at_the_rate(self, load: OpenLoad) -> None:
        unmeasured = unmeasured_arrivals(self.environment.events)

        def send(due: float) -> None:
            context = {SCHEDULED_CONTEXT: True, FIRST_CONTEXT: self._ready is None}
            self._ready = due
            self._sending.spawn(self._scheduled, due, context)

        def dropped() -> None:
            unmeasured.fire(dropped=1)

        run_arrivals(load.offsets(self._number), time.perf_counter(), self.in_flight, send, dropped,
                     time.perf_counter, gevent.sleep)  # fmt: skip

    def _scheduled(self, due: float, context: dict[str, object]) -> None:
        try:
            context[DELAY_CONTEXT] = max(0.0, time.perf_counter() - due) * 1000.0
            self._exchange(due, context)
        finally:
            self.in_flight.give()

    def _exchange(self, started: float, context: dict[str, object]) -> InvocationFailure | None:
        """Send one request on an idle connection, timed from ``started`` (perf_counter), and report it."""
        invocation = self.invocation
        assert invocation is not None, "configure() the user class before starting users"
        payload = self._picker.next()
        connection = self._idle.pop() if self._idle else self._connect(invocation)
        failure: InvocationFailure | None = None
        length = 0
        stream = stream_reader(invocation, started, type(self).count_tokens)  # the class's: a function, unbound
        try:
            headers = invocation.headers_for(payload.body, payload.content_type)
            length = connection.send(invocation.method, invocation.path, payload.body, headers, invocation.secrets,
                                     stream)  # fmt: skip
        except InvocationFailure as error:
            failure = error
        except Exception as error:  # signing: e.g. credentials that could not be refreshed (send raises no other)
            failure = InvocationFailure(f"signing failed: {type(error).__name__}", connection=True)
        self._idle.append(connection)
        elapsed_s = time.perf_counter() - started
        start_epoch = time.time() - elapsed_s
        timing = None if stream is None or failure is not None else stream.timing
        if failure is None and self.slo is not None:
            context = {**context, GOOD_CONTEXT: self.slo.met(elapsed_s * 1000.0, timing)}
        if self.records:
            context = {**context, RECORD_CONTEXT: self._record(start_epoch, elapsed_s, context, payload, failure,
                                                               timing)}  # fmt: skip
        self.environment.events.request.fire(
            request_type=invocation.method,
            name=REQUEST_NAME,
            response_time=elapsed_s * 1000.0,
            response_length=length,
            response=None,
            exception=failure,
            context=context if timing is None else {**context, STREAM_CONTEXT: timing},
            start_time=start_epoch,
            url=invocation.url,
        )
        return failure

    def _record(
        self, started_epoch: float, elapsed_s: float, context: dict[str, object], payload: Payload,
        failure: InvocationFailure | None, timing: StreamTiming | None,
    ) -> dict[str, object]:  # fmt: skip
        """The request's record: when it was due and sent (epoch), its latency, tokens and outcome."""
        delay = context.get(DELAY_CONTEXT)
        late_s = delay / 1000.0 if isinstance(delay, float | int) else 0.0
        # A scheduled request is timed from when it was due; a closed-loop one from when it left, late after ready.
        due, sent = (started_epoch, started_epoch + late_s) if context.get(SCHEDULED_CONTEXT) else (
            started_epoch - late_s, started_epoch)  # fmt: skip
        good = context.get(GOOD_CONTEXT)
        return request_record(
            due, sent, elapsed_s * 1000.0, "ok" if failure is None else failure.kind, self.worker,
            None if timing is None or timing.ttft_s is None else timing.ttft_s * 1000.0,
            None if timing is None or timing.itl_s is None else timing.itl_s * 1000.0,
            payload.input_tokens, None if timing is None else timing.output_tokens,
            None if good is None else bool(good),
        )  # fmt: skip

    def _connect(self, invocation: Invocation) -> Connection:
        connection = Connection(invocation.base_url, invocation.timeout_s, invocation.max_answer_bytes,
                                invocation.ca_pem)  # fmt: skip
        self._connections.append(connection)
        return connection


def make_user_class(
    invocation: Invocation | None = None,
    payloads: tuple[Payload, ...] = (),
    seed: int | None = None,
    open_load: OpenLoad | None = None,
    slo: Slo | None = None,
    records: bool = False,
    count_tokens: Callable[[str], int] | None = None,
) -> type[InvocationUser]:
    """A concrete user class named as workers expect, configured when a target is given."""
    user_class = cast(type[InvocationUser], type(USER_CLASS_NAME, (InvocationUser,), {"__module__": __name__}))
    if invocation is not None:
        user_class.configure(invocation, payloads, seed, open_load, slo, records, count_tokens)
    return user_class


def stream_reader(
    invocation: Invocation, started: float, count_tokens: Callable[[str], int] | None = None
) -> StreamReader | None:
    """A reader for one streamed answer of ``invocation`` (None: its answers are read whole)."""
    if invocation.framing is None:
        return None
    decoder = EventStreamDecoder(invocation.framing) if invocation.event_stream else decoder_for(invocation.framing)
    return StreamReader(decoder, started, count_tokens=count_tokens)


def failure_of(exception: BaseException) -> tuple[str, str]:
    """(error kind, answer sample) of a failed request reported to Locust."""
    if isinstance(exception, InvocationFailure):
        return exception.kind, exception.sample
    return type(exception).__name__, ""
