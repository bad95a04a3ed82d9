"""The web UI's job console with an in-memory runner: START, STOP, run folders, a runner that breaks, closing.

The runner here runs until the test releases it (greenlets take turns only when the test
joins one), so every state the page can see is reached on purpose, without waiting.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent.event
import pytest

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import JobSpec, parse_job
from loadrec.engine.load.prepare import PreparedTest, prepare_test
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.results.files import ResultsFolder, ResultsFolderError
from loadrec.engine.results.model import JobResults
from loadrec.engine.running.manifest import RunManifest
from loadrec.engine.webui.console import FINISHED, READY, RUNNING, STOPPING, ConsoleError, JobConsole
from loadrec.payloads import Payload
from tests.report_fixture import REQUEST, fixture_results


class Runner:
    """Runs until ``finish`` (or a stop); ``error`` makes its run raise instead."""

    def __init__(self, folder: ResultsFolder, manifest: RunManifest) -> None:
        self.folder, self.manifest = folder, manifest
        self.interrupted = False
        self.write_error: str | None = None
        self.error: Exception | None = None
        self.finished = gevent.event.Event()
        self.signals: list[bool] = []

    def run(self, handle_signals: bool = True) -> JobResults:
        self.signals.append(handle_signals)
        self.finished.wait()
        if self.error is not None:
            raise self.error
        return fixture_results()

    def stop(self) -> None:
        self.interrupted = True
        self.finished.set()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def console(base: Path, runners: list[Runner], clock: Clock | None = None, broken: bool = False) -> JobConsole:
    spec = parse_job(copy.deepcopy(REQUEST), LimitsMode.RELAXED)
    tests = [prepare_test(spec, index, (Payload("a.csv", b"1", "text/csv"),), Path()) for index in range(3)]

    def make(spec: JobSpec, tests: list[PreparedTest], folder: ResultsFolder, manifest: RunManifest, *_: Any) -> Runner:
        if broken:
            raise RuntimeError("no runner today")
        runners.append(Runner(folder, manifest))
        return runners[-1]

    settings = RunSettings(limits=LimitsMode.RELAXED)
    return JobConsole(spec, tests, settings, base, base / "ui", print, clock or Clock(), runner_factory=make)


def finish(job: JobConsole, runner: Runner, how: Callable[[Runner], None] = lambda r: r.finished.set()) -> None:
    how(runner)
    assert job._greenlet is not None
    job._greenlet.join()


def in_use(path: Path) -> bool:
    try:
        ResultsFolder(path).claim(overwrite=True)
    except ResultsFolderError:
        return True
    return False


def test_each_start_is_a_new_run_folder_held_while_it_runs(tmp_path: Path) -> None:
    runners: list[Runner] = []
    job = console(tmp_path, runners)
    (tmp_path / "ui" / "run-1").mkdir(parents=True)  # an earlier UI's run: never reused
    assert job.state == READY and job.snapshot() is None
    assert job.start() == 2 and job.state == RUNNING
    assert runners[0].folder.path == tmp_path / "ui" / "run-2" and in_use(tmp_path / "ui" / "run-2")
    with pytest.raises(ConsoleError, match=r"^run 2 is still going: stop it or wait for its end$"):
        job.start()
    finish(job, runners[0])
    assert job.state == FINISHED and runners[0].signals == [False]  # the UI handles Ctrl-C itself
    assert not in_use(tmp_path / "ui" / "run-2")
    assert job.start() == 3


def test_a_stop_is_the_runner_s_and_a_second_one_says_so(tmp_path: Path) -> None:
    runners: list[Runner] = []
    job = console(tmp_path, runners)
    with pytest.raises(ConsoleError, match=r"^no run is going$"):
        job.stop()
    job.start()
    job.stop()
    assert runners[0].interrupted and job.state == STOPPING
    with pytest.raises(ConsoleError, match=r"^run 1 is already stopping$"):
        job.stop()
    with pytest.raises(ConsoleError, match="still going"):
        job.start()
    finish(job, runners[0], lambda runner: None)
    assert job.state == FINISHED


def test_a_run_that_breaks_off_says_why_and_frees_its_folder(tmp_path: Path) -> None:
    runners: list[Runner] = []
    job = console(tmp_path, runners)
    job.start()
    runners[0].error = RuntimeError("too many open files")
    finish(job, runners[0])
    snapshot = job.snapshot()
    assert job.state == FINISHED and snapshot is not None
    assert snapshot.problem == "run 1 broke off: RuntimeError: too many open files"
    assert not in_use(tmp_path / "ui" / "run-1")
    assert job.start() == 2
    starting = job.snapshot()  # before its runner wrote anything: no results yet, and nothing wrong
    assert starting is not None and starting.results is None and starting.problem is None


def test_a_runner_that_cannot_be_made_leaves_no_folder_held(tmp_path: Path) -> None:
    job = console(tmp_path, [], broken=True)
    with pytest.raises(RuntimeError, match="no runner today"):
        job.start()
    assert job.state == READY and not in_use(tmp_path / "ui" / "run-1")


def test_closing_stops_the_run_waits_for_it_and_refuses_new_starts(tmp_path: Path) -> None:
    runners: list[Runner] = []
    job = console(tmp_path, runners)
    job.start()
    job.close()
    assert runners[0].interrupted and job.state == FINISHED and job.final is not None
    with pytest.raises(ConsoleError, match=r"^the web UI is closing$"):
        job.start()


def test_every_page_shares_a_snapshot_for_half_a_second(tmp_path: Path) -> None:
    runners: list[Runner] = []
    clock = Clock()
    job = console(tmp_path, runners, clock)
    job.start()
    first = job.snapshot()
    assert first is not None and job.snapshot() is first
    clock.now += 0.6
    assert job.snapshot() is not first
