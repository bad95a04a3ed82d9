"""A request-rate user's decisions, on an injected clock: each arrival goes at its time (late ones at once, with
their intended time), and one over the cap is dropped, never queued."""

from __future__ import annotations

import itertools

import pytest

from loadrec.engine.job.request_rate import RequestRate
from loadrec.engine.load.open_loop import InFlight, OpenLoad, open_load, run_arrivals


class FakeTime:
    """A clock that only moves when slept on, or when a stall is injected at a given sleep."""

    def __init__(self, stalls: dict[int, float] | None = None) -> None:
        self.now, self.stalls = 100.0, stalls or {}
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds + self.stalls.get(len(self.sleeps), 0.0)  # a busy loop wakes late


Run = tuple[list[tuple[float, float]], list[float], FakeTime]


def run(
    offsets: list[float], cap: int, answers_after: int | None = None, stalls: dict[int, float] | None = None
) -> Run:
    """(sent as (due, sent at), dropped at) for ``offsets`` from t=100; a request's slot is given back
    ``answers_after`` arrivals later (None: never)."""
    time, in_flight = FakeTime(stalls), InFlight(cap)
    sent: list[tuple[float, float]] = []
    dropped: list[float] = []

    def send(due: float) -> None:
        sent.append((due, time.now))
        if answers_after is not None and len(sent) > answers_after:
            in_flight.give()

    run_arrivals(iter(offsets), 100.0, in_flight, send, lambda: dropped.append(time.now), time.clock, time.sleep)
    return sent, dropped, time


def test_each_arrival_is_sent_at_its_time() -> None:
    sent, dropped, time = run([0.0, 0.25, 0.5, 1.0], cap=10)
    assert sent == [(100.0, 100.0), (100.25, 100.25), (100.5, 100.5), (101.0, 101.0)]
    assert dropped == [] and time.sleeps == [0.25, 0.25, 0.5]  # nothing waited for the first: it was due


def test_arrivals_due_while_the_loop_was_held_go_at_once_with_their_own_times() -> None:
    # The second sleep wakes 0.6 s late: the arrivals due at 100.5 and 100.75 go at once, in order, late.
    sent, dropped, _ = run([0.0, 0.25, 0.5, 0.75, 1.5], cap=10, stalls={1: 0.6})
    assert [due for due, _ in sent] == [100.0, 100.25, 100.5, 100.75, 101.5]
    late = [round(at - due, 9) for due, at in sent]
    assert late == [0.0, 0.6, 0.35, 0.1, 0.0]  # what the latency, timed from the due time, includes
    assert dropped == []


def test_an_arrival_over_the_cap_is_dropped_not_queued() -> None:
    # Nothing is ever answered: two slots, then every arrival is dropped at its own time.
    sent, dropped, _ = run([0.0, 0.1, 0.2, 0.3, 0.4], cap=2)
    assert [due for due, _ in sent] == [100.0, 100.1]
    assert dropped == pytest.approx([100.2, 100.3, 100.4])


def test_a_slot_given_back_is_used_by_the_next_arrival() -> None:
    # Each request's answer is in by the next arrival: one slot is enough for all.
    sent, dropped, _ = run([0.0, 0.1, 0.2, 0.3], cap=1, answers_after=0)
    assert len(sent) == 4 and dropped == []


def test_in_flight_counts_up_to_its_cap_and_back() -> None:
    in_flight = InFlight(2)
    assert [in_flight.take() for _ in range(3)] == [True, True, False]
    in_flight.give()
    assert in_flight.take() is True and in_flight.count == 2


@pytest.mark.parametrize(("cap", "processes", "share"), [(512, 1, 512), (512, 2, 256), (10, 3, 4), (1, 4, 1)])
def test_the_cap_splits_evenly_over_the_load_processes(cap: int, processes: int, share: int) -> None:
    assert OpenLoad(RequestRate(1.0, "Constant", cap), processes).cap == share


def test_a_closed_loop_test_has_no_open_load_and_each_process_its_own_arrivals() -> None:
    assert open_load(None, 7) is None
    rate = RequestRate(5.0, "Poisson", 8)
    first, second = open_load(rate, 7, 2, 0), open_load(rate, 7, 2, 1)
    assert first is not None and second is not None
    assert list(itertools.islice(first.offsets(0), 5)) == list(itertools.islice(first.offsets(0), 5))
    assert list(itertools.islice(first.offsets(0), 5)) != list(itertools.islice(second.offsets(0), 5))
