"""loadrec inside a Locust process: its options, the job's user and shape, one test session, the job's files.

Importing this module registers it on Locust's events (as Locust plugins do); the
locustfile beside it imports it. ``locust -f <that locustfile> --job JOB`` then works
headless, with Locust's web UI (one configuration, ``--test-index``, with a Recommender
tab) and as ``--master``/``--worker``. (``loadrec ui`` runs the whole job on a page of its
own: :mod:`loadrec.engine.webui`.) The test runs in the same :class:`~loadrec.engine.load.session.LoadTestSession`
as a headless ``loadrec run`` test, and the job's files are written the same way.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import gevent
import locust.runners
from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from loadrec.engine.exit_codes import EXIT_BAD_INPUT
from loadrec.engine.job.files import JobFileError, load_job
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.problems import terminal_safe
from loadrec.engine.job.spec import JobSpec, JobSpecError
from loadrec.engine.load.context import TestContext
from loadrec.engine.load.distributed import WORKER_REPORT_INTERVAL_S, attach_recorder, ship_seconds
from loadrec.engine.load.open_loop import open_load
from loadrec.engine.load.prepare import PreparedTest, SetupError, prepare_chosen_test
from loadrec.engine.load.session import LoadTestSession, SessionState
from loadrec.engine.load.settings import STOCK, RunSettings, add_options, settings_from
from loadrec.engine.load.users import InvocationUser
from loadrec.engine.measurement.monitor import StopReason
from loadrec.engine.measurement.prices import PriceFileError, PriceTable, load_prices
from loadrec.engine.measurement.recording import SecondRecorder
from loadrec.engine.results.files import ResultsFolder, ResultsFolderError, default_folder
from loadrec.engine.results.model import Benchmark, JobResults
from loadrec.engine.running.manifest import RunManifest, finish_manifest, new_manifest, write_manifest
from loadrec.engine.running.orchestrator import write_job_files
from loadrec.shapes.locust_shapes import JobShape, PhasesShape, ScheduleShape, StairsShape

logger = logging.getLogger(__name__)

JOB_ENV = "LOADREC_JOB"

__all__ = ["JobShape", "JobUser", "PhasesShape", "StairsShape"]


class JobUser(InvocationUser):
    """The job's virtual user; bound to the job's target when Locust starts."""


@dataclass(frozen=True)
class Prepared:
    """A job ready to run in this process: validated, its payloads loaded, its target resolved."""

    spec: JobSpec
    test: PreparedTest
    settings: RunSettings
    prices: PriceTable
    job_dir: Path
    folder: ResultsFolder  # claimed for this process


@events.init_command_line_parser.add_listener
def _options(parser: argparse.ArgumentParser) -> None:
    # Read once, when Locust starts: editing them in the web UI would change nothing, so it does not show them.
    parser.add_argument(
        "--job", default=None, env_var=JOB_ENV, include_in_web_ui=False, help="loadrec: the job file (JSON)"
    )
    add_options(parser, STOCK, include_in_web_ui=False)


def prepare_from_options(options: argparse.Namespace, spec: JobSpec) -> Prepared:
    """The test ``--job`` and ``--test-index`` name, ready, and its results folder claimed.

    Raises SetupError, PriceFileError or ResultsFolderError, before anything is written."""
    settings = settings_from(options, STOCK)
    job_dir = Path(options.job).resolve().parent
    test = prepare_chosen_test(spec, options.test_index, job_dir, settings.payloads)
    prices = load_prices(Path(settings.prices) if settings.prices else None)
    folder = ResultsFolder(Path(options.out) if options.out else default_folder(spec.name))
    folder.claim(options.overwrite)
    return Prepared(spec, test, settings, prices, job_dir, folder)


def shape_problem(shape: ScheduleShape, spec: JobSpec, job: str) -> str | None:
    """Why ``shape`` cannot run ``spec``'s pattern (a PhasesShape for a STAIRS job), or None."""
    wanted = type(shape).traffic_type
    if wanted and wanted != spec.traffic.kind:
        right = StairsShape if spec.traffic.kind == "STAIRS" else PhasesShape
        return f"{type(shape).__name__} runs {wanted} jobs, but {job} is {spec.traffic.kind}: use {right.__name__}"
    return None


class BadJob(Exception):
    """The job cannot run here; one line per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def follow_job(shape: object, spec: JobSpec, job: str) -> None:
    """Make ``shape`` (when it is one of loadrec's) follow ``spec``'s pattern; raises BadJob if it cannot."""
    if isinstance(shape, ScheduleShape):
        problem = shape_problem(shape, spec, job)
        if problem is not None:
            raise BadJob([problem])
        shape.follow(spec.schedule, spec.new_search())


def load_job_for(shape: object, job: str, limits: LimitsMode) -> JobSpec:
    """The job file at ``job``, validated, with ``shape`` following its pattern; raises BadJob."""
    try:
        spec = load_job(job, limits)
    except JobFileError as error:
        raise BadJob([str(error)]) from None
    except JobSpecError as error:
        raise BadJob([str(problem) for problem in error.problems]) from None
    follow_job(shape, spec, job)
    return spec


class LocustJob:
    """One job in one Locust process: its results folder, its run, a test per start."""

    def __init__(self, environment: Environment, prepared: Prepared) -> None:
        self.environment, self.prepared, self.folder = environment, prepared, prepared.folder
        self.manifest: RunManifest = new_manifest(prepared.spec, prepared.job_dir, prepared.settings, time.time())
        write_manifest(self.folder, self.manifest)
        self.results: JobResults | None = None
        self.refused: str | None = None  # why a later start was refused
        # Before the session's own listener: each start is a new run (its id, its times) before the test begins.
        environment.events.test_start.add_listener(self._on_start)
        context = TestContext(
            prepared.spec, prepared.test, prepared.settings, prepared.prices, self.folder, self.manifest.run_id,
            lambda line: logger.info("%s", line),
        )  # fmt: skip
        self.session = LoadTestSession(environment, context)
        self.session.on_finished.append(self._on_finished)
        options = environment.parsed_options
        if options is not None and options.headless:
            # Locust installs its SIGTERM handler only once a headless shape run is over: until then, stop the test
            # here, so that it ends STOPPED with what it measured instead of being killed.
            stop = partial(self.session.stop, StopReason.STOPPED_BY_USER, "stopped by a signal")
            gevent.signal_handler(signal.SIGTERM, stop)

    def _on_start(self, **_: Any) -> None:
        if self.session.state is SessionState.FINISHED and not self.session.cancelled:
            # One test per Locust process: a second start (the web UI's New, then Start) would write over the
            # first's results in the same folder. The session sends it no load; the tab and the log say why.
            self.session.cancelled = True
            self.refused = (
                f"this Locust process has run its test: its results are in {self.folder.path}/; start Locust "
                "again (with another --results-dir to keep both) for another test"
            )
            logger.warning("%s", self.refused)
        if not self.session.takes_a_start:
            return  # the session refuses this start: the run stays the one it is
        self.manifest = replace(self.manifest, run_id=uuid.uuid4().hex, created=time.time(), ended=None)
        self.session.context = replace(self.session.context, run_id=self.manifest.run_id)
        write_manifest(self.folder, self.manifest)
        self.results = None

    def _on_finished(self, benchmark: Benchmark) -> None:
        self.manifest = finish_manifest(self.manifest, time.time(), interrupted=False)
        write_manifest(self.folder, self.manifest)
        self.results = write_job_files(self.folder, running=False)
        options = self.environment.parsed_options
        if options is not None and options.headless and self.environment.runner is not None:
            gevent.spawn(self.environment.runner.quit)


def _bad_input(lines: list[str]) -> NoReturn:
    for line in lines:
        print(terminal_safe(line), file=sys.stderr)
    sys.exit(EXIT_BAD_INPUT)  # not an Exception: Locust's event hook lets it end the process


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    job = getattr(options, "job", None)
    if options is None or not job:
        return  # not a loadrec run (a library import, or a locustfile without --job)
    try:
        limits = getattr(options, "limits", None) or LimitsMode.AWS.value
        spec = load_job_for(environment.shape_class, job, LimitsMode(limits))
    except BadJob as error:
        _bad_input(error.lines)
    if not any(issubclass(user, JobUser) for user in environment.user_classes):
        return  # a locustfile of the user's own with only the shape: the traffic follows the job's pattern
    try:
        prepared = prepare_from_options(options, spec)
    except (SetupError, PriceFileError, ResultsFolderError) as error:
        _bad_input([str(error)])
    test, settings = prepared.test, prepared.settings
    assert test.invocation is not None  # prepare_chosen_test refuses a test whose endpoint loadrec creates
    runner = environment.runner
    # A stock Locust worker knows no other: a request-rate test's cap holds for each process, and its
    # arrivals are drawn apart from the others' by its pid (repeatable with --seed in one process only).
    process = os.getpid() if isinstance(runner, WorkerRunner) else 0
    rate = open_load(spec.extension.request_rate, settings.seed, process=process)
    JobUser.configure(test.invocation, test.payloads, settings.seed, rate, spec.extension.slo,
                      count_tokens=test.count_tokens)  # fmt: skip
    if isinstance(runner, WorkerRunner):
        locust.runners.WORKER_REPORT_INTERVAL = WORKER_REPORT_INTERVAL_S
        recorder = SecondRecorder()
        attach_recorder(environment, recorder)
        ship_seconds(environment, runner, recorder)
        return
    locust_job = LocustJob(environment, prepared)
    if environment.web_ui is not None:
        from loadrec.engine.locust_plugin.recommender_tab import install

        install(environment, locust_job)
