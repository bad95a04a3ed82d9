"""``loadrec compare``'s pure part: which runs can be compared, and the verdict on each figure."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from loadrec.engine.gates.compare import (
    NotComparable,
    Run,
    Verdict,
    compare,
    differences,
    regressions,
)
from loadrec.engine.gates.compare_view import render_html, render_markdown, render_terminal
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.engine.measurement.histograms import decoded, encoded, new_histogram, percentiles_ms
from loadrec.engine.measurement.metrics import WindowStats
from loadrec.engine.measurement.outcome import Sizing, Status
from loadrec.engine.measurement.ranking import Weights
from loadrec.engine.results.model import Benchmark, JobResults, job_results
from tests.report_fixture import CREATED, MALICIOUS, REQUEST, UPDATED

SECONDS = 40
PRICE = 0.1  # per instance-hour


def seconds_of(rate: float, latency_ms: float, seed: int) -> list[dict[str, Any]]:
    """``SECONDS`` wire-form seconds of about ``rate`` successes a second, latencies spread around ``latency_ms``."""
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(SECONDS):
        histogram = new_histogram()
        count = int(rng.poisson(rate))
        for value in rng.lognormal(np.log(latency_ms * 1000), 0.2, count):
            histogram.record_value(int(value))
        found.append({"ok": count, "ko": 0, "h": encoded(histogram)})
    return found


def run_of(rate: float, latency_ms: float, seed: int, request: dict[str, Any] | None = None) -> Run:
    """A one-configuration run measured as ``seconds_of`` says, on 2 instances."""
    seconds = seconds_of(rate, latency_ms, seed)
    histogram = new_histogram()
    for second in seconds:
        histogram.add(decoded(second["h"]))
    latency = percentiles_ms(histogram, (50.0, 95.0, 99.0))
    served = sum(second["ok"] for second in seconds)
    per_minute = served * 60 / SECONDS
    p95 = latency[95.0]
    assert p95 is not None
    sizing = Sizing(2, round(per_minute * 2), round(p95 * 1000), PRICE * 2, PRICE / (per_minute * 60))
    window = WindowStats(0, SECONDS, served, 0, 4, latency)
    benchmark = Benchmark(0, "ml.c5.large", Status.COMPLETED, sizing=sizing, window=window)
    chosen = copy.deepcopy(request or REQUEST)
    chosen["InputConfig"]["EndpointConfigurations"] = chosen["InputConfig"]["EndpointConfigurations"][:1]
    chosen["Loadrec"]["Targets"] = chosen["Loadrec"]["Targets"][:1]
    spec = parse_job(chosen, LimitsMode.RELAXED)
    results = job_results(spec, f"run-{seed}", (benchmark,), (CREATED, UPDATED), Weights())
    return Run(results, {0: seconds})


def verdicts(baseline: Run, candidate: Run) -> dict[str, Verdict]:
    (change,) = compare(baseline, candidate)
    return {figure.figure: figure.verdict for figure in change.figures}


def test_twice_the_latency_and_half_the_rate_is_worse_on_every_figure() -> None:
    found = verdicts(run_of(40, 20, 1), run_of(20, 40, 2))
    assert found == {
        "MaxInvocations": Verdict.WORSE,
        "InvocationsPerInstance": Verdict.WORSE,
        "Latency P50": Verdict.WORSE,
        "Latency P95": Verdict.WORSE,
        "Latency P99": Verdict.WORSE,
        "CostPerInference": Verdict.WORSE,
    }
    assert set(verdicts(run_of(20, 40, 2), run_of(40, 20, 1)).values()) == {Verdict.BETTER}


def test_two_runs_of_the_same_endpoint_show_no_change() -> None:
    (change,) = compare(run_of(40, 20, 1), run_of(40, 20, 2))
    assert {figure.verdict for figure in change.figures} == {Verdict.NO_CHANGE}
    for figure in change.figures:  # the interval of the change holds the point change and 0
        assert figure.interval is not None and figure.change_percent is not None
        assert figure.interval.low <= figure.change_percent <= figure.interval.high
    assert regressions((change,), 0.0) == []


def test_a_regression_counts_only_past_the_percentage_given() -> None:
    changes = compare(run_of(40, 20, 1), run_of(34, 20, 2))  # 15 % fewer invocations: each costs 1/0.85 as much
    shown = {f.figure: f for f in changes[0].figures}
    rate, cost = shown["MaxInvocations"], shown["CostPerInference"]
    assert rate.verdict is cost.verdict is Verdict.WORSE
    assert rate.change_percent is not None and cost.change_percent is not None
    assert -25 < rate.change_percent < -5
    assert cost.change_percent == pytest.approx((1 / (1 + rate.change_percent / 100) - 1) * 100, abs=0.5)
    assert regressions(changes, cost.change_percent + 1) == []
    assert regressions(changes, abs(rate.change_percent) - 1) == [
        f"ml.c5.large: MaxInvocations {rate.change_percent:+.1f}% (worse)",
        f"ml.c5.large: InvocationsPerInstance {shown['InvocationsPerInstance'].change_percent:+.1f}% (worse)",
        f"ml.c5.large: CostPerInference {cost.change_percent:+.1f}% (worse)",
    ]


def test_a_figure_without_seconds_is_not_judged() -> None:
    baseline = run_of(40, 20, 1)
    bare = Run(baseline.results, {})
    figures = compare(bare, run_of(20, 40, 2))[0].figures
    assert {f.verdict for f in figures} == {Verdict.NOT_JUDGED}
    assert figures[0].note == "no per-second data to tell noise from change"
    assert figures[0].change_percent is not None  # the change itself is still shown


def test_a_configuration_the_candidate_lost_is_a_regression_and_one_neither_measured_is_not() -> None:
    baseline, candidate = run_of(40, 20, 1), run_of(40, 20, 2)
    failed = replace(candidate.results.benchmarks[0], status=Status.FAILED, sizing=None)
    lost = Run(replace(candidate.results, benchmarks=(failed,)), {})
    (change,) = compare(baseline, lost)
    assert change.note == "not measured in the candidate: nothing to compare" and change.lost
    assert regressions((change,), 50.0) == ["ml.c5.large: not measured in the candidate: nothing to compare"]
    never = Run(replace(baseline.results, benchmarks=(replace(failed, run_id="x"),)), {})
    (neither,) = compare(never, lost)
    assert neither.note == "not measured in the baseline and the candidate: nothing to compare"
    assert regressions((neither,), 50.0) == []


def test_a_gate_that_cannot_judge_a_figure_fails() -> None:
    changes = compare(Run(run_of(40, 20, 1).results, {}), run_of(40, 20, 2))
    assert regressions(changes, 50.0)[0] == (
        "ml.c5.large: MaxInvocations cannot be judged (no per-second data to tell noise from change)"
    )


def test_all_instance_figures_of_runs_sized_apart_do_not_gate() -> None:
    baseline, candidate = run_of(40, 20, 1), run_of(50, 20, 2)  # a faster instance: sized to fewer of them
    bench = candidate.results.benchmarks[0]
    assert bench.sizing is not None
    fewer = replace(bench.sizing, initial_instance_count=1, max_invocations=bench.sizing.max_invocations // 2)
    sized = Run(replace(candidate.results, benchmarks=(replace(bench, sizing=fewer),)), candidate.seconds)
    shown = {f.figure: f for f in compare(baseline, sized)[0].figures}
    total = shown["MaxInvocations"]
    assert (
        total.verdict is Verdict.WORSE
        and not total.gates
        and total.note == "instances 2 -> 1: judged per instance instead"
    )
    assert shown["InvocationsPerInstance"].verdict is Verdict.BETTER and shown["InvocationsPerInstance"].gates
    assert not any("MaxInvocations" in line for line in regressions(compare(baseline, sized), 5.0))


def test_runs_of_different_jobs_are_refused_naming_each_difference() -> None:
    other = copy.deepcopy(REQUEST)
    other["InputConfig"]["TrafficPattern"]["Stairs"]["UsersPerStep"] = 3
    other["StoppingConditions"]["MaxInvocations"] = 100
    other["Loadrec"]["RequestRate"] = {"RequestsPerSecondPerUser": 2}
    baseline, candidate = run_of(40, 20, 1), run_of(40, 20, 2, other)
    found = differences(baseline.results, candidate.results)
    assert [line.split(" differs")[0] for line in found] == [
        "InputConfig.TrafficPattern", "StoppingConditions", "Loadrec.RequestRate"]  # fmt: skip
    assert '"UsersPerStep": 2' in found[0] and '"UsersPerStep": 3' in found[0]
    assert found[2].endswith('baseline absent, candidate {"RequestsPerSecondPerUser": 2}')
    with pytest.raises(NotComparable) as raised:
        compare(baseline, candidate)
    assert raised.value.lines == found


def test_configurations_and_running_runs_are_compared_before_anything() -> None:
    baseline = run_of(40, 20, 1).results
    renamed = copy.deepcopy(REQUEST)
    renamed["InputConfig"]["EndpointConfigurations"][0]["InstanceType"] = "ml.m5.large"
    candidate = run_of(40, 20, 2, renamed).results
    running: JobResults = replace(candidate, status=Status.IN_PROGRESS)
    assert differences(baseline, running) == [
        "the candidate run has not ended (status IN_PROGRESS)",
        "the configurations differ: baseline ['ml.c5.large'], candidate ['ml.m5.large']",
    ]


def test_the_renderings_show_each_figure_and_escape_names() -> None:
    baseline, candidate = run_of(40, 20, 1), run_of(20, 40, 2)
    (change,) = compare(baseline, candidate)
    hostile = (replace(change, label=MALICIOUS),)
    text = render_terminal(["header"], hostile)
    assert text.splitlines()[:3] == ["header", MALICIOUS, text.splitlines()[2]]
    assert "MaxInvocations (/min)" in text and text.count("worse") == 6
    markdown = render_markdown("t", ["h"], hostile)
    assert "<img" not in markdown and "&lt;img src=x onerror=alert(1)&gt;" in markdown
    assert markdown.count("❌ worse") == 6
    html = render_html("t", ["h"], hostile)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count('class="badge bad"') == 6
