"""The model server's guard: it dies with the process that started it, even one that was SIGKILLed.

    python -m loadrec.engine.provision.guard OWNER_PID -- PROGRAM [ARG ...]

A Command provisioner starts this in a session of its own instead of the server; it
runs the server in its process group and waits. When the owner (the test's process)
ends by any path, SIGKILL included, Linux sends the guard SIGTERM (a parent-death
signal, set before anything else; an owner already gone is noticed by the parent's
pid), and the guard stops the whole group: SIGTERM, then SIGKILL after ``--grace``
seconds. A stop from the owner (SIGTERM, SIGINT or SIGHUP to the group) is handled the
same way. The guard exits with the server's exit code (128 + the signal that ended it),
so the owner reads the server's own exit; a program that cannot be started is one line
and exit 127, as a shell says it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1  # prctl(2)
DEFAULT_GRACE_S = 10.0
NOT_STARTED = 127
POLL_S = 0.05


def die_with(owner: int) -> None:
    """Ask Linux for SIGTERM when the parent ends; end now if it has already (this process was re-parented)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != owner:
        print(f"the process that started this server ({owner}) has ended: not starting it", file=sys.stderr)
        sys.exit(NOT_STARTED)


def stop_group(server: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM to the group (the server and all it started; the guard ignores it), SIGKILL to what is left."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    group = os.getpgrp()
    os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while server.poll() is None and time.monotonic() < deadline:
        time.sleep(POLL_S)
    os.killpg(group, signal.SIGKILL)  # the guard too: nothing of the group outlives it


def main(argv: list[str]) -> int:
    grace_s = DEFAULT_GRACE_S
    if argv[:1] == ["--grace"]:
        grace_s, argv = float(argv[1]), argv[2:]
    owner, separator, command = int(argv[0]), argv[1], argv[2:]
    if separator != "--" or not command:
        print("usage: guard [--grace S] OWNER_PID -- PROGRAM [ARG ...]", file=sys.stderr)
        return 2
    die_with(owner)
    stopping: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda number, _: stopping.append(number))
    try:
        server = subprocess.Popen(command, stdin=subprocess.DEVNULL)  # same group: one killpg reaches both
    except OSError as error:
        print(f"{command[0]}: cannot be started ({error.strerror or error})", file=sys.stderr)
        return NOT_STARTED
    while server.poll() is None and not stopping:
        time.sleep(POLL_S)
    if stopping:
        stop_group(server, grace_s)
    code = server.wait()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
