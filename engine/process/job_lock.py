"""Which jobs run on this machine now: a run holds a lock named for its job, so ``loadrec cleanup JOB``
does not delete the endpoints of a run still using them.

Every run of a job (``loadrec run``, the web UI's START, a job of ``loadrec serve``) holds a
shared lock on a file named for the job in a folder of this user's (``$XDG_RUNTIME_DIR``,
else the temporary folder): several runs of one job name may go on at once, in different
results folders. ``job_running`` asks for the lock alone: refused, some run holds it. The
lock goes with the process, however it ends (SIGKILL included). A run on another machine
is not seen: the docs say so (docs/provisioning.md). A folder that cannot be made costs no run its lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from loadrec.engine.process.claim import held_elsewhere


def lock_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"loadrec-{os.getuid()}" / "jobs"


def _lock_file(name: str) -> Path:
    # A name from a command line may hold anything ("../x"): the file is named by its digest.
    return lock_dir() / (hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:32] + ".lock")


def _open(name: str) -> IO[str] | None:
    try:
        lock_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
        return _lock_file(name).open("a", encoding="utf-8")
    except OSError:
        return None


@contextlib.contextmanager
def running_job(name: str) -> Iterator[None]:
    """Hold job ``name``'s lock (shared with its other runs) while the block runs."""
    held = _open(name)
    try:
        if held is not None:
            fcntl.flock(held, fcntl.LOCK_SH)
        yield
    finally:
        if held is not None:
            held.close()


def job_running(name: str) -> bool:
    """Some process on this machine runs job ``name`` now."""
    probe = _open(name)
    if probe is None:
        return False
    with probe:
        return held_elsewhere(probe, exclusive=True)
