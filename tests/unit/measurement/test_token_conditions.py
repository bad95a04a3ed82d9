"""Streamed answers' stopping conditions (the Loadrec key's StoppingConditions): checked with every problem
named, judged by the pure monitor with their own stop reasons, and the measured window held under them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import JobSpecError, StoppingConditions, parse_job
from loadrec.engine.job.token_conditions import ITL, OUTPUT_TOKENS, TTFT, TokenConditions, TokenThreshold
from loadrec.engine.measurement.metrics import WindowStats
from loadrec.engine.measurement.monitor import MonitorSettings, StopReason, evaluate, readings, window_quantiles
from loadrec.engine.measurement.outcome import Measured, Sizing, Status, measure, size
from loadrec.engine.measurement.ranking import Weights
from loadrec.engine.results.model import Benchmark, ranking_of
from loadrec.engine.results.outputs.terminal import stopping_sentence
from tests.conftest import VALID_REQUEST

TTFT_P95 = TokenThreshold(TTFT, "P95", 95.0, 500.0)
ITL_P99 = TokenThreshold(ITL, "P99", 99.0, 40.0)
STOPPING = StoppingConditions(tokens=TokenConditions((TTFT_P95, ITL_P99)))
SETTINGS = MonitorSettings(window_s=10, min_requests=5)


def window(ttft_p95: float | None, itl_p99: float | None, successes: int = 50, tokens: int = 1000) -> WindowStats:
    streamed = ttft_p95 is not None
    return WindowStats(
        0, 10, successes, 0, 4, {50.0: 900.0, 95.0: 1500.0, 99.0: 1600.0},
        {50.0: 100.0, 95.0: ttft_p95, 99.0: ttft_p95} if streamed else None,
        {50.0: 10.0, 95.0: 20.0, 99.0: itl_p99} if streamed else None,
        tokens if streamed else 0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("ttft", "itl", "successes", "stop"),
    [
        (400.0, 30.0, 50, None),
        (600.0, 30.0, 50, StopReason.TTFT_THRESHOLD),
        (400.0, 45.0, 50, StopReason.ITL_THRESHOLD),
        (600.0, 45.0, 50, StopReason.TTFT_THRESHOLD),  # in the order they are listed
        (600.0, 45.0, 4, None),  # too few answers to judge
        (None, None, 50, None),  # nothing streamed
    ],
)
def test_token_thresholds_stop_with_their_own_reasons(
    ttft: float | None, itl: float | None, successes: int, stop: StopReason | None
) -> None:
    evaluation = evaluate(STOPPING, SETTINGS, window(ttft, itl, successes), [], False)
    assert evaluation.stop is stop
    if stop is StopReason.TTFT_THRESHOLD:
        assert evaluation.detail == "P95 time to first token 600.0 ms > 500 ms"


def test_the_readings_show_each_token_threshold_against_its_limit() -> None:
    found = {r.condition: r for r in readings(STOPPING, SETTINGS, window(250.0, 30.0))}
    assert found["P95 time to first token"].value == "250.0 ms" and found["P95 time to first token"].ratio == 0.5
    assert found["P99 inter-token latency"].limit == "40 ms" and found["P99 inter-token latency"].judged
    assert window_quantiles(StoppingConditions(tokens=TokenConditions((TokenThreshold(TTFT, "P90", 90.0, 1),)))) == (
        50.0, 90.0, 95.0, 99.0,
    )  # fmt: skip


def test_the_measured_window_holds_under_every_threshold_and_gives_tokens_and_cost() -> None:
    history = [window(300.0, 30.0, successes=40, tokens=800), window(700.0, 30.0, successes=60, tokens=1200)]
    measured = measure(history, STOPPING, SETTINGS)
    assert measured is not None and measured.streamed is not None
    assert (measured.invocations_per_minute, measured.streamed.output_tokens_per_second) == (240.0, 80.0)
    assert (measured.streamed.ttft_ms, measured.streamed.itl_ms) == (300.0, 30.0)  # at the thresholds' percentiles
    sizing = size(measured, StoppingConditions(max_invocations=480, tokens=STOPPING.tokens), price_per_hour=1.44)
    assert (sizing.initial_instance_count, sizing.output_tokens_per_second) == (2, 160.0)
    assert sizing.cost_per_million_tokens == pytest.approx(2.88 / (160 * 3600) * 1e6)


def test_a_plain_endpoint_gets_no_streaming_numbers() -> None:
    sizing = size(Measured(600.0, 80.0), StoppingConditions(), 0.5)
    assert (sizing.output_tokens_per_second, sizing.cost_per_million_tokens) == (None, None)


def with_extension(stopping: Any) -> dict[str, Any]:
    request = copy.deepcopy(VALID_REQUEST)
    request["Loadrec"] = {
        "Targets": [{"Http": {"Url": "http://127.0.0.1:1/v1/completions"}, "Streaming": {}}],
        "StoppingConditions": stopping,
    }
    return request


def test_the_loadrec_stopping_conditions_reach_the_monitor() -> None:
    spec = parse_job(
        with_extension(
            {
                "TokenLatencyThresholds": [
                    {"Metric": "TimeToFirstToken", "Percentile": "P95", "ValueInMilliseconds": 500}
                ],
                "FlatThroughput": "OutputTokens",
            }
        ),
        LimitsMode.RELAXED,
    )
    assert spec.stopping.tokens == TokenConditions((TokenThreshold(TTFT, "P95", 95.0, 500),), OUTPUT_TOKENS)


def test_every_problem_of_the_loadrec_stopping_conditions_is_named() -> None:
    bad = {
        "TokenLatencyThresholds": [
            {"Metric": "TimeToLastToken", "Percentile": "P95", "ValueInMilliseconds": 500},
            {"Metric": "InterTokenLatency", "Percentile": "high", "ValueInMilliseconds": -1, "Unit": "s"},
            {"Metric": "InterTokenLatency"},
        ],
        "FlatThroughput": "Tokens",
        "Colour": "red",
    }
    with pytest.raises(JobSpecError) as refused:
        parse_job(with_extension(bad), LimitsMode.RELAXED)
    where = "Loadrec.StoppingConditions"
    assert sorted(p.path for p in refused.value.problems) == sorted([
        f"{where}.Colour",
        f"{where}.FlatThroughput",
        f"{where}.TokenLatencyThresholds[0].Metric",
        f"{where}.TokenLatencyThresholds[1].Unit",
        f"{where}.TokenLatencyThresholds[1].Percentile",
        f"{where}.TokenLatencyThresholds[1].ValueInMilliseconds",
        f"{where}.TokenLatencyThresholds[2].Percentile",
        f"{where}.TokenLatencyThresholds[2].ValueInMilliseconds",
    ])  # fmt: skip


def test_streamed_configurations_are_ranked_on_tokens() -> None:
    def streamed(index: int, per_million: float, ttft: float, tokens: float) -> Benchmark:
        sizing = Sizing(1, 600, 900_000, 1.0, 1e-5, tokens, ttft, 20.0, per_million)
        return Benchmark(index, f"c{index}", Status.COMPLETED, sizing=sizing)

    # The same cost per inference and invocations: only the token numbers tell them apart.
    cheap, dear = streamed(0, 2.0, 300.0, 140.0), streamed(1, 8.0, 300.0, 35.0)
    assert [r.index for r in ranking_of(iter([dear, cheap]), Weights())] == [0, 1]


def test_token_conditions_need_a_target_that_streams() -> None:
    request = with_extension({"FlatThroughput": "OutputTokens"})
    del request["Loadrec"]["Targets"][0]["Streaming"]
    with pytest.raises(JobSpecError) as refused:
        parse_job(request, LimitsMode.RELAXED)
    assert [p.path for p in refused.value.problems] == ["Loadrec.StoppingConditions"]
    assert "no target streams" in refused.value.problems[0].message


def test_the_summary_says_the_token_conditions_in_words() -> None:
    tokens = TokenConditions((TTFT_P95, ITL_P99), OUTPUT_TOKENS)
    assert stopping_sentence(StoppingConditions(tokens=tokens)) == (
        "Each test stops when P95 time to first token exceeds 500 ms, P99 inter-token latency exceeds 40 ms, "
        "output tokens per second stop growing as users are added, or the traffic pattern ends."
    )


def test_with_flat_throughput_in_tokens_the_window_of_the_most_tokens_is_measured() -> None:
    few_long, many_short = window(300.0, 30.0, successes=20, tokens=2000), window(300.0, 30.0, successes=60, tokens=900)
    by_answers = measure([few_long, many_short], STOPPING, SETTINGS)
    by_tokens = measure([few_long, many_short], StoppingConditions(tokens=TokenConditions((), OUTPUT_TOKENS)), SETTINGS)
    assert by_answers is not None and by_answers.invocations_per_minute == 360.0
    assert (
        by_tokens is not None
        and by_tokens.streamed is not None
        and by_tokens.streamed.output_tokens_per_second == 200.0
    )
