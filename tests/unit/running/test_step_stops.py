"""A test's process's stops (engine/running/step.py ``Stops``): a stop heard before the session exists is
kept and stops the session the moment it reaches it; the first reason is the one kept."""

from __future__ import annotations

from loadrec.engine.measurement.monitor import StopReason
from loadrec.engine.running.step import Stops


class Session:
    """What Stops needs of a session: its stop."""

    def __init__(self) -> None:
        self.stops: list[tuple[StopReason, str]] = []

    def stop(self, reason: StopReason, detail: str = "") -> None:
        self.stops.append((reason, detail))


def test_a_stop_before_the_session_is_kept_and_stops_it_when_it_comes() -> None:
    stops, session = Stops(), Session()
    assert not stops.heard
    stops("the process that ran the job (pid 7) ended", StopReason.JOB_PROCESS_ENDED)
    stops("stopped by a signal")  # a later one is not the one kept
    assert stops.heard and stops.first == (StopReason.JOB_PROCESS_ENDED, "the process that ran the job (pid 7) ended")
    stops.reach(session)  # type: ignore[arg-type]
    assert session.stops == [(StopReason.JOB_PROCESS_ENDED, "the process that ran the job (pid 7) ended")]


def test_once_the_session_exists_every_stop_goes_to_it() -> None:
    stops, session = Stops(), Session()
    stops.reach(session)  # type: ignore[arg-type]
    assert session.stops == []  # nothing heard yet: nothing stopped
    stops("stopped by a signal")
    stops("stopped by a signal")
    assert session.stops == [(StopReason.STOPPED_BY_USER, "stopped by a signal")] * 2  # the session keeps the first
