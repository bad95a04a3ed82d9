"""The API server's jobs: accepted, run in the background on the engine of ``loadrec run``, stopped, described.

Each job runs in a greenlet of the server's process as a
:class:`~loadrec.engine.running.orchestrator.JobRunner` (every test in its own process,
the same rules, the same files) writing to ``DATA_DIR/jobs/JOB_NAME``. Its lifecycle is
the store's row: PENDING when accepted, IN_PROGRESS once its tests are ready, STOPPING
after a Stop (the runner's stop: running tests end with what they measured), then
COMPLETED, FAILED or STOPPED as its results say.

A restart finds the jobs that were running when the server died: each becomes FAILED,
saying so, and its results files are rewritten from every second its tests wrote (a
test's process stops within a second of losing the server, see
:mod:`loadrec.engine.process.lifeline`); an endpoint a provisioner left is deleted.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import gevent

from loadrec.engine.api.config import ServerConfig
from loadrec.engine.api.intake import engine_request
from loadrec.engine.api.protocol import ApiError, not_found, validation_error
from loadrec.engine.api.store import JobExists, JobRecord, JobStore
from loadrec.engine.job.extension import KEY
from loadrec.engine.job.problems import Say
from loadrec.engine.job.spec import JobSpec, JobSpecError, parse_job
from loadrec.engine.load.prepare import PreparedTest, SetupError, prepare_job
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.provision.base import remove_leftover
from loadrec.engine.results import aws
from loadrec.engine.results.aws_values import aws_failure_reason, echoed_input_config, role_arn
from loadrec.engine.results.files import RUN, ResultsFolder, ResultsFolderError
from loadrec.engine.results.model import JobResults, Status
from loadrec.engine.running.manifest import load_results, read_manifest, write_manifest
from loadrec.engine.running.orchestrator import JobRunner, write_job_files
from loadrec.engine.running.runner import Runner, RunnerFactory, start_job

JOBS_DIR = "jobs"
SERVER_DIED = "the loadrec server stopped while this job ran; every second its tests measured is kept"
SERVER_SHUT_DOWN = "the loadrec server was shut down while this job ran; every second its tests measured is kept"
SERVER_DIED_EARLY = "the loadrec server stopped before this job's tests started"
SERVER_SHUT_DOWN_EARLY = "the loadrec server was shut down before this job's tests started"
CLOSE_TIMEOUT_S = 50.0  # a stopped test has 30 s to write what it measured (the orchestrator's grace), then goes
ECHOED = ("JobDescription", "RoleArn", "StoppingConditions", "InputConfig", "JobType")


class JobManager:
    def __init__(
        self,
        config: ServerConfig,
        store: JobStore,
        data_dir: Path,
        settings: RunSettings,
        progress: Say,
        clock: Callable[[], float] = time.time,
        runner_factory: RunnerFactory = JobRunner,
    ) -> None:
        self.config, self.store, self.data_dir, self.settings = config, store, data_dir, settings
        self.progress, self.clock, self.runner_factory = progress, clock, runner_factory
        self.runners: dict[str, Runner] = {}
        self.greenlets: dict[str, gevent.Greenlet] = {}
        self.folders: dict[str, ResultsFolder] = {}  # each running job's folder, claimed by this process
        self.closing = False

    def _now(self) -> float:
        """The clock to the millisecond, as the API's timestamps go out: a time a caller read back and sends
        as a filter (CreationTimeAfter) then means the same job."""
        return round(self.clock(), 3)

    # --- the operations ------------------------------------------------------------------

    def create(self, request: dict[str, Any]) -> JobRecord:
        """Accept a job (PENDING) and start it in the background; raises ApiError."""
        if self.closing:
            raise ApiError("ResourceLimitExceeded", "the server is shutting down and accepts no job")
        engine, problems = engine_request(request, self.config)
        try:
            spec = parse_job(engine, self.settings.limits)
        except JobSpecError as error:
            # The server's own reading of a field (a local payload path, say) replaces the model's: AWS's
            # pattern for SamplePayloadUrl would only contradict it.
            said = {p.path for p in problems}
            problems = [*(p for p in error.problems if p.path not in said), *problems]
        if any(not p.path.startswith(KEY) for p in problems):  # the caller's own fields explain it: the
            problems = [p for p in problems if not p.path.startswith(f"{KEY}.")]  # server's part says nothing more
        if problems:
            raise validation_error(problems, request)
        name = spec.name
        if self.store.get(name) is not None:  # before its folder is claimed: claiming clears it
            raise _in_use(name)
        active = self.store.count_active()
        if active >= self.config.max_concurrent_jobs:
            raise ApiError(
                "ResourceLimitExceeded",
                f"this server runs at most {self.config.max_concurrent_jobs} jobs at a time and {active} are running; "
                "wait for one to end or stop one",
            )
        where = str(Path(JOBS_DIR) / name)  # relative: the data directory may move
        folder = ResultsFolder(self.data_dir / where)
        try:
            folder.claim(overwrite=True)  # the store knows no such job: anything there is an orphan
        except ResultsFolderError as error:
            raise ApiError("InternalFailure", f"the job's results folder cannot be used: {error}", 500) from None
        now = self._now()
        record = JobRecord(
            name, aws.job_arn(spec, self.config.region), request, Status.PENDING, now, now, None, None, where
        )
        try:
            self.store.add(record)
        except JobExists:
            folder.release()
            raise _in_use(name) from None
        self.progress(f"{name}: accepted ({len(spec.cases)} tests)")
        self.folders[name] = folder
        self.greenlets[name] = gevent.spawn(self._run, record, spec, folder)
        return record

    def stop(self, name: str) -> None:
        record = self.record(name)
        if record.status == Status.STOPPING:
            return
        if not record.active:
            raise ApiError(
                "ValidationException", f"JobName: {name} is {record.status}; only a running job can be stopped"
            )
        runner = self.runners.get(name)
        if runner is None:  # its tests are not ready yet (payloads loading): nothing was sent, nothing to keep
            self._cancel(record, Status.STOPPED, None)
            return
        self.store.update(record, status=Status.STOPPING, modified=self._now())
        runner.stop()
        self.progress(f"{name}: stopping")

    def folder_of(self, record: JobRecord) -> ResultsFolder:
        return ResultsFolder(self.data_dir / record.folder)

    def record(self, name: str) -> JobRecord:
        record = self.store.get(name)
        if record is None:
            raise not_found(f"Inference recommendations job {name} not found")
        return record

    def results(self, record: JobRecord) -> JobResults | None:
        """The job's results as its folder stands (None before its tests were ready), without the per-second
        data no answer of the API carries."""
        folder = self.folder_of(record)
        if not (folder.path / RUN).exists():
            return None
        running = record.name in self.runners
        try:
            return load_results(folder, running, read_timeline=_no_timeline)
        except (OSError, ResultsFolderError, JobSpecError) as error:
            # The detail names this host's files: the operator's log has it, the caller a plain sentence.
            self.progress(f"{record.name}: the job's results cannot be read: {error}".splitlines()[0])
            raise ApiError("InternalFailure", "the job's results cannot be read on this server", 500) from None

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeInferenceRecommendationsJob's answer: the results as they stand, the status as stored."""
        record = self.record(name)
        results = self.results(record)
        body = aws.describe(results) if results is not None else {}
        body.update({key: record.request[key] for key in ECHOED if key in record.request})
        body["InputConfig"] = echoed_input_config(body.get("InputConfig", {}))
        body["RoleArn"] = role_arn(record.request)
        body = {k: v for k, v in body.items() if k not in ("CompletionTime", "FailureReason")}  # the store's say
        return body | lifecycle(record)

    def steps(self, name: str) -> list[dict[str, Any]]:
        results = self.results(self.record(name))
        return aws.steps(results)["Steps"] if results is not None else []

    # --- the server's life -----------------------------------------------------------------

    def recover(self) -> None:
        """Jobs that were running when the server died: FAILED at once, saying so; their files are rewritten
        and what a provisioner left is deleted in the background (that can take minutes; the server answers).
        A job ended when its files were last written (its last measured second), not when the server restarted:
        its duration stays true after a night down."""
        for record in self.store.unfinished():
            folder = self.folder_of(record)
            started = (folder.path / RUN).exists()
            reason = SERVER_DIED if started else SERVER_DIED_EARLY
            now = self._now()
            ended = min(max(_last_written(folder.path), record.modified), now) if started else now
            self.store.update(
                record, status=Status.FAILED, modified=now, completed=round(ended, 3), failure_reason=reason
            )
            self.progress(f"{record.name}: FAILED ({reason})")
            if started:
                gevent.spawn(self._fail_files, record.name, folder, reason, leftovers=True)

    def _fail_files(self, name: str, folder: ResultsFolder, reason: str, leftovers: bool = False) -> None:
        """The job's files say what the API says: FAILED, for ``reason``, with every second measured."""
        try:
            manifest = read_manifest(folder)
            if leftovers and not self.settings.keep_endpoints:
                for index in range(len(manifest.spec().cases)):
                    provisioned = folder.read_provisioned(index)
                    if provisioned is not None and not provisioned.get("Deleted"):
                        done = remove_leftover(provisioned)
                        if done is not None:
                            self.progress(f"{name}: test {index}: {done}")
            write_manifest(folder, replace(manifest, failure_reason=reason))
            write_job_files(folder, running=False)
        except Exception as error:  # damaged files, an AWS error: said, and the server goes on
            self.progress(f"{name}: its results files cannot be rewritten: {type(error).__name__}: {error}"[:300])

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """The server is going: accept no job, stop the running ones and wait until their results are written."""
        self.closing = True
        for name in list(self.greenlets):
            if name not in self.runners:  # still getting ready: nothing sent yet
                self._cancel(self.record(name), Status.FAILED, SERVER_SHUT_DOWN_EARLY)
        for runner in list(self.runners.values()):
            runner.stop()
        gevent.joinall(list(self.greenlets.values()), timeout=timeout_s)

    def _cancel(self, record: JobRecord, status: str, reason: str | None) -> None:
        """End a job whose tests are not ready yet: its greenlet goes, the store says how it ended."""
        greenlet = self.greenlets.pop(record.name, None)
        if greenlet is not None:
            greenlet.kill(block=True)  # one that never ran has no finally: its folder is released here
        folder = self.folders.pop(record.name, None)
        if folder is not None:
            folder.release()
        self._end(record, status, reason)

    # --- one job ---------------------------------------------------------------------------

    def _run(self, record: JobRecord, spec: JobSpec, folder: ResultsFolder) -> None:
        name = record.name
        try:
            tests = prepare_job(spec, self.data_dir, None)
            runner = self._runner(spec, tests, folder, record)
            self.runners[name] = runner
            self.store.update(self.record(name), status=Status.IN_PROGRESS, modified=self._now())
            results = runner.run(handle_signals=False)
            status, reason = results.status.aws, results.failure_reason if results.status is Status.FAILED else None
            if self.closing and self.record(name).status != Status.STOPPING:  # the server's stop, not the caller's
                status, reason = Status.FAILED, SERVER_SHUT_DOWN
                self._fail_files(name, folder, reason)
            self._end(self.record(name), status, reason)
        except SetupError as error:
            self._end(self.record(name), Status.FAILED, str(error).splitlines()[0])
        except Exception as error:  # the runner stopped its tests; the job says why it broke off
            self._end(self.record(name), Status.FAILED, f"the job broke off: {type(error).__name__}: {error}"[:500])
        finally:
            self.runners.pop(name, None)
            self.greenlets.pop(name, None)
            self.folders.pop(name, None)
            folder.release()

    def _runner(self, spec: JobSpec, tests: list[PreparedTest], folder: ResultsFolder, record: JobRecord) -> Runner:
        def progress(line: str) -> None:
            self.progress(f"{record.name}: {line}")

        return start_job(spec, tests, self.settings, self.data_dir, folder, progress, self.clock,
                         created=record.created, job_arn=record.arn, factory=self.runner_factory)  # fmt: skip

    def _end(self, record: JobRecord, status: str, reason: str | None) -> None:
        now = self._now()
        self.store.update(record, status=status, modified=now, completed=now, failure_reason=reason)
        self.progress(f"{record.name}: {status}" + (f" ({reason})" if reason else ""))


def _no_timeline(index: int) -> None:
    """The API's answers carry no per-second data: a test's timeline is not read for them."""
    return None


def _last_written(folder: Path) -> float:
    """When a file in ``folder`` was last written (0 when none can be read)."""
    times = [0.0]
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):  # a file going as we look
            if path.is_file():  # a folder's time says when a file was added, not when one was written
                times.append(path.stat().st_mtime)
    return max(times)


def _in_use(name: str) -> ApiError:
    return ApiError("ResourceInUse", f"An inference recommendations job named {name} already exists")


def lifecycle(record: JobRecord) -> dict[str, Any]:
    """What the store says of a job, as Describe and List answer it (a member without a value left out)."""
    values = {
        "JobName": record.name,
        "JobArn": record.arn,
        "Status": record.status,
        "CreationTime": record.created,
        "LastModifiedTime": record.modified,
        "CompletionTime": record.completed,
        "FailureReason": aws_failure_reason(record.failure_reason) if record.failure_reason else None,
    }
    return {key: value for key, value in values.items() if value not in (None, "")}
