"""One test's session on a real Locust environment whose users never start: Locust's test_start and
test_stop fired by hand, the clock injected, the results folder on disk. What each way of ending a test
writes, and which starts it refuses.

The monitor's greenlet is spawned at a start, as in a run; this test never yields to it for
long (a progress write hands the loop over for the few milliseconds it takes), and every
test ends it with a stop.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from locust import User
from locust.env import Environment
from locust.event import Events

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.engine.load.context import TestContext
from loadrec.engine.load.prepare import prepare_test
from loadrec.engine.load.session import LoadTestSession, SessionState
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.measurement.monitor import StopReason
from loadrec.engine.measurement.prices import load_prices
from loadrec.engine.results.files import ResultsFolder
from loadrec.engine.results.model import Benchmark, Status
from loadrec.payloads import Payload
from tests.report_fixture import REQUEST

START = 1_700_000_000.0
RUN_ID = "run-1"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class Idle(User):
    """A user class Locust can hold; no test here starts one."""

    abstract = False


def session_in(tmp_path: Path, clock: Clock, lines: list[str]) -> tuple[LoadTestSession, Environment]:
    spec = parse_job(copy.deepcopy(REQUEST), LimitsMode.RELAXED)
    test = prepare_test(spec, 0, (Payload("a.csv", b"1", "text/csv"),), Path())
    environment = Environment(user_classes=[Idle], events=Events())
    environment.create_local_runner()
    folder = ResultsFolder(tmp_path / "out")
    folder.path.mkdir()
    settings = RunSettings(limits=LimitsMode.RELAXED)
    context = TestContext(spec, test, settings, load_prices(None), folder, RUN_ID, lines.append, clock)
    return LoadTestSession(environment, context), environment


def written(session: LoadTestSession) -> Benchmark:
    benchmark = session.context.folder.read_benchmark(0, RUN_ID)
    assert benchmark is not None
    return benchmark


def test_a_stop_before_the_start_writes_stopped_and_the_start_that_follows_sends_nothing(tmp_path: Path) -> None:
    clock, lines = Clock(), []
    session, environment = session_in(tmp_path, clock, lines)
    session.stop(StopReason.STOPPED_BY_USER, "stopped by a signal")
    assert session.state is SessionState.FINISHED and session.cancelled and session.finished.is_set()
    result = written(session)
    assert (result.status, result.stop_reason, result.stop_detail) == (
        Status.STOPPED, StopReason.STOPPED_BY_USER.value, "stopped by a signal"
    )  # fmt: skip
    environment.events.test_start.fire(environment=environment)
    assert session.state is SessionState.FINISHED and session.running is None  # no test began: no timeline, no load


def test_a_start_writes_in_progress_and_a_stop_nobody_decided_before_the_end_is_a_persons(tmp_path: Path) -> None:
    clock, lines = Clock(), []
    session, environment = session_in(tmp_path, clock, lines)
    environment.events.test_start.fire(environment=environment)
    assert session.state is SessionState.RUNNING and session.running is not None
    assert written(session).status is Status.IN_PROGRESS  # on disk from the first moment
    clock.now = START + 10  # well before the 48 s pattern's end
    environment.events.test_stop.fire(environment=environment)
    assert session.state is SessionState.FINISHED and session.finished.is_set()
    result = written(session)
    assert result.stop_reason == StopReason.STOPPED_BY_USER.value and result.status is Status.STOPPED
    assert result.stop_second == 10 and result.run_id == RUN_ID


def test_a_stop_at_the_end_of_the_pattern_is_the_pattern_complete(tmp_path: Path) -> None:
    clock, lines = Clock(), []
    session, environment = session_in(tmp_path, clock, lines)
    environment.events.test_start.fire(environment=environment)
    clock.now = START + 48
    environment.events.test_stop.fire(environment=environment)
    result = written(session)
    assert result.stop_reason == StopReason.PATTERN_COMPLETE.value
    # Nothing answered in 48 s: the test failed, and its result says why.
    assert result.status is Status.FAILED and result.failure_reason


def test_the_monitors_reason_stands_and_a_second_stop_changes_nothing(tmp_path: Path) -> None:
    clock, lines = Clock(), []
    session, environment = session_in(tmp_path, clock, lines)
    environment.events.test_start.fire(environment=environment)
    session.stop(StopReason.JOB_PROCESS_ENDED, "the process that ran the job (pid 1) ended")
    session.stop(StopReason.STOPPED_BY_USER, "a later stop")  # the first reason wins
    clock.now = START + 48
    environment.events.test_stop.fire(environment=environment)
    first = written(session)
    assert (first.stop_reason, first.stop_detail) == (
        StopReason.JOB_PROCESS_ENDED.value, "the process that ran the job (pid 1) ended"
    )  # fmt: skip
    environment.events.test_stop.fire(environment=environment)  # Locust may fire it twice
    assert written(session) == first


def test_a_folder_that_refuses_the_first_write_fails_the_test_at_its_start(tmp_path: Path) -> None:
    clock, lines = Clock(), []
    session, environment = session_in(tmp_path, clock, lines)
    (session.context.folder.path / "tests").write_text("a file where the tests' folder belongs")
    environment.events.test_start.fire(environment=environment)
    assert session.state is SessionState.FINISHED and session.benchmark is not None
    assert session.benchmark.status is Status.FAILED
    assert "its results could not be written" in (session.benchmark.failure_reason or "")
    assert session.write_error is not None and any("measured, not written" in line for line in lines)


def test_a_failure_before_the_start_is_failed_with_its_reason(tmp_path: Path) -> None:
    session, _ = session_in(tmp_path, Clock(), [])
    session.fail("2 of 3 workers connected")
    result = written(session)
    assert (result.status, result.failure_reason) == (Status.FAILED, "2 of 3 workers connected")
    assert session.takes_a_start  # a failure is no stop: the plugin may still refuse the next start itself


@pytest.mark.parametrize("state", list(SessionState))
def test_the_states_read_as_the_recommender_tab_shows_them(state: SessionState) -> None:
    assert state.value == state.name.lower()
