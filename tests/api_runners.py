"""In-memory job runners for the API server's unit tests: what JobManager runs instead of a job's tests.

``GatedRunner`` runs until a test lets it finish (or stops it); ``InstantRunner`` ends
COMPLETED at once. Neither sends any load.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gevent.event

from loadrec.engine.job.spec import JobSpec
from loadrec.engine.load.prepare import PreparedTest
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
