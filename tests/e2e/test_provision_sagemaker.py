"""The SageMaker provisioner against moto in server mode (the SageMaker API) and the sample endpoint (the runtime).

A model package registered in moto, two instance types: two endpoints created, tested and
deleted; a stop mid-test still deletes; a model named by ModelName with environment
parameters is copied with its Environment merged, tagged, kept with --keep-endpoints and
found and deleted by ``loadrec cleanup``.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.jobs import LOADREC, environment, loadrec, run_command, write_job

pytestmark = pytest.mark.e2e

ROLE = "arn:aws:iam::123456789012:role/SageMakerInferenceRecommender"
LATENCY_STOP = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 90}]}


def api(moto_url: str) -> Any:
    return boto3.client("sagemaker", region_name="us-east-1", endpoint_url=moto_url, **_keys())


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def job_file(folder: Path, moto_url: str, runtime: str, model: dict[str, Any], **configuration: Any) -> Path:
    job = write_job(folder, {"Http": {"Url": "http://127.0.0.1:9/unused"}}, LATENCY_STOP, stairs=(20, 5, 1))
    request = json.loads(job.read_text())
    request["JobName"] = f"e2e-{folder.name[-12:].strip('_-').replace('_', '-')}"
    request["RoleArn"] = ROLE
    request["InputConfig"] |= model
    request["InputConfig"]["EndpointConfigurations"] = configuration.get(
        "configurations", [{"InstanceType": "ml.c5.large"}, {"InstanceType": "ml.c5.xlarge"}]
    )
    request["Loadrec"] = {
        "SamplePayloadUrl": "payloads/",
        "Provisioner": {"SageMaker": {"Region": "us-east-1", "ApiEndpointUrl": moto_url, "RuntimeEndpointUrl": runtime,
                                      "WaitTimeoutSeconds": 30}},
    }  # fmt: skip
    job.write_text(json.dumps(request))
    return job


def left(client: Any, job_name: str) -> list[str]:
    names = [e["EndpointName"] for e in client.list_endpoints(NameContains=job_name)["Endpoints"]]
    names += [c["EndpointConfigName"] for c in client.list_endpoint_configs(NameContains=job_name)["EndpointConfigs"]]
    names += [m["ModelName"] for m in client.list_models(NameContains=job_name)["Models"]]
    return [name for name in names if name.startswith(job_name)]  # moto may not filter every list by name


def records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(out.glob("tests/*/provisioned.json"))]


def package(moto_url: str) -> str:
    client = api(moto_url)
    group = f"churn-{time.monotonic_ns()}"
    client.create_model_package_group(ModelPackageGroupName=group)
    created = client.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["application/json"],
        },
    )  # fmt: skip
    return str(created["ModelPackageArn"])


def test_two_instance_types_get_an_endpoint_each_and_nothing_is_left(
    tmp_path: Path, moto_url: str, endpoint: str
) -> None:
    job = job_file(tmp_path, moto_url, endpoint, {"ModelPackageVersionArn": package(moto_url)})
    name = json.loads(job.read_text())["JobName"]
    out = tmp_path / "out"
    done = loadrec(job, out, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    body = json.loads((out / "describe.json").read_text())
    assert body["Status"] == "COMPLETED" and len(body["InferenceRecommendations"]) == 2
    created = records(out)
    assert [r["Endpoint"] for r in created] == [r["EndpointConfig"] for r in created] == [r["Model"] for r in created]
    assert all(re.fullmatch(rf"{name}-[01]-[0-9a-f]{{6}}", r["Endpoint"]) and r["Deleted"] for r in created)
    assert [r["EndpointConfiguration"]["EndpointName"] for r in body["InferenceRecommendations"]] == [
        r["Endpoint"] for r in created
    ]
    assert left(api(moto_url), name) == []
    assert f"endpoint {created[0]['Endpoint']}: InService" in done.stdout


def test_a_stop_mid_test_still_deletes_the_endpoint(tmp_path: Path, moto_url: str, endpoint: str) -> None:
    job = job_file(tmp_path, moto_url, endpoint, {"ModelPackageVersionArn": package(moto_url)},
                   configurations=[{"InstanceType": "ml.c5.large"}])  # fmt: skip
    request = json.loads(job.read_text())
    request["InputConfig"]["TrafficPattern"]["Stairs"] = {
        "DurationInSeconds": 120,
        "NumberOfSteps": 2,
        "UsersPerStep": 1,
    }
    job.write_text(json.dumps(request))
    out = tmp_path / "out"
    process = subprocess.Popen(run_command(job, out), cwd=tmp_path, env=environment(), stdout=subprocess.DEVNULL)
    seconds = out / "tests" / "0" / "seconds.jsonl"
    deadline = time.monotonic() + 60
    while not seconds.exists() or len(seconds.read_text().splitlines()) < 4:
        assert time.monotonic() < deadline and process.poll() is None, "the test did not start"
        time.sleep(0.2)
    assert left(api(moto_url), request["JobName"]) != []
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 130
    assert left(api(moto_url), request["JobName"]) == []
    assert json.loads((out / "describe.json").read_text())["Status"] == "STOPPED"


def test_a_named_model_is_copied_with_its_environment_merged_kept_and_cleaned_up(
    tmp_path: Path, moto_url: str, endpoint: str
) -> None:
    client = api(moto_url)
    model = f"churn-model-{time.monotonic_ns()}"
    client.create_model(
        ModelName=model, ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1", "Environment": {"A": "1"}},
    )  # fmt: skip
    ranges = {"CategoricalParameterRanges": [{"Name": "OMP_NUM_THREADS", "Value": ["2"]}]}
    job = job_file(tmp_path, moto_url, endpoint, {"ModelName": model},
                   configurations=[{"InstanceType": "ml.c5.large", "EnvironmentParameterRanges": ranges}])  # fmt: skip
    name = json.loads(job.read_text())["JobName"]
    done = loadrec(job, tmp_path / "out", "--keep-endpoints", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    created = records(tmp_path / "out")[0]
    copied = client.describe_model(ModelName=created["Model"])
    assert copied["PrimaryContainer"]["Environment"] == {"A": "1", "OMP_NUM_THREADS": "2"}
    assert copied["ExecutionRoleArn"] == ROLE
    assert {"Key": "loadrec-job", "Value": name} in client.list_tags(ResourceArn=copied["ModelArn"])["Tags"]
    assert sorted(left(client, name)) == sorted([created["Endpoint"], created["EndpointConfig"], created["Model"]])
    assert client.describe_model(ModelName=model)["ModelName"] == model  # the named model itself is untouched

    cleanup = [*LOADREC, "cleanup", name, "--region", "us-east-1", "--api-endpoint-url", moto_url]
    dry = subprocess.run([*cleanup, "--dry-run"], env=environment(), capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0 and f"would delete endpoint {created['Endpoint']}" in dry.stdout
    assert len(left(client, name)) == 3
    real = subprocess.run(cleanup, env=environment(), capture_output=True, text=True, timeout=60)
    assert real.returncode == 0 and f"deleted endpoint {created['Endpoint']}" in real.stdout, real.stderr
    assert left(client, name) == []
