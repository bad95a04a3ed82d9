"""Address flags of every process entry point, refused in one line with exit code 2 before anything starts
(a host with a space or a bidi character was a ZeroMQ or socket traceback, and ``loadrec worker`` then
exited 0)."""

from __future__ import annotations

import subprocess

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
