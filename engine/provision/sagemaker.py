"""A SageMaker endpoint per test, as the recommender creates one: model, endpoint configuration, endpoint.

- Model: from ``InputConfig.ModelPackageVersionArn`` (CreateModel with the package as
  its container), or ``InputConfig.ModelName`` used as it is; when the test has
  environment parameters, a copy of that model with its container's ``Environment``
  merged with them. The execution role is the job's ``RoleArn``.
- Endpoint configuration: one variant ``AllTraffic``, the configuration's InstanceType
  with InitialInstanceCount 1, or its ServerlessConfig.
- Endpoint: created, then described every few seconds until InService (bounded by
  ``WaitTimeoutSeconds``; a Failed endpoint's FailureReason is the error).

Names are the job name cut to 40 characters (as AWS cuts it), the test's number and the
run's first six hex digits: ``JOB-3-1a2b3c``, within SageMaker's 63-character pattern.
Everything created is tagged ``loadrec-job`` = the job name (``loadrec cleanup`` finds
leftovers by it) and written down as it is created, so it is deleted on every path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
import gevent
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from loadrec.engine.job.cases import TestCase
from loadrec.engine.job.problems import Say
from loadrec.engine.job.provisioning import SageMakerProvisioning, template_target
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.provision.base import (
    Cancelled,
    Provisioned,
    ProvisionError,
    Record,
    delete_and_record,
)

KIND = "SageMaker"
TAG = "loadrec-job"
VARIANT = "AllTraffic"
JOB_NAME_LENGTH = 40
POLL_S = 5.0  # as SageMaker's own endpoint_in_service waiter polls (it waits 30 s between tries)
IN_SERVICE, FAILED = "InService", "Failed"
BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack")  # SageMaker refuses a delete meanwhile
SETTLE_TIMEOUT_S = 1800.0  # an endpoint being created may take as long to become deletable


def client(region: str | None, endpoint_url: str | None) -> Any:
    """botocore's SageMaker client (raises BotoCoreError without a region, ValueError for a bad URL)."""
    config = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60)
    return boto3.client("sagemaker", region_name=region, endpoint_url=endpoint_url, config=config)


def name_prefix(job_name: str) -> str:
    """How the names of what is created for a job begin: the job name cut to 40 characters, as AWS cuts it."""
    return job_name[:JOB_NAME_LENGTH].rstrip("-")


def resource_name(job_name: str, index: int, run_id: str) -> str:
    """``JOB-N-xxxxxx``: the job, the test, the run; within SageMaker's 63-character name pattern."""
    return f"{name_prefix(job_name)}-{index}-{run_id[:6]}"


class SageMakerProvisioner:
    """Creates a test's model, endpoint configuration and endpoint, and deletes them (see the module)."""

    def __init__(
        self,
        spec: JobSpec,
        provisioning: SageMakerProvisioning,
        progress: Say,
        run_id: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = gevent.sleep,
        api: Any = None,  # botocore's SageMaker client unless a test passes one of its own
    ) -> None:
        self.spec, self.provisioning, self.progress, self.run_id = spec, provisioning, progress, run_id
        self.clock, self.sleep = clock, sleep
        try:
            self.api = api if api is not None else client(provisioning.region, provisioning.api_endpoint_url)
        except (BotoCoreError, ValueError) as error:  # no region, a malformed URL
            raise ProvisionError(f"SageMaker API: {error}") from None

    def create(self, case: TestCase, record: Record, cancelled: Cancelled) -> Provisioned:
        name = resource_name(self.spec.name, case.index, self.run_id)
        entry: dict[str, Any] = {
            "Kind": KIND, "Job": self.spec.name, "Region": self.provisioning.region,
            "ApiEndpointUrl": self.provisioning.api_endpoint_url,
            "Model": None, "EndpointConfig": None, "Endpoint": None,
        }  # fmt: skip
        provisioned = Provisioned(template_target(self.provisioning, 0, {}, name), 0.0, entry)
        try:
            self._go_on(cancelled, name)
            model = self._model(name, dict(case.environment), entry, record)
            self._go_on(cancelled, name)
            self._call("CreateEndpointConfig", EndpointConfigName=name, ProductionVariants=[self._variant(case, model)],
                       Tags=self._tags())  # fmt: skip
            entry["EndpointConfig"] = name
            record(entry)
            self._go_on(cancelled, name)
            started = self.clock()
            self._call("CreateEndpoint", EndpointName=name, EndpointConfigName=name, Tags=self._tags())
            entry["Endpoint"] = name
            record(entry)
            self.progress(f"endpoint {name} creating; waiting until it is InService")
            self._wait(name, cancelled)
        except BaseException:
            delete_and_record(self, provisioned, record)
            raise
        ready_s = self.clock() - started
        self.progress(f"endpoint {name} InService in {ready_s:.0f} s")
        return Provisioned(provisioned.target, ready_s, entry)

    def delete(self, provisioned: Provisioned) -> bool:
        lines, gone = delete_recorded(self.api, provisioned.record, self.sleep, self.clock)
        for line in lines:
            self.progress(line)
        return gone

    def _model(self, name: str, environment: dict[str, str], entry: dict[str, Any], record: Record) -> str:
        config = self.spec.request["InputConfig"]
        role = self.spec.request.get("RoleArn")
        package, existing = config.get("ModelPackageVersionArn"), config.get("ModelName")
        if package:
            container: dict[str, Any] = {"ModelPackageName": package}
            if environment:
                container["Environment"] = environment
            self._call(
                "CreateModel", ModelName=name, ExecutionRoleArn=role, PrimaryContainer=container, Tags=self._tags()
            )
        elif environment:
            described = self._call("DescribeModel", ModelName=existing)
            # The copy keeps what confines the model (its VPC, network isolation, how its containers run).
            kept = ("PrimaryContainer", "Containers", "VpcConfig", "EnableNetworkIsolation", "InferenceExecutionConfig")
            fields = {k: described[k] for k in kept if described.get(k) not in (None, {}, [])}  # False is kept
            for container in [fields.get("PrimaryContainer"), *fields.get("Containers", [])]:
                if container is not None:
                    container["Environment"] = {**container.get("Environment", {}), **environment}
            self._call("CreateModel", ModelName=name, ExecutionRoleArn=role or described["ExecutionRoleArn"],
                       Tags=self._tags(), **fields)  # fmt: skip
        else:
            return str(existing)  # the model as it is: never created here, never deleted
        entry["Model"] = name
        record(entry)
        return name

    def _variant(self, case: TestCase, model: str) -> dict[str, Any]:
        configuration = self.spec.configuration_of(case.index)
        assert configuration is not None  # a provisioned test has an endpoint configuration
        variant: dict[str, Any] = {"VariantName": VARIANT, "ModelName": model}
        if configuration.serverless is not None:
            serverless = {"MemorySizeInMB": configuration.serverless.memory_size_mb,
                          "MaxConcurrency": configuration.serverless.max_concurrency}  # fmt: skip
            if configuration.serverless.provisioned_concurrency is not None:
                serverless["ProvisionedConcurrency"] = configuration.serverless.provisioned_concurrency
            variant["ServerlessConfig"] = serverless
        else:
            variant |= {"InstanceType": configuration.instance_type, "InitialInstanceCount": 1}
        return variant

    @staticmethod
    def _go_on(cancelled: Cancelled, name: str) -> None:
        """A stop before the next creation: nothing more is created (what was is deleted)."""
        if cancelled():
            raise ProvisionError(f"stopped while endpoint {name} was being created")

    def _wait(self, name: str, cancelled: Cancelled) -> None:
        deadline = self.clock() + self.provisioning.wait_timeout_s
        status = ""
        while True:
            if cancelled():
                raise ProvisionError(f"stopped while endpoint {name} was being created")
            described = self._call("DescribeEndpoint", EndpointName=name)
            if described["EndpointStatus"] != status:
                status = described["EndpointStatus"]
                self.progress(f"endpoint {name}: {status}")
            if status == IN_SERVICE:
                return
            if status == FAILED:
                reason = described.get("FailureReason") or "no reason given"
                raise ProvisionError(f"endpoint {name} failed to create: {reason}")
            if self.clock() > deadline:
                raise ProvisionError(f"endpoint {name} was not InService within {self.provisioning.wait_timeout_s:g} s")
            self.sleep(POLL_S)

    def _tags(self) -> list[dict[str, str]]:
        return [{"Key": TAG, "Value": self.spec.name}]

    def _call(self, operation: str, **parameters: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self.api, xform_name(operation))(**parameters))
        except (ClientError, BotoCoreError) as error:
            raise ProvisionError(f"SageMaker {operation}: {error}") from None


def delete_recorded(
    api: Any,
    record: dict[str, Any],
    sleep: Callable[[float], None] = gevent.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[list[str], bool]:
    """Delete the endpoint, endpoint configuration and model a record names, in that order; never raises.

    SageMaker refuses to delete an endpoint while it is being created or updated: that is
    waited out first (at most ``SETTLE_TIMEOUT_S``). Returns what was done, and whether
    everything is gone (if not, the record stays for ``loadrec cleanup``)."""
    lines, gone = [], True
    job = record.get("Job") or "JOB_NAME"
    for operation, key, name_field in (
        ("delete_endpoint", "Endpoint", "EndpointName"),
        ("delete_endpoint_config", "EndpointConfig", "EndpointConfigName"),
        ("delete_model", "Model", "ModelName"),
    ):
        name = record.get(key)
        if not name:
            continue
        try:
            if key == "Endpoint":
                _settle(api, name, sleep, clock)
            getattr(api, operation)(**{name_field: name})
            lines.append(f"deleted {key[0].lower() + key[1:]} {name}")
        except (ClientError, BotoCoreError) as error:
            if _already_gone(error):  # deleted before (by the test's own clean-up, or by hand): not a failure
                lines.append(f"{key[0].lower() + key[1:]} {name} was already deleted")
                continue
            gone = False
            lines.append(f"could not delete {name} ({error}); loadrec cleanup {job} removes it later")
    return lines, gone


def _already_gone(error: Exception) -> bool:
    """SageMaker's answer to deleting what is not there: ValidationException "Could not find …"."""
    if not isinstance(error, ClientError):
        return False
    detail = error.response.get("Error", {})
    return detail.get("Code") == "ValidationException" and "could not find" in str(detail.get("Message", "")).lower()


def _settle(api: Any, name: str, sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
    """Wait while endpoint ``name`` is being created or updated (a delete would be refused); bounded."""
    deadline = clock() + SETTLE_TIMEOUT_S
    while clock() < deadline:
        try:
            status = api.describe_endpoint(EndpointName=name)["EndpointStatus"]
        except ClientError:
            return  # already gone, or not describable: the delete says which
        if status not in BUSY:
            return
        sleep(POLL_S)


def remove_leftover(record: dict[str, Any]) -> str | None:
    """Delete what a killed test's process had created on SageMaker, from its record; what was done."""
    if record.get("Deleted") or not any(record.get(key) for key in ("Endpoint", "EndpointConfig", "Model")):
        return None
    try:
        api = client(record.get("Region"), record.get("ApiEndpointUrl"))
    except (BotoCoreError, ValueError) as error:
        return f"could not delete what it created ({error}); loadrec cleanup {record.get('Job')} removes it later"
    return "; ".join(delete_recorded(api, record)[0])


LISTS = (  # what the provisioner creates, in the order it is deleted
    ("list_endpoints", "Endpoints", "EndpointArn", "EndpointName", "Endpoint"),
    ("list_endpoint_configs", "EndpointConfigs", "EndpointConfigArn", "EndpointConfigName", "EndpointConfig"),
    ("list_models", "Models", "ModelArn", "ModelName", "Model"),
)


def leftovers(api: Any, job_name: str) -> dict[str, list[str]]:
    """What loadrec created for ``job_name`` and is still there: names by kind (tagged, named after the job)."""
    found: dict[str, list[str]] = {}
    prefix = name_prefix(job_name)
    for operation, key, arn, name, kind in LISTS:
        for page in api.get_paginator(operation).paginate(NameContains=prefix):
            for item in page[key]:
                tags = api.list_tags(ResourceArn=item[arn]).get("Tags", [])
                if {"Key": TAG, "Value": job_name} in tags:
                    found.setdefault(kind, []).append(item[name])
    return found


def cleanup(api: Any, job_name: str, dry_run: bool) -> list[str]:
    """Delete (or, ``dry_run``, list) the leftovers of ``job_name``; what was done, a line each."""
    found = leftovers(api, job_name)
    if dry_run:
        return [f"would delete {kind[0].lower() + kind[1:]} {name}" for kind, names in found.items() for name in names]
    lines = []
    for kind, names in found.items():
        for name in names:
            lines += delete_recorded(api, {kind: name, "Job": job_name})[0]
    return lines
