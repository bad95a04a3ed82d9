"""A local model server per test, started from the job's command template (``Loadrec.Provisioner.Command``).

The server gets a free port and the test's environment parameters (filled into the
template's placeholders and set in its environment), runs in the job file's folder, in a
session of its own: stopping it reaches everything it started (SIGTERM to its process
group, SIGKILL after StopGraceSeconds). A guard leads that session (``guard``): when the
test's process ends by any path, SIGKILL included, the guard stops the group itself. It
is ready when ReadyUrl answers with a 2xx status before StartTimeoutSeconds; its exit, or
a stop, ends the wait sooner, and a
server that never became ready is reported with the last lines it wrote.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import gevent
import psutil

from loadrec.engine.access.login import PASSWORD_ENV, USERNAME_ENV
from loadrec.engine.access.redaction import SHORTEST_SECRET, redact
from loadrec.engine.job.cases import TestCase
from loadrec.engine.job.problems import Say
from loadrec.engine.job.provisioning import PORT, CommandProvisioning, fill, placeholders, template_target
from loadrec.engine.process.ports import free_port
from loadrec.engine.provision.base import (
    Cancelled,
    Provisioned,
    ProvisionError,
    Record,
    delete_and_record,
)

KIND = "Command"
# The server runs under a guard (guard.py) leading its session: it takes the group down when this process
# ends, by SIGKILL too. -I: the server's environment (PYTHONPATH allowed to it, say) is not the guard's.
GUARD = [sys.executable, "-I", "-m", "loadrec.engine.provision.guard"]
POLL_S = 0.2
PROBE_TIMEOUT_S = 1.0
TAIL_LINES = 5
# Variables whose values a server's quoted output must never show, whatever the job says.
SECRET_ENVIRONMENT = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ACCESS_KEY_ID",
    PASSWORD_ENV,
)
LEFTOVER_GRACE_S = 5.0
# Never through a proxy: the server is local, and an http_proxy setting must not swallow the probe.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def server_environment(parameters: dict[str, str], withheld: frozenset[str] = frozenset()) -> dict[str, str]:
    """loadrec's environment (a server may need its cloud credentials), without the web UI's login and the
    job's ``env:`` secrets it is not allowed (``withheld``), plus the test's environment parameters."""
    kept = {k: v for k, v in os.environ.items() if k not in (USERNAME_ENV, PASSWORD_ENV) and k not in withheld}
    return {**kept, **parameters}


def listener_of(port: int) -> int | None:
    """The process listening on TCP ``port`` (any address), if this user may see it."""
    with contextlib.suppress(psutil.Error, OSError):
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
                return connection.pid
    return None


class CommandProvisioner:
    """Starts a test's model server, waits until it is ready, and stops its whole process group."""

    def __init__(
        self,
        provisioning: CommandProvisioning,
        job_dir: Path,
        progress: Say,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provisioning, self.job_dir, self.progress, self.clock = provisioning, job_dir, progress, clock
        self._servers: dict[int, tuple[subprocess.Popen[bytes], IO[bytes]]] = {}

    def create(self, case: TestCase, record: Record, cancelled: Cancelled) -> Provisioned:
        environment = dict(case.environment)
        port = free_port()
        values = {**environment, PORT: str(port)}
        argv = [fill(word, values) for word in self.provisioning.command]
        self._refuse_a_busy_port(fill(self.provisioning.ready_url, values))
        log = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the server is deleted
        env = server_environment(environment, self.provisioning.withheld)
        guarded = [*GUARD, "--grace", f"{self.provisioning.stop_grace_s:g}", str(os.getpid()), "--", *argv]
        try:
            process = subprocess.Popen(
                guarded, cwd=self.job_dir, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        except OSError as error:
            log.close()
            raise ProvisionError(f"{argv[0]}: the model server cannot be started ({error.strerror or error})") from None
        entry = {"Kind": KIND, "ProcessGroup": process.pid, "Started": start_time(process.pid), "Program": argv[0],
                 "Port": port}  # fmt: skip
        self._servers[process.pid] = (process, log)
        provisioned = Provisioned(template_target(self.provisioning, port, environment), 0.0, entry)
        try:
            record(entry)
            self.progress(f"model server started (pid {process.pid}, port {port}); waiting until it is ready")
            ready_url = fill(self.provisioning.ready_url, values)
            ready_s = self._wait_ready(process, ready_url, cancelled, log)
            self._check_the_listener(process, ready_url)
        except BaseException:
            delete_and_record(self, provisioned, record)
            raise
        self.progress(f"model server ready in {ready_s:.1f} s")
        return replace(provisioned, ready_s=ready_s)

    def _refuse_a_busy_port(self, ready_url: str) -> None:
        """A template without {port} names a fixed port: a server already answering there (a stale one) would
        be measured in place of the one started, "ready in 0.0 s"."""
        templates = [*self.provisioning.command, self.provisioning.ready_url]
        if any(PORT in placeholders(template) for template in templates):
            return
        parts = urlsplit(ready_url)
        with (
            contextlib.suppress(OSError, ValueError),
            socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=PROBE_TIMEOUT_S),
        ):
            raise ProvisionError(
                f"{parts.hostname}:{parts.port} already answers before the model server has started: the test "
                "would measure another server (stop it, or put {port} in Command and ReadyUrl)"
            )

    def _check_the_listener(self, process: subprocess.Popen[bytes], ready_url: str) -> None:
        """The process listening on ReadyUrl's port belongs to the server started (its guard's session)."""
        port = urlsplit(ready_url).port
        owner = listener_of(port) if port is not None else None
        if owner is None or owner == process.pid or _session(owner) == process.pid:
            return  # unknown (another user's socket, no /proc), the guard, or a process of its session
        raise ProvisionError(
            f"port {port} is held by process {owner}, not by the model server loadrec started: "
            "the test would measure another server"
        )

    def delete(self, provisioned: Provisioned) -> bool:
        pid = int(provisioned.record["ProcessGroup"])
        process, log = self._servers.pop(pid, (None, None))
        if process is not None:
            stop_group(process, self.provisioning.stop_grace_s)
        if log is not None:
            log.close()
        return True  # SIGKILL, at the latest, leaves nothing of the group

    def _wait_ready(self, process: subprocess.Popen[bytes], url: str, cancelled: Cancelled, log: IO[bytes]) -> float:
        started = self.clock()
        timeout = self.provisioning.start_timeout_s
        while True:
            if cancelled():
                raise ProvisionError("stopped while the model server was starting")
            code = process.poll()
            if code is not None:
                raise ProvisionError(f"the model server exited with code {code} before it was ready{self._tail(log)}")
            if _answers(url):
                return self.clock() - started
            if self.clock() - started > timeout:
                raise ProvisionError(f"the model server was not ready at {url} within {timeout:g} s{self._tail(log)}")
            gevent.sleep(POLL_S)

    def _tail(self, log: IO[bytes]) -> str:
        """The last lines the server wrote, for the error (a few, each cut short), its secrets masked: a server
        may print what it inherited (the job's env: values, loadrec's credentials, the web UI's password)."""
        names = {*self.provisioning.secret_names, *SECRET_ENVIRONMENT}
        secrets = {os.environ[n] for n in names if len(os.environ.get(n, "")) >= SHORTEST_SECRET}
        with contextlib.suppress(OSError):
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 4096))
            text = redact(log.read().decode(errors="replace"), secrets)
            lines = [line.strip()[:200] for line in text.splitlines() if line.strip()]
            if lines:
                return "; its last output: " + " | ".join(lines[-TAIL_LINES:])
        return ""


def _answers(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=PROBE_TIMEOUT_S) as response:
            return 200 <= int(response.status) < 300
    except (OSError, ValueError, urllib.error.HTTPError):
        return False


def stop_group(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM to the server's whole process group, SIGKILL to whatever is left after ``grace_s``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # the leader or anything it started that is still there
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)


def start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, Linux's /proc), or None if it is not there."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stream:
            fields = stream.read().rsplit(")", 1)[1].split()
        return int(fields[19])  # field 22 of stat(5); the first two (pid, comm) are cut off above
    except (OSError, IndexError, ValueError):
        return None


def _session(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def running_group(record: dict[str, Any]) -> int | None:
    """The process group a record names, if its leader is still the process started then (a reused number is
    someone else's), else None."""
    group = record.get("ProcessGroup")
    if not isinstance(group, int) or isinstance(group, bool) or group <= 1:
        return None
    return group if start_time(group) == record.get("Started") and _session(group) == group else None


def remove_leftover(record: dict[str, Any]) -> str | None:
    """Stop the process group a killed test's process recorded, if it still runs; what was done, or None."""
    if record.get("Kind") != KIND or record.get("Deleted"):
        return None
    group = running_group(record)
    if group is None:
        return None
    try:
        os.killpg(group, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return None  # already gone
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return f"stopped the model server it left running (process group {group})"
        gevent.sleep(POLL_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
    return f"killed the model server it left running (process group {group})"
