"""``loadrec worker --master-host H``: a load worker for master runs, on this or another machine.

It needs only the master's address: the job comes from the master before each test
(:mod:`engine.distributed`), and the worker loads the payloads itself. It keeps serving
test after test until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import gevent

from engine.distributed import Assignment, WorkerAgent
from engine.jobspec import parse_job
from engine.limits import LimitsMode
from engine.loadtest import load_payloads, prepare_test
from engine.users import InvocationUser

DEFAULT_MASTER_PORT = 5557


def take_assignment(assignment: Assignment, user_class: type[InvocationUser]) -> None:
    """Validate the job, load payloads, bind the users to the target (raises with the reason)."""
    spec = parse_job(assignment.request, LimitsMode(assignment.limits))
    payloads = load_payloads(spec, Path(assignment.base_dir), assignment.payloads)
    test = prepare_test(spec, assignment.index, payloads)
    user_class.configure(test.invocation, test.payloads, assignment.seed, spec.extension.request_timeout_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadrec worker", description="A loadrec load worker (a Locust worker).")
    parser.add_argument("--master-host", default="127.0.0.1", help="the master's address (default 127.0.0.1)")
    parser.add_argument("--master-port", type=int, default=DEFAULT_MASTER_PORT, help="default 5557")
    args = parser.parse_args(argv)
    agent = WorkerAgent(args.master_host, args.master_port, take_assignment)
    handlers = [gevent.signal_handler(sig, agent.stop) for sig in (signal.SIGINT, signal.SIGTERM)]
    try:
        agent.serve_forever()
    finally:
        for handler in handlers:
            handler.cancel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
