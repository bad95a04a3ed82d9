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
from typing import Any, cast

from locust import FastHttpUser, constant, task

from engine.invocation import Invocation
from payloads import Payload, PayloadPicker

USER_CLASS_NAME = "InvocationUser"  # workers look users up by class name
REQUEST_NAME = "invoke"
ANSWER_SAMPLE_BYTES = 200


def make_user_class(invocation: Invocation, payloads: tuple[Payload, ...], seed: int | None, timeout_s: float) -> type:
    """A FastHttpUser subclass bound to one target and its payloads."""
    counter = itertools.count()

    class InvocationUser(FastHttpUser):
        host = invocation.base_url
        wait_time = constant(0)
        network_timeout = timeout_s
        connection_timeout = timeout_s
        concurrency = 1  # one request at a time per user, like the recommender's users

        def on_start(self) -> None:
            self._picker = PayloadPicker(payloads, seed, next(counter))

        @task
        def invoke(self) -> None:
            payload = self._picker.next()
            headers = invocation.headers_for(payload.body, payload.content_type)
            # geventhttpclient sends bytes as they are; FastHttpSession's annotation names only str and dict.
            body = cast(str, payload.body)
            self.client.request(invocation.method, invocation.path, data=body, headers=headers, name=REQUEST_NAME)

    InvocationUser.__name__ = InvocationUser.__qualname__ = USER_CLASS_NAME
    return InvocationUser


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
