"""The HTML report: every configuration, the top pick, thresholds, stops, plateaus; escaped, offline, valid SVG."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pandas as pd

from engine.report import render_report, write_report

MALICIOUS = "<img src=x onerror=alert(1)>"
COLUMNS = ["test", "configuration", "second", "users", "running_users", "invocations", "failures"]
COLUMNS += ["p50_ms", "p95_ms", "p99_ms", "errors"]


def fixture_describe() -> dict[str, Any]:
    """Two tests: ml.c5.large completed on a plateau; the second (a hostile label) failed before any traffic."""
    return {
        "JobName": "report-job",
        "Status": "COMPLETED",
        "CreationTime": "2026-11-24T14:44:41.555+00:00",
        "CompletionTime": "2026-11-24T14:46:14.098+00:00",
        "JobDescription": "Fixture for the report & its <escaping>",
        "InputConfig": {"EndpointConfigurations": [{"InstanceType": "ml.c5.large"}, {"InstanceType": MALICIOUS}]},
        "StoppingConditions": {
            "MaxInvocations": 30000,
            "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}],
            "FlatInvocations": "Stop",
        },
        "InferenceRecommendations": [
            {
                "RecommendationId": "report-job/0",
                "Metrics": {"MaxInvocations": 53280, "ModelLatency": 51263, "CostPerHour": 0.476},
                "EndpointConfiguration": {
                    "EndpointName": "sagemaker:c5-large",
                    "VariantName": "AllTraffic",
                    "InstanceType": "ml.c5.large",
                    "InitialInstanceCount": 4,
                },
            }
        ],
        "Loadrec": {
            "Tests": [
                {
                    "Index": 0,
                    "Configuration": "ml.c5.large",
                    "Status": "COMPLETED",
                    "StopReason": "flat invocations",
                    "StopDetail": "invocations flat at 13320/min from 6 users",
                    "Plateau": {"Users": 6, "StartSecond": 16, "InvocationsPerMinute": 13320.0},
                },
                {
                    "Index": 1,
                    "Configuration": MALICIOUS,
                    "Status": "FAILED",
                    "StopReason": "error",
                    "FailureReason": "endpoint answered <b>500</b> & closed",
                },
            ]
        },
    }


def fixture_timeline() -> pd.DataFrame:
    """Test 0 only: STAIRS of 2 users every 8 s, throughput flat from 6 users, one second with only timeouts."""
    rows = []
    for second in range(42):
        users = 2 + 2 * (second // 8)
        served = 37 * min(users, 6) + second % 3 - 1
        p50 = 27.0 * max(1.0, users / 6) + second % 4 * 0.2
        latency: list[float | None] = [p50, p50 * 1.06, p50 * 1.12]
        failures, errors = 0, ""
        if second == 30:  # nothing succeeded: no latency, a gap in the lines
            served, failures, errors, latency = 0, 5, "timeout=5", [None, None, None]
        rows.append([0, "ml.c5.large", second, users, users, served, failures, *latency, errors])
    return pd.DataFrame(rows, columns=COLUMNS)


def write_fixture(out_dir: Path) -> None:
    """describe.json and timeline.csv as a run writes them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "describe.json").write_text(json.dumps(fixture_describe(), indent=2) + "\n")
    (out_dir / "timeline.csv").write_text(fixture_timeline().to_csv(index=False))


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)]


def top_row(html: str) -> str:
    rows = re.findall(r'<tr class="top">(.*?)</tr>', html, flags=re.DOTALL)
    assert len(rows) == 1
    return str(rows[0])


def texts(svg: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter("text")]


def test_the_page_names_the_job_and_every_configuration() -> None:
    html = render_report(fixture_describe(), fixture_timeline())
    assert "<title>loadrec report: report-job</title>" in html
    assert "<h1>report-job " in html
    assert "ml.c5.large" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "2026-11-24 14:44:41 UTC to 2026-11-24 14:46:14 UTC (1 min 33 s)" in html
    assert "P95 model latency exceeds 100 ms, invocations reach 30,000 per minute" in html


def test_the_table_compares_configurations_and_highlights_the_top_pick() -> None:
    html = render_report(fixture_describe(), fixture_timeline())
    top = top_row(html)
    assert "★ top pick" in top and "ml.c5.large" in top
    assert ">53,280<" in top  # MaxInvocations
    assert ">51.3<" in top  # ModelLatency 51263 µs in ms
    assert ">4<" in top and ">0.476<" in top
    assert ">–<" in top  # no CostPerInference
    assert "endpoint answered &lt;b&gt;500&lt;/b&gt; &amp; closed" in html
    assert "CPU (%)" not in html  # no utilization measured, no column


def test_top_recommendation_ranking_and_importance_win_over_max_invocations() -> None:
    describe = fixture_describe()
    faster = copy.deepcopy(describe["InferenceRecommendations"][0])
    faster["RecommendationId"] = "report-job/2"
    faster["Metrics"] = {"MaxInvocations": 99999, "ModelLatency": 20000, "CpuUtilization": 41.26}
    faster["EndpointConfiguration"]["InstanceType"] = "ml.c5.xlarge"
    describe["InferenceRecommendations"].append(faster)
    tests = describe["Loadrec"]["Tests"]
    tests.append(
        {"Index": 2, "Configuration": "ml.c5.xlarge", "Status": "COMPLETED", "RecommendationId": "report-job/2"}
    )
    assert "ml.c5.xlarge" in top_row(render_report(describe, fixture_timeline()))  # most invocations

    describe["Loadrec"]["Ranking"] = [
        {"Index": 0, "Configuration": "ml.c5.large", "Rank": 1, "Score": 0.83},
        {"Index": 2, "Configuration": "ml.c5.xlarge", "Rank": 2, "Score": 0.41},
    ]
    describe["Loadrec"]["TopRecommendation"] = {"Index": 0, "Configuration": "ml.c5.large"}
    describe["Loadrec"]["Importance"] = {"Cost": "High", "Latency": "Moderate", "Throughput": "Low"}
    html = render_report(describe, fixture_timeline())
    top = top_row(html)
    assert "ml.c5.large" in top and ">1<" in top and ">0.83<" in top
    assert "Ranked by importance: cost High, latency Moderate, throughput Low." in html
    assert ">41.3<" in html and "CPU (%)" in html


def test_charts_show_threshold_stop_and_plateau_and_parse_as_xml() -> None:
    html = render_report(fixture_describe(), fixture_timeline())
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
    describe = fixture_describe()
    describe["JobName"] = MALICIOUS
    describe["Loadrec"]["Tests"][0]["StopReason"] = "</text><script>alert(1)</script>"
    html = render_report(describe, fixture_timeline())
    for reference in ("http://", "https://", "<script", "<img", "<link", "@import", "url("):
        assert reference not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") == 4  # title, heading, table, test section
    svgs(html)  # the hostile stop reason is inside an SVG label, still well-formed


def test_missing_data_renders_without_charts() -> None:
    html = render_report(fixture_describe(), pd.DataFrame())
    assert html.count("No data") == 2 and "<svg" not in html
    bare = render_report({"JobName": "bare"}, pd.DataFrame())
    assert "<h1>bare " in bare and "the traffic pattern ends" in bare
    from_timeline = render_report({"JobName": "old"}, fixture_timeline())
    assert "Test 0 · ml.c5.large" in from_timeline and len(svgs(from_timeline)) == 3


def test_write_report_replaces_the_file_in_place(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    (tmp_path / "report.html").write_text("stale")
    path = write_report(tmp_path)
    assert path == tmp_path / "report.html"
    html = path.read_text()
    assert "report-job" in html and "P95 threshold 100 ms" in html and len(svgs(html)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["describe.json", "report.html", "timeline.csv"]


def test_write_report_without_a_timeline(tmp_path: Path) -> None:
    (tmp_path / "describe.json").write_text(json.dumps(fixture_describe()))
    assert "No data" in write_report(tmp_path).read_text()
