"""The API server's job manager for unit tests, over a folder, with an in-memory runner instead of a job's tests.

``GatedRunner`` runs until a test lets it finish (or stops it); ``InstantRunner`` ends
COMPLETED at once. Neither sends any load. ``job_manager`` has a payload root (with one
payload folder, ``payload_rows``) and an endpoint named "staging".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gevent.event

from loadrec.engine.api.config import ServerConfig
from loadrec.engine.api.jobs import JobManager
from loadrec.engine.api.store import JobStore
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.load.prepare import PreparedTest
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.measurement.outcome import Status
from loadrec.engine.measurement.ranking import Weights
from loadrec.engine.results.files import ResultsFolder
from loadrec.engine.results.model import Benchmark, JobResults, job_results
from loadrec.engine.running.manifest import RunManifest


class GatedRunner:
    """Runs until told to finish (``finish``) or stopped; COMPLETED unless stopped."""

    made: ClassVar[list[GatedRunner]] = []

    def __init__(self, spec: JobSpec, tests: list[PreparedTest], folder: ResultsFolder, manifest: RunManifest,
                 progress: Any, clock: Any) -> None:  # fmt: skip
        self.spec, self.manifest, self.clock = spec, manifest, clock
        self.interrupted = False
        self.write_error: str | None = None
        self.gate = gevent.event.Event()
        GatedRunner.made.append(self)

    def run(self, handle_signals: bool = True) -> JobResults:
        assert handle_signals is False  # the server handles Ctrl-C and SIGTERM itself
        self.gate.wait()
        status = Status.STOPPED if self.interrupted else Status.COMPLETED
        benchmark = Benchmark(0, "ml.c5.large", status)
        times = (self.manifest.created, self.clock())
        return job_results(self.spec, self.manifest.run_id, [benchmark], times, Weights(), interrupted=self.interrupted)

    def stop(self) -> None:
        self.interrupted = True
        self.gate.set()

    def finish(self) -> None:
        self.gate.set()


class InstantRunner(GatedRunner):
    """A runner whose tests end COMPLETED at once."""

    def __init__(self, spec: JobSpec, tests: list[PreparedTest], folder: ResultsFolder, manifest: RunManifest,
                 progress: Any, clock: Any) -> None:  # fmt: skip
        super().__init__(spec, tests, folder, manifest, progress, clock)
        self.finish()


def payload_rows(root: Path) -> Path:
    """``root/payloads/rows``, a payload folder of one CSV row under the manager's payload root."""
    folder = root / "payloads" / "rows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "row.csv").write_text("1,2,3\n")
    return folder


def job_manager(
    root: Path, runner: type[GatedRunner], clock: Callable[[], float], progress: Callable[[str], None]
) -> JobManager:
    """A manager of at most 2 jobs at once keeping its data in ``root/data``, relaxed limits."""
    config = ServerConfig(
        max_concurrent_jobs=2,
        payload_roots=((root / "payloads").resolve(),),
        endpoints={"staging": {"Http": {"Url": "http://127.0.0.1:9/invocations"}}},
    )
    data = root / "data"
    (data / "jobs").mkdir(parents=True)
    return JobManager(config, JobStore(data), data, RunSettings(limits=LimitsMode.RELAXED), progress, clock, runner)
