"""When the top recommendation cannot be told apart from the runner-up: every ranked figure's intervals overlap."""

from __future__ import annotations

import copy
from dataclasses import replace

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.engine.measurement.confidence import MAX_INVOCATIONS, MODEL_LATENCY, TOKENS, TTFT, Confidence, Interval
from loadrec.engine.measurement.outcome import Sizing, Status
from loadrec.engine.measurement.ranking import Weights
from loadrec.engine.results.aws import describe
from loadrec.engine.results.model import Benchmark, JobResults, job_results
from loadrec.engine.results.outputs.terminal import render_results
from loadrec.engine.results.separation import cannot_tell_apart
from tests.report_fixture import CREATED, REQUEST, UPDATED


def measured(index: int, rate: tuple[float, float], latency: tuple[float, float], price: float = 0.2) -> Benchmark:
    """A test of 2 instances whose MaxInvocations (all instances) and ModelLatency lie in these intervals."""
    middle = sum(rate) / 2
    sizing = Sizing(2, round(middle), round(sum(latency) / 2 * 1000), price * 2, price / (middle / 2 * 60))
    intervals = {MAX_INVOCATIONS: Interval(*rate), MODEL_LATENCY: Interval(*latency)}
    label = ["ml.c5.large", "ml.c5.xlarge", "ml.c5.2xlarge"][index]
    return Benchmark(index, label, Status.COMPLETED, sizing=sizing, confidence=Confidence(30, 3, intervals))


def results_of(*benchmarks: Benchmark) -> JobResults:
    spec = parse_job(copy.deepcopy(REQUEST), LimitsMode.RELAXED)
    return job_results(spec, "fixture", benchmarks, (CREATED, UPDATED), Weights())


def test_overlapping_intervals_on_every_ranked_figure_cannot_be_told_apart() -> None:
    results = results_of(measured(0, (9800, 10200), (40, 44)), measured(1, (9900, 10300), (41, 45)))
    sentence = cannot_tell_apart(results)
    assert sentence is not None
    first, second = (r.label for r in results.ranking[:2])
    assert sentence.startswith(f"{first} and {second} cannot be told apart: their 95 % intervals of ")
    assert "cost per inference" in sentence and "ModelLatency" in sentence and "invocations per instance" in sentence
    assert f"WARNING: {sentence}" in render_results(results)
    assert describe(results)["Loadrec"]["TopRecommendation"]["Warning"] == sentence


def test_one_figure_apart_is_enough_to_tell_them_apart() -> None:
    apart_on_latency = results_of(measured(0, (9800, 10200), (40, 44)), measured(1, (9900, 10300), (50, 55)))
    assert cannot_tell_apart(apart_on_latency) is None
    apart_on_cost = results_of(measured(0, (9800, 10200), (40, 44)), measured(1, (9900, 10300), (41, 45), 0.4))
    assert cannot_tell_apart(apart_on_cost) is None
    assert "Warning" not in describe(apart_on_cost)["Loadrec"]["TopRecommendation"]


def test_no_claim_without_intervals_or_a_runner_up() -> None:
    bare = replace(measured(1, (9900, 10300), (41, 45)), confidence=None)
    assert cannot_tell_apart(results_of(measured(0, (9800, 10200), (40, 44)), bare)) is None
    assert cannot_tell_apart(results_of(measured(0, (9800, 10200), (40, 44)))) is None


def test_streamed_configurations_are_judged_on_tokens_and_ttft() -> None:
    def streamed(index: int, tokens: tuple[float, float], ttft: tuple[float, float]) -> Benchmark:
        base = measured(index, (600, 620), (900, 950))
        assert base.sizing is not None
        middle = sum(tokens) / 2
        sizing = replace(base.sizing, output_tokens_per_second=middle, ttft_ms=sum(ttft) / 2,
                         cost_per_million_tokens=0.2 / (middle / 2 * 3600) * 1e6)  # fmt: skip
        return replace(base, sizing=sizing, confidence=Confidence(30, 3, {TOKENS: Interval(*tokens),
                                                                          TTFT: Interval(*ttft)}))  # fmt: skip

    close = results_of(streamed(0, (800, 840), (100, 120)), streamed(1, (810, 850), (105, 125)))
    sentence = cannot_tell_apart(close)
    assert sentence is not None and "time to first token" in sentence
    assert "cost per million output tokens" in sentence and "output tokens per second per instance" in sentence
    assert (
        cannot_tell_apart(results_of(streamed(0, (800, 840), (100, 120)), streamed(1, (400, 420), (105, 125)))) is None
    )
