"""Two runs of the same job compared, figure by figure, with the noise of each measured window.

``loadrec compare BASELINE CANDIDATE`` reads both results folders. They must be
comparable: the same configurations, traffic pattern and stopping conditions (and the
same request rate, search and SLO); anything else is refused, naming what differs.
For each configuration and figure (MaxInvocations, invocations per instance, latency P50/P95/P99, TTFT and ITL
at their reported percentile, output tokens per second, cost per inference and per
million tokens) the change is the candidate's figure over the baseline's. Whether it is
beyond the noise comes from the measured windows' seconds: each window is bootstrapped
as the confidence intervals are (:mod:`loadrec.engine.measurement.confidence`, the
candidate with another seed so the draws are independent), and the replicates' percent
changes give a 95 % interval of the change. A change whose interval holds 0 is "no
change"; otherwise "better" or "worse" by the figure's direction. A figure without
seconds to draw from is "not judged": loadrec does not guess at noise. For
``--fail-on-regression`` a figure worse past the percentage fails, and so does one not
judged (a gate that cannot judge does not pass); MaxInvocations and tokens per second
for all instances do not gate when the runs were sized to other instance counts (a
faster instance means fewer of them): the per-instance figure is judged instead.

Pure: the caller reads the folders (``Run``); rendering is :mod:`loadrec.engine.gates.compare_view`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from loadrec.engine.measurement import confidence as ci
from loadrec.engine.measurement.histograms import REPORTED_PERCENTILES
from loadrec.engine.measurement.outcome import reported_quantiles
from loadrec.engine.results.model import Benchmark, JobResults

BASELINE_SEED, CANDIDATE_SEED = ci.SEED, ci.SEED + 1
# What must match for two runs to be compared (the job's AWS fields, then the Loadrec key's).
SAME_REQUEST = (("InputConfig", "TrafficPattern"), ("StoppingConditions",))
SAME_EXTENSION = ("RequestRate", "Search", "Slo", "StoppingConditions", "Prompts")


class Verdict(StrEnum):
    BETTER = "better"
    WORSE = "worse"
    NO_CHANGE = "no change"
    NOT_JUDGED = "not judged"


@dataclass(frozen=True)
class Run:
    """One run's results and, per test, its measured window's seconds in their wire form."""

    results: JobResults
    seconds: Mapping[int, Sequence[Mapping[str, Any] | None]]


@dataclass(frozen=True)
class FigureChange:
    figure: str
    unit: str
    baseline: float | None
    candidate: float | None
    change_percent: float | None
    interval: ci.Interval | None  # of the change, percent
    verdict: Verdict
    note: str = ""
    gates: bool = True  # counts for --fail-on-regression (an all-instance figure of runs sized apart does not)

    def regression_past(self, percent: float) -> str | None:
        """Why this figure fails a gate of ``percent``: worse beyond the noise by more, or not judged (a gate
        that cannot judge does not pass); None when it passes."""
        if not self.gates:
            return None
        if self.verdict is Verdict.NOT_JUDGED:
            return f"{self.figure} cannot be judged ({self.note})"
        if self.verdict is Verdict.WORSE and (self.change_percent is None or abs(self.change_percent) > percent):
            return f"{self.figure} {_signed(self.change_percent)} (worse)"
        return None


@dataclass(frozen=True)
class ConfigurationChange:
    index: int
    label: str
    figures: tuple[FigureChange, ...]
    note: str = ""  # why it could not be compared (a test that did not complete)
    lost: bool = False  # the baseline measured it and the candidate did not


class NotComparable(Exception):
    """The runs differ in what they tested; ``lines`` name each difference."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def differences(baseline: JobResults, candidate: JobResults) -> list[str]:
    """What makes the two runs not comparable, a line each (none: they are)."""
    found = []
    for name, run in (("baseline", baseline), ("candidate", candidate)):
        if not run.status.finished:
            found.append(f"the {name} run has not ended (status {run.status.value})")
    labels = [[case.label for case in run.spec.cases] for run in (baseline, candidate)]
    if labels[0] != labels[1]:
        found.append(f"the configurations differ: baseline {labels[0]}, candidate {labels[1]}")
    for path in SAME_REQUEST:
        values = [_at(run.spec.request, path) for run in (baseline, candidate)]
        if values[0] != values[1]:
            found.append(f"{'.'.join(path)} differs: baseline {_short(values[0])}, candidate {_short(values[1])}")
    for key in SAME_EXTENSION:
        values = [_at(json.loads(run.spec.extension_json) or {}, (key,)) for run in (baseline, candidate)]
        if values[0] != values[1]:
            found.append(f"Loadrec.{key} differs: baseline {_short(values[0])}, candidate {_short(values[1])}")
    return found


def _at(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _short(value: Any, limit: int = 120) -> str:
    text = "absent" if value is None else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compare(baseline: Run, candidate: Run) -> tuple[ConfigurationChange, ...]:
    """Each configuration's figures, baseline against candidate; raises NotComparable."""
    if problems := differences(baseline.results, candidate.results):
        raise NotComparable(problems)
    found = []
    by_index = {b.index: b for b in candidate.results.benchmarks}
    for before in baseline.results.benchmarks:
        after = by_index.get(before.index)
        if after is None or not before.measured or not after.measured:
            whose = [name for name, b in (("baseline", before), ("candidate", after)) if b is None or not b.measured]
            note = f"not measured in the {' and the '.join(whose)}: nothing to compare"
            lost = before.measured and (after is None or not after.measured)
            found.append(ConfigurationChange(before.index, before.label, (), note, lost))
            continue
        found.append(ConfigurationChange(before.index, before.label, _figures(baseline, before, candidate, after)))
    return tuple(found)


def regressions(changes: Sequence[ConfigurationChange], percent: float) -> list[str]:
    """Each figure worse past ``percent`` (and beyond noise) or not judged, and each configuration the
    candidate lost (one neither run measured is no regression)."""
    found = []
    for change in changes:
        if change.lost:
            found.append(f"{change.label}: {change.note}")
        found += [f"{change.label}: {why}" for f in change.figures if (why := f.regression_past(percent))]
    return found


def _signed(percent: float | None) -> str:
    return "?" if percent is None else f"{percent:+.1f}%"


@dataclass(frozen=True)
class _Figure:
    name: str
    unit: str
    higher_is_better: bool
    point: Callable[[Benchmark], float | None]
    draws: Draws  # the figure's replicates from a run's
    all_instances: bool = False  # scaled by the instance count the run sized (which a faster instance lowers)


def _figures(baseline: Run, before: Benchmark, candidate: Run, after: Benchmark) -> tuple[FigureChange, ...]:
    quantiles = reported_quantiles(baseline.results.spec.stopping)
    drawn = [_replicates(run, b, quantiles, seed) for run, b, seed in
             ((baseline, before, BASELINE_SEED), (candidate, after, CANDIDATE_SEED))]  # fmt: skip
    blocks = [m for m in (_blocks(run, b) for run, b in ((baseline, before), (candidate, after))) if m]
    found = []
    for figure in _figures_for(quantiles):
        values = figure.point(before), figure.point(after)
        if values[0] is None and values[1] is None:
            continue
        found.append(_change(figure, values, drawn, min(blocks) if blocks else None, (before, after)))
    return tuple(found)


def _change(
    figure: _Figure,
    values: tuple[float | None, float | None],
    drawn: list[dict[str, np.ndarray]],
    blocks: int | None,
    tests: tuple[Benchmark, Benchmark],
) -> FigureChange:
    before, after = values
    if before is None or after is None:
        return FigureChange(figure.name, figure.unit, before, after, None, None, Verdict.NOT_JUDGED,
                            "measured in one run only")  # fmt: skip
    change = None if before == 0 else (after / before - 1.0) * 100.0
    reps = [figure.draws(test, draws) for test, draws in zip(tests, drawn, strict=True)]
    if reps[0] is None or reps[1] is None:
        return FigureChange(figure.name, figure.unit, before, after, change, None, Verdict.NOT_JUDGED,
                            "no per-second data to tell noise from change")  # fmt: skip
    bounds = ci.change_interval(reps[0], reps[1], blocks=blocks)
    counts = [test.sizing.initial_instance_count if test.sizing else 0 for test in tests]
    if figure.all_instances and counts[0] != counts[1] and bounds is not None and change is not None:
        # The recommender sized each run to reach StoppingConditions.MaxInvocations: a faster instance means
        # fewer of them and a lower total. Shown, but the per-instance figure is the one to judge.
        verdict = _verdict(bounds, figure.higher_is_better)
        note = f"instances {counts[0]} -> {counts[1]}: judged per instance instead"
        return FigureChange(figure.name, figure.unit, before, after, change, bounds, verdict, note, gates=False)
    if bounds is None or change is None:
        return FigureChange(figure.name, figure.unit, before, after, change, bounds, Verdict.NOT_JUDGED,
                            "no change can be computed")  # fmt: skip
    return FigureChange(
        figure.name, figure.unit, before, after, change, bounds, _verdict(bounds, figure.higher_is_better)
    )


def _verdict(bounds: ci.Interval, higher_is_better: bool) -> Verdict:
    if bounds.low <= 0.0 <= bounds.high:
        return Verdict.NO_CHANGE
    return Verdict.BETTER if (bounds.low > 0) == higher_is_better else Verdict.WORSE


def _replicates(run: Run, benchmark: Benchmark, quantiles: ci.Quantiles, seed: int) -> dict[str, np.ndarray]:
    """One instance's replicates of each figure, and of each latency percentile."""
    seconds = run.seconds.get(benchmark.index)
    if not seconds:
        return {}
    samples = ci.WindowSamples.from_wire(seconds)
    return ci.replicates(samples, quantiles, seed=seed, latencies=_latencies(quantiles))


def _latencies(quantiles: ci.Quantiles) -> list[float]:
    """The latency percentiles compared: those results report, and the latency threshold's."""
    return sorted({*REPORTED_PERCENTILES, quantiles.latency})


def _blocks(run: Run, benchmark: Benchmark) -> int | None:
    return ci.block_count(len(run.seconds.get(benchmark.index) or ())) or None


def _instances(b: Benchmark) -> int:
    assert b.sizing is not None
    return b.sizing.initial_instance_count


def _price_per_instance_hour(b: Benchmark) -> float | None:
    assert b.sizing is not None
    return None if b.sizing.cost_per_hour is None else b.sizing.cost_per_hour / _instances(b)


def _window_ms(b: Benchmark, family: str, quantile: float) -> float | None:
    values = None if b.window is None else getattr(b.window, family)
    return None if values is None else values.get(quantile)


Draws = Callable[[Benchmark, dict[str, np.ndarray]], "np.ndarray | None"]


def _scaled(key: str) -> Draws:
    """A rate for all instances: one instance's replicates times the instance count."""
    return lambda b, d: None if key not in d else d[key] * _instances(b)


def _drawn(key: str) -> Draws:
    return lambda b, d: d.get(key)


def _cost(key: str, per_hour: float, scale: float) -> Draws:
    """A cost per unit: an instance-hour's price over one instance's replicates of the rate (``per_hour``
    turns the rate into units an hour), times ``scale`` (10⁶: per million)."""

    def draws(b: Benchmark, d: dict[str, np.ndarray]) -> np.ndarray | None:
        price = _price_per_instance_hour(b)
        if price is None or key not in d:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d[key] > 0, price * scale / (d[key] * per_hour), np.nan)

    return draws


def _sized(name: str) -> Callable[[Benchmark], float | None]:
    return lambda b: None if b.sizing is None else getattr(b.sizing, name)


def _per_instance(b: Benchmark) -> float | None:
    """One instance's capacity: what MaxInvocations is before the instance count scales it."""
    return None if b.sizing is None else b.sizing.invocations_per_instance


def _in_window(family: str, quantile: float) -> Callable[[Benchmark], float | None]:
    return lambda b: _window_ms(b, family, quantile)


def _figures_for(q: ci.Quantiles) -> list[_Figure]:
    """The figures compared, at the job's reported percentiles."""
    latency = _latencies(q)
    return [
        _Figure("MaxInvocations", "/min", True, _sized("max_invocations"), _scaled(ci.MAX_INVOCATIONS), True),
        _Figure("InvocationsPerInstance", "/min", True, _per_instance, _drawn(ci.MAX_INVOCATIONS)),
        *(_Figure(f"Latency P{p:g}", "ms", False, _in_window("latency_ms", p), _drawn(ci.latency_at(p)))
          for p in latency),
        _Figure(f"TimeToFirstToken P{q.ttft:g}", "ms", False, _in_window("ttft_ms", q.ttft), _drawn(ci.TTFT)),
        _Figure(f"InterTokenLatency P{q.itl:g}", "ms", False, _in_window("itl_ms", q.itl), _drawn(ci.ITL)),
        _Figure("OutputTokensPerSecond", "tokens/s", True, _sized("output_tokens_per_second"), _scaled(ci.TOKENS),
                True),
        _Figure("CostPerInference", "USD", False, _sized("cost_per_inference"), _cost(ci.MAX_INVOCATIONS, 60.0, 1.0)),
        _Figure("CostPerMillionTokens", "USD", False, _sized("cost_per_million_tokens"), _cost(ci.TOKENS, 3600.0, 1e6)),
    ]  # fmt: skip
