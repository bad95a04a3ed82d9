"""One load test: a target, its payloads, the shape and the monitor on Locust's runners.

``prepare_test`` does everything that can fail on bad input (target, credentials,
payloads) before any load is sent. ``run_test`` then runs the traffic pattern either
in this process (Locust's LocalRunner) or on Locust's master, with N local worker
processes or N workers started elsewhere (:mod:`engine.distributed`), with identical
results: every process records per-second histograms and the master merges them.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gevent
from locust.env import Environment
from locust.event import Events
from locust.runners import MasterRunner, Runner

from engine.distributed import (
    WORKER_REPORT_INTERVAL_S,
    Assignment,
    SetupFailed,
    assign,
    attach_recorder,
    base_dir_of,
    collect_from_workers,
    wait_for_workers,
)
from engine.extension import Target
from engine.invocation import Invocation, TargetError, prepare
from engine.jobspec import JobSpec
from engine.metrics import SecondRecorder, Timeline
from engine.monitor import MonitorSettings
from engine.monitor_greenlet import LiveMonitor
from engine.users import make_user_class
from payloads import Payload, PayloadError, open_source
from shapes.locust_shapes import shape_class_for


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
    processes: int = 0  # N > 0: Locust master + N local worker processes
    expect_workers: int = 0  # N > 0: Locust master waiting for N workers started elsewhere
    master_bind_host: str = "127.0.0.1"
    master_bind_port: int = 0  # 0: any free port (local worker processes are told which)
    worker_timeout_s: float = 120.0  # how long the master waits for workers to connect and confirm
    job_path: str | None = None
    limits: str = "aws"
    payloads_override: str | None = None

    @property
    def distributed(self) -> bool:
        return self.processes > 0 or self.expect_workers > 0


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
    shape = shape_class_for(spec.traffic.kind)(schedule)
    environment = Environment(user_classes=[user_class], shape_class=shape, events=Events())
    local_workers: list[subprocess.Popen[bytes]] = []
    recorder: SecondRecorder | None = None
    workers = 0
    runner: Runner
    if settings.distributed:
        runner = environment.create_master_runner(
            master_bind_host=settings.master_bind_host, master_bind_port=settings.master_bind_port or _free_port()
        )
    else:
        runner = environment.create_local_runner()
        recorder = SecondRecorder()
        attach_recorder(environment, recorder)
    try:
        if isinstance(runner, MasterRunner):
            local_workers = _start_local_workers(runner, settings.processes)
            expected = settings.processes or settings.expect_workers
            try:
                wait_for_workers(runner, expected, settings.worker_timeout_s, lambda: _alive(local_workers))
                assignment = Assignment(
                    spec.request_with_extension,
                    settings.limits,
                    test.index,
                    settings.seed,
                    settings.payloads_override,
                    base_dir_of(settings.job_path),
                )
                workers = assign(runner, assignment, settings.worker_timeout_s)
            except SetupFailed as error:
                raise SetupError(str(error)) from None
        _wait_for_whole_second()
        timeline = Timeline(time.time())
        if isinstance(runner, MasterRunner):
            collect_from_workers(environment, runner, timeline.add)
        lag_s = int(WORKER_REPORT_INTERVAL_S) + 1 if settings.distributed else 0
        monitor = LiveMonitor(runner, timeline, schedule, spec.stopping, settings.monitor, recorder, lag_s, progress)
        record = TestRecord(test.index, test.label, timeline, monitor, timeline.start_epoch, workers=workers)
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
        _stop_local_workers(local_workers)


def _wait_for_whole_second() -> None:
    """Start on a whole second, so timeline seconds and schedule seconds coincide."""
    gevent.sleep(1.0 - (time.time() % 1.0))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_local_workers(runner: MasterRunner, count: int) -> list[subprocess.Popen[bytes]]:
    port = str(runner.master_bind_port)
    command = [sys.executable, "-m", "engine.worker", "--master-host", "127.0.0.1", "--master-port", port]
    return [subprocess.Popen(command) for _ in range(count)]


def _alive(processes: list[subprocess.Popen[bytes]]) -> bool:
    return all(process.poll() is None for process in processes)


def _stop_local_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
