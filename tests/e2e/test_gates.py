"""Gates end to end: thresholds that fail a run (exit 99, JUnit a parser reads), and ``loadrec compare`` of two
real runs where one endpoint is twice as slow as the other.

Each run is a short STAIRS (1 to 3 users, 4 s a step) against the sample endpoint on loopback.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.e2e.jobs import LOADREC, environment, http_target, loadrec, write_job
from tests.e2e.servers import sample_endpoint

pytestmark = pytest.mark.e2e

STOPPING = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 5000}]}
STAIRS = (12, 3, 1)


def compare(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LOADREC, "compare", *arguments], env=environment(), capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def test_a_broken_threshold_exits_99_with_junit_and_markdown(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), STOPPING, stairs=STAIRS,
                    extension={"Thresholds": ["ErrorRatePercent < 1"]})  # fmt: skip
    junit, markdown = tmp_path / "junit.xml", tmp_path / "summary.md"
    run = loadrec(job, tmp_path / "out", "--threshold", "LatencyP95Ms <= 10", "--junit", str(junit),
                  "--summary-markdown", str(markdown))  # fmt: skip
    assert run.returncode == 99, run.stderr
    assert "thresholds: 1 of 2 passed" in run.stdout
    assert "ml.c5.large: LatencyP95Ms <= 10: FAILED (LatencyP95Ms was " in run.stdout  # 50 ms a request
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert root.tag == "testsuites" and suite is not None
    for required in ("name", "tests", "failures", "errors", "time"):
        assert suite.get(required) is not None, required
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"completed", "ErrorRatePercent < 1", "LatencyP95Ms <= 10"}
    assert all(case.get("classname") == "e2e.ml.c5.large" for case in cases.values())
    assert [name for name, case in cases.items() if case.find("failure") is not None] == ["LatencyP95Ms <= 10"]
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    assert "**1 of 2 thresholds failed.**" in markdown.read_text()
    verdicts = json.loads((tmp_path / "out" / "describe.json").read_text())["Loadrec"]["Thresholds"]
    assert [(v["Threshold"], v["Passed"]) for v in verdicts] == [
        ("ErrorRatePercent < 1", True),
        ("LatencyP95Ms <= 10", False),
    ]
    assert verdicts[1]["Value"] >= 50  # the sample endpoint's service time, measured
    run_json = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run_json["Request"]["Loadrec"]["Thresholds"] == ["ErrorRatePercent < 1", "LatencyP95Ms <= 10"]


def test_an_output_that_cannot_be_written_is_refused_before_any_load(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), STOPPING, stairs=STAIRS)
    run = loadrec(job, tmp_path / "out", "--junit", "job.json/junit.xml")  # from the job's folder
    assert run.returncode == 2
    assert run.stderr.splitlines() == [f'--junit: "job.json/junit.xml": "{job}" is a file, not a folder']
    assert not (tmp_path / "out").exists()


def test_compare_reports_a_twice_as_slow_endpoint_as_a_regression(tmp_path: Path) -> None:
    runs = {}
    for name, service_ms in (("fast", 20), ("slow", 40)):
        folder = tmp_path / name
        folder.mkdir()
        with sample_endpoint(workers=2, service_ms=service_ms) as url:
            job = write_job(folder, http_target(url), STOPPING, stairs=STAIRS)
            run = loadrec(job, folder / "out")
        assert run.returncode == 0, run.stderr
        runs[name] = str(folder / "out")
    markdown, html = tmp_path / "compare.md", tmp_path / "compare.html"
    worse = compare(runs["fast"], runs["slow"], "--fail-on-regression", "10", "--markdown", str(markdown),
                    "--html", str(html))  # fmt: skip
    assert worse.returncode == 99, worse.stderr
    verdicts = _verdicts(worse.stdout)
    assert verdicts["MaxInvocations (/min)"] == "worse"
    assert verdicts["Latency P50 (ms)"] == "worse"
    assert verdicts["CostPerInference (USD)"] == "worse"
    assert "ml.c5.large: MaxInvocations -" in worse.stdout  # listed as a regression past 10 %
    assert "| ml.c5.large | Latency P50 (ms) |" in markdown.read_text()
    assert "<h1>e2e:" in html.read_text()
    better = compare(runs["slow"], runs["fast"], "--fail-on-regression", "10")
    assert better.returncode == 0, better.stdout
    assert _verdicts(better.stdout)["Latency P50 (ms)"] == "better"
    same = compare(runs["fast"], runs["fast"], "--fail-on-regression", "0")
    assert same.returncode == 0 and set(_verdicts(same.stdout).values()) == {"no change"}


def test_compare_refuses_runs_of_different_patterns(tmp_path: Path, endpoint: str) -> None:
    outs = []
    for stairs in ((4, 1, 1), (5, 1, 1)):
        folder = tmp_path / str(stairs[0])
        folder.mkdir()
        run = loadrec(write_job(folder, http_target(endpoint), STOPPING, stairs=stairs), folder / "out")
        assert run.returncode == 0, run.stderr
        outs.append(str(folder / "out"))
    refused = compare(*outs)
    assert refused.returncode == 2 and refused.stdout == ""
    (line,) = refused.stderr.splitlines()
    assert line.startswith(f"cannot compare {outs[0]} with {outs[1]}: InputConfig.TrafficPattern differs: baseline ")
    assert '"DurationInSeconds": 4' in line and '"DurationInSeconds": 5' in line


def _verdicts(stdout: str) -> dict[str, str]:
    """Figure → verdict, from the terminal table's rows."""
    found = {}
    for line in stdout.splitlines():
        if ") " in line and line.startswith("  ") and not line.strip().startswith("figure"):
            figure = line.strip().split(")")[0] + ")"
            found[figure] = "no change" if line.rstrip().endswith("no change") else line.split()[-1]
    return found


def test_repeat_runs_the_job_again_and_reports_the_spread(tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), STOPPING, stairs=(4, 1, 1))
    junit = tmp_path / "junit.xml"
    run = loadrec(job, tmp_path / "out", "--repeat", "2", "--junit", str(junit))
    assert run.returncode == 0, run.stderr
    assert "repeat 1 of 2:" in run.stdout and "repeat 2 of 2:" in run.stdout
    assert "2 repeats of e2e:" in run.stdout and "ml.c5.large: measured in 2 of 2, top in 2" in run.stdout
    record = json.loads((tmp_path / "out" / "repeats.json").read_text())
    assert [r["Status"] for r in record["Repeats"]] == ["COMPLETED", "COMPLETED"]
    values = record["Configurations"][0]["Figures"]["MaxInvocations"]["Values"]
    for number, value in enumerate(values, 1):  # each repeat's own recommendation, as its folder says
        body = json.loads((tmp_path / "out" / f"repeat-{number}" / "describe.json").read_text())
        assert body["InferenceRecommendations"][0]["Metrics"]["MaxInvocations"] == value
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["e2e repeat 1", "e2e repeat 2"]
    again = loadrec(job, tmp_path / "out", "--repeat", "2")
    assert again.returncode == 2 and "holds an earlier run" in again.stderr  # nothing sent: checked first
