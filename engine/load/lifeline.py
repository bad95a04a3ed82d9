"""A process's life: a child notices, within a second, that the process that started it is gone; a server
hears its stop signals.

A test's process and its local workers send load only while their parent lives: when
``loadrec run`` is killed (SIGKILL included, which it cannot pass on), they stop on
their own instead of loading the endpoint with nobody listening. A server (the web UI,
the API, the sample endpoint) takes Ctrl-C and SIGTERM as "stop cleanly" from before it
announces its address: a signal sent as soon as the address is read must not kill it
the default way.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import gevent
import gevent.event

CHECK_EVERY_S = 0.5


def watch_parent(
    on_gone: Callable[[int], None], parent: int | None = None, every_s: float = CHECK_EVERY_S
) -> gevent.Greenlet:
    """Call ``on_gone(parent)`` once, as soon as this process's parent (by default: its parent now) has ended.

    Naming the parent catches one that ended before the watch began: this process has
    been handed to another parent by then.
    """
    parent = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == parent:
            gevent.sleep(every_s)
        on_gone(parent)

    return gevent.spawn(watch)


@contextmanager
def stop_signals() -> Iterator[gevent.event.Event]:
    """An event set by Ctrl-C or SIGTERM while the block runs (their usual handling comes back after it)."""
    stopping = gevent.event.Event()
    handlers = [gevent.signal_handler(signum, stopping.set) for signum in (signal.SIGINT, signal.SIGTERM)]
    try:
        yield stopping
    finally:
        for handler in handlers:
            handler.cancel()
