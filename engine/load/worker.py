"""``loadrec worker --master-host H``: a load worker for master runs, on this or another machine.

It needs only the master's address: the job comes from the master before each test
(:mod:`loadrec.engine.load.distributed`), and the worker loads the payloads itself. It
keeps serving test after test until SIGTERM, Ctrl-C or SIGHUP, or, for the local workers of
``--processes N``, until the test process that started it is gone.
"""

from gevent import monkey

monkey.patch_all()  # a process entry point: before anything imports ssl

import argparse
import logging
import sys
from pathlib import Path

import gevent

from loadrec.engine.job.spec import parse_job
from loadrec.engine.job.targets import parse_target
from loadrec.engine.load.distributed import Assignment, WorkerAgent
from loadrec.engine.load.open_loop import open_load
from loadrec.engine.load.prepare import SetupError, load_payloads, prepare_test
from loadrec.engine.load.settings import DEFAULT_MASTER_PORT, host_address, port_number
from loadrec.engine.load.users import InvocationUser
from loadrec.engine.process.lifeline import STOP_SIGNALS, outlive_the_terminal, watch_parent


def take_assignment(assignment: Assignment, user_class: type[InvocationUser]) -> None:
    """Validate the job, load payloads, bind the users to the target (raises with the reason)."""
    settings = assignment.settings
    spec = parse_job(assignment.request, settings.limits)
    base_dir = Path(assignment.base_dir)
    payloads = load_payloads(spec, base_dir, settings.payloads)
    target = parse_target(assignment.target) if assignment.target is not None else None
    test = prepare_test(spec, assignment.index, payloads, base_dir, target)
    if test.invocation is None:
        raise SetupError(f"test {assignment.index}: its endpoint was not sent with the test")
    rate = open_load(spec.extension.request_rate, settings.seed, assignment.processes, assignment.process)
    user_class.configure(
        test.invocation, test.payloads, settings.seed, rate, spec.extension.slo, settings.records > 0,
        test.count_tokens,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadrec worker", description="A loadrec load worker (a Locust worker).")
    parser.add_argument("--master-host", type=host_address, default="127.0.0.1",
                        help="the master's address (default 127.0.0.1)")  # fmt: skip
    parser.add_argument("--master-port", type=port_number, default=DEFAULT_MASTER_PORT, help="default 5557")
    parser.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if argv is None:  # this process's own output: a closed terminal must not end the test
        outlive_the_terminal()
    # Its connection state in its log (docker compose logs worker): waiting, connected, lost the master.
    # (basicConfig does nothing where logging is set up already.)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    agent = WorkerAgent(args.master_host, args.master_port, take_assignment, once=args.exit_with_parent)
    handlers = [gevent.signal_handler(sig, agent.stop) for sig in STOP_SIGNALS]
    if args.exit_with_parent:
        watch_parent(lambda _: agent.stop())
    try:
        agent.serve_forever()
    finally:
        for handler in handlers:
            handler.cancel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
