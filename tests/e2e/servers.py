"""Real servers for end-to-end tests, started as subprocesses on loopback.

``sample_endpoint`` runs ``python -m loadrec.engine.sample.endpoint`` exactly as a person would,
waits for its "listening on" line and yields the base URL; leaving the block stops it
with SIGTERM (and SIGKILL if it does not exit in time).
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.e2e.jobs import LOADREC, environment

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
LISTENING = re.compile(r"listening on (https?://\S+)")


def stop_process(
    process: subprocess.Popen[bytes], signum: int = signal.SIGTERM, timeout_s: float = STOP_TIMEOUT_S
) -> int:
    """Send ``signum`` (unless it has ended), then SIGKILL after ``timeout_s``; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@dataclass
class ServerProcess:
    """A started server: its process, base URL and the file its stderr goes to."""

    process: subprocess.Popen[bytes]
    url: str
    stderr: IO[bytes]
    stderr_text: str = ""  # what the server wrote to stderr, once stopped

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send ``signum``, then SIGKILL after STOP_TIMEOUT_S; returns the exit code."""
        stop_process(self.process, signum)
        if self.process.stdout is not None:
            self.process.stdout.close()
        if not self.stderr.closed:
            self.stderr.seek(0)
            self.stderr_text = self.stderr.read().decode(errors="replace")
            self.stderr.close()
        return self.process.returncode


def start_sample_endpoint(
    workers: int = 2, service_ms: float = 20, error_rate: float = 0.0, *extra: str
) -> ServerProcess:
    """Start the sample endpoint on a free loopback port and wait until it listens (``extra``: more options)."""
    command = [sys.executable, "-P", "-m", "loadrec.engine.sample.endpoint", "--port", "0"]
    command += ["--workers", str(workers), "--service-ms", str(service_ms), "--error-rate", str(error_rate), *extra]
    # stderr goes to a file, not a pipe nobody reads, so a chatty server can never block on it.
    # The file outlives this function: ServerProcess.stop closes it.
    stderr = tempfile.TemporaryFile()  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr)
    try:
        line = _first_line(process, START_TIMEOUT_S)
    except RuntimeError as problem:
        failed = ServerProcess(process, "", stderr)
        failed.stop(signal.SIGKILL)
        raise RuntimeError(f"{problem}; its stderr:\n{failed.stderr_text}") from None
    match = LISTENING.search(line)
    if match is None:
        failed = ServerProcess(process, "", stderr)
        failed.stop()
        raise RuntimeError(
            f"unexpected first line from the sample endpoint: {line!r}; its stderr:\n{failed.stderr_text}"
        )
    return ServerProcess(process, match.group(1), stderr)


@contextmanager
def sample_endpoint(workers: int = 2, service_ms: float = 20, error_rate: float = 0.0, *extra: str) -> Iterator[str]:
    """A running sample endpoint for the duration of the block; yields e.g. ``http://127.0.0.1:40123``."""
    server = start_sample_endpoint(workers, service_ms, error_rate, *extra)
    try:
        yield server.url
    finally:
        server.stop()


def _first_line(process: subprocess.Popen[bytes], timeout_s: float) -> str:
    """The first stdout line, read from the raw descriptor so the deadline holds even without a newline."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    deadline = time.monotonic() + timeout_s
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError(f"the sample endpoint did not report listening within {timeout_s:.0f} s")
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            raise RuntimeError(f"the sample endpoint exited with code {process.wait()} before listening")
        data += chunk
    return data.split(b"\n", 1)[0].decode(errors="replace")


@contextmanager
def web_ui(job: Path, out: Path, port: int, *extra: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """``loadrec ui`` on ``job`` (relaxed limits, a 4 s window), once it answers on ``port``; SIGINT at the end."""
    command = [*LOADREC, "ui", str(job), "--limits", "relaxed", "--port", str(port)]
    command += ["--out", str(out), "--window", "4", "--evaluate-every", "1", *extra]
    # Its output (and its test processes') goes to a file nobody has to read, so it can never block on a pipe.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=job.parent, env=environment(**env), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # it answers (a login redirect, say): it is up
            except OSError:
                assert process.poll() is None, "the web UI exited before listening"
                assert time.monotonic() < deadline, "the web UI did not start"
                time.sleep(0.2)
        yield process
    finally:
        stop_process(process, signal.SIGINT, 45)  # a running job stops and writes what it measured first
        log.close()


@contextmanager
def workers(port: int, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` ``loadrec worker`` processes for the master on ``port``; SIGTERM (then SIGKILL) at the end."""
    command = [*LOADREC, "worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    processes = [subprocess.Popen(command, env=environment()) for _ in range(count)]
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def truth_server(*options: str) -> Iterator[str]:
    """``tests.truth_server`` (a streaming server timing what it served on its own side) on a free port."""
    command = [sys.executable, "-m", "tests.truth_server", "--port", "0", *options]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)
    try:
        line = _first_line(process, START_TIMEOUT_S)
        yield f"http://127.0.0.1:{line.split()[-1]}"
    finally:
        stop_process(process)
        if process.stdout is not None:
            process.stdout.close()
