"""A run's manifest (``run.json``) and the job's results as its folder stands.

The manifest is what a test's process needs to run its test (the job request with its
Loadrec key, the folder relative payload paths resolve against, the settings) and what
anyone needs to read the results later (the run's id and times, whether it ended and
how). ``load_results`` builds the typed ``JobResults`` from the manifest and each
test's own files: for a live run, an ended one, or one whose process was killed
(then the job is FAILED, saying so, and every measured second is kept).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from loadrec.engine.job.spec import JobSpec, parse_job
from loadrec.engine.load.invocation import configured_region
from loadrec.engine.load.settings import RunSettings, usable_cores
from loadrec.engine.measurement.metrics import Timeline, TimelineRow
from loadrec.engine.results.aws import job_arn
from loadrec.engine.results.files import RUN, ResultsFolder, ResultsFolderError
from loadrec.engine.results.model import Benchmark, JobResults, Status, ended_early, job_results


@dataclass(frozen=True)
class RunManifest:
    run_id: str
    request: dict[str, Any]  # the whole job request, Loadrec key included
    job_dir: str  # relative payload paths resolve here
    settings: RunSettings
    created: float
    pid: int  # the process running the job
    ended: float | None = None  # set when the run ends as it should (not when its process is killed)
    interrupted: bool = False  # a person stopped the job
    job_arn: str = ""  # fixed at the start, so describing the results later gives the same
    failure_reason: str | None = None  # set by whoever ran the job when it failed as a whole (a server shut down)

    def spec(self) -> JobSpec:
        return parse_job(self.request, self.settings.limits)

    def to_dict(self) -> dict[str, Any]:
        return {
            "RunId": self.run_id,
            "Request": self.request,
            "JobDir": self.job_dir,
            "Settings": self.settings.to_dict(),
            "Created": self.created,
            "Pid": self.pid,
            "Ended": self.ended,
            "Interrupted": self.interrupted,
            "JobArn": self.job_arn,
            "FailureReason": self.failure_reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunManifest:
        return cls(
            run_id=data["RunId"],
            request=data["Request"],
            job_dir=data["JobDir"],
            settings=RunSettings.from_dict(data["Settings"]),
            created=data["Created"],
            pid=data["Pid"],
            ended=data.get("Ended"),
            interrupted=bool(data.get("Interrupted")),
            job_arn=str(data.get("JobArn", "")),
            failure_reason=data.get("FailureReason"),
        )


def new_manifest(spec: JobSpec, job_dir: Path, settings: RunSettings, created: float) -> RunManifest:
    return RunManifest(
        uuid.uuid4().hex,
        spec.request_with_extension,
        str(job_dir.resolve()),
        settings.for_job(spec.peak_users, _cores_per_test(spec)),  # --processes auto decided once, here
        created,
        os.getpid(),
        job_arn=job_arn(spec, configured_region(os.environ)),
    )


def _cores_per_test(spec: JobSpec) -> int:
    """The cores each of the tests running at once may have (``--processes auto`` spreads a test over them)."""
    parallel = max(1, min(spec.resource_limit.max_parallel_of_tests, len(spec.cases)))
    return usable_cores() // parallel


def read_manifest(folder: ResultsFolder) -> RunManifest:
    try:
        return RunManifest.from_dict(folder.read_run())
    except (KeyError, TypeError, ValueError) as error:
        raise ResultsFolderError(f"{folder.path / RUN}: not a run description ({error})") from None


def write_manifest(folder: ResultsFolder, manifest: RunManifest) -> None:
    folder.write_run(manifest.to_dict())


def load_results(
    folder: ResultsFolder,
    running: bool | None = None,
    now: float | None = None,
    read_timeline: Callable[[int], Timeline | None] | None = None,
) -> JobResults:
    """The job's results from ``folder``; ``running`` None: a live process holding the folder says so.

    ``read_timeline`` reads a test's timeline (the folder's own reader unless one that
    follows the files as they grow is given)."""
    read_timeline = read_timeline or folder.read_timeline
    manifest = read_manifest(folder)
    spec = manifest.spec()
    live = folder.in_use() if running is None else running
    abandoned = manifest.ended is None and not live
    now = time.time() if now is None else now
    benchmarks: list[Benchmark] = []
    timelines: dict[int, tuple[TimelineRow, ...]] = {}
    for index in range(len(spec.cases)):
        benchmark = folder.read_benchmark(index, manifest.run_id)
        if benchmark is None:
            continue
        timeline = read_timeline(index) if benchmark.start_epoch is not None else None
        rows = tuple(timeline.rows()) if timeline is not None else ()
        if benchmark.status is Status.IN_PROGRESS and abandoned:
            benchmark = ended_early(benchmark, "its process ended before the test did", len(rows))
        benchmarks.append(benchmark)
        if rows:
            timelines[index] = rows
    failure = manifest.failure_reason
    if abandoned and failure is None:
        failure = (
            f"the run did not record its end: the loadrec process (pid {manifest.pid}) ended before the job did, "
            "or could no longer write to this folder; every second measured is kept"
        )
    return job_results(
        spec,
        manifest.run_id,
        benchmarks,
        (manifest.created, manifest.ended or now),
        manifest.settings.weights,
        interrupted=manifest.interrupted,
        running=live and manifest.ended is None,
        timelines=timelines,
        failure_reason=failure,
        job_arn=manifest.job_arn,
    )


def finish_manifest(manifest: RunManifest, ended: float, interrupted: bool) -> RunManifest:
    return replace(manifest, ended=ended, interrupted=interrupted)
