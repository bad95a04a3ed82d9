"""``--repeat N``'s pure part: each configuration's spread over the repeats, and when the top changed."""

from __future__ import annotations

import copy
from dataclasses import replace

from loadrec.engine.gates.ci_outputs import junit_xml, markdown_summary
from loadrec.engine.gates.repeats import spread, summary_lines, to_dict
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.engine.measurement.outcome import Sizing, Status
from loadrec.engine.measurement.ranking import Weights
from loadrec.engine.results.model import Benchmark, JobResults, job_results
from tests.report_fixture import CREATED, REQUEST, UPDATED


def run_of(large: tuple[int, int], xlarge: tuple[int, int] | None, run_id: str) -> JobResults:
    """A run of two configurations, each (MaxInvocations, ModelLatency µs) on 2 instances; None: it failed."""
    spec = parse_job(copy.deepcopy(REQUEST), LimitsMode.RELAXED)
    benchmarks = [Benchmark(0, "ml.c5.large", Status.COMPLETED, sizing=Sizing(2, large[0], large[1], 0.2, None))]
    if xlarge is None:
        benchmarks.append(Benchmark(1, "ml.c5.xlarge", Status.FAILED, failure_reason="endpoint errors"))
    else:
        benchmarks.append(Benchmark(1, "ml.c5.xlarge", Status.COMPLETED, sizing=Sizing(2, xlarge[0], xlarge[1], 0.4,
                                                                                      None)))  # fmt: skip
    return job_results(spec, run_id, benchmarks, (CREATED, UPDATED), Weights())


def test_each_figure_spreads_over_the_repeats_that_measured_it() -> None:
    runs = [run_of((1000, 40_000), (1800, 30_000), "a"), run_of((1100, 44_000), None, "b"),
            run_of((900, 42_000), (2000, 32_000), "c")]  # fmt: skip
    large, xlarge = spread(runs)
    assert (large.label, large.measured, xlarge.measured) == ("ml.c5.large", 3, 2)
    figures = {f.figure: f for f in large.figures}
    assert figures["MaxInvocations"].values == (1000.0, 1100.0, 900.0)
    assert figures["MaxInvocations"].median == 1000.0 and figures["MaxInvocations"].spread_percent == 20.0
    assert figures["InvocationsPerInstance"].values == (500.0, 550.0, 450.0)
    assert figures["ModelLatency"].values == (40.0, 44.0, 42.0)
    assert "TimeToFirstToken" not in figures  # nothing streamed
    assert (
        figures["MaxInvocations"].line()
        == "MaxInvocations 900 / 1,000 / 1,100 /min (min / median / max, spread 20.0 %)"
    )


def test_a_top_that_changes_between_repeats_is_said() -> None:
    steady = [run_of((1000, 40_000), (1800, 30_000), "a"), run_of((1010, 40_000), (1790, 30_000), "b")]
    assert all(not line.startswith("WARNING") for line in summary_lines(steady))
    assert to_dict(steady)["Warning"] is None
    tops = {r.top.label for r in steady if r.top is not None}
    assert len(tops) == 1
    flipped = [*steady, run_of((1000, 20_000), (900, 60_000), "c")]
    (warning,) = [line for line in summary_lines(flipped) if line.startswith("WARNING")]
    assert "the top recommendation changed between repeats" in warning and "cannot be told apart" in warning
    record = to_dict(flipped)
    assert [r["Folder"] for r in record["Repeats"]] == ["repeat-1", "repeat-2", "repeat-3"]
    assert sum(c["Top"] for c in record["Configurations"]) == 3


def test_junit_and_markdown_hold_each_repeat() -> None:
    runs = [run_of((1000, 40_000), (1800, 30_000), "a"), run_of((1100, 44_000), None, "b")]
    xml = junit_xml(*runs)
    assert xml.count("<testsuite ") == 2 and 'name="report-job repeat 2"' in xml
    assert 'tests="4" failures="1"' in xml  # the root counts both suites: 2 completed cases each, one failed
    assert markdown_summary(runs[1], 2).startswith("## loadrec: report-job (repeat 2): COMPLETED")
    single = junit_xml(replace(runs[0]))
    assert 'name="report-job"' in single and single.count("<testsuite ") == 1
