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
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import ClassVar, cast

import gevent
from locust import User, constant, task

from loadrec.engine.load.exchange import Backoff, Connection, InvocationFailure, StreamReader
from loadrec.engine.load.invocation import Invocation
from loadrec.engine.streaming.frames import EventStreamDecoder, decoder_for
from loadrec.payloads import Payload, PayloadPicker

USER_CLASS_NAME = "InvocationUser"  # workers look users up by class name
REQUEST_NAME = "invoke"
STREAM_CONTEXT = "loadrec_stream"  # the request event's context key for a streamed answer's StreamTiming
DELAY_CONTEXT = "loadrec_delay"  # and for how late (ms) the request was sent after its user was ready
FIRST_CONTEXT = "loadrec_first"  # and for a user's first request (the one that may meet a cold endpoint)


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

    @classmethod
    def configure(cls, invocation: Invocation, payloads: tuple[Payload, ...], seed: int | None) -> None:
        cls.host = invocation.base_url
        cls.invocation, cls.payloads, cls.seed = invocation, payloads, seed
        cls.user_numbers = itertools.count()

    def on_start(self) -> None:
        invocation = self.invocation
        assert invocation is not None, "configure() the user class before starting users"
        self._picker = PayloadPicker(self.payloads, self.seed, next(self.user_numbers))
        self._connection = Connection(
            invocation.base_url, invocation.timeout_s, invocation.max_answer_bytes, invocation.ca_pem
        )
        self._backoff = Backoff()
        self._ready: float | None = None  # when this user was last ready to send (None: not yet)

    def on_stop(self) -> None:
        self._connection.close()

    @task
    def invoke(self) -> None:
        invocation = self.invocation
        assert invocation is not None, "configure() the user class before starting users"
        payload = self._picker.next()
        failure: InvocationFailure | None = None
        length = 0
        start_time, started = time.time(), time.perf_counter()
        context = {FIRST_CONTEXT: True} if self._ready is None else {DELAY_CONTEXT: (started - self._ready) * 1000.0}
        stream = stream_reader(invocation, started)
        try:
            headers = invocation.headers_for(payload.body, payload.content_type)
            length = self._connection.send(
                invocation.method, invocation.path, payload.body, headers, invocation.secrets, stream
            )
        except InvocationFailure as error:
            failure = error
        except Exception as error:  # signing: e.g. credentials that could not be refreshed (send raises no other)
            failure = InvocationFailure(f"signing failed: {type(error).__name__}", connection=True)
        self.environment.events.request.fire(
            request_type=invocation.method,
            name=REQUEST_NAME,
            response_time=(time.perf_counter() - started) * 1000.0,
            response_length=length,
            response=None,
            exception=failure,
            context=context if stream is None or failure is not None else {**context, STREAM_CONTEXT: stream.timing},
            start_time=start_time,
            url=invocation.url,
        )
        if pause := self._backoff.after(failure):
            gevent.sleep(pause)
        self._ready = time.perf_counter()  # wait_time is 0: the next request is due now


def make_user_class(
    invocation: Invocation | None = None, payloads: tuple[Payload, ...] = (), seed: int | None = None
) -> type[InvocationUser]:
    """A concrete user class named as workers expect, configured when a target is given."""
    user_class = cast(type[InvocationUser], type(USER_CLASS_NAME, (InvocationUser,), {"__module__": __name__}))
    if invocation is not None:
        user_class.configure(invocation, payloads, seed)
    return user_class


def stream_reader(invocation: Invocation, started: float) -> StreamReader | None:
    """A reader for one streamed answer of ``invocation`` (None: its answers are read whole)."""
    if invocation.framing is None:
        return None
    decoder = EventStreamDecoder(invocation.framing) if invocation.event_stream else decoder_for(invocation.framing)
    return StreamReader(decoder, started)


def failure_of(exception: BaseException) -> tuple[str, str]:
    """(error kind, answer sample) of a failed request reported to Locust."""
    if isinstance(exception, InvocationFailure):
        return exception.kind, exception.sample
    return type(exception).__name__, ""
