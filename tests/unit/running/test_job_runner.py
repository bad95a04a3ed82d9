"""The job's runner with its test processes in memory: the clock and the pause between polls injected, each
"process" a fake that writes its test's result (or not) and exits when the test says. Which test starts when,
what a process that dies or ignores a stop leaves, and what the job's files say.

No time passes here but the fake clock's: each pause of the runner moves it on.
"""

from __future__ import annotations

import copy
import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.engine.load.prepare import prepare_test
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.results.files import ResultsFolder
from loadrec.engine.results.model import Benchmark, JobResults, Status
from loadrec.engine.running.manifest import new_manifest, read_manifest
from loadrec.engine.running.orchestrator import STOP_GRACE_S, JobRunner
from loadrec.payloads import Payload
from tests.report_fixture import REQUEST

START = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class FakeProcess:
    """A test's process: it runs for ``polls`` polls, then writes ``status`` (None: nothing) and exits ``code``;
    a SIGTERM ends it at the next poll, stopped, unless it ``ignores_stops``."""

    def __init__(self, folder: ResultsFolder, index: int, polls: int, code: int, status: Status | None,
                 ignores_stops: bool) -> None:  # fmt: skip
        self.folder, self.index, self.polls, self.code, self.status = folder, index, polls, code, status
        self.ignores_stops = ignores_stops
        self.signals: list[int] = []
        self.returncode: int | None = None

    def _exit(self, code: int, status: Status | None, reason: str = "") -> int:
        if status is not None:
            run_id = read_manifest(self.folder).run_id
            label = f"test {self.index}"
            self.folder.write_benchmark(Benchmark(self.index, label, status, reason, run_id=run_id))
        self.returncode = code
        return code

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        if signal.SIGTERM in self.signals and not self.ignores_stops:
            return self._exit(130, Status.STOPPED, "stopped by user")
        self.polls -= 1
        return self._exit(self.code, self.status) if self.polls <= 0 else None

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)

    def kill(self) -> None:
        self.signals.append(signal.SIGKILL)
        self.returncode = -signal.SIGKILL

    def wait(self, timeout: float | None = None) -> int:
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired("test", timeout or 0)
        return code


class Launcher:
    """Starts a FakeProcess per test, as told by ``plans``: index -> (polls, exit code, status written)."""

    def __init__(self, plans: dict[int, tuple[int, int, Status | None]], ignores_stops: bool = False) -> None:
        self.plans, self.ignores_stops = plans, ignores_stops
        self.started: list[tuple[int, float]] = []
        self.processes: dict[int, FakeProcess] = {}
        self.clock: Clock | None = None

    def __call__(self, folder: ResultsFolder, index: int) -> FakeProcess:
        polls, code, status = self.plans[index]
        self.started.append((index, self.clock.now if self.clock else 0.0))
        process = self.processes[index] = FakeProcess(folder, index, polls, code, status, self.ignores_stops)
        return process


class StopAtFirstPause:
    """A person's stop at the runner's first pause between polls (its first test is running then)."""

    def __init__(self) -> None:
        self.runner: JobRunner | None = None

    def __call__(self) -> None:
        if self.runner is not None:
            runner, self.runner = self.runner, None
            runner.stop()


def runner_for(tmp_path: Path, launcher: Launcher, limit: dict[str, int], clock: Clock,
               on_pause: Callable[[], None] | None = None) -> tuple[JobRunner, list[str]]:  # fmt: skip
    request = copy.deepcopy(REQUEST)
    request["InputConfig"]["ResourceLimit"] = limit
    spec = parse_job(request, LimitsMode.RELAXED)
    tests = [prepare_test(spec, i, (Payload("a.csv", b"1", "text/csv"),), Path()) for i in range(len(spec.cases))]
    folder = ResultsFolder(tmp_path / "out")
    folder.claim(overwrite=False)
    manifest = new_manifest(spec, tmp_path, RunSettings(limits=LimitsMode.RELAXED), clock())
    lines: list[str] = []
    launcher.clock = clock

    def pause(seconds: float) -> None:
        clock.now += seconds
        if on_pause is not None:
            on_pause()

    runner = JobRunner(spec, tests, folder, manifest, lines.append, clock, launch=launcher, pause=pause)
    return runner, lines


def statuses(results: JobResults) -> list[tuple[int, Status]]:
    return [(b.index, b.status) for b in results.benchmarks]


def test_tests_start_one_at_a_time_under_max_parallel_and_the_job_files_say_how_each_ended(tmp_path: Path) -> None:
    launcher = Launcher({0: (3, 0, Status.COMPLETED), 1: (2, 0, Status.COMPLETED), 2: (1, 0, Status.COMPLETED)})
    runner, _ = runner_for(tmp_path, launcher, {"MaxNumberOfTests": 3, "MaxParallelOfTests": 1}, Clock())
    results = runner.run(handle_signals=False)
    assert [index for index, _ in launcher.started] == [0, 1, 2]
    starts = [at for _, at in launcher.started]
    assert starts == sorted(starts) and len(set(starts)) == 3  # each after the one before had ended
    assert statuses(results) == [(0, Status.COMPLETED), (1, Status.COMPLETED), (2, Status.COMPLETED)]
    assert results.status is Status.COMPLETED
    described = json.loads((tmp_path / "out" / "describe.json").read_text())
    assert described["Status"] == "COMPLETED" and described["JobName"] == "report-job"


def test_max_number_of_tests_leaves_the_rest_not_run_and_parallel_tests_start_together(tmp_path: Path) -> None:
    launcher = Launcher({0: (2, 0, Status.COMPLETED), 1: (2, 0, Status.COMPLETED)})
    runner, _ = runner_for(tmp_path, launcher, {"MaxNumberOfTests": 2, "MaxParallelOfTests": 2}, Clock())
    results = runner.run(handle_signals=False)
    assert [index for index, _ in launcher.started] == [0, 1] and launcher.started[0][1] == launcher.started[1][1]
    last = results.benchmarks[2]
    assert last.status is Status.NOT_RUN and last.failure_reason == "MaxNumberOfTests is 2"


def test_a_process_that_dies_without_its_result_is_failed_with_how_it_ended(tmp_path: Path) -> None:
    launcher = Launcher({0: (1, 1, None), 1: (1, -signal.SIGKILL, None), 2: (1, 0, Status.COMPLETED)})
    runner, _ = runner_for(tmp_path, launcher, {"MaxNumberOfTests": 3, "MaxParallelOfTests": 3}, Clock())
    results = runner.run(handle_signals=False)
    assert statuses(results) == [(0, Status.FAILED), (1, Status.FAILED), (2, Status.COMPLETED)]
    assert results.benchmarks[0].failure_reason == "its process ended with exit code 1 before the test did"
    assert "its process was killed by SIGKILL" in (results.benchmarks[1].failure_reason or "")


def test_a_stop_reaches_the_running_tests_and_no_other_starts(tmp_path: Path) -> None:
    clock = Clock()
    launcher = Launcher({0: (10**6, 0, Status.COMPLETED), 1: (1, 0, Status.COMPLETED), 2: (1, 0, Status.COMPLETED)})
    stop = StopAtFirstPause()
    runner, lines = runner_for(tmp_path, launcher, {"MaxNumberOfTests": 3, "MaxParallelOfTests": 1}, clock, stop)
    stop.runner = runner
    results = runner.run(handle_signals=False)
    assert launcher.processes[0].signals == [signal.SIGTERM] and list(launcher.processes) == [0]
    assert statuses(results) == [(0, Status.STOPPED), (1, Status.NOT_RUN), (2, Status.NOT_RUN)]
    assert results.benchmarks[1].failure_reason == "the job was stopped before this test started"
    assert results.status is Status.STOPPED and "stopping: running tests write what they measured" in lines


def test_a_test_that_ignores_the_stop_is_killed_after_the_grace_and_keeps_its_failure(tmp_path: Path) -> None:
    clock = Clock()
    launcher = Launcher({0: (10**6, 0, Status.COMPLETED), 1: (1, 0, Status.COMPLETED)}, ignores_stops=True)
    stop = StopAtFirstPause()
    runner, _ = runner_for(tmp_path, launcher, {"MaxNumberOfTests": 2, "MaxParallelOfTests": 1}, clock, stop)
    stop.runner = runner
    began = clock.now
    results = runner.run(handle_signals=False)
    assert launcher.processes[0].signals == [signal.SIGTERM, signal.SIGKILL]
    assert clock.now - began > STOP_GRACE_S  # not before its grace ran out
    first = results.benchmarks[0]
    assert first.status is Status.FAILED and "killed by SIGKILL" in (first.failure_reason or "")
