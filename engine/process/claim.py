"""One process's hold on a folder: an exclusive flock on a lock file in it, with the holder's pid written
in, and the probe that asks whether another process holds a lock.

A results folder (``loadrec run --out``) and an API server's data directory are claimed the
same way. The kernel drops a flock with its process, however the process ends (SIGKILL
included), so a claim never outlives its owner and is never stale.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class Held(Exception):
    """Another process holds the lock; the message is what it wrote of itself (``pid N``)."""


def claim(lock_path: Path) -> IO[str]:
    """Hold ``lock_path`` exclusively for this process until the returned file is closed.

    Raises :class:`Held` when another process holds it, OSError when the file cannot be opened."""
    lock = lock_path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "another process"
        lock.close()
        raise Held(holder) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()}\n")
    lock.flush()
    return lock


def held_elsewhere(probe: IO[str], exclusive: bool) -> bool:
    """Another open file holds a lock on ``probe``'s file that keeps a lock of this kind from it (none is kept)."""
    try:
        fcntl.flock(probe, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(probe, fcntl.LOCK_UN)
    return False
