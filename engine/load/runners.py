"""The Locust runner of a headless test: a LocalRunner, or a master with its workers.

With ``--processes N`` the master starts N local worker processes (each watching the
test's process, so none outlives it); with ``--master`` it waits for workers started
elsewhere. Either way every worker is sent the test and must confirm it before any load.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from locust.env import Environment
from locust.event import Events
from locust.runners import MasterRunner, Runner

from loadrec.engine.job.spec import JobSpec
from loadrec.engine.job.targets import target_entry
from loadrec.engine.load.distributed import Assignment, SetupFailed, assign, wait_for_workers
from loadrec.engine.load.open_loop import open_load
from loadrec.engine.load.prepare import PreparedTest, SetupError
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.load.users import make_user_class
from loadrec.engine.process.ports import free_port
from loadrec.shapes.locust_shapes import shape_class_for

WORKER_MODULE = "loadrec.engine.load.worker"


@dataclass
class LoadTestRunner:
    """A test's Locust environment and runner, and the local worker processes it started."""

    environment: Environment
    runner: Runner
    local_workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def connect_workers(
        self, spec: JobSpec, test: PreparedTest, settings: RunSettings, base_dir: Path, wanted: Callable[[], bool]
    ) -> int:
        """On a master: wait for the workers, send them the test, wait for each to confirm; returns how many.

        ``wanted`` says whether the test is still wanted: a stop ends the wait."""
        assert isinstance(self.runner, MasterRunner)
        expected = settings.processes or (settings.master.expect_workers if settings.master else 0)
        try:
            wait_for_workers(
                self.runner, expected, settings.worker_timeout_s, lambda: self._workers_alive() and wanted()
            )
            created = (
                target_entry(test.target) if test.target is not None and spec.target_of(test.index) is None else None
            )
            assignment = Assignment(spec.request_with_extension, settings, test.index, str(base_dir), created)
            return assign(self.runner, assignment, settings.worker_timeout_s)
        except SetupFailed as error:
            raise SetupError(str(error)) from None

    def close(self) -> None:
        self.runner.quit()
        for worker in self.local_workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in self.local_workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    def _workers_alive(self) -> bool:
        return all(worker.poll() is None for worker in self.local_workers)


def create_runner(spec: JobSpec, test: PreparedTest, settings: RunSettings) -> LoadTestRunner:
    assert test.invocation is not None, "a test's endpoint is created before its runner"
    rate = open_load(spec.extension.request_rate, settings.seed)
    records = settings.records > 0
    user_class = make_user_class(
        test.invocation, test.payloads, settings.seed, rate, spec.extension.slo, records, test.count_tokens
    )
    shape = shape_class_for(spec.traffic.kind)(spec.schedule, search=spec.new_search())
    environment = Environment(user_classes=[user_class], shape_class=shape, events=Events())
    if not settings.distributed:
        return LoadTestRunner(environment, environment.create_local_runner())
    master = settings.master
    host = master.bind_host if master else "127.0.0.1"
    port = master.bind_port if master else free_port()
    runner = environment.create_master_runner(master_bind_host=host, master_bind_port=port)
    command = [sys.executable, "-P", "-m", WORKER_MODULE, "--master-host", "127.0.0.1", "--master-port", str(port)]
    command.append("--exit-with-parent")
    workers = [subprocess.Popen(command) for _ in range(settings.processes)]
    return LoadTestRunner(environment, runner, workers)
