"""The job behind the web UI: each START runs the whole job, as ``loadrec run`` does, in a run folder of its own.

A START makes ``BASE/run-K`` (the first K not taken, so earlier runs are never touched)
and runs a :class:`~loadrec.engine.running.orchestrator.JobRunner` in a greenlet of this
process: every configuration in its own test process, with the same MaxNumberOfTests,
MaxParallelOfTests and JobDurationInSeconds rules and the same files on disk. A STOP is
the runner's stop, exactly as Ctrl-C is for ``loadrec run``: running tests end STOPPED
with what they measured, and none starts after.

The web server and the runner share one gevent hub: requests and the runner take turns
wherever one of them waits (a file, a process starting), so every step here leaves the
console consistent before it can wait, and the runner checks for a stop again after
each test it starts. Snapshots read each test's seconds file incrementally and are
shared by every open page for ``SNAPSHOT_TTL_S``: a page polling every second costs
what the new seconds cost, not the whole run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gevent

from loadrec.engine.job.problems import Say
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.load.prepare import PreparedTest
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.measurement.metrics import Timeline, WindowStats
from loadrec.engine.results.files import RUN, ResultsFolder, ResultsFolderError
from loadrec.engine.results.model import JobResults
from loadrec.engine.results.seconds import SecondsFileError, SecondsFollower
from loadrec.engine.running.manifest import load_results
from loadrec.engine.running.orchestrator import JobRunner
from loadrec.engine.running.runner import Runner, RunnerFactory, start_job

READY, RUNNING, STOPPING, FINISHED = "ready", "running", "stopping", "finished"
RUN_PREFIX = "run-"
MAX_RUNS = 10_000  # run folders numbered past this are a sign of a loop, not of a person pressing START
SNAPSHOT_TTL_S = 0.5


class ConsoleError(Exception):
    """A START or STOP that cannot be done now; the message says why, in one line."""


@dataclass(frozen=True)
class Snapshot:
    """One run as it stands: its results and the window each test's monitor last judged."""

    number: int
    folder: Path
    results: JobResults | None  # None: nothing readable yet
    windows: dict[int, WindowStats]
    problem: str | None = None  # why the results could not be read, were not written, or the run broke off
    stopping: bool = False  # a Stop was pressed and the running tests are writing what they measured


class JobConsole:
    """The job's runs in the web UI's process: START, STOP, and what the current (or last) run looks like."""

    def __init__(
        self,
        spec: JobSpec,
        tests: list[PreparedTest],
        settings: RunSettings,
        job_dir: Path,
        base: Path,
        progress: Say,
        clock: Callable[[], float] = time.time,
        runner_factory: RunnerFactory = JobRunner,
    ) -> None:
        self.spec, self.tests, self.settings, self.job_dir, self.base = spec, tests, settings, job_dir, base
        self.progress, self.clock, self.runner_factory = progress, clock, runner_factory
        self.number = 0  # the current (or last) run; 0: none yet
        self.folder: ResultsFolder | None = None
        self.runner: Runner | None = None
        self.final: JobResults | None = None  # the last run's results, once it ended
        self.failure: str | None = None  # why the last run broke off, if it did
        self.closed = False
        self._greenlet: gevent.Greenlet | None = None
        self._followers: dict[int, SecondsFollower] = {}
        self._snapshot: tuple[float, Snapshot] | None = None

    @property
    def state(self) -> str:
        """READY before the first START; RUNNING, then STOPPING after a STOP; FINISHED once the run ended."""
        if self.runner is None:
            return READY
        if self._greenlet is not None and not self._greenlet.dead:
            return STOPPING if self.runner.interrupted else RUNNING
        return FINISHED

    def start(self) -> int:
        """Begin a new run of the whole job; returns its number. Raises ConsoleError while one runs."""
        if self.closed:
            raise ConsoleError("the web UI is closing")
        if self.state in (RUNNING, STOPPING):
            raise ConsoleError(f"run {self.number} is still going: stop it or wait for its end")
        number, folder = self._new_folder()
        try:
            runner = start_job(self.spec, self.tests, self.settings, self.job_dir, folder, self.progress, self.clock,
                               factory=self.runner_factory)  # fmt: skip
        except BaseException:
            folder.release()
            raise
        self.number, self.folder, self.runner, self.final, self.failure = number, folder, runner, None, None
        self._followers = {test.index: folder.follow_seconds(test.index) for test in self.tests}
        self._snapshot = None
        self.progress(f"run {number}: results in {folder.path}")
        self._greenlet = gevent.spawn(self._run, runner, folder)
        return number

    def stop(self) -> None:
        """Stop the running job (STOPPED, what was measured kept); raises ConsoleError when none runs."""
        if self.state == STOPPING:
            raise ConsoleError(f"run {self.number} is already stopping")
        if self.state != RUNNING or self.runner is None:
            raise ConsoleError("no run is going")
        self.runner.stop()
        self._snapshot = None

    def close(self) -> None:
        """The web UI is closing: refuse new STARTs, stop a running job and wait until its results are written."""
        self.closed = True
        if self.runner is not None and self.state == RUNNING:
            self.runner.stop()
        if self._greenlet is not None:
            self._greenlet.join()

    def snapshot(self) -> Snapshot | None:
        """The current (or last) run as it stands; None before the first START."""
        if self._snapshot is not None and self.clock() - self._snapshot[0] < SNAPSHOT_TTL_S:
            return self._snapshot[1]
        folder = self.folder
        if folder is None or self.runner is None:
            return None
        snapshot = self._read(folder, self.runner)
        self._snapshot = (self.clock(), snapshot)
        return snapshot

    def _read(self, folder: ResultsFolder, runner: Runner) -> Snapshot:
        windows: dict[int, WindowStats] = {}
        problem = None
        results = self.final
        try:
            if results is None and (folder.path / RUN).exists():  # running, or broken off: what the folder says
                live = self.state != FINISHED
                results = load_results(folder, running=live, read_timeline=self._timeline)
            for test in self.tests:
                window = folder.read_window(test.index)
                if window is not None:
                    windows[test.index] = window
        except (OSError, ResultsFolderError, SecondsFileError) as error:  # removed or damaged under a running job
            problem = f"the results cannot be read: {error}".splitlines()[0]
        if runner.write_error is not None:
            problem = f"results could not be written to {runner.write_error}"
        if self.failure is not None:
            problem = self.failure
        return Snapshot(self.number, folder.path, results, windows, problem, self.state == STOPPING)

    def _timeline(self, index: int) -> Timeline | None:
        follower = self._followers.get(index)
        return follower.read() if follower is not None else None

    def _new_folder(self) -> tuple[int, ResultsFolder]:
        """The first ``run-K`` under the base folder nobody has used, claimed for this process."""
        for number in range(1, MAX_RUNS + 1):
            path = self.base / f"{RUN_PREFIX}{number}"
            if path.exists():
                continue
            folder = ResultsFolder(path)
            try:
                folder.claim(overwrite=False)
            except ResultsFolderError as error:
                raise ConsoleError(str(error)) from None
            return number, folder
        raise ConsoleError(f"{self.base}: {MAX_RUNS} runs already; choose another --out")

    def _run(self, runner: Runner, folder: ResultsFolder) -> None:
        try:
            self.final = runner.run(handle_signals=False)  # the web UI's own Ctrl-C handling stops it
        except Exception as error:  # the runner stopped its tests; say why the run broke off
            self.failure = f"run {self.number} broke off: {type(error).__name__}: {error}"[:500]
            self.progress(self.failure)
        finally:
            folder.release()
            self._snapshot = None
