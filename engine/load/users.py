"""The virtual user: a Locust FastHttpUser that invokes one target in a loop.

Like the recommender's users, each one sends a request, waits for the whole answer,
and sends the next, with no think time. Payloads are taken round robin from a random
offset per user (``payloads.picker``); ``--seed`` makes the offsets repeatable.

Outcomes reach the metrics through Locust's ``request`` event (fired in whichever
process runs the user), classified here into an error kind a person can read.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator
from typing import Any, ClassVar, cast

from locust import FastHttpUser, constant, task

from loadrec.engine.load.invocation import Invocation
from loadrec.payloads import Payload, PayloadPicker

USER_CLASS_NAME = "InvocationUser"  # workers look users up by class name
REQUEST_NAME = "invoke"
ANSWER_SAMPLE_BYTES = 200


class InvocationUser(FastHttpUser):
    """Invokes the target it is configured with; ``configure`` binds it to one test.

    Configuring the class (not building one per test) lets a Locust worker keep one
    user class, known to the master by name, across the tests of a job.
    """

    abstract = True
    wait_time = constant(0)
    concurrency = 1  # one request at a time per user, like the recommender's users
    invocation: ClassVar[Invocation | None] = None
    payloads: ClassVar[tuple[Payload, ...]] = ()
    seed: ClassVar[int | None] = None
    user_numbers: ClassVar[Iterator[int]] = itertools.count()

    @classmethod
    def configure(
        cls, invocation: Invocation, payloads: tuple[Payload, ...], seed: int | None, timeout_s: float
    ) -> None:
        cls.host = invocation.base_url
        cls.invocation, cls.payloads, cls.seed = invocation, payloads, seed
        cls.network_timeout = cls.connection_timeout = timeout_s
        cls.user_numbers = itertools.count()

    def on_start(self) -> None:
        self._picker = PayloadPicker(self.payloads, self.seed, next(self.user_numbers))

    @task
    def invoke(self) -> None:
        invocation = self.invocation
        assert invocation is not None, "configure() the user class before starting users"
        payload = self._picker.next()
        headers = invocation.headers_for(payload.body, payload.content_type)
        # geventhttpclient sends bytes as they are; FastHttpSession's annotation names only str and dict.
        body = cast(str, payload.body)
        self.client.request(invocation.method, invocation.path, data=body, headers=headers, name=REQUEST_NAME)


def make_user_class(
    invocation: Invocation | None = None,
    payloads: tuple[Payload, ...] = (),
    seed: int | None = None,
    timeout_s: float = 60.0,
) -> type[InvocationUser]:
    """A concrete user class named as workers expect, configured when a target is given."""
    user_class = cast(type[InvocationUser], type(USER_CLASS_NAME, (InvocationUser,), {"__module__": __name__}))
    if invocation is not None:
        user_class.configure(invocation, payloads, seed, timeout_s)
    return user_class


def error_kind(response: Any, exception: BaseException | None) -> str:
    """``HTTP 503``, ``timeout``, ``connection refused``, … for a failed request."""
    status = getattr(response, "status_code", 0) or 0
    if status:
        return f"HTTP {status}"
    if isinstance(exception, socket.timeout | TimeoutError) or "timeout" in type(exception).__name__.lower():
        return "timeout"
    if isinstance(exception, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exception, ConnectionResetError):
        return "connection reset"
    return type(exception).__name__ if exception is not None else "unknown error"


def answer_sample(response: Any) -> str:
    """The first bytes of a failed answer, for a FailureReason a person can act on."""
    content = getattr(response, "content", None)
    if not content:
        return ""
    return bytes(content[:ANSWER_SAMPLE_BYTES]).decode("utf-8", errors="replace")
