"""The metrics endpoint's flags and server: ``--metrics-port PORT`` (0: any free port, announced) and
``--metrics-host`` (127.0.0.1 by default; 0.0.0.0 for a Prometheus in another container).

prometheus_client serves ``/metrics`` from its own small WSGI server on a thread (a greenlet, once gevent
has patched threading), beside the run; the page holds figures and configuration names only, never a
header, a key or a URL, so it has no login (bind it where only your Prometheus reaches it).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import start_http_server
from prometheus_client.registry import CollectorRegistry

from loadrec.engine.job.headers import authority
from loadrec.engine.job.problems import BadInput
from loadrec.engine.load.settings import host_address
from loadrec.engine.telemetry.prometheus import RunCollector


def add_metrics_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics-port", type=_port, metavar="PORT",
                        help="serve Prometheus metrics on PORT (/metrics; 0: any free port)")  # fmt: skip
    parser.add_argument("--metrics-host", type=host_address, default="127.0.0.1", metavar="HOST",
                        help="the metrics endpoint's address (default 127.0.0.1)")  # fmt: skip


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a port number (0 to 65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


@contextmanager
def metrics_served(args: argparse.Namespace, collector: RunCollector) -> Iterator[None]:
    """Serve ``collector`` while the block runs when ``--metrics-port`` is given, announcing where. Raises
    BadInput when the address cannot be bound (before any load is sent)."""
    if args.metrics_port is None:
        yield
        return
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    try:
        server, _ = start_http_server(args.metrics_port, addr=args.metrics_host, registry=registry)
    except OSError as error:
        where, why = authority(args.metrics_host, args.metrics_port), error.strerror or error
        raise BadInput([f"--metrics-host/--metrics-port: cannot listen on {where} ({why})"]) from None
    try:
        print(f"metrics on http://{authority(args.metrics_host, server.server_port)}/metrics", flush=True)
        yield
    finally:
        server.shutdown()
        server.server_close()
