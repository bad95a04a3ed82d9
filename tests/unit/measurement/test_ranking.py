"""Ranking by importance, as exact scores."""

from __future__ import annotations

import pytest

from loadrec.engine.measurement.ranking import UNPRICED, Candidate, Importance, Weights, rank

CHEAP_SLOW = Candidate(
    0, "ml.c5.large", cost_per_inference=1.0e-7, model_latency_us=80_000, invocations_per_instance=1000
)
DEAR_FAST = Candidate(
    1, "ml.c5.2xlarge", cost_per_inference=2.0e-7, model_latency_us=40_000, invocations_per_instance=4000
)


def test_cost_first_picks_the_cheapest() -> None:
    ranked = rank([CHEAP_SLOW, DEAR_FAST], Weights(Importance.HIGHEST, Importance.LOWEST, Importance.LOWEST))
    assert [(r.index, r.rank) for r in ranked] == [(0, 1), (1, 2)]
    # cheap: (5×1 + 1×0.5 + 1×0.25) / 7; dear: (5×0.5 + 1×1 + 1×1) / 7
    assert [r.score for r in ranked] == [round(5.75 / 7, 4), round(4.5 / 7, 4)]


def test_throughput_first_picks_the_fastest() -> None:
    ranked = rank([CHEAP_SLOW, DEAR_FAST], Weights(Importance.LOWEST, Importance.LOW, Importance.HIGHEST))
    assert ranked[0].index == 1


def test_an_unpriced_configuration_is_ranked_as_the_dearest_and_warned_of() -> None:
    """One type without a price used to drop cost for all, and the unpriced type became the top pick."""
    unpriced = [Candidate(0, "a", None, 50_000, 1000), Candidate(1, "b", 1e-7, 60_000, 1000)]
    ranked = rank(unpriced, Weights(Importance.HIGHEST, Importance.LOW, Importance.LOW))
    assert [(r.index, r.warning) for r in ranked] == [(1, None), (0, UNPRICED)]
    # b: (5×1 + 2×(5/6) + 2×1) / 9; a: (5×0 + 2×1 + 2×1) / 9
    assert [r.score for r in ranked] == [round((5 + 2 * 5 / 6 + 2) / 9, 4), round(4 / 9, 4)]


def test_with_no_price_at_all_cost_is_no_criterion_and_nobody_is_warned_of() -> None:
    unpriced = [Candidate(0, "a", None, 50_000, 1000), Candidate(1, "b", None, 60_000, 1000)]
    ranked = rank(unpriced, Weights(Importance.HIGHEST, Importance.LOW, Importance.LOW))
    assert [(r.index, r.score, r.warning) for r in ranked] == [(0, 1.0, None), (1, round((5 / 6 + 1) / 2, 4), None)]


def test_ties_go_to_the_cheaper_then_the_earlier() -> None:
    twins = [Candidate(0, "a", 2e-7, 50_000, 1000), Candidate(1, "b", 1e-7, 50_000, 1000)]
    equal = Weights(Importance.LOWEST, Importance.LOWEST, Importance.LOWEST)
    assert [r.index for r in rank(twins, Weights(Importance.LOWEST, Importance.HIGH, Importance.HIGH))] == [1, 0]
    same = [Candidate(0, "a", 1e-7, 50_000, 1000), Candidate(1, "b", 1e-7, 50_000, 1000)]
    assert [r.index for r in rank(same, equal)] == [0, 1]
    assert rank([], equal) == []


@pytest.mark.parametrize("text", ["Lowest", "low", "MODERATE", "High", "highest"])
def test_importance_labels(text: str) -> None:
    assert Importance.parse(text).label == text.capitalize()
