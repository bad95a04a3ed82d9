"""Request-rate users in this process against loopback servers: arrivals go at their times, whatever the answers.

A user of a request-rate test runs its arrivals until it is stopped; here it runs in a
greenlet and each test waits (bounded) for what it checks, then kills it as Locust does
and calls ``on_stop`` as Locust's task loop would.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gevent
import gevent.event
from locust.env import Environment

from loadrec.engine.job.request_rate import RequestRate
from loadrec.engine.job.targets import HttpTarget
from loadrec.engine.load.invocation import prepare
from loadrec.engine.load.open_loop import open_load
from loadrec.engine.load.users import (
    DELAY_CONTEXT,
    SCHEDULED_CONTEXT,
    InvocationUser,
    make_user_class,
    unmeasured_arrivals,
)
from loadrec.payloads.source import Payload
from tests.loopback import serving

PAYLOADS = (Payload("row.csv", b"1,2,3", "text/csv"),)
WAIT_S = 10.0  # the bound on every wait below: a broken loop fails the test, it never hangs it


def quick(sock: socket.socket, _: bytes) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n[0.5]")


@contextmanager
def running(url: str, rate: RequestRate, events: dict[str, list[Any]]) -> Iterator[InvocationUser]:
    """One request-rate user sending to ``url`` until the block ends (its events noted in ``events``)."""
    environment = Environment(user_classes=[])
    environment.events.request.add_listener(lambda **kw: events["request"].append(kw))
    unmeasured_arrivals(environment.events).add_listener(lambda **kw: events["unmeasured"].append(kw))
    invocation = prepare(HttpTarget(f"{url}/invocations"))
    user = make_user_class(invocation, PAYLOADS, seed=1, open_load=open_load(rate, seed=1))(environment)
    user.on_start()
    loop = gevent.spawn(user.invoke)
    try:
        yield user
    finally:
        loop.kill(block=True)
        user.on_stop()


def until(condition: Any) -> None:
    with gevent.Timeout(WAIT_S):
        while not condition():
            gevent.sleep(0.005)


def test_arrivals_are_sent_on_their_schedule_and_timed_from_it() -> None:
    events: dict[str, list[Any]] = {"request": [], "unmeasured": []}
    with serving(quick) as (url, seen), running(url, RequestRate(200.0, "Constant", 16), events):
        until(lambda: len(events["request"]) >= 100)
    requests = events["request"][:100]
    assert all(r["exception"] is None and r["context"][SCHEDULED_CONTEXT] for r in requests)
    # 200 a second, one every 5 ms: the 100 answered arrivals' intended times span 495 ms.
    starts = [r["start_time"] for r in requests]
    assert 0.45 <= starts[-1] - starts[0] <= 0.6, starts[-1] - starts[0]
    assert all(r["context"][DELAY_CONTEXT] >= 0 for r in requests)
    assert not [e for e in events["unmeasured"] if "dropped" in e] and len(seen) >= 100  # the cap was never met


def test_arrivals_over_the_cap_are_dropped_and_those_in_flight_at_the_stop_are_counted() -> None:
    """A server that never answers: the cap of 3 fills at once, every later arrival is dropped, and the 3 are
    cut off when the user stops (sent, never measured)."""
    held: list[socket.socket] = []
    released = gevent.event.Event()

    def never(sock: socket.socket, _: bytes) -> None:
        held.append(sock)
        released.wait(WAIT_S)

    events: dict[str, list[Any]] = {"request": [], "unmeasured": []}
    try:
        with serving(never) as (url, seen), running(url, RequestRate(100.0, "Constant", 3), events) as user:
            until(lambda: len(events["unmeasured"]) >= 5)
            assert len(seen) == 3 and user.in_flight.count == 3
    finally:
        released.set()
    dropped = [e for e in events["unmeasured"] if "dropped" in e]
    cut = [e for e in events["unmeasured"] if "in_flight" in e]
    assert len(dropped) >= 5 and all(e == {"dropped": 1} for e in dropped)
    assert cut == [{"in_flight": 3}]
    assert events["request"] == []  # nothing answered, nothing measured
