"""A request-rate user's loop: each arrival is sent at its time, whatever the answers take.

The arrival times are :mod:`loadrec.shapes.arrivals`' (a pure stream per user); this loop
only waits for each and hands it on. What keeps the figures honest:
- A request is timed from its *intended* send time, not from when it left: a late send
  (the loop was busy, the process short of CPU) adds its lateness to the latency, TTFT and
  end-to-end time, as wrk2 and k6's arrival-rate executors correct coordinated omission.
  How late each send was is reported with it.
- At most ``OpenLoad.cap`` requests of this process are outstanding. An arrival due while
  that many are is not sent (nor queued: a queue would only hide the lateness) but counted
  as dropped, as k6 counts its dropped iterations.
The clock, the sleep and the spawn are passed in, so the decisions are tested without time passing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from loadrec.engine.job.request_rate import RequestRate
from loadrec.shapes.arrivals import arrival_offsets, stream_draws


@dataclass(frozen=True)
class OpenLoad:
    """A request-rate test as one load process runs it: the job's ``RequestRate`` and this process's share."""

    rate: RequestRate
    processes: int = 1  # load processes sharing the test (the rate splits with the users, the cap evenly)
    process: int = 0  # which of them this is (so no two processes draw the same arrival times)
    seed: int | None = None

    @property
    def cap(self) -> int:
        """Requests this process may have in flight."""
        return max(1, math.ceil(self.rate.max_in_flight / max(1, self.processes)))

    def offsets(self, user: int) -> Iterator[float]:
        """When user number ``user`` of this process sends, in seconds from its start."""
        draws = stream_draws(self.seed, self.process, user)
        return arrival_offsets(self.rate.per_user_per_s, self.rate.arrivals, draws)


def open_load(rate: RequestRate | None, seed: int | None, processes: int = 1, process: int = 0) -> OpenLoad | None:
    """What one of ``processes`` load processes runs of a job's ``RequestRate`` (None: a closed-loop test)."""
    return None if rate is None else OpenLoad(rate, processes, process, seed)


class InFlight:
    """The requests one process has outstanding, against its cap (every user of the process shares it)."""

    def __init__(self, cap: int) -> None:
        self.cap, self.count = cap, 0

    def take(self) -> bool:
        """One more request may go (and is now counted), or the cap is reached."""
        if self.count >= self.cap:
            return False
        self.count += 1
        return True

    def give(self) -> None:
        self.count -= 1


def run_arrivals(
    offsets: Iterator[float],
    start: float,
    in_flight: InFlight,
    send: Callable[[float], object],
    dropped: Callable[[], object],
    clock: Callable[[], float],
    sleep: Callable[[float], object],
) -> None:
    """For each arrival (``start`` + offset, on ``clock``): wait for it, then ``send(due)`` if the cap allows,
    else ``dropped()``. ``send`` must start the request and return (it is given the slot ``in_flight`` took,
    and gives it back when the answer is in); arrivals already due go at once, in order."""
    for offset in offsets:
        due = start + offset
        pause = due - clock()
        if pause > 0:
            sleep(pause)
        if in_flight.take():
            send(due)
        else:
            dropped()
