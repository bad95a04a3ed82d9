"""Goodput and SLO attainment: the key, a request's verdict, the seconds and windows, the stop, the figures."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.slo_key import Slo
from loadrec.engine.job.spec import JobSpecError, StoppingConditions, parse_job
from loadrec.engine.measurement.metrics import Timeline, WindowStats
from loadrec.engine.measurement.monitor import MonitorSettings, StopReason, evaluate, readings
from loadrec.engine.measurement.outcome import Goodput, Measured, Sizing, measure, size
from loadrec.engine.measurement.ranking import Weights
from loadrec.engine.measurement.recording import SecondRecorder, check_wire
from loadrec.engine.results.aws import describe
from loadrec.engine.results.model import ranking_of
from loadrec.engine.results.outputs.terminal import render_results, stopping_sentence
from loadrec.engine.streaming.tokens import StreamTiming
from tests.conftest import VALID_REQUEST
from tests.report_fixture import COMPLETED, REQUEST, fixture_results
from tests.unit.measurement.test_metrics import Clock

START = 1000
SETTINGS = MonitorSettings(window_s=10, evaluate_every_s=2, min_requests=20)
STREAMED = {"Http": {"Url": "http://127.0.0.1:8080/v1/completions"}, "Streaming": {}}


def answer(ttft_ms: float, itl_ms: float, tokens: int = 10) -> StreamTiming:
    return StreamTiming(ttft_ms / 1e3, itl_ms / 1e3 * (tokens - 1), tokens, 1.0)


@pytest.mark.parametrize(
    ("slo", "e2e_ms", "timing", "good"),
    [
        (Slo(e2e_ms=100), 100.0, None, True),
        (Slo(e2e_ms=100), 100.5, None, False),
        (Slo(ttft_ms=200), 50.0, answer(200, 10), True),
        (Slo(ttft_ms=200), 50.0, answer(201, 10), False),
        (Slo(ttft_ms=200), 50.0, None, False),  # an answer read whole has no first token to time
        (Slo(ttft_ms=200), 50.0, StreamTiming(None, 0.0, 0, 1.0), False),  # nor one without any token
        (Slo(tpot_ms=20), 50.0, answer(500, 20), True),
        (Slo(tpot_ms=20), 50.0, answer(500, 21), False),
        (Slo(tpot_ms=20), 50.0, answer(500, 99, tokens=1), True),  # one token: no time per token to fail
        (Slo(200, 20, 1000), 900.0, answer(150, 15), True),
        (Slo(200, 20, 1000), 1200.0, answer(150, 15), False),  # every SLO must hold
    ],
)  # fmt: skip
def test_a_request_is_good_when_it_meets_every_slo(slo: Slo, e2e_ms: float, timing: Any, good: bool) -> None:
    assert slo.met(e2e_ms, timing) is good


def job_with(slo: Any, targets: list[Any] | None = None) -> dict[str, Any]:
    request = copy.deepcopy(VALID_REQUEST)
    request["Loadrec"] = {"Targets": targets or [STREAMED], "Slo": slo}
    return request


def problems(slo: Any, targets: list[Any] | None = None) -> list[str]:
    with pytest.raises(JobSpecError) as raised:
        parse_job(job_with(slo, targets), LimitsMode.RELAXED)
    return [str(problem) for problem in raised.value.problems]


def test_the_key_is_read_into_the_stopping_conditions() -> None:
    raw = {"TimeToFirstTokenMs": 500, "TimePerOutputTokenMs": 40, "EndToEndMs": 9000, "MinAttainmentPercent": 95}
    spec = parse_job(job_with(raw), LimitsMode.AWS)
    assert spec.stopping.slo == spec.extension.slo == Slo(500.0, 40.0, 9000.0, 95.0)
    assert spec.stopping.slo.to_dict() == raw


@pytest.mark.parametrize(
    ("slo", "expected"),
    [
        ([], "Loadrec.Slo: [] is an array, expected an object"),
        ({"MinAttainmentPercent": 90},
         "Loadrec.Slo: needs at least one of TimeToFirstTokenMs, TimePerOutputTokenMs, EndToEndMs"),
        ({"EndToEndMs": 0}, "Loadrec.Slo.EndToEndMs: 0 must be above 0"),
        ({"EndToEndMs": 3_600_001}, "Loadrec.Slo.EndToEndMs: 3600001 is above the maximum of 3,600,000"),
        ({"EndToEndMs": "1s"}, 'Loadrec.Slo.EndToEndMs: "1s" is a string, expected a number'),
        ({"EndToEndMs": 10, "MinAttainmentPercent": 101},
         "Loadrec.Slo.MinAttainmentPercent: 101 is above the maximum of 100"),
        ({"EndToEndMs": 10, "Ttft": 5},
         "Loadrec.Slo.Ttft: unknown field (allowed here: TimeToFirstTokenMs, TimePerOutputTokenMs, EndToEndMs, "
         "MinAttainmentPercent)"),
    ],
)  # fmt: skip
def test_each_bad_value_is_named_with_its_path(slo: Any, expected: str) -> None:
    assert expected in problems(slo)


def test_token_slos_need_a_target_that_streams() -> None:
    plain = [{"Http": {"Url": "http://127.0.0.1:8080/invocations"}}]
    assert problems({"TimeToFirstTokenMs": 100}, plain) == [
        "Loadrec.Slo.TimeToFirstTokenMs: judges tokens, but no target streams (give one a Streaming key)"
    ]
    assert parse_job(job_with({"EndToEndMs": 100}, plain), LimitsMode.AWS).stopping.slo == Slo(e2e_ms=100.0)


def recorded() -> list[dict[str, Any]]:
    """Two seconds: 3 good answers of 10 tokens and 1 not, a failure; then 1 good of 10 and 3 not."""
    clock = Clock(START + 0.5)
    recorder = SecondRecorder(clock)
    for good in (True, True, True, False):
        recorder.record_success(1000.0, answer(100, 10), good=good)
    recorder.record_failure("HTTP 500")
    clock.now = START + 1.5
    for good in (True, False, False, False):
        recorder.record_success(1000.0, answer(100, 10), good=good)
    return [stats.to_wire() for stats in recorder.take_all()]


def test_good_requests_and_their_tokens_ride_the_wire_and_make_the_windows() -> None:
    wires = recorded()
    assert [(w["gd"], w["gt"]) for w in wires] == [(3, 30), (1, 10)]
    for wire in wires:
        check_wire(wire, START)
    timeline = Timeline(START)
    timeline.add(wires)
    window = timeline.window(2, 2, (95.0,))
    assert (window.good, window.good_tokens, window.requests) == (4, 40, 9)
    assert window.attainment == pytest.approx(4 / 9) and window.good_per_second == 2.0
    assert window.good_tokens_per_second == 20.0
    assert WindowStats.from_dict(json.loads(json.dumps(window.to_dict()))) == window
    assert [(row.good, row.good_tokens) for row in timeline.rows()] == [(3, 30), (1, 10)]


def test_without_an_slo_nothing_is_judged() -> None:
    recorder = SecondRecorder(Clock(START + 0.5))
    recorder.record_success(1000.0, answer(100, 10))
    wire = recorder.take_all()[0].to_wire()
    assert "gd" not in wire
    timeline = Timeline(START)
    timeline.add([wire])
    window = timeline.window(1, 1, (95.0,))
    assert (window.good, window.attainment, window.good_per_second) == (None, None, None)


@pytest.mark.parametrize("value", ["3", True, 1.5])
def test_a_damaged_good_count_is_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        check_wire(recorded()[0] | {"gd": value}, START)


def judged(good: int, requests: int = 100) -> WindowStats:
    return WindowStats(0, 10, requests, 0, 4, {50.0: 20.0, 95.0: 30.0, 99.0: 40.0}, good=good, good_tokens=good * 8)


ATTAIN_95 = StoppingConditions(slo=Slo(ttft_ms=200, min_attainment=95))


def test_the_monitor_stops_when_attainment_falls_below_its_minimum() -> None:
    assert evaluate(ATTAIN_95, SETTINGS, judged(95), [], False).stop is None
    stopped = evaluate(ATTAIN_95, SETTINGS, judged(94), [], False)
    assert stopped.stop is StopReason.SLO_ATTAINMENT
    assert stopped.detail == "94.0% of 100 requests met the SLO < 95%"
    assert evaluate(ATTAIN_95, SETTINGS, judged(1, requests=19), [], False).stop is None  # too few to judge
    no_minimum = StoppingConditions(slo=Slo(ttft_ms=200))
    assert evaluate(no_minimum, SETTINGS, judged(0), [], False).stop is None  # goodput reported, never a stop


def test_the_attainment_reading_is_its_misses_over_those_allowed() -> None:
    reading = next(r for r in readings(ATTAIN_95, SETTINGS, judged(98)) if r.condition == "SLO attainment")
    assert (reading.value, reading.limit, reading.judged) == ("98.0%", "95%", True)
    assert reading.ratio == pytest.approx(2 / 5)  # 2 % missed of the 5 % allowed
    strict = StoppingConditions(slo=Slo(e2e_ms=100, min_attainment=100))
    ratios = [r.ratio for r in readings(strict, SETTINGS, judged(100)) + readings(strict, SETTINGS, judged(99))
              if r.condition == "SLO attainment"]  # fmt: skip
    assert ratios == [0.0, 1.0]


def test_the_measured_window_must_hold_the_attainment_and_carries_the_goodput() -> None:
    busier, held = judged(90), replace(judged(58, requests=60), start=10, end=20)
    measured = measure([busier, held], ATTAIN_95, SETTINGS)
    assert measured is not None and measured.window == held  # the busier window missed the SLO
    assert measured.goodput == Goodput(58 / 60, 5.8, 46.4)


def test_sizing_scales_goodput_and_prices_good_tokens() -> None:
    measured = Measured(600.0, 30.0, goodput=Goodput(0.9, 9.0, 72.0))
    sized = size(measured, StoppingConditions(max_invocations=1200), price_per_hour=3.6)
    assert (sized.initial_instance_count, sized.attainment) == (2, 0.9)
    assert (sized.good_requests_per_second, sized.good_tokens_per_second) == (18.0, 144.0)
    assert sized.cost_per_million_good_tokens == pytest.approx(7.2 / (144 * 3600) * 1e6)


def streamed(index: int, cost: float, good_cost: float, good_tokens: float) -> Any:
    sizing = Sizing(1, 600, 30_000, 1.0, 1e-5, output_tokens_per_second=100.0, ttft_ms=100.0, itl_ms=10.0,
                    cost_per_million_tokens=cost, good_tokens_per_second=good_tokens, attainment=0.9,
                    good_requests_per_second=5.0, cost_per_million_good_tokens=good_cost)  # fmt: skip
    return replace(COMPLETED, index=index, label=f"c{index}", sizing=sizing)


def test_with_an_slo_the_ranking_weighs_good_tokens() -> None:
    """c0 is cheaper per output token; c1 per good one (more of its requests met the SLO)."""
    ranked = ranking_of([streamed(0, 2.0, 8.0, 25.0), streamed(1, 3.0, 4.0, 50.0)], Weights())
    assert [r.index for r in ranked] == [1, 0]


def test_goodput_shows_in_describe_and_the_terminal() -> None:
    request = copy.deepcopy(REQUEST)
    request["Loadrec"]["Slo"] = {"EndToEndMs": 100, "MinAttainmentPercent": 90}
    results = fixture_results((streamed(0, 2.0, 4.0, 50.0),), timelines=False)
    results = replace(results, spec=parse_job(request, LimitsMode.RELAXED))
    shown = describe(results)["Loadrec"]["Tests"][0]["Goodput"]
    assert shown == {"Slo": {"EndToEndMs": 100.0, "MinAttainmentPercent": 90.0}, "AttainmentPercent": 90.0,
                     "GoodRequestsPerSecond": 5.0, "GoodOutputTokensPerSecond": 50.0,
                     "CostPerMillionGoodOutputTokens": 4.0}  # fmt: skip
    table = render_results(results)
    assert "SLO met by 90.0% of requests: 5.00 good requests/s, 50 good output tokens/s; $4.000 per million good" in (
        table)  # fmt: skip


def test_the_stopping_sentence_names_the_slo_it_stops_on() -> None:
    assert stopping_sentence(ATTAIN_95) == (
        "Each test stops when fewer than 95% of requests meet the SLO (TTFT at most 200 ms), invocations stop "
        "growing as users are added, or the traffic pattern ends."
    )
    assert "SLO" not in stopping_sentence(StoppingConditions(slo=Slo(ttft_ms=200)))  # no minimum: never a stop
