"""The operations the server answers, each a function of the job manager and the request's parameters.

Parameters arrive checked against the operation's input shape (:mod:`.protocol`); each
function returns the answer as a dict, which the protocol renders through the output
shape. ``OPERATIONS`` is the one list of what is served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loadrec.engine.api.jobs import JobManager, lifecycle
from loadrec.engine.api.listing import job_page, steps_page
from loadrec.engine.api.protocol import ApiError
from loadrec.engine.measurement.scaling import DEFAULT_CPU_PER_CORE
from loadrec.engine.results.aws import NoSuchRecommendation, scaling_configuration
from loadrec.engine.results.aws_values import echoed_input_config, role_arn

Handler = Callable[[JobManager, dict[str, Any]], dict[str, Any]]


def create_job(jobs: JobManager, params: dict[str, Any]) -> dict[str, Any]:
    return {"JobArn": jobs.create(params).arn}


def describe_job(jobs: JobManager, params: dict[str, Any]) -> dict[str, Any]:
    return jobs.describe(params["JobName"])


def stop_job(jobs: JobManager, params: dict[str, Any]) -> dict[str, Any]:
    jobs.stop(params["JobName"])
    return {}


def list_jobs(jobs: JobManager, params: dict[str, Any]) -> dict[str, Any]:
    page, token = job_page(jobs.store.all(), params)
    summaries = []
    for record in page:
        config = record.request.get("InputConfig", {})
        url = echoed_input_config(config).get("ContainerConfig", {}).get("PayloadConfig", {}).get("SamplePayloadUrl")
        optional = {
            "ModelName": config.get("ModelName"),
            "SamplePayloadUrl": url,
            "ModelPackageVersionArn": config.get("ModelPackageVersionArn"),
        }
        summaries.append(
            lifecycle(record)
            | {
                "JobDescription": record.request.get("JobDescription", ""),  # required in a list's member
                "JobType": record.request.get("JobType"),
                "RoleArn": role_arn(record.request),
            }
            | {key: value for key, value in optional.items() if value is not None}
        )
    return {"InferenceRecommendationsJobs": summaries, "NextToken": token}


def list_steps(jobs: JobManager, params: dict[str, Any]) -> dict[str, Any]:
    name = params["JobName"]
    page, token = steps_page(name, jobs.steps(name), params)
    return {"Steps": page, "NextToken": token}


def scaling_recommendation(jobs: JobManager, params: dict[str, Any]) -> dict[str, Any]:
    name = params["InferenceRecommendationsJobName"]
    record = jobs.record(name)
    if record.status != "COMPLETED":
        raise ApiError(
            "ValidationException", f"InferenceRecommendationsJobName: {name} is {record.status}, not COMPLETED"
        )
    results = jobs.results(record)
    if results is None:
        raise ApiError("ValidationException", f"InferenceRecommendationsJobName: {name} measured nothing")
    objective = params.get("ScalingPolicyObjective", {})
    low, high = objective.get("MinInvocationsPerMinute"), objective.get("MaxInvocationsPerMinute")
    if low is not None and high is not None and low > high:
        raise ApiError(
            "ValidationException",
            f"ScalingPolicyObjective.MinInvocationsPerMinute: {low} is above MaxInvocationsPerMinute ({high})",
        )
    try:
        return scaling_configuration(
            results,
            params.get("RecommendationId"),
            params.get("EndpointName"),
            params.get("TargetCpuUtilizationPerCore", DEFAULT_CPU_PER_CORE),
            low,
            high,
        )
    except NoSuchRecommendation as error:
        raise ApiError("ValidationException", str(error)) from None


OPERATIONS: dict[str, Handler] = {
    "CreateInferenceRecommendationsJob": create_job,
    "DescribeInferenceRecommendationsJob": describe_job,
    "ListInferenceRecommendationsJobs": list_jobs,
    "ListInferenceRecommendationsJobSteps": list_steps,
    "StopInferenceRecommendationsJob": stop_job,
    "GetScalingConfigurationRecommendation": scaling_recommendation,
}
