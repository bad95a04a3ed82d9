"""The HTML report: every configuration, the top pick, thresholds, stops, plateaus; escaped, offline, valid SVG."""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from loadrec.engine.measurement.outcome import Sizing, Status
from loadrec.engine.measurement.ranking import Ranked
from loadrec.engine.results.files import ResultsFolder
from loadrec.engine.results.model import Benchmark
from loadrec.engine.results.outputs.job_files import job_files
from loadrec.engine.results.outputs.report import render_report
from tests.report_fixture import COMPLETED, CREATED, FAILED, MALICIOUS, UPDATED, fixture_results


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)]


def top_row(html: str) -> str:
    rows = re.findall(r'<tr class="top">(.*?)</tr>', html, flags=re.DOTALL)
    assert len(rows) == 1
    return str(rows[0])


def texts(svg: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter("text")]


def test_the_page_names_the_job_and_every_configuration() -> None:
    html = render_report(fixture_results())
    assert "<title>loadrec report: report-job</title>" in html
    assert "<h1>report-job " in html
    assert "ml.c5.large" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Fixture for the report &amp; its &lt;escaping&gt;" in html
    assert "2026-11-24 14:44:41 UTC to 2026-11-24 14:46:14 UTC (1 min 33 s)" in html
    assert "P95 model latency exceeds 100 ms, invocations reach 30,000 per minute" in html


def test_the_table_compares_configurations_and_highlights_the_top_pick() -> None:
    html = render_report(fixture_results())
    top = top_row(html)
    assert "★ top pick" in top and "ml.c5.large" in top
    assert ">53,280<" in top  # MaxInvocations
    assert ">51.3<" in top  # ModelLatency 51263 µs in ms
    assert ">4<" in top and ">0.476<" in top
    assert ">–<" in top  # no CostPerInference
    assert "endpoint answered &lt;b&gt;500&lt;/b&gt; &amp; closed" in html
    assert "CPU (%)" not in html  # no utilization measured, no column


def test_the_ranking_and_its_importance_pick_the_top_recommendation() -> None:
    faster = Benchmark(
        index=2,
        label="ml.c5.xlarge",
        status=Status.COMPLETED,
        sizing=Sizing(1, 99999, 20000, None, None),
        utilization={"CpuUtilization": 41.26},
    )
    results = fixture_results((COMPLETED, FAILED, faster))
    assert "ml.c5.xlarge" in top_row(render_report(results))  # more invocations per instance, lower latency

    ranked = dataclasses.replace(
        results, ranking=(Ranked(0, "ml.c5.large", 1, 0.83), Ranked(2, "ml.c5.xlarge", 2, 0.41))
    )
    html = render_report(ranked)
    top = top_row(html)
    assert "ml.c5.large" in top and ">1<" in top and ">0.83<" in top
    assert "Ranked by importance: cost High, latency Moderate, throughput Low." in html
    assert ">41.3<" in html and "CPU (%)" in html


def test_charts_show_threshold_stop_and_plateau_and_parse_as_xml() -> None:
    html = render_report(fixture_results())
    charts = svgs(html)
    assert len(charts) == 3  # the failed test has no rows, so no charts
    load, latency, throughput = (texts(svg) for svg in charts)
    assert {"invocations / min", "target users", "failures / min", "plateau (6 users)"} <= set(load)
    assert {"p50", "p95", "p99", "P95 threshold 100 ms", "stop: flat invocations"} <= set(latency)
    assert "plateau: 6 users, 13,320/min" in throughput
    assert "Stopped by flat invocations at 42 s" in html  # no StopSecond: the end of the last second
    assert html.count("<circle") > 6  # throughput points and the plateau ring
    assert "No data" in html  # the failed test
    for svg in charts:
        assert svg.find("title") is not None
        assert any(t == "seconds from test start" or t == "target users" for t in texts(svg))


def test_nothing_loads_from_elsewhere_and_hostile_text_stays_text() -> None:
    hostile = dataclasses.replace(COMPLETED, stop_reason="</text><script>alert(1)</script>")
    results = fixture_results((hostile, FAILED))
    results = dataclasses.replace(results, spec=dataclasses.replace(results.spec, name=MALICIOUS))
    html = render_report(results)
    for reference in ("http://", "https://", "<script", "<img", "<link", "@import", "url("):
        assert reference not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") == 4  # title, heading, table, test section
    svgs(html)  # the hostile stop reason is inside an SVG label, still well-formed


def test_missing_data_renders_without_charts() -> None:
    html = render_report(fixture_results(timelines=False))
    assert html.count("No data") == 2 and "<svg" not in html
    bare = render_report(fixture_results(()))
    assert "<h1>report-job " in bare and "the traffic pattern ends" in bare and "<svg" not in bare
    one = render_report(fixture_results((COMPLETED,)))
    assert "Test 0 · ml.c5.large" in one and len(svgs(one)) == 3


def test_the_job_files_replace_the_report_in_place(tmp_path: Path) -> None:
    timed = dataclasses.replace(COMPLETED, start_epoch=CREATED, end_epoch=UPDATED)
    results = fixture_results((timed, FAILED))
    (tmp_path / "report.html").write_text("stale")
    ResultsFolder(tmp_path).write_job(job_files(results))
    html = (tmp_path / "report.html").read_text()
    assert "report-job" in html and "P95 threshold 100 ms" in html and len(svgs(html)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "describe.json",
        "report.html",
        "steps.json",
        "tests",
        "timeline.csv",
    ]
    assert (tmp_path / "tests" / "0" / "timeline.csv").read_text().startswith("test,configuration,epoch,second")


def test_a_report_without_a_timeline(tmp_path: Path) -> None:
    results = fixture_results(timelines=False)
    ResultsFolder(tmp_path).write_job(job_files(results))
    assert "No data" in (tmp_path / "report.html").read_text()


def test_the_job_files_are_rendered_without_a_folder_and_written_as_rendered(tmp_path: Path) -> None:
    # Rendering is pure (nothing is written), and the folder writes exactly what was rendered.
    timed = dataclasses.replace(COMPLETED, start_epoch=CREATED, end_epoch=UPDATED)
    results = fixture_results((timed, FAILED))
    files = job_files(results)
    assert list(tmp_path.iterdir()) == []
    assert set(files) == {"tests/0/timeline.csv", "timeline.csv", "steps.json", "describe.json", "report.html"}
    ResultsFolder(tmp_path).write_job(files)
    assert all((tmp_path / name).read_text() == text for name, text in files.items())
    assert json.loads(files["describe.json"])["JobName"] == "report-job"
