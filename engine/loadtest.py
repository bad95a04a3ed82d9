"""One load test: a target, its payloads, the shape and the monitor on Locust's runners.

``prepare_test`` does everything that can fail on bad input (target, credentials,
payloads) before any load is sent. ``run_test`` then runs the traffic pattern either
in this process (Locust's LocalRunner) or on Locust's master with N local worker
processes, with identical results: every process records per-second histograms and
the master merges them (see :mod:`engine.metrics`).
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment
from locust.event import Events
from locust.runners import Runner

from engine.extension import Target
from engine.invocation import Invocation, TargetError, prepare
from engine.jobspec import JobSpec
from engine.metrics import SecondRecorder, Timeline
from engine.monitor import MonitorSettings
from engine.monitor_greenlet import LiveMonitor
from engine.users import answer_sample, error_kind, make_user_class
from payloads import Payload, PayloadError, open_source
from shapes.locust_shapes import shape_class_for

logger = logging.getLogger(__name__)

WORKER_REPORT_INTERVAL_S = 1.0  # Locust's default is 3 s; the monitor wants fresher data
WORKER_CONNECT_TIMEOUT_S = 60.0
SECONDS_MESSAGE = "loadrec_seconds"  # a worker's last seconds, sent when its users stop
REPORT_KEY = "loadrec_seconds"  # the same, piggybacked on Locust's periodic worker report


class SetupError(Exception):
    """The test cannot start (bad target, credentials, payloads); nothing was sent."""


@dataclass(frozen=True)
class PreparedTest:
    index: int
    label: str
    target: Target
    invocation: Invocation
    payloads: tuple[Payload, ...]


@dataclass(frozen=True)
class RunSettings:
    monitor: MonitorSettings = field(default_factory=MonitorSettings)
    seed: int | None = None
    processes: int = 0  # 0: in this process; N: Locust master + N local worker processes
    job_path: str | None = None  # workers re-read the job from here
    limits: str = "aws"
    payloads_override: str | None = None


@dataclass
class TestRecord:
    """What one test measured; results are computed from it."""

    index: int
    label: str
    timeline: Timeline
    monitor: LiveMonitor
    start_epoch: float
    end_epoch: float = 0.0
    workers: int = 0


def payload_url(spec: JobSpec, override: str | None) -> str:
    url = override or spec.extension.sample_payload_url or spec.payload.sample_payload_url
    if not url:
        raise SetupError(
            "no sample payloads: set InputConfig.ContainerConfig.PayloadConfig.SamplePayloadUrl, "
            "Loadrec.SamplePayloadUrl or --payloads"
        )
    return url


def load_payloads(spec: JobSpec, base_dir: Path, override: str | None = None) -> tuple[Payload, ...]:
    content_type = spec.payload.content_types[0] if spec.payload.content_types else None
    try:
        source = open_source(
            payload_url(spec, override),
            content_type=content_type,
            base_dir=base_dir,
            s3_endpoint_url=spec.extension.s3_endpoint_url,
        )
        return source.load()
    except PayloadError as error:
        raise SetupError(str(error)) from None


def prepare_test(spec: JobSpec, index: int, payloads: tuple[Payload, ...]) -> PreparedTest:
    targets = spec.extension.targets
    if index >= len(targets):
        raise SetupError(
            f"Loadrec.Targets[{index}]: no target for this endpoint configuration "
            "(add a SageMaker or Http target for each one, in order)"
        )
    target = targets[index]
    try:
        invocation = prepare(target)
    except TargetError as error:
        raise SetupError(f"Loadrec.Targets[{index}]: {error}") from None
    label = spec.endpoint_configurations[index].label if spec.endpoint_configurations else target.label
    return PreparedTest(index, label, target, invocation, payloads)


def attach_recorder(environment: Environment, recorder: SecondRecorder) -> None:
    """Record every request Locust reports in this process."""

    def on_request(
        response_time: float, response: Any = None, exception: BaseException | None = None, **_: Any
    ) -> None:
        if exception is None:
            recorder.record_success(response_time * 1000.0)  # Locust reports ms; histograms hold µs
        else:
            recorder.record_failure(error_kind(response, exception), answer_sample(response))

    environment.events.request.add_listener(on_request)


def run_test(
    spec: JobSpec,
    test: PreparedTest,
    settings: RunSettings,
    progress: Callable[[str], None],
    on_runner: Callable[[Runner, LiveMonitor], None] | None = None,
) -> TestRecord:
    """Run one test to its end; ``on_runner`` lets the caller stop it (signals, UI)."""
    user_class = make_user_class(test.invocation, test.payloads, settings.seed, spec.extension.request_timeout_s)
    schedule = spec.schedule
    environment = Environment(
        user_classes=[user_class], shape_class=shape_class_for(spec.traffic.kind)(schedule), events=Events()
    )
    workers: list[subprocess.Popen[bytes]] = []
    recorder: SecondRecorder | None = None
    if settings.processes > 0:
        runner, workers = _start_master(environment, test, settings)
        lag_s = int(WORKER_REPORT_INTERVAL_S) + 1
    else:
        runner = environment.create_local_runner()
        recorder = SecondRecorder()
        attach_recorder(environment, recorder)
        lag_s = 0
    try:
        _wait_for_whole_second()
        timeline = Timeline(time.time())
        if settings.processes > 0:
            _collect_from_workers(environment, runner, timeline)
        monitor = LiveMonitor(runner, timeline, schedule, spec.stopping, settings.monitor, recorder, lag_s, progress)
        record = TestRecord(test.index, test.label, timeline, monitor, timeline.start_epoch, workers=len(workers))
        if on_runner is not None:
            on_runner(runner, monitor)
        runner.start_shape()
        monitor.run()
        record.end_epoch = time.time()
        if recorder is not None:
            timeline.add(s.to_wire() for s in recorder.take_all())
        return record
    finally:
        runner.quit()
        _stop_workers(workers)


def _wait_for_whole_second() -> None:
    """Start on a whole second, so timeline seconds and schedule seconds coincide."""
    gevent.sleep(1.0 - (time.time() % 1.0))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_master(
    environment: Environment, test: PreparedTest, settings: RunSettings
) -> tuple[Runner, list[subprocess.Popen[bytes]]]:
    if settings.job_path is None:
        raise SetupError("--processes needs the job file (workers read it themselves)")
    port = _free_port()
    runner = environment.create_master_runner(master_bind_host="127.0.0.1", master_bind_port=port)
    command = [sys.executable, "-m", "engine.worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    command += [settings.job_path, "--limits", settings.limits, "--test-index", str(test.index)]
    if settings.seed is not None:
        command += ["--seed", str(settings.seed)]
    if settings.payloads_override:
        command += ["--payloads", settings.payloads_override]
    workers = [subprocess.Popen(command) for _ in range(settings.processes)]
    deadline = time.monotonic() + WORKER_CONNECT_TIMEOUT_S
    while len(runner.clients.ready) < settings.processes:
        dead = [w for w in workers if w.poll() is not None]
        if dead or time.monotonic() > deadline:
            runner.quit()
            _stop_workers(workers)
            raise SetupError(f"{len(runner.clients.ready)} of {settings.processes} worker processes connected")
        gevent.sleep(0.1)
    return runner, workers


def _collect_from_workers(environment: Environment, runner: Runner, timeline: Timeline) -> None:
    def on_report(client_id: str, data: dict[str, Any]) -> None:
        timeline.add(data.get(REPORT_KEY, []))

    environment.events.worker_report.add_listener(on_report)
    runner.register_message(SECONDS_MESSAGE, lambda message, **_: timeline.add(message.data["seconds"]))


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
