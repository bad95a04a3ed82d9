"""When a request-rate test's virtual user sends: its arrival times, a pure function of rate, kind and seed.

In a request-rate (open-model) test every virtual user is a stream of arrivals, R requests
a second, sent at their times whatever the answers take. The job's PHASES or STAIRS
schedule still says how many users run, so the test's target rate at second t is

    rate(t) = users(t) × R          (requests per second; × 60 per minute, as results say)

and a user added at a change point starts its stream there. Two kinds of stream:
- ``Constant``: one request every 1/R s. The first is due at a phase drawn from [0, 1/R),
  so users started together spread over the period instead of sending in bursts.
- ``Poisson``: gaps drawn from an exponential of mean 1/R. N such users together are a
  Poisson stream of rate N × R (a superposition of Poisson streams is one).
Each stream draws from a ``random.Random`` of its own, named by (seed, process, user):
the same seed gives every user of every load process the same times again, and no two
users share a stream.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Protocol

CONSTANT, POISSON = "Constant", "Poisson"
ARRIVALS = (CONSTANT, POISSON)


class Draws(Protocol):
    """What a stream draws from (``random.Random`` has it; tests pass fixed draws)."""

    def random(self) -> float: ...
    def expovariate(self, lambd: float, /) -> float: ...


def stream_draws(seed: int | None, process: int, user: int) -> random.Random:
    """The draws of user ``user`` of load process ``process`` (seed None: different on every run)."""
    return random.Random(f"{seed}/{process}/{user}") if seed is not None else random.Random()


def arrival_offsets(per_second: float, kind: str, draws: Draws) -> Iterator[float]:
    """Seconds from the user's start at which its requests are due: ascending, without end."""
    if per_second <= 0:
        raise ValueError(f"a rate of {per_second} requests per second sends nothing")
    if kind == CONSTANT:
        period = 1.0 / per_second
        phase = draws.random() * period
        # Each time from its index, not by adding periods: no drift over a week-long test.
        return (phase + k * period for k in itertools.count())
    if kind == POISSON:
        return itertools.accumulate(draws.expovariate(per_second) for _ in itertools.count())
    raise ValueError(f"{kind!r} is not one of: {', '.join(ARRIVALS)}")


def target_per_minute(users: int, per_second: float) -> float:
    """The rate a schedule's ``users`` ask for, per minute (the unit every result uses)."""
    return users * per_second * 60.0
