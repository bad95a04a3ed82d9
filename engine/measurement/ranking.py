"""Ranking endpoint configurations by the importance of cost, latency and throughput.

As in Studio's recommendation view, each objective gets an importance from Lowest to
Highest (weights 1 to 5). Each measured configuration is scored on each objective as a
ratio to the best configuration (1 = the best; a configuration twice as expensive as the
cheapest scores 0.5 on cost), so small differences weigh little and large ones a lot:
- Cost: CostPerInference, lower is better; a configuration without a price scores 0 on cost (ranked as if
  the dearest) and carries a warning saying so: cost is never dropped for all because one is unpriced;
- Latency: ModelLatency, lower is better;
- Throughput: measured invocations per minute of one instance, higher is better.
The score is the weighted mean; the highest score is the top recommendation, ties going
to the lower CostPerInference, then to the earlier configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum


class Importance(IntEnum):
    LOWEST = 1
    LOW = 2
    MODERATE = 3
    HIGH = 4
    HIGHEST = 5

    @property
    def label(self) -> str:
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> Importance:
        return cls[text.upper()]


@dataclass(frozen=True)
class Weights:
    cost: Importance = Importance.HIGH
    latency: Importance = Importance.MODERATE
    throughput: Importance = Importance.LOW


@dataclass(frozen=True)
class Candidate:
    index: int
    label: str
    cost_per_inference: float | None
    model_latency_us: float | None
    invocations_per_instance: float


@dataclass(frozen=True)
class Ranked:
    index: int
    label: str
    rank: int
    score: float
    warning: str | None = None  # why its rank may mislead (no price: scored 0 on cost)


UNPRICED = "no price: scored 0 on cost, as if the dearest (give the target a PricePerHour, or --prices)"


def rank(candidates: Sequence[Candidate], weights: Weights) -> list[Ranked]:
    """Candidates best first, with their rank (1 = top) and score in [0, 1]."""
    if not candidates:
        return []
    criteria: list[tuple[Importance, list[float]]] = []
    costs = [c.cost_per_inference for c in candidates]
    priced = [float(cost) for cost in costs if cost is not None]
    if priced:
        scored = _lower_is_better(priced)
        by_cost = iter(scored)
        criteria.append((weights.cost, [next(by_cost) if cost is not None else 0.0 for cost in costs]))
    latencies = [c.model_latency_us for c in candidates]
    if all(latency is not None for latency in latencies):
        criteria.append((weights.latency, _lower_is_better([float(v or 0.0) for v in latencies])))
    criteria.append((weights.throughput, _higher_is_better([c.invocations_per_instance for c in candidates])))
    total = sum(int(weight) for weight, _ in criteria)
    scores = [sum(int(w) * values[i] for w, values in criteria) / total for i in range(len(candidates))]

    def order(i: int) -> tuple[float, float, int]:
        cost = candidates[i].cost_per_inference
        return (-scores[i], cost if cost is not None else float("inf"), candidates[i].index)

    ordered = sorted(range(len(candidates)), key=order)
    unpriced = UNPRICED if priced else None  # none priced: cost is no criterion, and nobody is misranked
    return [
        Ranked(
            candidates[i].index,
            candidates[i].label,
            position + 1,
            round(scores[i], 4),
            unpriced if costs[i] is None else None,
        )
        for position, i in enumerate(ordered)
    ]


def _lower_is_better(values: list[float]) -> list[float]:
    """best / value: 1 for the lowest, in (0, 1] for the others."""
    best = min(values)
    return [1.0 if value <= 0 or best == value else best / value for value in values]


def _higher_is_better(values: list[float]) -> list[float]:
    """value / best: 1 for the highest, in [0, 1] for the others."""
    best = max(values)
    return [value / best if best > 0 else 1.0 for value in values]
