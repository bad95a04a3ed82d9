"""A job's results in the recommender's own response shapes, rendered from ``JobResults``.

``describe`` is a DescribeInferenceRecommendationsJob response: the request echoed
back, the job status, and InferenceRecommendations (one per test that measured
something) or EndpointPerformances (for InputConfig.Endpoints). ``steps`` is a
ListInferenceRecommendationsJobSteps response, one BENCHMARK step per test.
Timestamps are ISO 8601; ModelLatency is in microseconds, as AWS reports it. What AWS
has no field for (stop reasons, plateaus, errors, the ranking) sits under a ``Loadrec``
key (the thresholds' verdicts too), which AWS parsers ignore. botocore's parser accepts both (tested).
``scaling_configuration`` is a GetScalingConfigurationRecommendation response for one
of the run's recommendations (its rule: :mod:`loadrec.engine.measurement.scaling`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from loadrec.engine.job.extension import KEY as EXTENSION_KEY
from loadrec.engine.job.headers import region_problem
from loadrec.engine.job.problems import show
from loadrec.engine.job.spec import JobSpec
from loadrec.engine.job.targets import SageMakerTarget
from loadrec.engine.measurement.outcome import Sizing
from loadrec.engine.measurement.scaling import Measured as ScalingMeasured
from loadrec.engine.measurement.scaling import Objective, scaling_recommendation
from loadrec.engine.results.aws_values import DEFAULT_ACCOUNT, aws_failure_reason, echoed_input_config, role_arn
from loadrec.engine.results.model import Benchmark, JobResults, Status
from loadrec.engine.results.separation import cannot_tell_apart
from loadrec.engine.results.thresholds import judge

VARIANT_NAME = "AllTraffic"
JOB_NAME_IN_ENDPOINT = 40  # AWS cuts the job name to this in the names of what it creates
STEP_TYPE = "BENCHMARK"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


DEFAULT_REGION = "us-east-1"
_ROLE_ACCOUNT = re.compile(r"arn:aws[a-z-]*:iam::([0-9]{12}):")


def job_arn(spec: JobSpec, configured_region: str | None = None) -> str:
    """The job's ARN in AWS's format, worked out without calling AWS.

    REGION is the first SageMaker target's Region, else ``configured_region`` (the AWS
    region of the environment), else us-east-1; ACCOUNT is the account of the job's
    RoleArn, else 000000000000.
    """
    regions = [t.region for t in spec.extension.targets if isinstance(t, SageMakerTarget) and t.region]
    if configured_region and region_problem(configured_region) is None:
        regions.append(configured_region)
    region = (regions or [DEFAULT_REGION])[0]
    match = _ROLE_ACCOUNT.match(str(spec.request.get("RoleArn", "")))
    account = match.group(1) if match else DEFAULT_ACCOUNT
    return f"arn:aws:sagemaker:{region}:{account}:inference-recommendations-job/{spec.name}"


def describe(results: JobResults) -> dict[str, Any]:
    spec, request = results.spec, results.spec.request
    body: dict[str, Any] = {
        "JobName": spec.name,
        "JobType": request["JobType"],
        "JobArn": results.job_arn or job_arn(spec),
        "Status": results.status.aws,
        "CreationTime": iso(results.created),
        "LastModifiedTime": iso(results.updated),
        "InputConfig": echoed_input_config(request["InputConfig"]),
        "RoleArn": role_arn(request),
    }
    for key in ("JobDescription", "StoppingConditions"):
        if key in request:
            body[key] = request[key]
    if results.status.finished:
        body["CompletionTime"] = iso(results.updated)
    if results.failure_reason:
        body["FailureReason"] = aws_failure_reason(results.failure_reason)
    # Both lists hold at least one member in the model: a job that measured nothing yet has neither.
    if results.measured and spec.existing_endpoints:
        body["EndpointPerformances"] = [_endpoint_performance(results, b) for b in results.measured]
    elif results.measured:
        body["InferenceRecommendations"] = [_recommendation(results, b) for b in results.measured]
    extra: dict[str, Any] = {"Tests": [_test_summary(results, b) for b in results.benchmarks]}
    if results.ranking:
        extra["Ranking"] = [
            {"Index": r.index, "Configuration": r.label, "Rank": r.rank, "Score": r.score}
            | ({"Warning": r.warning} if r.warning else {})
            for r in results.ranking
        ]
        extra["TopRecommendation"] = {"Index": results.ranking[0].index, "Configuration": results.ranking[0].label}
        if (apart := cannot_tell_apart(results)) is not None:
            extra["TopRecommendation"]["Warning"] = apart
    if judgements := judge(results):
        extra["Thresholds"] = [judgement.to_dict() for judgement in judgements]
    weights = results.weights
    extra["Importance"] = {
        "Cost": weights.cost.label,
        "Latency": weights.latency.label,
        "Throughput": weights.throughput.label,
    }
    body[EXTENSION_KEY] = extra
    return body


def steps(results: JobResults) -> dict[str, Any]:
    """The ListInferenceRecommendationsJobSteps response: one BENCHMARK step per test."""
    return {"Steps": [_step(results, b) for b in results.benchmarks]}


def _step(results: JobResults, benchmark: Benchmark) -> dict[str, Any]:
    spec = results.spec
    inference: dict[str, Any] = {"ModelConfiguration": _model_configuration(results, benchmark.index)}
    if spec.endpoint_configurations:
        inference["EndpointConfiguration"] = _endpoint_configuration(results, benchmark)
    if benchmark.sizing is not None:
        if spec.existing_endpoints:
            inference["EndpointMetrics"] = _endpoint_metrics(benchmark)
        else:
            inference["Metrics"] = _metrics(benchmark)
    reason = benchmark.failure_reason
    if benchmark.status is Status.NOT_RUN:
        reason = f"not run: {reason}"
    if reason:
        inference["FailureReason"] = aws_failure_reason(reason)
    if benchmark.start_epoch is not None and benchmark.end_epoch is not None:
        inference["InvocationStartTime"] = iso(benchmark.start_epoch)
        inference["InvocationEndTime"] = iso(benchmark.end_epoch)
    return {
        "StepType": STEP_TYPE,
        "JobName": spec.name,
        "Status": benchmark.status.aws,
        "InferenceBenchmark": inference,
    }


def _metrics(benchmark: Benchmark) -> dict[str, Any]:
    sizing = benchmark.sizing
    assert sizing is not None
    metrics: dict[str, Any] = {"MaxInvocations": sizing.max_invocations}
    if sizing.model_latency_us is not None:
        metrics["ModelLatency"] = sizing.model_latency_us
    if sizing.cost_per_hour is not None:
        metrics["CostPerHour"] = sizing.cost_per_hour
    if sizing.cost_per_inference is not None:
        metrics["CostPerInference"] = sizing.cost_per_inference
    metrics.update(benchmark.utilization or {})
    if benchmark.model_setup_us is not None:
        metrics["ModelSetupTime"] = benchmark.model_setup_us
    return metrics


def _endpoint_metrics(benchmark: Benchmark) -> dict[str, Any]:
    assert benchmark.sizing is not None
    return {"MaxInvocations": benchmark.sizing.max_invocations, "ModelLatency": benchmark.sizing.model_latency_us or 0}


def _endpoint_configuration(results: JobResults, benchmark: Benchmark) -> dict[str, Any]:
    spec = results.spec
    configuration = spec.configuration_of(benchmark.index)
    assert configuration is not None  # recommendations are made for EndpointConfigurations only
    endpoint: dict[str, Any] = {"EndpointName": endpoint_name(results, benchmark), "VariantName": VARIANT_NAME}
    if configuration.instance_type:
        endpoint["InstanceType"] = configuration.instance_type
    if benchmark.sizing is not None:
        endpoint["InitialInstanceCount"] = benchmark.sizing.initial_instance_count
    if configuration.serverless is not None:
        endpoint["ServerlessConfig"] = {
            "MemorySizeInMB": configuration.serverless.memory_size_mb,
            "MaxConcurrency": configuration.serverless.max_concurrency,
        }
    return endpoint


def endpoint_name(results: JobResults, benchmark: Benchmark) -> str:
    """The endpoint test ``benchmark`` loaded: the one created for it, else its target's."""
    target = results.spec.target_of(benchmark.index)
    if target is not None:
        return target.endpoint_name
    return benchmark.endpoint_name or f"{results.spec.name[:JOB_NAME_IN_ENDPOINT]}-{benchmark.index}"


def _model_configuration(results: JobResults, index: int) -> dict[str, Any]:
    environment = results.spec.case(index).environment
    model: dict[str, Any] = {}
    if environment:  # at least one member in the model, when present
        model["EnvironmentParameters"] = [{"Key": k, "ValueType": "String", "Value": v} for k, v in environment]
    configuration = results.spec.configuration_of(index)
    if configuration is not None and configuration.inference_specification_name:
        model["InferenceSpecificationName"] = configuration.inference_specification_name
    return model


def _recommendation(results: JobResults, benchmark: Benchmark) -> dict[str, Any]:
    recommendation = {
        "RecommendationId": results.recommendation_id(benchmark),
        "Metrics": _metrics(benchmark),
        "EndpointConfiguration": _endpoint_configuration(results, benchmark),
        "ModelConfiguration": _model_configuration(results, benchmark.index),
    }
    if benchmark.start_epoch is not None and benchmark.end_epoch is not None:
        recommendation["InvocationStartTime"] = iso(benchmark.start_epoch)
        recommendation["InvocationEndTime"] = iso(benchmark.end_epoch)
    return recommendation


def _endpoint_performance(results: JobResults, benchmark: Benchmark) -> dict[str, Any]:
    return {
        "Metrics": _endpoint_metrics(benchmark),
        "EndpointInfo": {
            "EndpointName": results.spec.existing_endpoints[results.spec.case(benchmark.index).configuration]
        },
    }


def _test_summary(results: JobResults, benchmark: Benchmark) -> dict[str, Any]:
    plateau = benchmark.plateau
    summary: dict[str, Any] = {
        "Index": benchmark.index,
        "Configuration": benchmark.label,
        "Status": benchmark.status.value,
    }
    target = results.spec.target_of(benchmark.index)
    created = benchmark.endpoint  # the URL stands behind the EndpointName AWS's shapes show
    if target is not None or created:
        summary["Target"] = target.label if target is not None else created
    optional = {
        "StopReason": benchmark.stop_reason,
        "StopDetail": benchmark.stop_detail,
        "StopSecond": benchmark.stop_second,
        "FailureReason": benchmark.failure_reason,
        "Plateau": None
        if plateau is None
        else {
            "Users": plateau.users,
            "StartSecond": plateau.start,
            "InvocationsPerMinute": round(plateau.invocations_per_minute, 1),
        },
        "Errors": benchmark.errors,
        "WorkerProcesses": benchmark.workers,
        "WorkerEvents": list(benchmark.worker_events),
        "Note": benchmark.note,
        "EndpointReadySeconds": None if benchmark.ready_s is None else round(benchmark.ready_s, 3),
        "GeneratorHealth": _generator_health(benchmark),
        "RequestRate": None if benchmark.request_rate is None else benchmark.request_rate.to_dict(),
        "Prompts": None if benchmark.prompts is None else benchmark.prompts.to_dict(),
        "OutputTokensCountedBy": benchmark.output_tokens_counted_by,
        "Records": None if benchmark.records is None else benchmark.records.to_dict(),
        "Search": None if benchmark.search is None else benchmark.search.to_dict(),
        "MeasuredWindow": None if benchmark.window is None else benchmark.window.to_dict(),
        "Confidence": None if benchmark.confidence is None else benchmark.confidence.to_dict(),
    }
    summary.update({key: value for key, value in optional.items() if value not in (None, "", {}, [])})
    if benchmark.start_epoch is not None and benchmark.end_epoch is not None:
        summary["InvocationStartTime"] = iso(benchmark.start_epoch)
        summary["InvocationEndTime"] = iso(benchmark.end_epoch)
    if benchmark.sizing is not None:
        if benchmark.measured:
            summary["RecommendationId"] = results.recommendation_id(benchmark)
        summary["MeasuredInvocationsPerInstance"] = round(benchmark.sizing.invocations_per_instance)
        summary.update(_streamed(benchmark.sizing))
        if (goodput := _goodput(results, benchmark.sizing)) is not None:
            summary["Goodput"] = goodput
    timeline = results.timelines.get(benchmark.index)
    if timeline:
        summary["MeasuredSeconds"] = len(timeline)
        summary["Invocations"] = sum(row.successes for row in timeline)
    return summary


def _generator_health(benchmark: Benchmark) -> dict[str, Any] | None:
    """The load generator's health: over the window the figures come from, and over the whole test."""
    parts = {"MeasuredWindow": benchmark.generator, "Test": benchmark.generator_test}
    found = {key: verdict.to_dict() for key, verdict in parts.items() if verdict is not None}
    return found or None


class NoSuchRecommendation(LookupError):
    """The recommendation to scale is not there; ``field`` is the request member that named it (None: none)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field, self.message = field, message


def _goodput(results: JobResults, sizing: Sizing) -> dict[str, Any] | None:
    """With an SLO, the measured window's goodput for all instances (None: the job has no SLO)."""
    slo = results.spec.stopping.slo
    if slo is None or sizing.good_requests_per_second is None or sizing.good_tokens_per_second is None:
        return None
    values = {
        "Slo": slo.to_dict(),
        "AttainmentPercent": None if sizing.attainment is None else round(sizing.attainment * 100, 2),
        "GoodRequestsPerSecond": round(sizing.good_requests_per_second, 2),
        "GoodOutputTokensPerSecond": round(sizing.good_tokens_per_second, 1),
        "CostPerMillionGoodOutputTokens": sizing.cost_per_million_good_tokens,
    }
    return {key: value for key, value in values.items() if value is not None}


def _streamed(sizing: Sizing) -> dict[str, Any]:
    """A streamed endpoint's numbers at the recommendation (nothing for one that does not stream)."""
    if sizing.output_tokens_per_second is None:
        return {}
    values = {
        "OutputTokensPerSecond": round(sizing.output_tokens_per_second, 1),
        "TimeToFirstTokenMs": None if sizing.ttft_ms is None else round(sizing.ttft_ms, 1),
        "InterTokenLatencyMs": None if sizing.itl_ms is None else round(sizing.itl_ms, 2),
        "CostPerMillionOutputTokens": sizing.cost_per_million_tokens,
        "AnswerTokensPerSecond": None
        if sizing.answer_tokens_per_second is None
        else round(sizing.answer_tokens_per_second, 1),
    }
    return {key: value for key, value in values.items() if value is not None}


def scaling_configuration(
    results: JobResults,
    recommendation_id: str | None,
    endpoint: str | None,
    cpu_per_core: int,
    min_invocations: int | None,
    max_invocations: int | None,
) -> dict[str, Any]:
    """GetScalingConfigurationRecommendation's answer for the recommendation (or tested endpoint) named,
    else the top one; raises NoSuchRecommendation when there is none such."""
    benchmark = _scaled(results, recommendation_id, endpoint)
    sizing = benchmark.sizing
    assert sizing is not None  # measured
    return scaling_recommendation(
        results.spec.name,
        ScalingMeasured(sizing.max_invocations, sizing.initial_instance_count, sizing.model_latency_us),
        recommendation_id=None if endpoint else results.recommendation_id(benchmark),
        endpoint_name=endpoint,
        cpu_per_core=cpu_per_core,
        objective=Objective(min_invocations, max_invocations),
    )


def _scaled(results: JobResults, recommendation_id: str | None, endpoint: str | None) -> Benchmark:
    """The benchmark to scale. A serverless one has none: SageMaker scales it by itself up to its
    MaxConcurrency, and the advice is for instances (SageMakerVariantInvocationsPerInstance)."""
    measured = results.measured
    if not measured:
        raise NoSuchRecommendation(
            None, f"no recommendation to scale: the job is {results.status.value} with none measured"
        )
    if recommendation_id is not None:
        known = {results.recommendation_id(b): b for b in measured}
        if recommendation_id not in known:
            raise NoSuchRecommendation(
                "RecommendationId", f"{show(recommendation_id)} is not one of {', '.join(known)}"
            )
        return _instance_based(results, known[recommendation_id], "RecommendationId", recommendation_id)
    if endpoint is not None:
        names = {endpoint_name(results, b): b for b in measured}
        if endpoint not in names:
            raise NoSuchRecommendation(
                "EndpointName", f"{show(endpoint)} was not tested in this run ({', '.join(names)})"
            )
        return _instance_based(results, names[endpoint], "EndpointName", endpoint)
    ranked = [b for b in (results.top, *measured) if b is not None and not _serverless(results, b)]
    if not ranked:
        raise NoSuchRecommendation(None, f"no recommendation to scale: {SERVERLESS_SCALES}")
    return ranked[0]


SERVERLESS_SCALES = "a serverless endpoint scales by itself up to its MaxConcurrency; this advice is for instances"


def _serverless(results: JobResults, benchmark: Benchmark) -> bool:
    configuration = results.spec.configuration_of(benchmark.index)
    return configuration is not None and configuration.serverless is not None


def _instance_based(results: JobResults, benchmark: Benchmark, field: str, name: str) -> Benchmark:
    if _serverless(results, benchmark):
        raise NoSuchRecommendation(field, f"{show(name)} is serverless: {SERVERLESS_SCALES}")
    return benchmark
