"""Results files in the recommender's own shapes: describe.json and timeline.csv.

``describe.json`` is a DescribeInferenceRecommendationsJob response: the request
echoed back, the job status, and InferenceRecommendations (one per endpoint
configuration that measured something) or EndpointPerformances (for
InputConfig.Endpoints). Timestamps are ISO 8601; ModelLatency is in microseconds, as
AWS reports it. What AWS has no field for (each test's stop reason, plateau, error
counts) sits under a ``Loadrec`` key, which AWS parsers ignore.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from engine.jobspec import JobSpec
from engine.metrics import REPORTED_PERCENTILES, TimelineRow
from engine.outcome import COMPLETED, Sizing

VARIANT_NAME = "AllTraffic"


@dataclass(frozen=True)
class TestResult:
    index: int
    label: str
    status: str
    stop_reason: str
    stop_detail: str
    failure_reason: str | None
    sizing: Sizing | None
    start_epoch: float
    end_epoch: float
    plateau: dict[str, Any] | None
    errors: dict[str, int]
    workers: int
    rows: tuple[TimelineRow, ...]


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def job_arn(spec: JobSpec) -> str:
    return f"arn:loadrec:local:inference-recommendations-job/{spec.name}"


def describe(
    spec: JobSpec, status: str, created: float, updated: float, tests: list[TestResult], failure: str | None
) -> dict[str, Any]:
    request = spec.request
    body: dict[str, Any] = {
        "JobName": spec.name,
        "JobType": request["JobType"],
        "JobArn": job_arn(spec),
        "Status": status,
        "CreationTime": iso(created),
        "LastModifiedTime": iso(updated),
        "InputConfig": request["InputConfig"],
    }
    for key in ("JobDescription", "RoleArn", "StoppingConditions"):
        if key in request:
            body[key] = request[key]
    if status in ("COMPLETED", "FAILED", "STOPPED"):
        body["CompletionTime"] = iso(updated)
    if failure:
        body["FailureReason"] = failure
    measured = [t for t in tests if t.status == COMPLETED and t.sizing is not None]
    if spec.existing_endpoints:
        body["EndpointPerformances"] = [_endpoint_performance(spec, t) for t in measured]
    else:
        body["InferenceRecommendations"] = [_recommendation(spec, t) for t in measured]
    body["Loadrec"] = {"Tests": [_test_summary(t) for t in tests]}
    return body


def _metrics(sizing: Sizing) -> dict[str, Any]:
    metrics: dict[str, Any] = {"MaxInvocations": sizing.max_invocations}
    if sizing.model_latency_us is not None:
        metrics["ModelLatency"] = sizing.model_latency_us
    if sizing.cost_per_hour is not None:
        metrics["CostPerHour"] = sizing.cost_per_hour
    if sizing.cost_per_inference is not None:
        metrics["CostPerInference"] = sizing.cost_per_inference
    return metrics


def _recommendation(spec: JobSpec, test: TestResult) -> dict[str, Any]:
    assert test.sizing is not None
    configuration = spec.endpoint_configurations[test.index]
    endpoint: dict[str, Any] = {
        "EndpointName": spec.extension.targets[test.index].label,
        "VariantName": VARIANT_NAME,
        "InitialInstanceCount": test.sizing.initial_instance_count,
    }
    if configuration.instance_type:
        endpoint["InstanceType"] = configuration.instance_type
    if configuration.serverless is not None:
        endpoint["ServerlessConfig"] = {
            "MemorySizeInMB": configuration.serverless.memory_size_mb,
            "MaxConcurrency": configuration.serverless.max_concurrency,
        }
    model: dict[str, Any] = {"EnvironmentParameters": []}
    if configuration.inference_specification_name:
        model["InferenceSpecificationName"] = configuration.inference_specification_name
    return {
        "RecommendationId": f"{spec.name}/{uuid.uuid5(uuid.NAMESPACE_URL, f'{spec.name}/{test.index}').hex[:8]}",
        "Metrics": _metrics(test.sizing),
        "EndpointConfiguration": endpoint,
        "ModelConfiguration": model,
        "InvocationStartTime": iso(test.start_epoch),
        "InvocationEndTime": iso(test.end_epoch),
    }


def _endpoint_performance(spec: JobSpec, test: TestResult) -> dict[str, Any]:
    assert test.sizing is not None
    metrics = {"MaxInvocations": test.sizing.max_invocations, "ModelLatency": test.sizing.model_latency_us or 0}
    return {"Metrics": metrics, "EndpointInfo": {"EndpointName": spec.existing_endpoints[test.index]}}


def _test_summary(test: TestResult) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "Index": test.index,
        "Configuration": test.label,
        "Status": test.status,
        "StopReason": test.stop_reason,
        "StopDetail": test.stop_detail,
        "InvocationStartTime": iso(test.start_epoch),
        "InvocationEndTime": iso(test.end_epoch),
        "Errors": test.errors,
        "WorkerProcesses": test.workers,
    }
    if test.failure_reason:
        summary["FailureReason"] = test.failure_reason
    if test.plateau:
        summary["Plateau"] = test.plateau
    if test.sizing is not None:
        summary["MeasuredInvocationsPerInstance"] = round(
            test.sizing.max_invocations / test.sizing.initial_instance_count
        )
    return summary


def timeline_frame(tests: list[TestResult]) -> pd.DataFrame:
    records = []
    for test in tests:
        for row in test.rows:
            record: dict[str, Any] = {
                "test": test.index,
                "configuration": test.label,
                "second": row.second,
                "users": row.users,
                "running_users": row.running_users,
                "invocations": row.successes,
                "failures": row.failures,
            }
            for quantile in REPORTED_PERCENTILES:
                record[f"p{quantile:g}_ms"] = row.latency_ms.get(quantile)
            record["errors"] = ";".join(f"{k}={v}" for k, v in sorted(row.errors.items()))
            records.append(record)
    return pd.DataFrame.from_records(records)


def write_results(out: Path, body: dict[str, Any], tests: list[TestResult]) -> None:
    """Write both files atomically (a crash mid-write leaves the previous version)."""
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / "describe.json", json.dumps(body, indent=2) + "\n")
    _atomic_write(out / "timeline.csv", timeline_frame(tests).to_csv(index=False))


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)
