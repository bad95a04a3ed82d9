"""A child process's lifeline: notice, within a second, that the process that started it is gone.

A test's process and its local workers send load only while their parent lives: when
``loadrec run`` is killed (SIGKILL included, which it cannot pass on), they stop on
their own instead of loading the endpoint with nobody listening.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import gevent

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
