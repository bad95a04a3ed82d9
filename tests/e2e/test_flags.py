"""Address flags of every process entry point, refused in one line with exit code 2 before anything starts
(a host with a space or a bidi character was a ZeroMQ or socket traceback, and ``loadrec worker`` then
exited 0)."""

from __future__ import annotations

import select
import signal
import socket
import subprocess
import time

import pytest

from tests.e2e.jobs import LOADREC, environment

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["run", "job.json", "--master", "--master-bind-host", "bad host"], "--master-bind-host"),
        (["ui", "--host", "bad host"], "--host"),
        (["worker", "--master-host", "bad host"], "--master-host"),
        (["worker", "--master-port", "-1"], "--master-port"),
        (["serve", "--host", "\u202elocalhost"], "--host"),
        (["sample-endpoint", "--host", "bad host"], "--host"),
    ],
)
def test_every_address_flag_refuses_a_bad_host_before_anything_starts(argv: list[str], flag: str) -> None:
    done = subprocess.run([*LOADREC, *argv], capture_output=True, text=True, env=environment(), timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and f"error: argument {flag}: " in lines[-1], done.stderr
    assert "Traceback" not in done.stderr


def test_a_worker_logs_that_it_waits_for_its_master_and_ends_on_sigterm() -> None:
    """Its connection state is in its log (docker compose logs worker), not silence."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nobody listens there: no master
    worker = subprocess.Popen([*LOADREC, "worker", "--master-port", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=environment())  # fmt: skip
    try:
        assert worker.stdout is not None
        deadline, said = time.monotonic() + 30, ""
        while "waiting for the master" not in said and time.monotonic() < deadline:
            if select.select([worker.stdout], [], [], 1.0)[0]:  # never a read that blocks past the deadline
                said += worker.stdout.readline()
        assert f"waiting for the master at 127.0.0.1:{port}" in said, said
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
