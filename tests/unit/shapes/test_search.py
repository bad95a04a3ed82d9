"""The search's decisions, as exact tables, with the clock passed in."""

from __future__ import annotations

import pytest

from loadrec.shapes.search import Search, stairs_seconds


def run(search: Search, knee: int) -> tuple[int | None, list[int], float]:
    """The search against an endpoint that meets its SLOs up to ``knee`` users: (answer, probes, seconds)."""
    now = 0.0
    users: int | None = search.start(now)
    tried = []
    while users is not None:
        tried.append(users)
        assert not search.due(now + search.probe_s - 0.001)  # a probe is judged only once its time is up
        now += search.probe_s
        assert search.due(now)
        users = search.judge(now, passed=users <= knee)
    assert search.done and not search.due(now + 100) and search.users() is None
    assert len(tried) <= search.max_probes and now <= search.max_seconds
    return search.passed, tried, now


@pytest.mark.parametrize(
    ("knee", "answer", "tried"),
    [
        (37, 37, [1, 2, 4, 8, 16, 32, 64, 48, 40, 36, 38, 37]),
        (100, 100, [1, 2, 4, 8, 16, 32, 64, 128, 96, 112, 104, 100, 102]),  # 102 fails: within 2 % of 100
        (1, 1, [1, 2]),
        (0, None, [1]),  # even the least load misses: nothing meets the SLOs
        (500, 200, [1, 2, 4, 8, 16, 32, 64, 128, 200]),  # the ceiling passes: the answer is the ceiling
    ],
)
def test_the_search_grows_then_bisects_to_its_tolerance(knee: int, answer: int | None, tried: list[int]) -> None:
    found, probes, _ = run(Search(1, 200, 0.02, probe_s=20), knee)
    assert (found, probes) == (answer, tried)


@pytest.mark.parametrize("knee", [3, 17, 60, 99, 150, 199])
def test_the_answer_is_within_the_tolerance_of_the_knee_in_fewer_seconds_than_stairs(knee: int) -> None:
    found, _, seconds = run(Search(2, 200, 0.05, probe_s=20), knee)
    assert found is not None and found <= knee and knee - found <= max(1, 0.05 * found)
    # The STAIRS that resolves as finely (5 % of the answer, 1 user at least) with the same 20 s per level.
    assert seconds < stairs_seconds(2, 200, max(1, int(0.05 * knee)), 20)


def test_a_search_asks_for_sensible_bounds() -> None:
    for bad in ((0, 10, 0.02, 20), (5, 4, 0.02, 20), (1, 10, 0, 20), (1, 10, 0.02, 0)):
        with pytest.raises(ValueError):
            Search(*bad)  # type: ignore[arg-type]


def test_stairs_seconds_counts_every_level() -> None:
    assert stairs_seconds(10, 100, 10, 30) == 10 * 30  # 10, 20, ..., 100
    assert stairs_seconds(1, 1, 1, 30) == 30


@pytest.mark.parametrize(("low", "high"), [(1, 1), (1, 2), (1, 200), (2, 200), (3, 1000), (50, 64)])
def test_no_endpoint_takes_more_probes_than_the_bound(low: int, high: int) -> None:
    # Every knee from "nothing passes" to "everything passes", each through run()'s bound check.
    for knee in range(low - 1, high + 2):
        run(Search(low, high, 0.01, probe_s=10), knee)


def test_a_search_started_again_begins_afresh() -> None:
    search = Search(1, 8, 0.05, probe_s=10)
    assert search.users() is None  # not begun
    run(search, 3)
    assert search.start(0.0) == 1 and not search.done and search.users() == 1 and len(search.probes) == 1
