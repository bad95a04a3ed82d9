"""The live side of the monitor: once a second, feed the timeline and act on decisions.

Runs on the local runner or the master. Every second it moves this process's finished
seconds into the timeline and notes the target and running users; every
``evaluate_every_s`` it asks the pure evaluator (:mod:`loadrec.engine.measurement.monitor`) about the
trailing window, prints a progress line, and stops the runner on a Stop decision. Reading the
window (merging its histograms) runs in a thread, off the loop the users share; what the loop
itself spends on the monitor is noted as the generator's held time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import gevent
from locust.runners import STATE_STOPPED, MasterRunner, Runner

from loadrec.engine.job.spec import StoppingConditions
from loadrec.engine.load.health_probe import OffLoop, held_by, run_off_loop
from loadrec.engine.measurement.histograms import REPORTED_PERCENTILES
from loadrec.engine.measurement.metrics import Timeline, WindowStats
from loadrec.engine.measurement.monitor import (
    Evaluation,
    Level,
    MonitorSettings,
    StopReason,
    evaluate,
    levels,
    window_quantiles,
)
from loadrec.engine.measurement.probes import ProbeResult, verdict
from loadrec.engine.measurement.recording import SecondRecorder
from loadrec.shapes.schedule import Schedule
from loadrec.shapes.search import Search


@dataclass(frozen=True)
class Evaluated:
    window: WindowStats
    evaluation: Evaluation


@dataclass(frozen=True)
class Watch:
    """What the live monitor judges a test by, and where it says what it decided (a test's context makes one:
    :meth:`~loadrec.engine.load.context.TestContext.watch`)."""

    schedule: Schedule
    stopping: StoppingConditions
    settings: MonitorSettings
    say: Callable[[str], None]
    clock: Callable[[], float] = time.time
    search: Search | None = None  # the probes the shape runs, judged here (None: the schedule runs)


class LiveMonitor:
    def __init__(
        self,
        runner: Runner,
        timeline: Timeline,
        watch: Watch,
        recorder: SecondRecorder | None = None,
        lag_s: int = 0,
        on_evaluated: Callable[[], None] | None = None,
        off_loop: OffLoop = run_off_loop,
    ) -> None:
        self.runner = runner
        self.off_loop = off_loop  # where the window is read and judged (tests: in place)
        self.on_evaluated = on_evaluated  # e.g. the session saving what is known so far
        self.timeline = timeline
        self.schedule, self.stopping, self.settings = watch.schedule, watch.stopping, watch.settings
        self.progress, self.clock, self.search = watch.say, watch.clock, watch.search
        self.recorder = recorder
        self.lag_s = lag_s  # seconds workers' reports may still be on their way
        self.reason: StopReason | None = None  # None: nothing has ended the test yet
        self.detail = ""
        self.plateau: Level | None = None
        self.plateau_window: WindowStats | None = None
        self.history: list[Evaluated] = []
        self.worker_events: list[dict[str, object]] = []  # {"Second", "Worker", "Event", ...}
        self._known_missing: set[str] = set()
        self._known_saturated: set[str] = set()
        self.quantiles = window_quantiles(self.stopping)
        self.probes: list[ProbeResult] = []
        self.probe_windows: list[WindowStats] = []  # the passing probes' judged windows: where the figures come from

    def stop(self, reason: StopReason, detail: str = "") -> None:
        """End the test for ``reason`` (the first reason given wins)."""
        if self.reason is None:
            self.reason, self.detail = reason, detail
        if self.runner.state != STATE_STOPPED:
            gevent.spawn(self.runner.stop)

    def run(self) -> None:
        """Until the runner stops: the shape ended the pattern, a condition fired, or a person stopped it.

        A stop nobody decided leaves ``reason`` None until :meth:`ended` tells the end of the
        pattern from a person's Stop."""
        next_evaluation = self.settings.evaluate_every_s
        while self.runner.state != STATE_STOPPED:
            with held_by(self.recorder):  # the loop this process's users share: how long it is held counts
                offset = self.timeline.offset(self.clock())
                self._collect(offset)
            if self.search is not None and self.reason is None:
                self.judge_probe(offset)
            if offset >= next_evaluation and self.reason is None:
                next_evaluation = offset + self.settings.evaluate_every_s
                self._evaluate(offset - self.lag_s)
            gevent.sleep(max(0.0, 1.0 - (self.clock() % 1.0)) + 0.01)

    def _collect(self, offset: int) -> None:
        if self.recorder is not None:
            self.timeline.add(s.to_wire() for s in self.recorder.take_completed())
        target = self.search.users() if self.search is not None else self.schedule.users_at(offset)
        workers = self._watch_workers(offset) if isinstance(self.runner, MasterRunner) else 0
        self.timeline.set_users(offset, target or 0, self.runner.user_count, workers)

    def _watch_workers(self, offset: int) -> int:
        """Workers carrying load now; a lost worker or a saturated worker CPU is recorded once, and said."""
        assert isinstance(self.runner, MasterRunner)
        for client in self.runner.clients.missing:
            if client.id not in self._known_missing:
                self._known_missing.add(client.id)
                self.worker_events.append({"Second": offset, "Worker": client.id, "Event": "lost"})
                self.progress(f"worker {client.id} lost at {offset} s: the test goes on with the others")
        for client in self.runner.clients.all:
            if client.cpu_warning_emitted and client.id not in self._known_saturated:
                self._known_saturated.add(client.id)
                event = {
                    "Second": offset,
                    "Worker": client.id,
                    "Event": "cpu saturated",
                    "CpuPercent": client.cpu_usage,
                }
                self.worker_events.append(event)
                self.progress(
                    f"worker {client.id} CPU at {client.cpu_usage}% at {offset} s: its latencies may be inflated"
                )
        return len(self.runner.clients.all) - len(self.runner.clients.missing)

    def ended(self, pattern_complete: bool) -> None:
        """The runner has stopped: a stop nobody decided is the end of the pattern when it ran its course, else a
        person's Stop (a search ends itself with a reason: without one, a person stopped it)."""
        if self.reason is None:
            complete = pattern_complete and self.search is None
            self.reason = StopReason.PATTERN_COMPLETE if complete else StopReason.STOPPED_BY_USER

    def conclude(self, end: int) -> None:
        """The final evaluation, once every second is in (the test has stopped): the window up to ``end``
        (its last whole second) is judged and kept, so a test whose evaluations were further apart than it
        lasted still has its figures; its decision stops nothing (the test already ended) and names no reason."""
        if self.history and self.history[-1].window.end >= end:
            return
        self._evaluate(end, final=True)

    def _evaluate(self, end: int, final: bool = False) -> None:
        if end <= 0:
            return
        # Merging a window's histograms takes tens of ms: a thread does it, and the users' loop runs on.
        window, evaluation, plateau_window = self.off_loop(partial(self._judge, end))
        with held_by(self.recorder):
            self.history.append(Evaluated(window, evaluation))
            if evaluation.plateau is not None:
                self.plateau, self.plateau_window = evaluation.plateau, plateau_window
                self.progress(f"plateau: {evaluation.detail}")
            self.progress(progress_line(window, evaluation))
            if final:
                return
            if evaluation.stop is not None and self.search is None:  # a search's probes judge instead
                self.stop(evaluation.stop, evaluation.detail)
        if self.on_evaluated is not None:
            self.on_evaluated()

    def _judge(self, end: int) -> tuple[WindowStats, Evaluation, WindowStats | None]:
        """The window up to ``end``, the evaluator's decision on it, and a newly found plateau's window.

        Runs off the loop: it only reads the timeline (whose parts the loop adds one by one)."""
        window = self.timeline.window(end, self.settings.window_s, self.quantiles)
        tokens = self.stopping.tokens.flat_in_tokens
        series = self.timeline.output_tokens_per_second() if tokens else self.timeline.successes_per_second()
        completed = levels(series[:end])
        # A search's levels are probes, not a climb: no plateau is looked for in them.
        plateau_known = self.plateau is not None or self.search is not None
        evaluation = evaluate(self.stopping, self.settings, window, completed, plateau_known)
        plateau_window = None
        if evaluation.plateau is not None:
            span = evaluation.plateau.end - evaluation.plateau.start
            plateau_window = self.timeline.window(evaluation.plateau.end, span, self.quantiles)
        return window, evaluation, plateau_window

    def judge_probe(self, offset: int) -> None:
        """Judge the running probe once its time is up (on its second half, every process's seconds in)."""
        search = self.search
        assert search is not None
        end = offset - self.lag_s
        if not search.due(end):
            return
        probe = search.current
        span = max(1, int(search.probe_s) // 2)
        window = self.off_loop(partial(self.timeline.window, end, span, self.quantiles))
        passed, missed = verdict(window, self.stopping, self.settings)
        result = ProbeResult.judged(probe.users, int(probe.start), offset, window, self.stopping, passed, missed)
        with held_by(self.recorder):
            self.probes.append(result)
            if passed:
                self.probe_windows.append(window)
            following = search.judge(offset, passed)
            self.progress(probe_line(len(self.probes), result, following))
            if following is None and search.passed is None:
                self.stop(StopReason.SEARCH_NO_PASS, f"{probe.users} users (MinUsers) missed them: {missed}")
            elif following is None:
                above = f"; {search.failed} users did not" if search.failed is not None else " (MaxUsers)"
                self.stop(StopReason.SEARCH_COMPLETE, f"{search.passed} users held the thresholds{above}")
        if self.on_evaluated is not None:
            self.on_evaluated()


def probe_line(number: int, probe: ProbeResult, following: int | None) -> str:
    latency = "-" if probe.latency_ms is None else f"{probe.latency_ms:.1f}"
    outcome = "passed" if probe.passed else f"missed ({probe.missed})"
    then = "search over" if following is None else f"next {following} users"
    return (f"probe {number}: {probe.users} users {outcome}: {probe.invocations_per_minute:.0f} inv/min, "
            f"latency {latency} ms, {probe.failures}/{probe.requests} failed; {then}")  # fmt: skip


def progress_line(window: WindowStats, evaluation: Evaluation) -> str:
    latency = " ".join(f"p{q:g} {_ms(window.latency_ms.get(q))}" for q in REPORTED_PERCENTILES)
    streamed = ""
    if window.ttft_ms is not None and window.itl_ms is not None:
        ttft = " ".join(f"p{q:g} {_ms(window.ttft_ms.get(q))}" for q in (50.0, 95.0))
        streamed = (f"  ttft {ttft} ms  itl p95 {_ms(window.itl_ms.get(95.0))} ms  "
                    f"{window.output_tokens_per_second:.0f} tok/s")  # fmt: skip
    return (
        f"{window.end:>5d}s  users {window.users:>4d}  {window.invocations_per_minute:>8.0f} inv/min  "
        f"{latency} ms{streamed}  failures {window.failures:>4d}  closest: {evaluation.closest}"
        f"{_generator(window)}"
    )


def _generator(window: WindowStats) -> str:
    """The generator's worst figures in the window, flagged when it was bound."""
    verdict = window.generator
    if verdict is None:
        return ""
    worst = verdict.worst
    flag = f"  GENERATOR-BOUND {verdict.bound_seconds}/{verdict.seconds} s" if verdict.bound else ""
    return f"  gen cpu {worst.cpu_percent:.0f}% lag {worst.lag_ms:.0f} ms{flag}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
