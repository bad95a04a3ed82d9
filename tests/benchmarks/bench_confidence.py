"""How often the 95 % intervals hold the truth: coverage of the block bootstrap on synthetic windows of known
truth, and of ``loadrec compare``'s change interval on two windows drawn alike (its false-alarm rate).

Each trial draws a window, computes the interval loadrec reports, and checks it against the value the
window was drawn from:
  - rates: successes per second around 50, independent (φ = 0) or each second's excess carried into the
    next (AR(1), φ = 0.5: a server whose queue drains slowly), windows of 60 and 240 seconds;
  - latency: P95 of lognormal latencies (median 100 ms, σ = 0.3), 40 requests a second for 60 seconds;
  - compare: two independent windows of the same rate (60 s, φ = 0): the share judged "no change".

    .venv/bin/python tests/benchmarks/bench_confidence.py [--trials 500] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from loadrec.engine.measurement.confidence import (
    MAX_INVOCATIONS,
    MODEL_LATENCY,
    Counts,
    Quantiles,
    WindowSamples,
    block_count,
    change_interval,
    confidence,
    replicates,
)

Z95 = 1.6448536269514722


def rates(rng: np.random.Generator, seconds: int, phi: float, mean: float = 50.0) -> np.ndarray:
    level, found = 0.0, []
    for shock in rng.normal(0.0, 5.0, seconds):
        level = phi * level + shock
        found.append(mean + level)
    return np.asarray(found)


def rate_coverage(rng: np.random.Generator, trials: int, seconds: int, phi: float) -> float:
    hits = 0
    for _ in range(trials):
        found = confidence(WindowSamples(rates(rng, seconds, phi)), Quantiles())
        bounds = None if found is None else found.get(MAX_INVOCATIONS)
        assert bounds is not None
        hits += bounds.low <= 3000.0 <= bounds.high
    return hits / trials


def latency_coverage(rng: np.random.Generator, trials: int) -> float:
    mu, sigma = math.log(100.0), 0.3
    truth = math.exp(mu + Z95 * sigma)
    hits = 0
    for _ in range(trials):
        per_second = [np.round(rng.lognormal(mu, sigma, 40)) for _ in range(60)]
        window = WindowSamples(np.full(60, 40.0), latency=Counts.from_values(per_second))
        found = confidence(window, Quantiles())
        bounds = None if found is None else found.get(MODEL_LATENCY)
        assert bounds is not None
        hits += bounds.low <= truth <= bounds.high
    return hits / trials


def compare_no_change(rng: np.random.Generator, trials: int) -> float:
    quiet = 0
    for trial in range(trials):
        one = replicates(WindowSamples(rates(rng, 60, 0.0)), Quantiles(), seed=2 * trial)[MAX_INVOCATIONS]
        two = replicates(WindowSamples(rates(rng, 60, 0.0)), Quantiles(), seed=2 * trial + 1)[MAX_INVOCATIONS]
        bounds = change_interval(one, two, blocks=block_count(60))
        assert bounds is not None
        quiet += bounds.low <= 0.0 <= bounds.high
    return quiet / trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    began = time.perf_counter()
    print(f"nominal 95 %, {args.trials} trials each (seed {args.seed})")
    for seconds, phi in ((60, 0.0), (240, 0.0), (60, 0.5), (240, 0.5)):
        found = rate_coverage(rng, args.trials, seconds, phi)
        print(f"MaxInvocations, {seconds:>3} s, phi {phi:.1f}: coverage {found:.1%}")
    print(f"ModelLatency P95, 60 s x 40 req/s: coverage {latency_coverage(rng, args.trials):.1%}")
    print(f"compare, same rate twice (60 s): no change in {compare_no_change(rng, args.trials):.1%}")
    print(f"({time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
