"""``loadrec run --repeat N``: the same job run N times, and the spread of each configuration's figures.

A window's interval says how much its own seconds vary; repeats say how much the run
does (a server warmed differently, a noisy neighbour, a different schedule of GC).
Per configuration: MaxInvocations, invocations per instance and ModelLatency (TTFT and
output tokens per second for streams) as min, median and max over the repeats that
measured it, the spread (max − min) / median, and how many repeats made it the top
recommendation. When the top changes between repeats the summary says the ranking
cannot be trusted to one run. Pure: a function of the repeats' typed results.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from loadrec.engine.measurement.outcome import Sizing
from loadrec.engine.results.model import JobResults

MAX_REPEATS = 20
FIGURES: tuple[tuple[str, str, Callable[[Sizing], float | None]], ...] = (
    ("MaxInvocations", "/min", lambda s: float(s.max_invocations)),
    ("InvocationsPerInstance", "/min", lambda s: s.invocations_per_instance),
    ("ModelLatency", "ms", lambda s: None if s.model_latency_us is None else s.model_latency_us / 1000),
    ("TimeToFirstToken", "ms", lambda s: s.ttft_ms),
    ("OutputTokensPerSecond", "tokens/s", lambda s: s.output_tokens_per_second),
)


def folder_name(repeat: int) -> str:
    """Where repeat ``repeat`` (from 1) writes, inside the run's --out."""
    return f"repeat-{repeat}"


@dataclass(frozen=True)
class Spread:
    figure: str
    unit: str
    values: tuple[float, ...]  # one per repeat that measured it

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread_percent(self) -> float | None:
        median = self.median
        return None if not median else (max(self.values) - min(self.values)) / median * 100

    def line(self) -> str:
        form = "{:,.0f}" if self.unit == "/min" else "{:,.1f}"
        low, mid, high = (form.format(v) for v in (min(self.values), self.median, max(self.values)))
        spread = "" if self.spread_percent is None else f", spread {self.spread_percent:.1f} %"
        return f"{self.figure} {low} / {mid} / {high} {self.unit} (min / median / max{spread})"

    def to_dict(self) -> dict[str, Any]:
        return {"Values": list(self.values), "Min": min(self.values), "Median": self.median, "Max": max(self.values),
                "SpreadPercent": self.spread_percent}  # fmt: skip


@dataclass(frozen=True)
class ConfigurationSpread:
    label: str
    measured: int  # repeats in which it ended with a recommendation
    top: int  # repeats in which it was the top recommendation
    figures: tuple[Spread, ...]


def spread(runs: Sequence[JobResults]) -> tuple[ConfigurationSpread, ...]:
    """Each configuration's figures over ``runs`` (the same job's repeats, in order)."""
    tops = Counter(run.top.index for run in runs if run.top is not None)
    found = []
    for index, label in _configurations(runs):
        sizings = [b.sizing for run in runs for b in run.benchmarks if b.index == index and b.measured and b.sizing]
        figures = []
        for name, unit, read in FIGURES:
            values = tuple(v for v in (read(s) for s in sizings) if v is not None)
            if values:
                figures.append(Spread(name, unit, values))
        found.append(ConfigurationSpread(label, len(sizings), tops[index], tuple(figures)))
    return tuple(found)


def _configurations(runs: Sequence[JobResults]) -> list[tuple[int, str]]:
    seen: dict[int, str] = {}
    for run in runs:
        for benchmark in run.benchmarks:
            seen.setdefault(benchmark.index, benchmark.label)
    return sorted(seen.items())


def summary_lines(runs: Sequence[JobResults]) -> list[str]:
    """The spread for the terminal, a configuration a few lines."""
    found = spread(runs)
    lines = [f"{len(runs)} repeats of {runs[0].spec.name}:" if runs else "no repeat ran"]
    for configuration in found:
        lines.append(f"  {configuration.label}: measured in {configuration.measured} of {len(runs)}, "
                     f"top in {configuration.top}")  # fmt: skip
        lines += [f"    {figure.line()}" for figure in configuration.figures]
    if (changed := top_changed(found)) is not None:
        lines.append(f"WARNING: {changed}")
    return lines


def top_changed(found: Sequence[ConfigurationSpread]) -> str | None:
    """A sentence when more than one configuration was the top recommendation across the repeats."""
    tops = [c for c in found if c.top]
    if len(tops) < 2:
        return None
    shown = ", ".join(f"{c.label} in {c.top}" for c in tops)
    return f"the top recommendation changed between repeats ({shown}): these configurations cannot be told apart"


def to_dict(runs: Sequence[JobResults]) -> dict[str, Any]:
    """repeats.json: each repeat's folder and status, and the spread."""
    found = spread(runs)
    repeats = [
        {"Folder": folder_name(number), "RunId": run.run_id, "Status": run.status.aws,
         "TopRecommendation": None if run.top is None else run.top.label}
        for number, run in enumerate(runs, 1)
    ]  # fmt: skip
    configurations = [
        {"Configuration": c.label, "Measured": c.measured, "Top": c.top,
         "Figures": {f.figure: f.to_dict() for f in c.figures}}
        for c in found
    ]  # fmt: skip
    name = runs[0].spec.name if runs else None
    return {"JobName": name, "Repeats": repeats, "Configurations": configurations, "Warning": top_changed(found)}
