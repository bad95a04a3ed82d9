"""The SageMaker provisioner's calls, in order, with an in-memory SageMaker API: what is created, how it
is named and tagged, how a failed endpoint is reported, and that everything created is deleted."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import JobSpec, parse_job
from loadrec.engine.provision.base import ProvisionError
from loadrec.engine.provision.sagemaker import SageMakerProvisioner, remove_leftover

PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"
ROLE = "arn:aws:iam::123456789012:role/Recommender"


class FakeSageMaker:
    """Records every call; the endpoint goes through ``statuses`` one DescribeEndpoint at a time (then stays in
    the last); the operations in ``refused`` answer as SageMaker does when it refuses."""

    def __init__(
        self,
        statuses: list[dict[str, Any]],
        refused: frozenset[str] = frozenset(),
        model: dict[str, Any] | None = None,
        missing: frozenset[str] = frozenset(),
    ) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.statuses, self.refused, self.model, self.missing = statuses, refused, model or {}, missing

    def __getattr__(self, operation: str) -> Any:
        def call(**parameters: Any) -> dict[str, Any]:
            self.calls.append((operation, parameters))
            if operation in self.refused:
                raise ClientError({"Error": {"Code": "ValidationException", "Message": "refused"}}, operation)
            if operation in self.missing:  # SageMaker's words for a resource that is not there
                message = f'Could not find endpoint "{next(iter(parameters.values()))}".'
                raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, operation)
            if operation == "describe_endpoint":
                return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return copy.deepcopy(self.model) if operation == "describe_model" else {}

        return call


def spec(**config: Any) -> JobSpec:
    request = {
        "JobName": "a-very-long-job-name-that-goes-on-and-on-and-on", "JobType": "Advanced", "RoleArn": ROLE,
        "InputConfig": {
            **({"ModelPackageVersionArn": PACKAGE} if "ModelName" not in config else {}),
            "TrafficPattern": {"TrafficType": "PHASES", "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1,
                                                                     "DurationInSeconds": 120}]},
            "EndpointConfigurations": [{"InstanceType": "ml.c5.large",
                                        "EnvironmentParameterRanges": {"CategoricalParameterRanges": [
                                            {"Name": "OMP_NUM_THREADS", "Value": ["2"]}]}},
                                       {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}],
            **config,
        },
        "Loadrec": {"Provisioner": {"SageMaker": {"Region": "us-east-1", "WaitTimeoutSeconds": 60}}},
    }  # fmt: skip
    return parse_job(copy.deepcopy(request), LimitsMode.AWS)


def provisioner(job: JobSpec, api: FakeSageMaker, lines: list[str]) -> SageMakerProvisioner:
    settings = job.extension.provisioner
    return SageMakerProvisioner(job, settings, lines.append, "0123456789abcdef", sleep=lambda _: None, api=api)  # type: ignore[arg-type]


def test_a_package_model_config_and_endpoint_are_created_named_tagged_and_deleted() -> None:
    job, records, lines = spec(), [], []
    api = FakeSageMaker([{"EndpointStatus": "Creating"}, {"EndpointStatus": "InService"}])
    created = provisioner(job, api, lines).create(job.case(0), lambda r: records.append(dict(r)), lambda: False)
    name = "a-very-long-job-name-that-goes-on-and-on-0-012345"  # the job name cut to 40, as AWS cuts it
    assert len(name) <= 63 and created.target.endpoint_name == name
    tags = [{"Key": "loadrec-job", "Value": job.name}]
    assert api.calls[:3] == [
        ("create_model", {"ModelName": name, "ExecutionRoleArn": ROLE, "Tags": tags,
                          "PrimaryContainer": {"ModelPackageName": PACKAGE, "Environment": {"OMP_NUM_THREADS": "2"}}}),
        ("create_endpoint_config", {"EndpointConfigName": name, "Tags": tags, "ProductionVariants": [
            {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.c5.large",
             "InitialInstanceCount": 1}]}),
        ("create_endpoint", {"EndpointName": name, "EndpointConfigName": name, "Tags": tags}),
    ]  # fmt: skip
    assert records[-1] | {"Kind": "SageMaker"} == {
        **records[-1],
        "Model": name,
        "EndpointConfig": name,
        "Endpoint": name,
    }
    assert f"endpoint {name}: Creating" in lines and f"endpoint {name}: InService" in lines
    api.calls.clear()
    provisioner(job, api, lines).delete(created)
    deleted = ["describe_endpoint", "delete_endpoint", "delete_endpoint_config", "delete_model"]
    assert [operation for operation, _ in api.calls] == deleted  # InService: deletable at once


def test_a_serverless_configuration_gets_a_serverless_variant() -> None:
    job, api = spec(), FakeSageMaker([{"EndpointStatus": "InService"}])
    provisioner(job, api, []).create(job.case(1), lambda r: None, lambda: False)
    variant = api.calls[1][1]["ProductionVariants"][0]
    assert variant == {"VariantName": "AllTraffic", "ModelName": variant["ModelName"],
                       "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}  # fmt: skip


def test_a_failed_endpoint_says_why_and_everything_created_is_deleted_once() -> None:
    job, records, lines = spec(), [], []
    api = FakeSageMaker([{"EndpointStatus": "Creating"}, {"EndpointStatus": "Failed", "FailureReason": "no capacity"}])
    with pytest.raises(ProvisionError, match=r"failed to create: no capacity$"):
        provisioner(job, api, lines).create(job.case(0), lambda r: records.append(dict(r)), lambda: False)
    assert [op for op, _ in api.calls][-3:] == ["delete_endpoint", "delete_endpoint_config", "delete_model"]
    assert records[-1]["Deleted"] is True  # the run's clean-up of leftovers skips it: no second delete
    assert remove_leftover(records[-1]) is None
    assert not any(line.startswith("could not delete") for line in lines)


def test_deleting_what_is_already_gone_is_no_failure() -> None:
    job, lines = spec(), []
    api = FakeSageMaker([{"EndpointStatus": "InService"}])
    made = provisioner(job, api, lines)
    created = made.create(job.case(0), lambda r: None, lambda: False)
    api.missing = frozenset({"delete_endpoint", "delete_endpoint_config"})  # deleted by hand meanwhile
    assert made.delete(created) is True
    name = created.target.endpoint_name
    assert lines[-3:] == [f"endpoint {name} was already deleted", f"endpointConfig {name} was already deleted",
                          f"deleted model {name}"]  # fmt: skip


def test_a_stop_while_creating_waits_until_the_endpoint_can_be_deleted_then_deletes_it() -> None:
    job = spec()
    creating, ready = {"EndpointStatus": "Creating"}, {"EndpointStatus": "InService"}
    api = FakeSageMaker([creating, creating, creating, ready])
    asked = iter([False, False, False, True])  # before the model, the config, the endpoint; then while waiting
    with pytest.raises(ProvisionError, match="stopped while endpoint"):
        provisioner(job, api, []).create(job.case(0), lambda r: None, lambda: next(asked))
    operations = [op for op, _ in api.calls]
    # SageMaker refuses to delete an endpoint being created: the delete comes once it is not.
    assert operations[3:] == ["describe_endpoint", "describe_endpoint", "describe_endpoint", "describe_endpoint",
                              "delete_endpoint", "delete_endpoint_config", "delete_model"]  # fmt: skip


def test_a_stop_before_anything_is_created_creates_nothing() -> None:
    job, api = spec(), FakeSageMaker([{"EndpointStatus": "InService"}])
    with pytest.raises(ProvisionError, match="stopped"):
        provisioner(job, api, []).create(job.case(0), lambda r: None, lambda: True)
    assert api.calls == []


def test_a_refused_delete_is_said_and_leaves_the_record_for_a_cleanup() -> None:
    job, lines = spec(), []
    api = FakeSageMaker([{"EndpointStatus": "InService"}], refused=frozenset({"delete_endpoint"}))
    made = provisioner(job, api, lines)
    created = made.create(job.case(0), lambda r: None, lambda: False)
    assert made.delete(created) is False
    assert any(line.startswith(f"could not delete {created.target.endpoint_name}") and
               line.endswith(f"loadrec cleanup {job.name} removes it later") for line in lines)  # fmt: skip


def test_a_named_model_without_parameters_is_used_as_it_is() -> None:
    job = spec(ModelName="churn-model")
    api = FakeSageMaker([{"EndpointStatus": "InService"}])
    provisioner(job, api, []).create(job.case(1), lambda r: None, lambda: False)
    assert [op for op, _ in api.calls] == ["create_endpoint_config", "create_endpoint", "describe_endpoint"]
    assert api.calls[0][1]["ProductionVariants"][0]["ModelName"] == "churn-model"


def test_a_named_model_s_copy_keeps_what_confines_it_and_merges_the_environment() -> None:
    vpc = {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
    model = {
        "ModelName": "churn-model", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/Original",
        "PrimaryContainer": {"Image": "churn:1", "Environment": {"A": "1"}},
        "VpcConfig": vpc, "EnableNetworkIsolation": False, "Containers": [],
    }  # fmt: skip
    job = spec(ModelName="churn-model")
    api = FakeSageMaker([{"EndpointStatus": "InService"}], model=model)
    provisioner(job, api, []).create(job.case(0), lambda r: None, lambda: False)
    created = next(parameters for operation, parameters in api.calls if operation == "create_model")
    assert created["PrimaryContainer"]["Environment"] == {"A": "1", "OMP_NUM_THREADS": "2"}
    assert created["VpcConfig"] == vpc and created["EnableNetworkIsolation"] is False
    assert "Containers" not in created and created["ExecutionRoleArn"] == ROLE  # the job's role
