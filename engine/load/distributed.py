"""Master and workers: how a test reaches Locust workers and how their measurements come back.

Workers need nothing but the master's address (``loadrec worker --master-host H``).
Before each test the master sends every worker the job (the request with its Loadrec
key, the limits mode, which test, the seed); each worker validates it, loads the
payloads itself, binds its user class to the target and answers ready. A worker that
cannot (a payload it cannot read, no credentials) answers with the reason, and the
test does not start.

Measurements travel as per-second histograms (:mod:`loadrec.engine.measurement.metrics`): piggybacked on
Locust's own worker report every second, and the last seconds in one message when the
worker's users stop. A worker outlives its master: when a test's master quits, the
worker connects again and waits for the next one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import gevent
import locust.runners
from locust.env import Environment
from locust.event import Events
from locust.runners import STATE_INIT, STATE_STOPPED, MasterRunner, Runner, WorkerRunner

from loadrec.engine.load.health_probe import HealthProbe, held_by
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.load.users import (
    DELAY_CONTEXT,
    FIRST_CONTEXT,
    GOOD_CONTEXT,
    RECORD_CONTEXT,
    SCHEDULED_CONTEXT,
    STREAM_CONTEXT,
    InvocationUser,
    failure_of,
    make_user_class,
    unmeasured_arrivals,
)
from loadrec.engine.measurement.recording import SecondRecorder, check_wire

logger = logging.getLogger(__name__)

JOB_MESSAGE = "loadrec_job"  # master → worker: the test to run
READY_MESSAGE = "loadrec_ready"  # worker → master: {"ok": bool, "reason": str}
SECONDS_MESSAGE = "loadrec_seconds"  # worker → master: its last seconds, when its users stop
REPORT_KEY = "loadrec_seconds"  # the same, on Locust's periodic worker report
RECORDS_KEY = "loadrec_records"  # and, with --records, the requests' records since the last report
WORKER_REPORT_INTERVAL_S = 1.0  # Locust's default is 3 s; the monitor wants fresher data
RECONNECT_PAUSE_S = 1.0


@dataclass(frozen=True)
class Assignment:
    """What a worker needs to run its share of one test."""

    request: dict[str, Any]  # the whole job request, Loadrec key included
    settings: RunSettings
    index: int
    base_dir: str  # relative payload paths resolve here (the job file's folder on the master)
    target: dict[str, Any] | None = None  # an endpoint created for this test (a Loadrec.Targets entry)
    processes: int = 1  # the workers the test is sent to (a request-rate test splits its cap over them)
    process: int = 0  # and which of them this one is

    def to_message(self) -> dict[str, Any]:
        return {**asdict(self), "settings": self.settings.to_dict()}

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> Assignment:
        return cls(**{**data, "settings": RunSettings.from_dict(data["settings"])})


class SetupFailed(Exception):
    """A worker could not take the test; the message names the worker and the reason."""


def attach_recorder(environment: Environment, recorder: SecondRecorder) -> None:
    """Record every request Locust reports in this process, and the process's health while its load runs."""

    def on_request(
        response_time: float,
        response: Any = None,
        exception: BaseException | None = None,
        context: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        context = context or {}
        delay, scheduled = context.get(DELAY_CONTEXT), bool(context.get(SCHEDULED_CONTEXT))
        if RECORD_CONTEXT in context:
            recorder.record_request(context[RECORD_CONTEXT])
        if exception is None:  # Locust reports ms; histograms hold µs
            recorder.record_success(
                response_time * 1000.0,
                context.get(STREAM_CONTEXT),
                delay,
                first=bool(context.get(FIRST_CONTEXT)),
                scheduled=scheduled,
                good=context.get(GOOD_CONTEXT),
            )
        else:
            recorder.record_failure(*failure_of(exception), delay, scheduled)

    environment.events.request.add_listener(on_request)
    unmeasured_arrivals(environment.events).add_listener(recorder.record_unmeasured)
    probe = HealthProbe(recorder)
    environment.events.test_start.add_listener(lambda **_: probe.start())
    environment.events.test_stop.add_listener(lambda **_: probe.stop())


def ship_seconds(environment: Environment, runner: WorkerRunner, recorder: SecondRecorder) -> None:
    """On a worker: send finished seconds with each report, and the rest when the users stop."""

    def on_report(client_id: str, data: dict[str, Any]) -> None:
        with held_by(recorder):
            data[REPORT_KEY] = [s.to_wire() for s in recorder.take_completed()]
            if records := recorder.take_records():
                data[RECORDS_KEY] = records

    def on_stop(**_: Any) -> None:
        seconds = [s.to_wire() for s in recorder.take_all()]
        runner.send_message(SECONDS_MESSAGE, {"seconds": seconds, "records": recorder.take_records()})

    environment.events.report_to_master.add_listener(on_report)
    environment.events.test_stop.add_listener(on_stop)


def collect_from_workers(
    environment: Environment,
    runner: Runner,
    sink: Callable[[list[dict[str, Any]]], None],
    records: Callable[[Any], None] = lambda _: None,
) -> None:
    """On the master: hand every worker's seconds to ``sink`` (a timeline's ``add``), its records to ``records``."""

    def on_report(client_id: str, data: dict[str, Any]) -> None:
        sink(data.get(REPORT_KEY, []))
        if RECORDS_KEY in data:
            records(data[RECORDS_KEY])

    def on_seconds(msg: Any, **_: Any) -> None:
        sink(msg.data["seconds"])
        records(msg.data.get("records", []))

    environment.events.worker_report.add_listener(on_report)
    runner.register_message(SECONDS_MESSAGE, on_seconds)


def checked(seconds: Any, start_epoch: int) -> tuple[list[dict[str, Any]], int]:
    """A worker's seconds from ``start_epoch`` on, each checked as a seconds file's lines are, and how many
    were damaged (dropped: a worker's bad record must not become a master's traceback later)."""
    kept, damaged = [], 0
    for record in seconds if isinstance(seconds, list) else [seconds]:
        if isinstance(record, dict) and isinstance(record.get("s"), int) and record["s"] < start_epoch:
            continue  # from before this test started (a worker's previous test)
        try:
            if not isinstance(record, dict) or "s" not in record:
                raise TypeError("not a second's stats")
            check_wire(record, start_epoch)
        except (KeyError, TypeError, ValueError):
            damaged += 1
            continue
        kept.append(record)
    return kept, damaged


def assign(runner: MasterRunner, assignment: Assignment, timeout_s: float) -> int:
    """Send the test to every connected worker and wait until each is ready; returns how many."""
    answers: dict[str, dict[str, Any]] = {}
    runner.register_message(READY_MESSAGE, lambda msg, **_: answers.__setitem__(msg.node_id, msg.data))
    workers = [client.id for client in runner.clients.ready]
    for number, worker in enumerate(workers):
        share = replace(assignment, processes=len(workers), process=number)
        runner.send_message(JOB_MESSAGE, share.to_message(), client_id=worker)
    deadline = time.monotonic() + timeout_s
    while len(answers) < len(workers):
        if time.monotonic() > deadline:
            missing = sorted(set(workers) - set(answers))
            raise SetupFailed(f"worker(s) {', '.join(missing)} did not confirm the test within {timeout_s:.0f} s")
        gevent.sleep(0.05)
    refused = [f"worker {worker}: {answer['reason']}" for worker, answer in answers.items() if not answer["ok"]]
    if refused:
        raise SetupFailed("; ".join(refused))
    return len(workers)


def wait_for_workers(
    runner: MasterRunner, expected: int, timeout_s: float, alive: Callable[[], bool] = lambda: True
) -> None:
    deadline = time.monotonic() + timeout_s
    while len(runner.clients.ready) < expected:
        if time.monotonic() > deadline or not alive():
            raise SetupFailed(f"{len(runner.clients.ready)} of {expected} workers connected within {timeout_s:.0f} s")
        gevent.sleep(0.1)


class WorkerAgent:
    """A worker process: connects to the master, runs the tests it is sent, ships its seconds."""

    def __init__(
        self,
        master_host: str,
        master_port: int,
        setup: Callable[[Assignment, type[InvocationUser]], None],
        once: bool = False,
    ) -> None:
        self.master_host, self.master_port = master_host, master_port
        self.once = once  # a test process's own worker: its master quitting is its end, not a loss
        self.setup = setup  # binds the user class to an assignment; raises with a one-line reason
        self.user_class = make_user_class()
        self.stopping = False
        self.runner: WorkerRunner | None = None
        self.loop: gevent.Greenlet | None = None

    def serve_forever(self) -> None:
        """One Locust worker runner per master; reconnect when a master quits, until stopped."""
        locust.runners.WORKER_REPORT_INTERVAL = WORKER_REPORT_INTERVAL_S
        self.loop = gevent.spawn(self._serve)
        self.loop.join()

    def _serve(self) -> None:
        while not self.stopping:
            logger.info("waiting for the master at %s:%d", self.master_host, self.master_port)
            self.runner = self._connect()
            self.runner.greenlet.join()
            self.stopping = self.stopping or self.once
            if not self.stopping:
                logger.warning("lost the master (it quit or stopped answering); again in %g s", RECONNECT_PAUSE_S)
                gevent.sleep(RECONNECT_PAUSE_S)

    def _connect(self) -> WorkerRunner:
        environment = Environment(user_classes=[self.user_class], events=Events())
        recorder = SecondRecorder()
        attach_recorder(environment, recorder)
        runner = environment.create_worker_runner(self.master_host, self.master_port)

        def on_job(msg: Any, **_: Any) -> None:
            try:
                self.setup(Assignment.from_message(msg.data), self.user_class)
                answer = {"ok": True, "reason": ""}
                logger.info("connected to the master: took test %s", msg.data.get("index", "?"))
            except Exception as error:  # any reason this worker cannot run the test goes back to the master
                logger.error("cannot run the test: %s", error)
                answer = {"ok": False, "reason": str(error).splitlines()[0] if str(error) else type(error).__name__}
            runner.send_message(READY_MESSAGE, answer)

        runner.register_message(JOB_MESSAGE, on_job)
        ship_seconds(environment, runner, recorder)
        return runner

    def stop(self) -> None:
        """Stop serving: a running test's users stop and its last seconds are sent; an idle worker just ends."""
        self.stopping = True
        runner = self.runner
        if runner is not None and runner.worker_state not in (STATE_INIT, STATE_STOPPED):
            gevent.spawn(runner.quit)
        elif self.loop is not None:
            self.loop.kill(block=False)  # waiting for a master: nothing measured to keep
