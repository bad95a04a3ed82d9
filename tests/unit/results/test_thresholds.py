"""Thresholds: the key and the flag parsed, judged on typed results, and rendered as JUnit and Markdown."""

from __future__ import annotations

import argparse
import copy
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from loadrec.engine.cli import EXIT_BAD_INPUT, EXIT_OK, main
from loadrec.engine.gates.ci_outputs import junit_xml, markdown_summary
from loadrec.engine.gates.flags import output_problems, with_flag_thresholds
from loadrec.engine.job.extension import check_extension
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.problems import BadInput
from loadrec.engine.job.spec import parse_job
from loadrec.engine.job.thresholds_key import METRICS, Threshold, ThresholdError, parse_threshold
from loadrec.engine.measurement.metrics import WindowStats
from loadrec.engine.measurement.outcome import Sizing, Status
from loadrec.engine.measurement.ranking import Weights
from loadrec.engine.results.aws import describe
from loadrec.engine.results.model import Benchmark, JobResults, job_results
from loadrec.engine.results.thresholds import failed, judge, value_of
from tests.report_fixture import COMPLETED, CREATED, FAILED, MALICIOUS, REQUEST, UPDATED, rows

WINDOW = WindowStats(16, 24, 2000, 0, 6, {50.0: 27.0, 95.0: 28.6, 99.0: 30.2})


def results_with(thresholds: list[str], benchmarks: tuple[Benchmark, ...] | None = None) -> JobResults:
    request = copy.deepcopy(REQUEST)
    request["Loadrec"]["Thresholds"] = thresholds
    spec = parse_job(request, LimitsMode.RELAXED)
    measured = replace(COMPLETED, window=WINDOW)
    chosen = (measured, FAILED) if benchmarks is None else benchmarks
    return job_results(spec, "fixture", chosen, (CREATED, UPDATED), Weights(), timelines={0: rows()})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LatencyP95Ms <= 100", Threshold("LatencyP95Ms", "<=", 100.0)),
        ("MaxInvocations>=2e3", Threshold("MaxInvocations", ">=", 2000.0)),
        ("  ErrorRatePercent < 1  ", Threshold("ErrorRatePercent", "<", 1.0)),
        ("CostPerInference > -0.5", Threshold("CostPerInference", ">", -0.5)),
    ],
)
def test_a_threshold_reads_metric_operator_and_number(text: str, expected: Threshold) -> None:
    assert parse_threshold(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Latency <= 100", 'unknown metric "Latency"; one of MaxInvocations, ModelLatencyMs'),
        ("LatencyP95Ms == 100", "OP one of <=, >=, <, >"),
        ("LatencyP95Ms <= fast", '"fast" is not a number'),
        ("LatencyP95Ms <= nan", "must be a finite number"),
        ("LatencyP95Ms <= inf", "must be a finite number"),
        ("LatencyP95Ms <= 100 ms", 'must read "METRIC OP NUMBER"'),
        (100, 'must be a string "METRIC OP NUMBER"'),
        ("x" * 500, "longer than 200 characters"),
    ],
)
def test_a_bad_threshold_says_what_is_allowed(text: object, says: str) -> None:
    with pytest.raises(ThresholdError) as raised:
        parse_threshold(text)
    assert says in str(raised.value)
    assert len(str(raised.value)) < 600  # the value shown shortened, whatever its length


def test_the_key_names_each_bad_entry_by_its_index() -> None:
    problems = check_extension({"Thresholds": ["MaxInvocations >= 1", "Nope < 1", 5]}, 0)
    assert sorted(p.path for p in problems) == ["Loadrec.Thresholds[1]", "Loadrec.Thresholds[2]"]
    assert [str(p) for p in check_extension({"Thresholds": "LatencyP95Ms < 1"}, 0)] == [
        'Loadrec.Thresholds: "LatencyP95Ms < 1" is a string, expected an array'
    ]
    assert [str(p) for p in check_extension({"Thresholds": ["MaxInvocations > 1"] * 101}, 0)] == [
        "Loadrec.Thresholds: 101 entries is above the maximum of 100"
    ]


def test_each_configuration_is_judged_on_each_threshold() -> None:
    results = results_with(["MaxInvocations >= 50000", "LatencyP99Ms < 20", "ErrorRatePercent < 1"])
    verdicts = [(j.configuration, str(j.threshold), j.value, j.passed) for j in judge(results)]
    served = sum(row.successes for row in rows())
    error_rate = 100 * 5 / (served + 5)  # the fixture's one second of 5 timeouts
    assert verdicts == [
        ("ml.c5.large", "MaxInvocations >= 50000", 53280.0, True),
        ("ml.c5.large", "LatencyP99Ms < 20", 30.2, False),
        ("ml.c5.large", "ErrorRatePercent < 1", pytest.approx(error_rate), True),
        (MALICIOUS, "MaxInvocations >= 50000", None, False),
        (MALICIOUS, "LatencyP99Ms < 20", None, False),
        (MALICIOUS, "ErrorRatePercent < 1", None, False),
    ]
    details = [j.detail for j in judge(results)]
    assert details[1] == "LatencyP99Ms was 30.2"
    assert details[3] == "cannot be judged: the test ended FAILED without a recommendation"
    assert len(failed(judge(results))) == 4


def test_a_metric_the_test_has_not_fails_as_not_judged() -> None:
    results = results_with(["TimeToFirstTokenP95Ms <= 100", "CostPerMillionTokens <= 1"])
    judged = judge(results)[:2]
    assert [(j.passed, j.value) for j in judged] == [(False, None), (False, None)]
    assert judged[0].detail == "cannot be judged: the test has no TimeToFirstTokenP95Ms"


def test_a_threshold_given_twice_is_judged_once() -> None:
    results = results_with(["ErrorRatePercent < 1", "ErrorRatePercent<1", "MaxInvocations >= 1"])
    assert [str(j.threshold) for j in judge(results)][:2] == ["ErrorRatePercent < 1", "MaxInvocations >= 1"]


def test_nothing_is_judged_while_the_job_runs_or_without_thresholds() -> None:
    assert judge(replace(results_with(["MaxInvocations > 1"]), status=Status.IN_PROGRESS)) == ()
    assert judge(results_with([])) == ()


def test_every_metric_is_read_from_a_test_that_has_it() -> None:
    sizing = Sizing(2, 6000, 41000, 1.5, 4.1e-6, 900.0, 120.0, 14.0, 0.46, 60.0, 0.93, 18.0, 800.0, 0.52)
    streamed = replace(WINDOW, ttft_ms={50.0: 80.0, 95.0: 110.0, 99.0: 130.0}, itl_ms={50.0: 9.0, 95.0: 14.0,
                                                                                       99.0: 19.0})  # fmt: skip
    benchmark = replace(COMPLETED, sizing=sizing, window=streamed)
    values = {metric: value_of(metric, benchmark, rows()) for metric in METRICS}
    assert None not in values.values()
    assert (values["ModelLatencyMs"], values["AttainmentPercent"], values["InterTokenLatencyP99Ms"]) == (
        41.0, 93.0, 19.0)  # fmt: skip


def test_junit_has_a_case_per_configuration_and_threshold() -> None:
    root = ET.fromstring(junit_xml(results_with(["MaxInvocations >= 50000", "LatencyP99Ms < 20"])))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors")) == (
        "report-job", "6", "4", "0")  # fmt: skip
    cases = [(c.get("classname"), c.get("name"), c.find("failure") is not None) for c in suite.findall("testcase")]
    assert cases == [
        ("report-job.ml.c5.large", "completed", False),
        ("report-job.ml.c5.large", "MaxInvocations >= 50000", False),
        ("report-job.ml.c5.large", "LatencyP99Ms < 20", True),
        (f"report-job.{MALICIOUS}", "completed", True),
        (f"report-job.{MALICIOUS}", "MaxInvocations >= 50000", True),
        (f"report-job.{MALICIOUS}", "LatencyP99Ms < 20", True),
    ]
    failure = suite.findall("testcase")[2].find("failure")
    assert failure is not None and failure.get("message") == "LatencyP99Ms was 30.2"
    assert failure.get("type") == "ThresholdFailed"
    assert all(case.get("time") is not None for case in suite.findall("testcase"))


def test_the_markdown_summary_escapes_what_it_is_given() -> None:
    text = markdown_summary(results_with(["MaxInvocations >= 50000"]))
    assert text.startswith("## loadrec: report-job: COMPLETED\n\n**1 of 2 thresholds failed.**")
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "| ml.c5.large | `MaxInvocations >= 50000` | 53280 | ✅ passed |" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 2 + 1 + 2  # heads, two configurations, heads, two verdicts
    piped = results_with([], (replace(COMPLETED, label="a|b*c"),))
    assert "| a\\|b\\*c |" in markdown_summary(piped)


def test_describe_lists_the_verdicts() -> None:
    body = describe(results_with(["LatencyP99Ms < 20"]))
    assert body["Loadrec"]["Thresholds"][0] == {
        "Index": 0, "Configuration": "ml.c5.large", "Threshold": "LatencyP99Ms < 20", "Value": 30.2,
        "Passed": False, "Detail": "LatencyP99Ms was 30.2",
    }  # fmt: skip
    assert "Thresholds" not in describe(results_with([]))["Loadrec"]


def test_flag_thresholds_join_the_key_and_bad_ones_name_the_flag() -> None:
    request = copy.deepcopy(REQUEST)
    request["Loadrec"]["Thresholds"] = ["MaxInvocations >= 1"]
    joined = with_flag_thresholds(request, ["LatencyP95Ms <= 100"])
    assert joined["Loadrec"]["Thresholds"] == ["MaxInvocations >= 1", "LatencyP95Ms <= 100"]
    assert request["Loadrec"]["Thresholds"] == ["MaxInvocations >= 1"]  # the caller's request is left alone
    with pytest.raises(BadInput) as raised:
        with_flag_thresholds(request, ["Nope < 1", "LatencyP95Ms <= x"])
    assert [line.split(":")[0] for line in raised.value.lines] == ["--threshold", "--threshold"]


def test_output_files_are_checked_before_any_load(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    args = argparse.Namespace(junit=str(tmp_path), summary_markdown=str(tmp_path / "a-file" / "such.md"))
    assert output_problems(args) == [
        f'--junit: "{tmp_path}" is a folder; name a file',
        f'--summary-markdown: "{tmp_path / "a-file" / "such.md"}": "{tmp_path / "a-file"}" is a file, not a folder',
    ]
    fine = argparse.Namespace(junit=str(tmp_path / "new" / "ok.xml"), summary_markdown=None)
    assert output_problems(fine) == []  # a folder not there yet is made when the file is written


def test_validate_takes_threshold_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = tmp_path / "job.json"
    job.write_text(json.dumps(REQUEST))
    assert main(["validate", str(job), "--limits", "relaxed", "--threshold", "LatencyP95Ms <= 100"]) == EXIT_OK
    assert "every configuration must meet LatencyP95Ms <= 100" in capsys.readouterr().out
    assert main(["validate", str(job), "--threshold", "P95 < 1"]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.splitlines() == [
        '--threshold: "P95 < 1": unknown metric "P95"; one of ' + ", ".join(METRICS)
    ]


def test_a_large_limit_keeps_every_digit_and_junit_stays_well_formed() -> None:
    assert str(parse_threshold("MaxInvocations >= 1234567")) == "MaxInvocations >= 1234567"
    hostile = results_with(["MaxInvocations >= 1"], (replace(COMPLETED, label="a\x1bb\x00c", window=WINDOW),))
    root = ET.fromstring(junit_xml(hostile))  # XML 1.0 cannot hold ESC or NUL: written as escapes
    names = {case.get("classname") for case in root.iter("testcase")}
    assert names == {"report-job.a\\x1bb\\x00c"}
