"""Whole jobs end to end: several configurations, each in its own process, against real sample endpoints.

Every job here runs under relaxed limits with windows of a few seconds and stops by itself.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.aws_shapes import parse_as
from tests.e2e.jobs import LOADREC
from tests.e2e.moto import fake_aws_env
from tests.e2e.servers import sample_endpoint

pytestmark = pytest.mark.e2e

FAST = ["--window", "4", "--evaluate-every", "1", "--seed", "3"]
# (worker slots, ms per request, $ per hour): capacity 1200, 2400 and 4800 invocations/min
ENDPOINTS = ((1, 50, 0.10), (2, 50, 0.25), (4, 50, 0.30))


@pytest.fixture(scope="module")
def endpoints() -> Iterator[list[str]]:
    with ExitStack() as stack:
        yield [stack.enter_context(sample_endpoint(workers=w, service_ms=ms)) for w, ms, _ in ENDPOINTS]


def write_job(tmp_path: Path, urls: list[str | None], prices: list[float], **overrides: Any) -> Path:
    folder = tmp_path / "payloads"
    folder.mkdir(exist_ok=True)
    (folder / "row.csv").write_text("0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8\n")
    targets = [
        {"Http": {"Url": f"{url}/invocations"}, "PricePerHour": price} for url, price in zip(urls, prices, strict=True)
    ]
    job: dict[str, Any] = {
        "JobName": "e2e-job",
        "JobType": "Advanced",
        "InputConfig": {
            "TrafficPattern": {
                "TrafficType": "STAIRS",
                "Stairs": {"DurationInSeconds": 8, "NumberOfSteps": 4, "UsersPerStep": 2},
            },
            "ResourceLimit": {"MaxNumberOfTests": len(urls), "MaxParallelOfTests": 1},
            "EndpointConfigurations": [{"InstanceType": t} for t in ("ml.c5.large", "ml.c5.xlarge", "ml.c5.2xlarge")][
                : len(urls)
            ],
            "ContainerConfig": {"PayloadConfig": {"SupportedContentTypes": ["text/csv"]}},
        },
        "StoppingConditions": {
            "MaxInvocations": 6000,
            "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 5000}],
            "FlatInvocations": "Continue",
        },
        "Loadrec": {"Targets": targets, "SamplePayloadUrl": "payloads/"},
    }
    for key, value in overrides.items():
        job["InputConfig"][key] = value
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job))
    return path


def run(job: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [*LOADREC, "run", str(job), "--limits", "relaxed", "--out", str(out), *FAST]
    env = {**os.environ, **fake_aws_env()}
    return subprocess.run([*command, *extra], cwd=job.parent, env=env, capture_output=True, text=True, timeout=240)


def load(out: Path) -> tuple[dict[str, Any], dict[str, Any], pd.DataFrame]:
    return (
        json.loads((out / "describe.json").read_text()),
        json.loads((out / "steps.json").read_text()),
        pd.read_csv(out / "timeline.csv"),
    )


def test_three_configurations_two_at_a_time_ranked_and_priced(tmp_path: Path, endpoints: list[str]) -> None:
    job = write_job(
        tmp_path,
        list(endpoints),
        [p for _, _, p in ENDPOINTS],
        ResourceLimit={"MaxNumberOfTests": 3, "MaxParallelOfTests": 2},
    )
    result = run(job, tmp_path / "cost", "--cost-importance", "Highest", "--throughput-importance", "Lowest")
    assert result.returncode == 0, result.stderr
    describe, steps, timeline = load(tmp_path / "cost")
    assert describe["Status"] == "COMPLETED"
    assert [t["Status"] for t in describe["Loadrec"]["Tests"]] == ["COMPLETED"] * 3
    assert sorted(timeline["test"].unique()) == [0, 1, 2]
    busy = timeline[timeline["invocations"] + timeline["failures"] > 0].groupby("epoch")["test"].nunique()
    assert busy.max() == 2  # two tests did overlap, never three
    recommendations = {r["RecommendationId"]: r for r in describe["InferenceRecommendations"]}
    per_instance = {}
    for test in describe["Loadrec"]["Tests"]:
        recommendation = recommendations[test["RecommendationId"]]
        metrics, endpoint = recommendation["Metrics"], recommendation["EndpointConfiguration"]
        assert metrics["CostPerInference"] == metrics["CostPerHour"] / (metrics["MaxInvocations"] * 60)
        count = endpoint["InitialInstanceCount"]
        measured = metrics["MaxInvocations"] / count  # scaled linearly from one instance
        assert count == max(1, math.ceil(6000 / measured))
        assert metrics["CostPerHour"] == pytest.approx(ENDPOINTS[test["Index"]][2] * endpoint["InitialInstanceCount"])
        per_instance[test["Index"]] = test["MeasuredInvocationsPerInstance"]
    assert per_instance[0] < per_instance[1] < per_instance[2]  # more worker slots, more invocations
    cheapest = min(recommendations.values(), key=lambda r: r["Metrics"]["CostPerInference"])
    assert (
        describe["Loadrec"]["TopRecommendation"]["Configuration"] == cheapest["EndpointConfiguration"]["InstanceType"]
    )
    # both files are what botocore's output shapes describe
    parsed = parse_as("DescribeInferenceRecommendationsJob", describe)
    assert len(parsed["InferenceRecommendations"]) == 3
    parsed_steps = parse_as("ListInferenceRecommendationsJobSteps", steps)
    assert [s["Status"] for s in parsed_steps["Steps"]] == ["COMPLETED"] * 3
    assert parsed_steps["Steps"][0]["InferenceBenchmark"]["Metrics"]["MaxInvocations"] > 0
    assert (tmp_path / "cost" / "report.html").stat().st_size > 1000
    # throughput first instead: the same measurements rank the most invocations per instance first
    manifest = json.loads((tmp_path / "cost" / "run.json").read_text())
    manifest["Settings"]["weights"] = {"cost": "Lowest", "latency": "Moderate", "throughput": "Highest"}
    (tmp_path / "cost" / "run.json").write_text(json.dumps(manifest))
    described = subprocess.run(
        [*LOADREC, "describe", str(tmp_path / "cost")], capture_output=True, text=True, timeout=60
    )
    assert described.returncode == 0, described.stderr
    assert "top recommendation: ml.c5.2xlarge" in described.stdout
    assert load(tmp_path / "cost")[0]["Loadrec"]["TopRecommendation"]["Index"] == 2


def test_test_count_and_job_duration_limit_which_tests_run(tmp_path: Path, endpoints: list[str]) -> None:
    job = write_job(
        tmp_path,
        list(endpoints),
        [p for _, _, p in ENDPOINTS],
        ResourceLimit={"MaxNumberOfTests": 2},
        JobDurationInSeconds=3,
    )
    result = run(job, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    describe, steps, timeline = load(tmp_path / "out")
    first, second, third = describe["Loadrec"]["Tests"]
    assert first["Status"] == "COMPLETED"  # the running test finishes, as in AWS
    assert second["Status"] == "NOT_RUN" and "JobDurationInSeconds (3 s) had passed" in second["FailureReason"]
    assert third["Status"] == "NOT_RUN" and third["FailureReason"] == "MaxNumberOfTests is 2"
    assert steps["Steps"][2]["Status"] == "STOPPED"
    assert steps["Steps"][2]["InferenceBenchmark"]["FailureReason"] == "not run: MaxNumberOfTests is 2"
    assert set(timeline["test"]) == {0}


def test_one_endpoint_down(tmp_path: Path, endpoints: list[str]) -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{probe.getsockname()[1]}"
    job = write_job(
        tmp_path, [endpoints[0], down, endpoints[2]], [0.1, 0.2, 0.3], ResourceLimit={"MaxParallelOfTests": 3}
    )
    result = run(job, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    describe, steps, _ = load(tmp_path / "out")
    statuses = [t["Status"] for t in describe["Loadrec"]["Tests"]]
    assert statuses == ["COMPLETED", "FAILED", "COMPLETED"]
    failed = describe["Loadrec"]["Tests"][1]
    assert "connection refused" in failed["FailureReason"]
    # Users back off (5 ms doubling to 1 s): a few dozen attempts per user, not thousands a second.
    assert 0 < failed["Errors"]["connection refused"] < 400
    assert steps["Steps"][1]["Status"] == "FAILED"
    assert describe["Status"] == "COMPLETED" and len(describe["InferenceRecommendations"]) == 2
    assert describe["Loadrec"]["TopRecommendation"]["Index"] in (0, 2)
    described = subprocess.run(
        [*LOADREC, "describe", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert described.returncode == 0
    assert "e2e-job: COMPLETED" in described.stdout and "connection refused" in described.stdout
