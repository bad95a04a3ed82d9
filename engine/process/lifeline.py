"""A process's life: a child notices, within a second, that the process that started it is gone; a server
hears its stop signals.

A test's process and its local workers send load only while their parent lives: when
``loadrec run`` is killed (SIGKILL included, which it cannot pass on), they stop on
their own instead of loading the endpoint with nobody listening. A server (the web UI,
the API, the sample endpoint) takes its stop signals as "stop cleanly" from before it
announces its address: a signal sent as soon as the address is read must not kill it
the default way.

``outlive_the_terminal`` keeps a process's output from failing it once its terminal is gone: a
write to a hung-up terminal fails (EIO), and a progress line must not end a test that is
writing its results.

``STOP_SIGNALS`` are the signals every loadrec process takes as "stop cleanly, keep what was
measured": Ctrl-C, SIGTERM, and SIGHUP (a closed terminal or a dropped SSH session, which
would otherwise end every process of the group silently).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import gevent
import gevent.event

CHECK_EVERY_S = 0.5
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


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
    """An event set by a stop signal (STOP_SIGNALS) while the block runs (their usual handling comes back after it)."""
    stopping = gevent.event.Event()
    handlers = [gevent.signal_handler(signum, stopping.set) for signum in STOP_SIGNALS]
    try:
        yield stopping
    finally:
        for handler in handlers:
            handler.cancel()


GONE = (errno.EIO, errno.EPIPE)  # a hung-up terminal, a closed pipe


class _Outlived:
    """A text stream whose writes are dropped, once and for all, when its terminal or pipe has gone."""

    def __init__(self, stream: TextIO) -> None:
        self._stream, self._gone = stream, False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return self._stream.write(text)
            except OSError as error:
                self._dropped(error)
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except OSError as error:
                self._dropped(error)

    def _dropped(self, error: OSError) -> None:
        if error.errno not in GONE:
            raise error
        self._gone = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def outlive_the_terminal() -> None:
    """From now on, this process's stdout and stderr drop what a closed terminal or pipe can no longer take."""
    if not isinstance(sys.stdout, _Outlived):
        sys.stdout = _Outlived(sys.stdout)
    if not isinstance(sys.stderr, _Outlived):
        sys.stderr = _Outlived(sys.stderr)
