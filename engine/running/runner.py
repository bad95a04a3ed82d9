"""What a front end needs of a job runner: run the job (every test in its own process) and stop it.

:class:`~loadrec.engine.running.orchestrator.JobRunner` is the one loadrec uses; the web
UI and the API take a factory of runners, so their tests can pass one of their own (one
that ends at once, or waits on a gate).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from loadrec.engine.job.spec import JobSpec
from loadrec.engine.load.prepare import PreparedTest
from loadrec.engine.results.files import ResultsFolder
from loadrec.engine.results.model import JobResults
from loadrec.engine.running.manifest import RunManifest


class Runner(Protocol):
    """What the web UI's console and the API's jobs need of a job runner (:class:`JobRunner`; tests pass their own)."""

    interrupted: bool
    write_error: str | None

    def run(self, handle_signals: bool = True) -> JobResults: ...

    def stop(self) -> None: ...


RunnerFactory = Callable[
    [JobSpec, list[PreparedTest], ResultsFolder, RunManifest, Callable[[str], None], Callable[[], float]], Runner
]
