"""A Locust worker process for loadrec: ``python -m engine.worker --master-host H JOB …``.

It reads the job itself, loads the payloads itself, runs the users the master asks
for, and ships its per-second histograms to the master: every report interval on
Locust's own worker report, and its last seconds in one message when its users stop.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import locust.runners
from locust.env import Environment
from locust.event import Events

from engine.jobfile import JobFileError, load_job
from engine.jobspec import JobSpecError
from engine.limits import LimitsMode
from engine.loadtest import (
    REPORT_KEY,
    SECONDS_MESSAGE,
    WORKER_REPORT_INTERVAL_S,
    SetupError,
    attach_recorder,
    load_payloads,
    prepare_test,
)
from engine.metrics import SecondRecorder
from engine.users import make_user_class


def run_worker(
    master_host: str, master_port: int, job_path: str, limits: str, index: int, seed: int | None, payloads: str | None
) -> int:
    spec = load_job(job_path, LimitsMode(limits))
    test = prepare_test(spec, index, load_payloads(spec, Path(job_path).resolve().parent, payloads))
    user_class = make_user_class(test.invocation, test.payloads, seed, spec.extension.request_timeout_s)
    locust.runners.WORKER_REPORT_INTERVAL = WORKER_REPORT_INTERVAL_S
    environment = Environment(user_classes=[user_class], events=Events())
    recorder = SecondRecorder()
    attach_recorder(environment, recorder)
    runner = environment.create_worker_runner(master_host, master_port)

    def on_report(client_id: str, data: dict[str, Any]) -> None:
        data[REPORT_KEY] = [s.to_wire() for s in recorder.take_completed()]

    def on_stop(**_: Any) -> None:
        runner.send_message(SECONDS_MESSAGE, {"seconds": [s.to_wire() for s in recorder.take_all()]})

    environment.events.report_to_master.add_listener(on_report)
    environment.events.test_stop.add_listener(on_stop)
    runner.greenlet.join()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadrec worker", description="A loadrec load worker (Locust worker).")
    parser.add_argument("job", metavar="JOB")
    parser.add_argument("--master-host", default="127.0.0.1")
    parser.add_argument("--master-port", type=int, default=5557)
    parser.add_argument("--limits", choices=[m.value for m in LimitsMode], default=LimitsMode.AWS.value)
    parser.add_argument("--test-index", type=int, default=0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--payloads", default=None)
    args = parser.parse_args(argv)
    try:
        return run_worker(
            args.master_host, args.master_port, args.job, args.limits, args.test_index, args.seed, args.payloads
        )
    except (JobFileError, SetupError) as error:
        print(error, file=sys.stderr)
        return 2
    except JobSpecError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
