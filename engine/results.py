"""Results files in the recommender's own shapes: describe.json, steps.json, timeline.csv.

``describe.json`` is a DescribeInferenceRecommendationsJob response: the request echoed
back, the job status, and InferenceRecommendations (one per configuration that measured
something) or EndpointPerformances (for InputConfig.Endpoints). ``steps.json`` is a
ListInferenceRecommendationsJobSteps response, one BENCHMARK step per test. Timestamps
are ISO 8601; ModelLatency is in microseconds, as AWS reports it. What AWS has no field
for (stop reasons, plateaus, errors, the ranking) sits under a ``Loadrec`` key, which
AWS parsers ignore.

Each test process writes its own ``tests/N/result.json`` and ``tests/N/timeline.csv``
when it ends; the job files are rebuilt from them, so nothing finished is ever lost.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from engine.jobspec import JobSpec
from engine.metrics import REPORTED_PERCENTILES, TimelineRow
from engine.outcome import COMPLETED, STOPPED, Sizing
from engine.ranking import Ranked, Weights

VARIANT_NAME = "AllTraffic"
NOT_RUN = "NOT_RUN"  # loadrec's own status for a test that never started; AWS shapes say STOPPED
STEP_TYPE = "BENCHMARK"


@dataclass(frozen=True)
class TestResult:
    """What one test found, as its process writes it to ``tests/N/result.json``."""

    __test__ = False  # not a pytest test class, whatever imports it

    index: int
    label: str
    status: str
    stop_reason: str = ""
    stop_detail: str = ""
    stop_second: int | None = None
    failure_reason: str | None = None
    sizing: Sizing | None = None
    start_epoch: float | None = None
    end_epoch: float | None = None
    plateau: dict[str, Any] | None = None
    errors: dict[str, int] = field(default_factory=dict)
    workers: int = 0
    worker_events: list[dict[str, Any]] = field(default_factory=list)  # lost workers, saturated CPUs
    utilization: dict[str, float] | None = None  # CpuUtilization, MemoryUtilization (CloudWatch)
    note: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> TestResult:
        data = json.loads(text)
        sizing = data.pop("sizing")
        return cls(**data, sizing=Sizing(**sizing) if sizing else None)

    @property
    def recommendation_id(self) -> str:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"loadrec/{self.index}/{self.label}").hex[:12]


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def job_arn(spec: JobSpec) -> str:
    return f"arn:loadrec:local:inference-recommendations-job/{spec.name}"


def describe(
    spec: JobSpec,
    status: str,
    times: tuple[float, float],
    tests: list[TestResult],
    failure: str | None = None,
    ranking: list[Ranked] | None = None,
    weights: Weights | None = None,
) -> dict[str, Any]:
    created, updated = times
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
    if status in (COMPLETED, "FAILED", STOPPED):
        body["CompletionTime"] = iso(updated)
    if failure:
        body["FailureReason"] = failure
    measured = [t for t in tests if t.status == COMPLETED and t.sizing is not None]
    if spec.existing_endpoints:
        body["EndpointPerformances"] = [_endpoint_performance(spec, t) for t in measured]
    else:
        body["InferenceRecommendations"] = [_recommendation(spec, t) for t in measured]
    extra: dict[str, Any] = {"Tests": [_test_summary(t) for t in tests]}
    if ranking:
        extra["Ranking"] = [
            {"Index": r.index, "Configuration": r.label, "Rank": r.rank, "Score": r.score} for r in ranking
        ]
        extra["TopRecommendation"] = {"Index": ranking[0].index, "Configuration": ranking[0].label}
    if weights is not None:
        extra["Importance"] = {
            "Cost": weights.cost.label,
            "Latency": weights.latency.label,
            "Throughput": weights.throughput.label,
        }
    body["Loadrec"] = extra
    return body


def steps(spec: JobSpec, tests: list[TestResult]) -> dict[str, Any]:
    """The ListInferenceRecommendationsJobSteps response: one BENCHMARK step per test."""
    return {"Steps": [_step(spec, t) for t in tests]}


def _step(spec: JobSpec, test: TestResult) -> dict[str, Any]:
    benchmark: dict[str, Any] = {"ModelConfiguration": _model_configuration(spec, test.index)}
    if spec.endpoint_configurations:
        benchmark["EndpointConfiguration"] = _endpoint_configuration(spec, test)
    if test.sizing is not None:
        if spec.existing_endpoints:
            benchmark["EndpointMetrics"] = _endpoint_metrics(test.sizing)
        else:
            benchmark["Metrics"] = _metrics(test)
    reason = test.failure_reason
    if test.status == NOT_RUN:
        reason = f"not run: {reason}"
    if reason:
        benchmark["FailureReason"] = reason
    if test.start_epoch is not None and test.end_epoch is not None:
        benchmark["InvocationStartTime"] = iso(test.start_epoch)
        benchmark["InvocationEndTime"] = iso(test.end_epoch)
    status = STOPPED if test.status == NOT_RUN else test.status
    return {"StepType": STEP_TYPE, "JobName": spec.name, "Status": status, "InferenceBenchmark": benchmark}


def _metrics(test: TestResult) -> dict[str, Any]:
    sizing = test.sizing
    assert sizing is not None
    metrics: dict[str, Any] = {"MaxInvocations": sizing.max_invocations}
    if sizing.model_latency_us is not None:
        metrics["ModelLatency"] = sizing.model_latency_us
    if sizing.cost_per_hour is not None:
        metrics["CostPerHour"] = sizing.cost_per_hour
    if sizing.cost_per_inference is not None:
        metrics["CostPerInference"] = sizing.cost_per_inference
    for key, value in (test.utilization or {}).items():
        metrics[key] = value
    return metrics


def _endpoint_metrics(sizing: Sizing) -> dict[str, Any]:
    return {"MaxInvocations": sizing.max_invocations, "ModelLatency": sizing.model_latency_us or 0}


def _endpoint_configuration(spec: JobSpec, test: TestResult) -> dict[str, Any]:
    configuration = spec.endpoint_configurations[test.index]
    endpoint: dict[str, Any] = {"EndpointName": spec.extension.targets[test.index].label, "VariantName": VARIANT_NAME}
    if configuration.instance_type:
        endpoint["InstanceType"] = configuration.instance_type
    if test.sizing is not None:
        endpoint["InitialInstanceCount"] = test.sizing.initial_instance_count
    if configuration.serverless is not None:
        endpoint["ServerlessConfig"] = {
            "MemorySizeInMB": configuration.serverless.memory_size_mb,
            "MaxConcurrency": configuration.serverless.max_concurrency,
        }
    return endpoint


def _model_configuration(spec: JobSpec, index: int) -> dict[str, Any]:
    model: dict[str, Any] = {"EnvironmentParameters": []}
    if spec.endpoint_configurations and spec.endpoint_configurations[index].inference_specification_name:
        model["InferenceSpecificationName"] = spec.endpoint_configurations[index].inference_specification_name
    return model


def _recommendation(spec: JobSpec, test: TestResult) -> dict[str, Any]:
    assert test.start_epoch is not None and test.end_epoch is not None
    return {
        "RecommendationId": test.recommendation_id,
        "Metrics": _metrics(test),
        "EndpointConfiguration": _endpoint_configuration(spec, test),
        "ModelConfiguration": _model_configuration(spec, test.index),
        "InvocationStartTime": iso(test.start_epoch),
        "InvocationEndTime": iso(test.end_epoch),
    }


def _endpoint_performance(spec: JobSpec, test: TestResult) -> dict[str, Any]:
    assert test.sizing is not None
    return {
        "Metrics": _endpoint_metrics(test.sizing),
        "EndpointInfo": {"EndpointName": spec.existing_endpoints[test.index]},
    }


def _test_summary(test: TestResult) -> dict[str, Any]:
    summary: dict[str, Any] = {"Index": test.index, "Configuration": test.label, "Status": test.status}
    optional = {
        "StopReason": test.stop_reason,
        "StopDetail": test.stop_detail,
        "StopSecond": test.stop_second,
        "FailureReason": test.failure_reason,
        "Plateau": test.plateau,
        "Errors": test.errors,
        "WorkerProcesses": test.workers,
        "WorkerEvents": test.worker_events,
        "Note": test.note,
    }
    summary.update({key: value for key, value in optional.items() if value not in (None, "", {}, [])})
    if test.start_epoch is not None and test.end_epoch is not None:
        summary["InvocationStartTime"] = iso(test.start_epoch)
        summary["InvocationEndTime"] = iso(test.end_epoch)
    if test.sizing is not None:
        summary["RecommendationId"] = test.recommendation_id
        summary["MeasuredInvocationsPerInstance"] = round(
            test.sizing.max_invocations / test.sizing.initial_instance_count
        )
    return summary


def timeline_frame(index: int, label: str, rows: list[TimelineRow], start_epoch: float = 0.0) -> pd.DataFrame:
    """One test's per-second rows; ``epoch`` places them on the job's clock, across tests."""
    records = []
    for row in rows:
        record: dict[str, Any] = {
            "test": index,
            "configuration": label,
            "epoch": int(start_epoch) + row.second,
            "second": row.second,
            "users": row.users,
            "running_users": row.running_users,
            "workers": row.workers,
            "invocations": row.successes,
            "failures": row.failures,
        }
        for quantile in REPORTED_PERCENTILES:
            record[f"p{quantile:g}_ms"] = row.latency_ms.get(quantile)
        record["errors"] = ";".join(f"{k}={v}" for k, v in sorted(row.errors.items()))
        records.append(record)
    columns = ["test", "configuration", "epoch", "second", "users", "running_users", "workers"]
    columns += ["invocations", "failures"]
    columns += [f"p{q:g}_ms" for q in REPORTED_PERCENTILES] + ["errors"]
    return pd.DataFrame.from_records(records, columns=columns)


def tests_folder(out: Path, index: int) -> Path:
    return out / "tests" / str(index)


def write_test(out: Path, result: TestResult, rows: list[TimelineRow]) -> None:
    """A finished test's own files, written the moment it ends."""
    folder = tests_folder(out, result.index)
    folder.mkdir(parents=True, exist_ok=True)
    frame = timeline_frame(result.index, result.label, rows, result.start_epoch or 0.0)
    atomic_write(folder / "timeline.csv", frame.to_csv(index=False))
    atomic_write(folder / "result.json", result.to_json() + "\n")


def read_test(out: Path, index: int) -> TestResult | None:
    path = tests_folder(out, index) / "result.json"
    return TestResult.from_json(path.read_text()) if path.exists() else None


def write_job(
    out: Path,
    spec: JobSpec,
    status: str,
    times: tuple[float, float],
    tests: list[TestResult],
    failure: str | None = None,
    ranking: list[Ranked] | None = None,
    weights: Weights | None = None,
) -> dict[str, Any]:
    """The job files, rebuilt from every finished test's files; returns the describe body."""
    out.mkdir(parents=True, exist_ok=True)
    describe_body = describe(spec, status, times, tests, failure, ranking, weights)
    parts = [tests_folder(out, t.index) / "timeline.csv" for t in tests]
    frames = [pd.read_csv(p) for p in parts if p.exists()]
    timeline = pd.concat(frames, ignore_index=True) if frames else timeline_frame(0, "", [])
    atomic_write(out / "timeline.csv", timeline.to_csv(index=False))
    atomic_write(out / "steps.json", json.dumps(steps(spec, tests), indent=2) + "\n")
    atomic_write(out / "describe.json", json.dumps(describe_body, indent=2) + "\n")
    return describe_body


def atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file, so a crash mid-write leaves the previous version."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)
