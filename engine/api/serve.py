"""``loadrec serve``: the API server's command: options, data directory, listening, and a clean stop.

    loadrec serve [--host 127.0.0.1] [--port 8085] [--config server.json] [--data-dir DIR]
                  [--insecure-no-auth] [--limits aws|relaxed] [run options: --window, --processes, ...]

The data directory holds the jobs' database and each job's results (``jobs/NAME/``);
one server at a time uses it (a lock file says which). On start, jobs that were running
when a previous server died are marked FAILED. Ctrl-C or SIGTERM: no new job is
accepted, running jobs stop and write what they measured (FAILED, the shutdown named),
then the server exits. Bad options or configuration exit 2, one line per problem.

A slow or hostile client cannot hold the server (Slowloris: many connections, each
trickling a byte now and then): at most MAX_CONNECTIONS connections are served at once
and MAX_CONNECTIONS_PER_CLIENT from one address (more from it are closed at once, so
other callers keep a slot); a connection that sends nothing for READ_TIMEOUT_S is
closed, and so is one whose request (its line, headers and body) and answer take longer
than REQUEST_DEADLINE_S in all, however steadily it trickles.
"""

from gevent import monkey

monkey.patch_all()  # before anything imports ssl: the jobs' tests and the server share gevent

import argparse
import collections
import contextlib
import os
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import gevent
import gevent.event
import gevent.pool
from gevent.pywsgi import WSGIHandler, WSGIServer

from loadrec.engine.access.login import is_loopback
from loadrec.engine.api.app import UNREAD_BODY, create_app
from loadrec.engine.api.config import ConfigError, load_config
from loadrec.engine.api.jobs import JobManager
from loadrec.engine.api.store import JobStore
from loadrec.engine.exit_codes import EXIT_BAD_INPUT, EXIT_OK
from loadrec.engine.job.headers import authority
from loadrec.engine.job.problems import BadInput, say_on_stdout, terminal_safe
from loadrec.engine.load.settings import LIMITS, SERVE, add_options, at_least, host_address, settings_from
from loadrec.engine.measurement.prices import PriceFileError, load_prices
from loadrec.engine.process.claim import Held, claim
from loadrec.engine.process.lifeline import stop_signals

DEFAULT_PORT = 8085
DEFAULT_DATA_DIR = "loadrec-data"
LOCK = "server.lock"
CLOSE_TIMEOUT_S = 2.0
MAX_CONNECTIONS = 256  # open connections served at once; more wait to be accepted
MAX_CONNECTIONS_PER_CLIENT = 32  # from one address: a client that opens more is not holding them for a reason
READ_TIMEOUT_S = 30.0  # a silent connection (or a keep-alive one between requests)
REQUEST_DEADLINE_S = 60.0  # one request, from its first byte to its answer's last (a request is 1 MiB at most)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loadrec serve",
        description="Answer SageMaker's recommendation-job API (boto3, the AWS CLI) and run the jobs here.",
    )
    parser.add_argument(
        "--host", type=host_address, default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=at_least(0, 65535), default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free one)"
    )
    parser.add_argument("--config", metavar="FILE", help="server configuration (access keys, endpoints, payload roots)")
    parser.add_argument(
        "--data-dir", default=DEFAULT_DATA_DIR, metavar="DIR", help=f"jobs and results (default ./{DEFAULT_DATA_DIR})"
    )
    parser.add_argument(
        "--insecure-no-auth", action="store_true", help="accept unsigned requests (loopback --host only)"
    )
    parser.add_argument(*LIMITS.flags, **LIMITS.kwargs)
    add_options(parser, SERVE)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return serve(args)
    except BadInput as error:
        for line in error.lines:
            print(terminal_safe(line), file=sys.stderr)
        return EXIT_BAD_INPUT


def serve(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as error:
        raise BadInput([f"--config: {line}" for line in error.lines]) from None
    for name in config.secret_variables:  # read: no process this server starts (tests, model servers) inherits it
        os.environ.pop(name, None)
    if args.insecure_no_auth and not is_loopback(args.host):
        raise BadInput([f"--insecure-no-auth: only on a loopback --host (not {args.host}): anyone could start load"])
    if not args.insecure_no_auth and not config.access_keys:
        raise BadInput(["--config: no AccessKeys: every request must be signed by one (or pass --insecure-no-auth)"])
    settings = settings_from(args, SERVE)
    try:
        load_prices(Path(settings.prices) if settings.prices else None)
    except PriceFileError as error:
        raise BadInput([str(error)]) from None
    data_dir = Path(args.data_dir).resolve()
    lock = _claim(data_dir)
    store = JobStore(data_dir)
    jobs = JobManager(config, store, data_dir, settings, say_on_stdout)
    jobs.recover()
    keys = None if args.insecure_no_auth else config.access_keys
    app = create_app(jobs, keys, time.time)
    server = _Server(
        (args.host, args.port), app, log=None, spawn=gevent.pool.Pool(MAX_CONNECTIONS), handler_class=_Handler
    )
    try:
        server.start()
    except OSError as error:
        raise BadInput(
            [f"--host/--port: cannot listen on {authority(args.host, args.port)} ({error.strerror or error})"]
        ) from None
    try:
        with stop_signals() as stopping:
            where = authority(args.host, server.server_port)
            print(f"loadrec serve: listening on http://{where}/ (data in {data_dir})", flush=True)
            stopping.wait()
            if jobs.runners:
                say_on_stdout("stopping the running jobs: their tests write what they measured")
            jobs.close()
    finally:
        server.stop(timeout=CLOSE_TIMEOUT_S)
        store.close()
        lock.close()
    return EXIT_OK


class _Server(WSGIServer):
    """Serves at most MAX_CONNECTIONS_PER_CLIENT connections of one address at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_by_client: collections.Counter[str] = collections.Counter()

    def handle(self, sock: socket.socket, address: Any) -> None:
        client = str(address[0]) if isinstance(address, tuple) and address else ""
        if self.open_by_client[client] >= MAX_CONNECTIONS_PER_CLIENT:
            sock.close()  # refused before a byte is read: the slot is free again at once
            return
        self.open_by_client[client] += 1
        try:
            super().handle(sock, address)
        finally:
            self.open_by_client[client] -= 1
            if not self.open_by_client[client]:
                del self.open_by_client[client]


LINGER_S = 2.0  # how long a refused request's rest is read, and at most how much, before the connection closes
LINGER_BYTES = 64 * 1024 * 1024


class _Handler(WSGIHandler):
    """A connection that sends nothing for READ_TIMEOUT_S is closed, and one whose request and answer take
    longer than REQUEST_DEADLINE_S (a slow client holds no slot for long, however it trickles)."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        sock.settimeout(READ_TIMEOUT_S)
        super().__init__(sock, *args, **kwargs)

    def handle_one_request(self) -> Any:
        deadline = gevent.Timeout(REQUEST_DEADLINE_S)
        deadline.start()
        try:
            return super().handle_one_request()
        except gevent.Timeout as late:
            if late is not deadline:
                raise
            return None  # the connection is closed, nothing answered: the client took too long
        finally:
            deadline.close()

    def run_application(self) -> None:
        super().run_application()
        if self.environ.get(UNREAD_BODY):
            # gevent would read a refused body to its end to keep the connection (an endless chunked one
            # for the whole deadline): the connection is closed instead, the rest never read.
            self.close_connection = True
            self.wsgi_input.chunked_input, self.wsgi_input.content_length = False, 0
            _linger(self.socket)


def _linger(sock: socket.socket) -> None:
    """Close a connection whose request was not read to its end, so that its answer still arrives: closed at
    once, the unread bytes would make the kernel reset it, dropping the answer not yet sent. So the answer is
    sent and the write side shut (FIN), and what the client still sends is read and dropped, for a moment."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        with gevent.Timeout(LINGER_S, False):
            drained = 0
            while drained < LINGER_BYTES and (data := sock.recv(64 * 1024)):
                drained += len(data)


def _claim(data_dir: Path) -> IO[str]:
    """The data directory, for this server alone (a second one on it would mix up the jobs)."""
    try:
        (data_dir / "jobs").mkdir(parents=True, exist_ok=True)
        return claim(data_dir / LOCK)
    except Held:
        raise BadInput([f"--data-dir: {data_dir}: in use by another loadrec serve"]) from None
    except OSError as error:
        raise BadInput([f"--data-dir: {data_dir}: cannot write here ({error.strerror or error})"]) from None


if __name__ == "__main__":
    sys.exit(main())
