"""How a front end starts a run of a job, and what it needs of the job's runner: run the job (every test in
its own process) and stop it.

``start_job`` is the one way the CLI, the web UI and the API start a run: the run's manifest
(a new run id), then the runner. :class:`~loadrec.engine.running.orchestrator.JobRunner` is
the runner loadrec uses; the web UI and the API take a factory of runners, so their tests
can pass one of their own (one that ends at once, or waits on a gate). Each front end
claims the results folder itself first: that is where they differ (``--out`` and
``--overwrite``, a folder per START, a folder per API job).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from loadrec.engine.job.problems import Say
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.load.prepare import PreparedTest
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.results.files import ResultsFolder
from loadrec.engine.results.model import JobResults
from loadrec.engine.running.manifest import RunManifest, new_manifest
from loadrec.engine.running.orchestrator import JobRunner


class Runner(Protocol):
    """What the web UI's console and the API's jobs need of a job runner (:class:`JobRunner`; tests pass their own)."""

    interrupted: bool
    write_error: str | None

    def run(self, handle_signals: bool = True) -> JobResults: ...

    def stop(self) -> None: ...


RunnerFactory = Callable[[JobSpec, list[PreparedTest], ResultsFolder, RunManifest, Say, Callable[[], float]], Runner]


def start_job(
    spec: JobSpec,
    tests: list[PreparedTest],
    settings: RunSettings,
    job_dir: Path,
    folder: ResultsFolder,
    progress: Say,
    clock: Callable[[], float] = time.time,
    *,
    created: float | None = None,
    job_arn: str | None = None,
    factory: RunnerFactory = JobRunner,
) -> Runner:
    """A run of ``spec`` into ``folder`` (claimed by the caller), ready to run: its manifest (a new run id;
    ``created`` None: now; a job of ``loadrec serve`` has its ARN) and the runner ``factory`` makes of it."""
    manifest = new_manifest(spec, job_dir, settings, clock() if created is None else created)
    if job_arn is not None:
        manifest = replace(manifest, job_arn=job_arn)
    return factory(spec, tests, folder, manifest, progress, clock)
