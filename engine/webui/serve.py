"""The web UI's process: its server on the chosen address, until Ctrl-C or SIGTERM, then a clean close.

Closing refuses new STARTs, stops a running job as a STOP does and waits until its
results are written, then stops the server: nothing is left loading, nothing measured
is lost.
"""

from __future__ import annotations

import gevent
import gevent.event
from gevent.pywsgi import WSGIServer

from loadrec.engine.job.headers import authority
from loadrec.engine.job.problems import Say
from loadrec.engine.webui.app import create_app
from loadrec.engine.webui.console import RUNNING, JobConsole

CLOSE_TIMEOUT_S = 2.0


class ListenError(Exception):
    """The server cannot listen there; one line."""


class WebUI:
    """The job console behind a WSGI server: ``listen``, then ``serve_until`` a stop signal."""

    def __init__(self, console: JobConsole, progress: Say) -> None:
        self.console, self.progress = console, progress
        self.server: WSGIServer | None = None

    def listen(self, host: str, port: int, login: bool, loopback: bool) -> int:
        """Start serving on ``host``:``port``; returns the port. Raises ListenError (in use, not an address of
        this machine, a name that does not resolve)."""
        server = WSGIServer((host, port), create_app(self.console, login, loopback, port), log=None)
        try:
            server.start()
        except OSError as error:
            raise ListenError(f"cannot listen on {authority(host, port)} ({error.strerror or error})") from None
        self.server = server
        return int(server.server_port)

    def serve_until(self, closing: gevent.event.Event) -> None:
        """Serve until ``closing`` is set (Ctrl-C, SIGTERM), then close: no new START, a running job stopped
        and written."""
        try:
            closing.wait()
            if self.console.state == RUNNING:
                self.progress("stopping the running job: its tests write what they measured")
            self.console.close()  # no START from here on; a running job ends STOPPED, written
        finally:
            if self.server is not None:
                self.server.stop(timeout=CLOSE_TIMEOUT_S)
