"""How the job words the end of a test process that left no result of its own: the exit code the test
process gives for an unwritable results folder reads as the docs' "results not written", a signal by its
name, any other code as itself; and a test whose job process is gone is STOPPED, not "stopped by user"."""

from __future__ import annotations

import signal

import pytest

from loadrec.engine.exit_codes import EXIT_RESULTS_NOT_WRITTEN
from loadrec.engine.measurement.monitor import StopReason
from loadrec.engine.measurement.outcome import status_of
from loadrec.engine.results.model import Status
from loadrec.engine.running.orchestrator import exit_description


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (EXIT_RESULTS_NOT_WRITTEN, "results not written: the results folder refused a write, so the test was stopped"),
        (-signal.SIGKILL, "its process was killed by SIGKILL"),
        (1, "its process ended with exit code 1 before the test did"),
    ],
)
def test_an_exit_is_worded_for_what_it_means(code: int, said: str) -> None:
    assert exit_description(code) == said


def test_a_test_whose_job_process_ended_is_stopped_with_its_own_reason() -> None:
    assert status_of(StopReason.JOB_PROCESS_ENDED, 10) is Status.STOPPED
    assert StopReason.JOB_PROCESS_ENDED.value != StopReason.STOPPED_BY_USER.value
