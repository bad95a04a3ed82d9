"""``loadrec serve`` driven by real boto3: the guide's example end to end, listing, stopping, errors, a restart.

The guide's Python example runs unchanged but for the client's endpoint URL and keys,
the names and the model reference: three instance types, each on a sample endpoint the
server's Command provisioner starts, stopped by MaxInvocations within seconds.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.aws_shapes import in_the_model, parse_as
from tests.e2e.api import (
    KEY_ID,
    SECRET,
    ApiServer,
    api_server,
    sagemaker,
    server_config,
    stairs_job,
    start_server,
    stop_server,
    wait_for,
)
from tests.e2e.jobs import LOADREC, environment

pytestmark = pytest.mark.e2e


def guide_request(name: str) -> dict[str, Any]:
    """The guide's create_inference_recommendations_job call, names and model reference changed."""
    return {
        "JobName": name,
        "JobType": "Advanced",
        "RoleArn": "arn:aws:iam::123456789012:role/loadrec-e2e",
        "InputConfig": {
            "ModelName": "churn-model",
            "JobDurationInSeconds": 7200,
            "TrafficPattern": {
                "TrafficType": "PHASES",
                "Phases": [
                    {"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120},
                    {"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120},
                ],
            },
            "ResourceLimit": {"MaxNumberOfTests": 10, "MaxParallelOfTests": 3},
            "EndpointConfigurations": [
                {"InstanceType": "ml.c5.xlarge"},
                {"InstanceType": "ml.m5.xlarge"},
                {"InstanceType": "ml.r5.xlarge"},
            ],
        },
        "StoppingConditions": {
            "MaxInvocations": 1000,
            "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}],
            "FlatInvocations": "Stop",
        },
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, endpoint: str) -> Iterator[ApiServer]:
    folder = tmp_path_factory.mktemp("serve")
    (folder / "payloads" / "empty").mkdir(parents=True)
    with api_server(server_config(folder, endpoint, MaxConcurrentJobs=3), folder / "data") as running:
        yield running


@pytest.fixture(scope="module")
def client(server: ApiServer) -> BaseClient:
    return sagemaker(server.url)


def error_of(call: Any, **params: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    error: dict[str, str] = raised.value.response["Error"]
    return error


def test_the_guides_example_completes_and_answers_as_its_results_files_say(
    client: BaseClient, server: ApiServer
) -> None:
    created = client.create_inference_recommendations_job(**guide_request("guide"))
    assert created["JobArn"] == "arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/guide"
    described = wait_for(client, "guide")
    assert described["Status"] == "COMPLETED", described.get("FailureReason")
    assert described["CompletionTime"] >= described["CreationTime"]
    assert described["InputConfig"] == guide_request("guide")["InputConfig"]  # echoed as sent
    assert in_the_model("DescribeInferenceRecommendationsJob", described) == []
    listed = client.list_inference_recommendations_jobs()
    assert in_the_model("ListInferenceRecommendationsJobs", listed) == []

    folder = Path(server.log.parent / "data" / "jobs" / "guide")
    on_disk = parse_as("DescribeInferenceRecommendationsJob", json.loads((folder / "describe.json").read_text()))
    assert described["InferenceRecommendations"] == on_disk["InferenceRecommendations"]
    recommendations = described["InferenceRecommendations"]
    assert sorted(r["EndpointConfiguration"]["InstanceType"] for r in recommendations) == [
        "ml.c5.xlarge", "ml.m5.xlarge", "ml.r5.xlarge",
    ]  # fmt: skip
    assert all(r["Metrics"]["MaxInvocations"] >= 1000 for r in recommendations)  # each stopped by MaxInvocations

    steps = client.list_inference_recommendations_job_steps(JobName="guide", MaxResults=2)
    rest = client.list_inference_recommendations_job_steps(JobName="guide", NextToken=steps["NextToken"])
    assert "NextToken" not in rest
    all_steps = steps["Steps"] + rest["Steps"]
    assert in_the_model("ListInferenceRecommendationsJobSteps", {"Steps": all_steps}) == []
    assert [s["Status"] for s in all_steps] == ["COMPLETED"] * 3
    on_disk_steps = parse_as("ListInferenceRecommendationsJobSteps", json.loads((folder / "steps.json").read_text()))
    assert all_steps == on_disk_steps["Steps"]
    assert client.list_inference_recommendations_job_steps(JobName="guide", Status="FAILED")["Steps"] == []

    top = recommendations[0]["RecommendationId"]
    scaling = client.get_scaling_configuration_recommendation(
        InferenceRecommendationsJobName="guide", RecommendationId=top, TargetCpuUtilizationPerCore=50
    )
    cli = subprocess.run(
        [*LOADREC, "scaling-recommendation", str(folder), "--recommendation-id", top,
         "--target-cpu-utilization-per-core", "50"],
        capture_output=True, text=True, env=environment(), timeout=60, check=True,
    )  # fmt: skip
    expected = parse_as("GetScalingConfigurationRecommendation", json.loads(cli.stdout))
    scaling.pop("ResponseMetadata")
    expected.pop("ResponseMetadata")
    assert scaling == expected

    again = error_of(client.create_inference_recommendations_job, **guide_request("guide"))
    assert again["Code"] == "ResourceInUse"


def test_list_filters_sorts_and_pages(client: BaseClient, server: ApiServer) -> None:
    # Jobs whose payload folder is empty fail at once, before any load: enough to list.
    empty = str(server.log.parent / "payloads" / "empty")
    for name in ["list-b", "list-a", "list-c"]:
        request = stairs_job(name)
        request["InputConfig"]["ContainerConfig"] = {"PayloadConfig": {"SamplePayloadUrl": empty}}
        client.create_inference_recommendations_job(**request)
        assert wait_for(client, name)["Status"] == "FAILED"
    first = client.list_inference_recommendations_jobs(
        NameContains="LIST-", StatusEquals="FAILED", SortBy="Name", SortOrder="Ascending", MaxResults=2
    )
    second = client.list_inference_recommendations_jobs(
        NameContains="LIST-", StatusEquals="FAILED", SortBy="Name", SortOrder="Ascending", MaxResults=2,
        NextToken=first["NextToken"],
    )  # fmt: skip
    listed = first["InferenceRecommendationsJobs"] + second["InferenceRecommendationsJobs"]
    assert [j["JobName"] for j in listed] == ["list-a", "list-b", "list-c"]
    assert "NextToken" not in second
    assert all("payload" in j["FailureReason"] or "no" in j["FailureReason"] for j in listed)
    newest = client.list_inference_recommendations_jobs(NameContains="list-")["InferenceRecommendationsJobs"]
    assert [j["JobName"] for j in newest] == ["list-c", "list-a", "list-b"]  # by creation time, newest first
    oldest = listed[1]["CreationTime"]  # list-b's, created first
    later = client.list_inference_recommendations_jobs(CreationTimeAfter=oldest, NameContains="list")
    assert {j["JobName"] for j in later["InferenceRecommendationsJobs"]} == {"list-a", "list-c"}
    assert client.list_inference_recommendations_jobs(StatusEquals="STOPPING")["InferenceRecommendationsJobs"] == []


def test_a_stop_mid_run_keeps_what_was_measured(client: BaseClient, server: ApiServer) -> None:
    client.create_inference_recommendations_job(**stairs_job("to-stop", seconds=120))
    wait_for(client, "to-stop", ("IN_PROGRESS",), timeout=30)
    folder = server.log.parent / "data" / "jobs" / "to-stop"
    deadline = time.monotonic() + 30
    while _measured_seconds(folder) < 6:
        assert time.monotonic() < deadline, "no second measured"
        time.sleep(0.5)
    client.stop_inference_recommendations_job(JobName="to-stop")
    assert client.describe_inference_recommendations_job(JobName="to-stop")["Status"] in ("STOPPING", "STOPPED")
    stopped_at = time.monotonic()
    described = wait_for(client, "to-stop", timeout=30)
    assert described["Status"] == "STOPPED"
    assert time.monotonic() - stopped_at < 15  # a Stop takes effect within seconds
    steps = client.list_inference_recommendations_job_steps(JobName="to-stop")["Steps"]
    assert [s["Status"] for s in steps] == ["STOPPED"]
    assert len((folder / "timeline.csv").read_text().splitlines()) > 2  # a header and the measured seconds
    assert error_of(client.stop_inference_recommendations_job, JobName="to-stop")["Code"] == "ValidationException"


def test_bad_requests_get_aws_error_codes(client: BaseClient, server: ApiServer, tmp_path: Path) -> None:
    missing = error_of(client.describe_inference_recommendations_job, JobName="no-such-job")
    assert missing["Code"] == "ResourceNotFound"
    outside = stairs_job("outside")
    secret_file = tmp_path / "secret"
    secret_file.mkdir()
    outside["InputConfig"]["ContainerConfig"] = {"PayloadConfig": {"SamplePayloadUrl": str(secret_file)}}
    error = error_of(client.create_inference_recommendations_job, **outside)
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f"1 validation error detected: Value '{secret_file}' at 'inputConfig.containerConfig.payloadConfig."
        "samplePayloadUrl' failed to satisfy constraint: Member is not under a payload root of this server (its "
        "configuration's PayloadRoots)"
    )  # the caller's own path is echoed, never the server's roots
    wrong = error_of(sagemaker(server.url, secret="not-the-secret").describe_inference_recommendations_job, JobName="x")
    assert wrong["Code"] == "InvalidSignatureException"
    unknown = error_of(sagemaker(server.url, key_id="AKIDUNKNOWN").describe_inference_recommendations_job, JobName="x")
    assert unknown["Code"] == "UnrecognizedClientException"
    elsewhere = error_of(sagemaker(server.url, region="eu-west-1").describe_inference_recommendations_job, JobName="x")
    assert elsewhere["Code"] == "InvalidSignatureException" and "this server's is 'us-east-1'" in elsewhere["Message"]
    assert SECRET not in server.output()
    listing = error_of(client.list_inference_recommendations_jobs, MaxResults=1, NextToken="bm90LWEtdG9rZW4=")
    assert listing["Code"] == "ValidationException"


def test_aws_limits_refuse_a_spawn_rate_of_60_naming_the_field_and_a_job_over_the_limit(
    tmp_path: Path, endpoint: str
) -> None:
    config = server_config(tmp_path, endpoint, MaxConcurrentJobs=1)
    with api_server(config, tmp_path / "data", "--limits", "aws") as strict:
        client = sagemaker(strict.url)
        request = guide_request("too-fast")
        request["InputConfig"]["TrafficPattern"]["Phases"][0]["SpawnRate"] = 60
        error = error_of(client.create_inference_recommendations_job, **request)
        client.create_inference_recommendations_job(**stairs_job("first", seconds=120))
        over = error_of(client.create_inference_recommendations_job, **stairs_job("second", seconds=120))
        assert over["Code"] == "ResourceLimitExceeded"
        client.stop_inference_recommendations_job(JobName="first")
        assert wait_for(client, "first", timeout=30)["Status"] == "STOPPED"
    assert error["Code"] == "ValidationException"
    message = error["Message"]
    assert message.startswith(
        "2 validation errors detected: Value '60' at 'inputConfig.trafficPattern.phases.1."
        "member.spawnRate' failed to satisfy constraint: Member is above the AWS limit of "
    )
    assert "--limits" not in message  # a server flag the caller cannot set
    validate = subprocess.run(
        [*LOADREC, "validate", "--job-name", "too-fast", "--job-type", "Advanced",
         "--role-arn", request["RoleArn"], "--input-config", json.dumps(request["InputConfig"]),
         "--stopping-conditions", json.dumps(request["StoppingConditions"])],
        capture_output=True, text=True, env=environment(), timeout=60,
    )  # fmt: skip
    assert validate.returncode == 2  # the same problem, in loadrec's own words, with the flag its user can set
    assert validate.stderr.splitlines()[0] == (
        "InputConfig.TrafficPattern.Phases[0].SpawnRate: 60 is above the AWS limit of 3 (use --limits relaxed to "
        "allow it)"
    )
    assert len(validate.stderr.splitlines()) == 2


def test_the_job_page_needs_a_key_and_links_each_report(client: BaseClient, server: ApiServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server.url}/", timeout=5)
    assert refused.value.code == 401
    login = base64.b64encode(f"{KEY_ID}:{SECRET}".encode()).decode()
    page = _get(f"{server.url}/", login)
    assert "<td>guide" in page or "to-stop" in page or "No job yet" in page
    client.create_inference_recommendations_job(**stairs_job("page-job", seconds=4))
    wait_for(client, "page-job")
    page = _get(f"{server.url}/", login)
    assert 'href="/jobs/page-job/report.html"' in page
    report = _get(f"{server.url}/jobs/page-job/report.html", login)
    assert "page-job" in report
    with pytest.raises(urllib.error.HTTPError) as hidden:
        _get(f"{server.url}/jobs/page-job/run.json", login)
    assert hidden.value.code == 404


def _get(url: str, login: str) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {login}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return str(answer.read().decode())


def test_a_server_killed_mid_job_restarts_with_every_job_and_the_running_one_failed(
    tmp_path: Path, endpoint: str
) -> None:
    config = server_config(tmp_path, endpoint)
    data = tmp_path / "data"
    first = start_server(config, data)
    try:
        client = sagemaker(first.url)
        client.create_inference_recommendations_job(**stairs_job("finished", seconds=3))
        assert wait_for(client, "finished")["Status"] == "COMPLETED"
        client.create_inference_recommendations_job(**stairs_job("interrupted", seconds=120))
        wait_for(client, "interrupted", ("IN_PROGRESS",), timeout=30)
        deadline = time.monotonic() + 30
        while _measured_seconds(data / "jobs" / "interrupted") < 2:
            assert time.monotonic() < deadline, "no second measured"
            time.sleep(0.5)
        children = psutil.Process(first.process.pid).children(recursive=True)
    finally:
        stop_server(first, signal.SIGKILL)
    _, alive = psutil.wait_procs(children, timeout=20)  # each test process notices within a second
    assert alive == []
    measured = _measured_seconds(data / "jobs" / "interrupted")
    restarted = time.time()
    with api_server(config, data) as second:
        client = sagemaker(second.url)
        jobs = {j["JobName"]: j for j in client.list_inference_recommendations_jobs()["InferenceRecommendationsJobs"]}
        assert jobs["finished"]["Status"] == "COMPLETED"
        assert jobs["interrupted"]["Status"] == "FAILED"
        assert "server stopped while this job ran" in jobs["interrupted"]["FailureReason"]
        described = client.describe_inference_recommendations_job(JobName="interrupted")
        assert described["Status"] == "FAILED"
        # it ended with its last measured second, before the restart
        assert (
            described["CreationTime"] < described["CompletionTime"]
            and described["CompletionTime"].timestamp() <= restarted
        )
    assert _measured_seconds(data / "jobs" / "interrupted") >= measured  # nothing measured was lost
    on_disk = json.loads((data / "jobs" / "interrupted" / "describe.json").read_text())
    assert on_disk["Status"] == "FAILED"
    timeline = (data / "jobs" / "interrupted" / "timeline.csv").read_text().splitlines()
    assert len(timeline) > 1  # the header and the measured seconds


def _measured_seconds(job: Path) -> int:
    """Lines test 0 of the job has written to its seconds file so far (it grows by a line or two a second)."""
    seconds = job / "tests" / "0" / "seconds.jsonl"
    return len(seconds.read_text().splitlines()) if seconds.exists() else 0
