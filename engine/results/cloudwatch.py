"""CloudWatch for a job: the endpoint's utilization over a load test's window, and the job's own client metrics.

Reads what the recommender reports for a SageMaker endpoint (CPU and memory utilization, model and
overhead latency) and publishes the job's client-side counts under the recommender's job namespace.
Every AWS failure becomes one ``CloudWatchError`` line, so a load test never fails for want of metrics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from loadrec.engine.job.spec import JobSpec
from loadrec.engine.job.targets import SageMakerTarget, Target
from loadrec.engine.measurement.metrics import TimelineRow
from loadrec.engine.results.model import Benchmark

ENDPOINT_NAMESPACE = "/aws/sagemaker/Endpoints"  # instance metrics of an endpoint (CPU, memory)
INVOCATION_NAMESPACE = "AWS/SageMaker"  # invocation metrics (latencies in microseconds)
JOB_NAMESPACE = "/aws/sagemaker/InferenceRecommendationsJobs"
PERIOD_S = 60  # the finest period SageMaker's standard metrics are kept at
# PutMetricData accepts at most 1000 metric data per request: the current API limit (older documents say 20).
MAX_DATA_PER_PUT = 1000

# Query id (must start with a lower-case letter) -> (namespace, metric name).
QUERIES: dict[str, tuple[str, str]] = {
    "cpu": (ENDPOINT_NAMESPACE, "CPUUtilization"),
    "memory": (ENDPOINT_NAMESPACE, "MemoryUtilization"),
    "model": (INVOCATION_NAMESPACE, "ModelLatency"),
    "overhead": (INVOCATION_NAMESPACE, "OverheadLatency"),
    "setup": (INVOCATION_NAMESPACE, "ModelSetupTime"),  # serverless cold starts, µs
}

T = TypeVar("T")


class CloudWatchError(Exception):
    """CloudWatch could not be read or written; the message is one line, fit for a result's note."""


@dataclass(frozen=True)
class Utilization:
    """Averages over a window; None where CloudWatch has no datapoint (never a made-up zero)."""

    cpu_utilization: float | None  # percent, summed over the instance's vCPUs as SageMaker reports it
    memory_utilization: float | None  # percent
    model_latency_us: float | None
    overhead_latency_us: float | None
    model_setup_us: float | None = None


@dataclass(frozen=True)
class MetricRow:
    """The job's client-side view of one interval."""

    timestamp: datetime
    invocations: int
    errors: int
    latency_ms: float | None
    users: int


def utilization_client(region: str | None, endpoint_url: str | None) -> Any:
    """A CloudWatch client that fails fast: a missing metric must not hold up the job that asked for it."""
    # total_max_attempts counts the first try (max_attempts would count retries only), so 1 means no retry.
    config = Config(connect_timeout=5, read_timeout=15, retries={"total_max_attempts": 1})
    # A fresh session: boto3's default session is shared and not safe to use from several threads.
    return _guarded(
        lambda: boto3.session.Session().client(
            "cloudwatch", region_name=region, endpoint_url=endpoint_url, config=config
        )
    )


def read_utilization(client: Any, endpoint_name: str, variant_name: str, start: datetime, end: datetime) -> Utilization:
    """Average CPU, memory and latencies of an endpoint variant over [start, end], widened to whole minutes."""
    start, end = _whole_minutes(start, end)
    dimensions = [{"Name": "EndpointName", "Value": endpoint_name}, {"Name": "VariantName", "Value": variant_name}]
    queries = [
        {
            "Id": query_id,
            "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
                "Period": PERIOD_S,
                "Stat": "Average",
            },
            "ReturnData": True,
        }
        for query_id, (namespace, name) in QUERIES.items()
    ]
    values: dict[str, list[float]] = {query_id: [] for query_id in QUERIES}

    def fetch() -> None:
        request: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
        while True:
            page = client.get_metric_data(**request)
            # One metric's values may be spread over several pages: gather them by query id.
            for result in page.get("MetricDataResults", []):
                values.setdefault(result["Id"], []).extend(float(value) for value in result.get("Values", []))
            if not page.get("NextToken"):
                return
            request["NextToken"] = page["NextToken"]

    _guarded(fetch)
    found = {query_id: _mean(series) for query_id, series in values.items()}
    return Utilization(
        cpu_utilization=found["cpu"],
        memory_utilization=found["memory"],
        model_latency_us=found["model"],
        overhead_latency_us=found["overhead"],
        model_setup_us=found["setup"],
    )


def publish_job_metrics(client: Any, job_name: str, rows: Iterable[MetricRow]) -> int:
    """Put the rows under the job namespace, dimension JobName; return how many data points were sent."""
    dimensions = [{"Name": "JobName", "Value": job_name}]
    sent = 0
    for batch in _batches(_metric_data(rows, dimensions), MAX_DATA_PER_PUT):
        _guarded(partial(client.put_metric_data, Namespace=JOB_NAMESPACE, MetricData=batch))
        sent += len(batch)
    return sent


def _metric_data(rows: Iterable[MetricRow], dimensions: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        points: list[tuple[str, float | None, str]] = [
            ("ClientInvocations", row.invocations, "Count"),
            ("ClientInvocationErrors", row.errors, "Count"),
            # No completed invocation means no latency; CloudWatch has no "missing" value, so send nothing.
            ("ClientLatency", row.latency_ms, "Milliseconds"),
            ("NumberOfUsers", row.users, "Count"),
        ]
        for name, value, unit in points:
            if value is None:
                continue
            yield {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": row.timestamp,
                "Value": float(value),
                "Unit": unit,
            }


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _whole_minutes(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Floor start and ceil end to the minute, so every period of the window is a whole one."""
    floor = start.replace(second=0, microsecond=0)
    ceil = end.replace(second=0, microsecond=0)
    if ceil < end:
        ceil += timedelta(minutes=1)
    # GetMetricData refuses an empty window; a test shorter than a minute still owns its minute.
    return floor, max(ceil, floor + timedelta(seconds=PERIOD_S))


def _mean(series: list[float]) -> float | None:
    return math.fsum(series) / len(series) if series else None


def _guarded(call: Callable[[], T]) -> T:
    """Run one CloudWatch call; AWS and network failures become a one-line CloudWatchError."""
    try:
        return call()
    except ParamValidationError:
        raise  # a malformed request is a bug here, not a reason to go on without metrics
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code") or "ClientError"
        raise CloudWatchError(_one_line(f"cloudwatch: {code} ({details.get('Message') or error})")) from error
    except BotoCoreError as error:
        # NoCredentialsError, EndpointConnectionError, timeouts, NoRegionError: the reason is the class and text.
        raise CloudWatchError(_one_line(f"cloudwatch: {type(error).__name__} ({error})")) from error


def _one_line(text: str) -> str:
    return " ".join(text.split())


def with_utilization(spec: JobSpec, benchmark: Benchmark, target: Target | None = None) -> Benchmark:
    """Add CloudWatch's CpuUtilization and MemoryUtilization for SageMaker targets; never invent them."""
    target = target or spec.target_of(benchmark.index)  # the endpoint created for the test, else the job's
    if not isinstance(target, SageMakerTarget) or benchmark.start_epoch is None or benchmark.end_epoch is None:
        return benchmark
    if target.endpoint_url and not spec.extension.cloudwatch_endpoint_url:
        return replace(benchmark, note="utilization not read: the endpoint is a local stand-in (EndpointUrl)")
    try:
        client = utilization_client(target.region, spec.extension.cloudwatch_endpoint_url)
        start = datetime.fromtimestamp(benchmark.start_epoch, UTC)
        end = datetime.fromtimestamp(benchmark.end_epoch, UTC)
        found = read_utilization(client, target.endpoint_name, target.target_variant or "AllTraffic", start, end)
    except CloudWatchError as error:
        return replace(benchmark, note=f"utilization not read: {error}")
    values = {"CpuUtilization": found.cpu_utilization, "MemoryUtilization": found.memory_utilization}
    present = {key: value for key, value in values.items() if value is not None}
    benchmark = replace(benchmark, utilization=present or None)
    if benchmark.model_setup_us is not None and found.model_setup_us is not None:  # serverless: AWS's own figure
        benchmark = replace(benchmark, model_setup_us=round(found.model_setup_us))
    return benchmark


def publish(spec: JobSpec, benchmark: Benchmark, rows: list[TimelineRow], target: Target | None = None) -> Benchmark:
    """Publish this test's client-side metrics under /aws/sagemaker/InferenceRecommendationsJobs."""
    start = int(benchmark.start_epoch or 0)
    metrics = [
        MetricRow(
            timestamp=datetime.fromtimestamp(start + row.second, UTC),
            invocations=row.successes,
            errors=row.failures,
            latency_ms=row.latency_ms.get(50.0),
            users=row.running_users,
        )
        for row in rows
    ]
    target = target or spec.target_of(benchmark.index)
    region = target.region if isinstance(target, SageMakerTarget) else None
    try:
        sent = publish_job_metrics(
            utilization_client(region, spec.extension.cloudwatch_endpoint_url), spec.name, metrics
        )
    except CloudWatchError as error:
        return replace(benchmark, note=_join(benchmark.note, f"metrics not published: {error}"))
    return replace(benchmark, note=_join(benchmark.note, f"{sent} data points published to CloudWatch"))


def _join(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second
