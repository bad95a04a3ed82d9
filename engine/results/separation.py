"""Whether the top recommendation can be told apart from the runner-up, given each figure's noise.

The ranking (:mod:`loadrec.engine.measurement.ranking`) scores cost, latency and
throughput per instance. When the top two configurations' 95 % intervals overlap on every
one of them (cost per inference derived from the rate's interval and the price; with
streamed answers cost per million output tokens, TTFT and output tokens per second), the
order between them could be the measured windows' noise: the recommendation says so
rather than presenting a coin toss as a finding. Pure, from the typed results.
"""

from __future__ import annotations

from loadrec.engine.measurement import confidence as ci
from loadrec.engine.results.model import Benchmark, JobResults


def cannot_tell_apart(results: JobResults) -> str | None:
    """Why the top two configurations cannot be told apart (one sentence), or None when they can (or when
    either has no intervals to judge by)."""
    if len(results.ranking) < 2:
        return None
    by_index = {b.index: b for b in results.benchmarks}
    top, runner_up = (by_index[ranked.index] for ranked in results.ranking[:2])
    if any(b.sizing is not None and b.sizing.good_tokens_per_second is not None for b in (top, runner_up)):
        return None  # ranked on good tokens, which have no interval (yet): no claim either way
    # As the ranking decides (ranking_of): token figures only when every measured configuration streamed.
    measured = [b for b in results.benchmarks if b.measured and b.sizing is not None]
    streamed = all(b.sizing is not None and b.sizing.output_tokens_per_second is not None for b in measured)
    rate, latency = (ci.TOKENS, ci.TTFT) if streamed else (ci.MAX_INVOCATIONS, ci.MODEL_LATENCY)
    names = {ci.TOKENS: "output tokens per second per instance", ci.MAX_INVOCATIONS: "invocations per instance",
             ci.TTFT: "time to first token", ci.MODEL_LATENCY: "ModelLatency",
             "cost": "cost per million output tokens" if streamed else "cost per inference"}  # fmt: skip
    figures = [_figures(b, rate, latency, 3600.0 / 1e6 if streamed else 60.0) for b in (top, runner_up)]
    if figures[0] is None or figures[1] is None:
        return None
    overlapping = []
    for name in figures[0]:
        mine, theirs = figures[0][name], figures[1][name]
        if mine is None or theirs is None:
            continue
        if mine.low > theirs.high or theirs.low > mine.high:
            return None  # told apart on this one
        overlapping.append(names[name])
    if not overlapping:
        return None
    return (f"{top.label} and {runner_up.label} cannot be told apart: their {ci.LEVEL:g} % intervals of "
            f"{', '.join(overlapping)} overlap, so their order may be the windows' noise (a longer window, or "
            "another run compared with loadrec compare, can settle it)")  # fmt: skip


def _figures(b: Benchmark, rate: str, latency: str, per_hour: float) -> dict[str, ci.Interval | None] | None:
    """One configuration's intervals on what the ranking scores: its rate per instance, its latency and,
    priced, its cost (an instance-hour's price over the rate's bounds, swapped: a higher rate costs less)."""
    if b.confidence is None or b.sizing is None or b.confidence.get(rate) is None:
        return None
    count = b.sizing.initial_instance_count
    bounds = b.confidence.get(rate)
    assert bounds is not None
    per_instance = bounds.scaled(1 / count)
    found: dict[str, ci.Interval | None] = {rate: per_instance, latency: b.confidence.get(latency)}
    if b.sizing.cost_per_hour is not None and per_instance.low > 0:
        price = b.sizing.cost_per_hour / count
        found["cost"] = ci.Interval(price / (per_instance.high * per_hour), price / (per_instance.low * per_hour))
    return found
