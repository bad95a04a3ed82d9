"""What the web UI's page says: the plan before START, a run's live values, the re-ranked table, the JSON."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.engine.job.targets import HttpTarget
from loadrec.engine.load.prepare import PreparedTest, prepare_test
from loadrec.engine.load.settings import RunSettings
from loadrec.engine.measurement.metrics import WindowStats
from loadrec.engine.measurement.monitor import MonitorSettings
from loadrec.engine.measurement.outcome import Sizing, Status
from loadrec.engine.measurement.ranking import Importance, Weights
from loadrec.engine.results.model import Benchmark, JobResults, job_results
from loadrec.engine.webui import views
from loadrec.engine.webui.console import Snapshot
from loadrec.payloads import Payload
from tests.conftest import VALID_REQUEST
from tests.report_fixture import COMPLETED, CREATED, FAILED, REQUEST, UPDATED, fixture_results

SETTINGS = RunSettings(limits=LimitsMode.RELAXED)
PAYLOADS = (Payload("a.csv", b"1,2", "text/csv"), Payload("b.csv", b"3,4", "text/csv"))
# Two priced configurations: ml.c5.large serves more an instance, ml.c5.2xlarge costs less an inference.
FAST = replace(COMPLETED, sizing=Sizing(4, 53280, 51263, 0.476, 0.476 / (53280 * 60)))
CHEAP = replace(
    COMPLETED, index=2, label="ml.c5.2xlarge", plateau=None, sizing=Sizing(1, 6000, 60000, 0.03, 0.03 / 360000)
)


def prepared(request: dict[str, Any]) -> list[PreparedTest]:
    spec = parse_job(request, LimitsMode.RELAXED)
    return [prepare_test(spec, index, PAYLOADS, Path()) for index in range(len(spec.endpoint_configurations))]


def running(benchmarks: tuple[Benchmark, ...], timelines: bool = True) -> JobResults:
    """The fixture's job while it runs."""
    ended = fixture_results(benchmarks, timelines)
    return job_results(ended.spec, "fixture", benchmarks, (CREATED, UPDATED), Weights(), running=True,
                       timelines=ended.timelines)  # fmt: skip


def test_weights_come_from_the_query_or_the_run() -> None:
    default = Weights()
    assert views.weights_from({}, default) == default
    chosen = views.weights_from({"cost": "Lowest", "throughput": "Highest"}, default)
    assert chosen == Weights(Importance.LOWEST, default.latency, Importance.HIGHEST)
    with pytest.raises(views.BadWeights) as refused:
        views.weights_from({"latency": "x" * 500}, default)
    message = str(refused.value)
    assert message.startswith("latency: 'xxxx") and message.endswith("Lowest, Low, Moderate, High, Highest")
    assert len(message) < 100


def test_a_target_s_query_is_never_shown() -> None:
    target = HttpTarget("http://127.0.0.1:9000/v1/invoke?api_key=SECRET-VALUE")
    assert views.shown_target(target) == "http://127.0.0.1:9000/v1/invoke?api_key=…"
    assert views.shown_target(HttpTarget("http://127.0.0.1:9000/invocations")) == "http://127.0.0.1:9000/invocations"


def test_the_plan_says_what_start_will_run() -> None:
    request = copy.deepcopy(REQUEST)
    request["Loadrec"]["Targets"][0]["Http"]["Url"] += "?token=SECRET-VALUE"
    request["Loadrec"]["Targets"][1]["PricePerHour"] = 0.25
    request["InputConfig"]["JobDurationInSeconds"] = 600
    spec = parse_job(request, LimitsMode.RELAXED)
    plan = views.plan(spec, prepared(request), SETTINGS)
    assert plan["name"] == "report-job" and plan["limits"] == "relaxed"
    assert plan["pattern"] == "STAIRS: 48 s, peaking at 12 users"
    assert plan["conditions"] == [
        ("endpoint errors", "more than 50% of requests fail in the window"),
        ("P95 model latency", "100 ms"),
        ("invocations per minute", "30,000"),
        ("flat invocations", "Stop"),
        ("window", "trailing 60 s, evaluated every 5 s"),
    ]
    assert plan["rules"] == ["at most 3 tests, 1 at a time", "no test starts after 600 s (JobDurationInSeconds)"]
    assert plan["payloads"] == "2 payloads (text/csv)" and plan["load"] == "one load process per test"
    assert [(c["label"], c["target"], c["price"]) for c in plan["configurations"]] == [
        ("ml.c5.large", "http://127.0.0.1:1/invocations?token=…", "$0.102/hour (us-east-1)"),  # the bundled table
        ("ml.c5.xlarge", "http://127.0.0.1:2/invocations", "$0.25/hour"),
        ("ml.c5.2xlarge", "http://127.0.0.1:3/invocations", "-"),
    ]
    assert "SECRET" not in str(plan)
    chart = ET.fromstring(plan["chart"])
    assert "Traffic pattern" in "".join(chart.itertext())


def test_the_plan_of_a_billion_steps_is_drawn_from_a_sample() -> None:
    request = copy.deepcopy(REQUEST)
    request["InputConfig"]["TrafficPattern"]["Stairs"] = {
        "DurationInSeconds": 600_000,
        "NumberOfSteps": 60_000,
        "UsersPerStep": 1,
    }
    spec = parse_job(request, LimitsMode.RELAXED)
    chart = views.plan(spec, prepared(request), SETTINGS)["chart"]
    paths = ET.fromstring(chart).iter("path")
    steps = max(path.get("d", "").count("H") for path in paths)  # one horizontal stretch a point
    assert 1_000 < steps <= views.PLAN_CHART_POINTS + 1


def test_a_running_test_shows_the_monitor_s_window_and_the_closest_condition() -> None:
    results = running((replace(COMPLETED, status=Status.IN_PROGRESS, stop_reason=None, stop_detail=""),))
    window = WindowStats(10, 70, 13_000, 30, 6, {50.0: 27.0, 95.0: 88.5, 99.0: 97.0})
    view = views.live(Snapshot(1, Path("out"), results, {0: window}), results.spec, SETTINGS, Weights())
    assert view["status"] == "IN_PROGRESS" and view["table"] is None
    test, second, third = view["tests"]
    assert test["window"] == {
        "span": "10–70 s",
        "invocations": "13,000",
        "latency": [("p50", "27.0 ms"), ("p95", "88.5 ms"), ("p99", "97.0 ms")],
        "streamed": [],  # not a streamed endpoint
    }
    assert [(r["condition"], r["value"], r["limit"], r["percent"], r["closest"]) for r in test["readings"]] == [
        ("endpoint errors", "0% (30/13030)", "50%", "0%", False),
        ("P95 model latency", "88.5 ms", "100 ms", "88%", True),
        ("invocations per minute", "13,000", "30,000", "43%", False),
    ]
    assert test["users"] == "12 target, 12 running"  # the timeline's last second
    assert test["plateau"] == "flat at 13,320 invocations/min from 6 users (from 16 s)"
    assert test["figures"] and len(test["figures"]) == 3
    assert (second["status"], third["status"]) == ("PENDING", "PENDING")
    assert test["notes"] == []  # no interval before the test has measured


def test_a_test_before_its_first_evaluation_has_no_readings() -> None:
    results = running((replace(COMPLETED, status=Status.IN_PROGRESS, stop_reason=None, plateau=None),), False)
    view = views.live(Snapshot(1, Path("out"), results, {}), results.spec, SETTINGS, Weights())
    test = view["tests"][0]
    assert test["window"] is None and test["readings"] == [] and test["users"] == "-" and test["figures"] == []


def test_the_ended_run_s_table_re_ranks_by_the_importances_asked_for() -> None:
    results = fixture_results((FAST, FAILED, CHEAP))
    ended = Snapshot(1, Path("out"), results, {})
    by_cost = views.live(ended, results.spec, SETTINGS, Weights())
    throughput_first = Weights(Importance.LOWEST, Importance.LOWEST, Importance.HIGHEST)
    by_throughput = views.live(ended, results.spec, SETTINGS, throughput_first)
    order = [
        [(row["label"], row["rank"]) for row in v["table"]["rows"] if row["rank"] != "–"]
        for v in (by_cost, by_throughput)
    ]
    assert order[0] == [("ml.c5.2xlarge", "1"), ("ml.c5.large", "2")]  # best first, as Studio lists them
    assert order[1] == [("ml.c5.large", "1"), ("ml.c5.2xlarge", "2")]
    assert by_cost["table"]["rows"][-1]["label"] == FAILED.label  # unranked ones last
    assert by_throughput["weights"] == {"cost": "Lowest", "latency": "Lowest", "throughput": "Highest"}
    status = views.status("finished", by_cost)
    assert [(r["configuration"], r["rank"], r["top"]) for r in status["recommendations"]] == [
        ("ml.c5.2xlarge", 1, True), ("ml.c5.large", 2, False), (FAILED.label, None, False)
    ]  # fmt: skip
    assert status["recommendations"][0]["max_invocations"] == 6000
    assert status["recommendations"][0]["cost_per_hour"] == 0.03
    assert by_cost["files_ranking"] == "" and by_throughput["files_ranking"] == (
        "The files below keep the run's own ranking (cost High, latency Moderate, throughput Low)."
    )
    assert all("figures" not in test for test in status["tests"])


def test_before_any_start_the_status_is_ready() -> None:
    assert views.status("ready", None) == {"state": "ready"}


def test_a_streamed_window_shows_ttft_itl_and_tokens_per_second() -> None:
    window = WindowStats(
        0, 10, 100, 0, 4, {50.0: 900.0, 95.0: 990.0, 99.0: 999.0},
        {50.0: 80.0, 95.0: 120.5, 99.0: 150.0}, {50.0: 15.0, 95.0: 17.25, 99.0: 30.0}, 2_400,
    )  # fmt: skip
    assert views._streamed(window) == [
        ("TTFT p50", "80.0 ms"), ("TTFT p95", "120.5 ms"), ("ITL p95", "17.2 ms"), ("tokens/s", "240"),
    ]  # fmt: skip


def test_a_window_with_an_slo_or_drops_shows_them_live() -> None:
    window = WindowStats(0, 10, 90, 10, 4, {50.0: 9.0, 95.0: 9.9, 99.0: 9.99}, dropped=7, good=85, good_tokens=0)
    assert views._streamed(window) == [("SLO met", "85.0%"), ("good/s", "8.5"), ("dropped", "7")]
    assert views._streamed(WindowStats(0, 10, 90, 0, 4, {50.0: 9.0})) == []  # a plain closed-loop window


def test_the_plan_lists_the_token_and_slo_conditions() -> None:
    request = copy.deepcopy(VALID_REQUEST)
    request["Loadrec"] = {
        "Targets": [{"Http": {"Url": "http://127.0.0.1:1/v1/completions"}, "Streaming": {}}],
        "StoppingConditions": {
            "TokenLatencyThresholds": [{"Metric": "TimeToFirstToken", "Percentile": "P95", "ValueInMilliseconds": 800}]
        },
        "Slo": {"EndToEndMs": 900, "MinAttainmentPercent": 97.5},
    }
    rows = views._conditions(parse_job(request, LimitsMode.RELAXED), MonitorSettings())
    assert ("P95 time to first token", "800 ms") in rows
    assert ("SLO attainment", "at least 97.5% of requests good") in rows
