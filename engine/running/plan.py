"""Which test runs when, as the recommender decides; pure (the caller says what time it is).

- At most ``MaxNumberOfTests`` tests run; the others are not run ("MaxNumberOfTests is N").
- At most ``MaxParallelOfTests`` run at once, in configuration order.
- No test starts once ``JobDurationInSeconds`` has passed since the job was created;
  running tests finish, as in AWS.
- Once the job is stopped, no test starts.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

STOPPED_BEFORE_START = "the job was stopped before this test started"


@dataclass(frozen=True)
class NotRun:
    index: int
    reason: str


@dataclass(frozen=True)
class Decision:
    start: tuple[int, ...] = ()
    not_run: tuple[NotRun, ...] = ()


class JobPlan:
    def __init__(
        self, tests: int, max_number: int, max_parallel: int, job_duration_s: int | None, created: float
    ) -> None:
        self.max_parallel = max_parallel
        self.job_duration_s = job_duration_s
        self.created = created
        self._pending = deque(range(min(tests, max_number)))
        self.skipped = tuple(NotRun(i, f"MaxNumberOfTests is {max_number}") for i in range(max_number, tests))

    @property
    def done(self) -> bool:
        """No test is left to start."""
        return not self._pending

    def next(self, now: float, running: int, stopped: bool = False) -> Decision:
        """The tests to start now, with ``running`` tests running, and those that will never run."""
        if stopped:
            return self._drop(STOPPED_BEFORE_START)
        if self.job_duration_s is not None and now - self.created >= self.job_duration_s:
            return self._drop(f"JobDurationInSeconds ({self.job_duration_s} s) had passed")
        start: list[int] = []
        while self._pending and running + len(start) < self.max_parallel:
            start.append(self._pending.popleft())
        return Decision(start=tuple(start))

    def _drop(self, reason: str) -> Decision:
        dropped = tuple(NotRun(index, reason) for index in self._pending)
        self._pending.clear()
        return Decision(not_run=dropped)
