"""SageMaker's JSON protocol as the API server speaks it (engine/api/protocol.py): answers rendered through
botocore's output shapes, request bodies read and checked against the input shapes, operations looked up."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from loadrec.engine.api.operations import OPERATIONS
from loadrec.engine.api.protocol import (
    MAX_BODY_BYTES,
    MAX_MESSAGE,
    ApiError,
    operation,
    read_params,
    to_wire,
    validation_error,
)
from loadrec.engine.job.limits import RELAXED_HINT
from loadrec.engine.job.problems import Problem
from loadrec.engine.job.validation import service_model
from tests.aws_shapes import parse_as

DESCRIBE = "DescribeInferenceRecommendationsJob"
LIST_JOBS = "ListInferenceRecommendationsJobs"
CREATED = datetime(2026, 11, 24, 12, 0, 0, 123000, tzinfo=UTC)
MODIFIED = datetime(2026, 11, 24, 12, 30, 15, 500000, tzinfo=UTC)
COMPLETED = datetime(2026, 11, 24, 13, 0, 0, tzinfo=timezone(timedelta(hours=2)))
STARTED = datetime(2026, 11, 24, 12, 5, 0, 250000, tzinfo=UTC)
ENDED = datetime(2026, 11, 24, 12, 25, 0, tzinfo=UTC)


def model(name: str) -> Any:
    return service_model().operation_model(name)


def describe_body() -> dict[str, Any]:
    """A describe answer as the results files hold it: timestamps in three forms, and loadrec's own keys."""
    return {
        "JobName": "churn-job",
        "JobDescription": "churn model",
        "JobType": "Advanced",
        "JobArn": "arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/churn-job",
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerInferenceRecommender",
        "Status": "COMPLETED",
        "CreationTime": CREATED.isoformat(timespec="milliseconds"),  # "2026-11-24T12:00:00.123+00:00"
        "LastModifiedTime": MODIFIED.timestamp(),  # epoch seconds, as the store keeps them
        "CompletionTime": COMPLETED,  # a datetime, in another zone
        "FailureReason": None,
        "InputConfig": {
            "Endpoints": [{"EndpointName": "churn-staging", "Loadrec": "dropped"}],
            "ResourceLimit": {"MaxNumberOfTests": 1, "MaxParallelOfTests": 1},
            "ContainerConfig": {"PayloadConfig": {"SupportedContentTypes": ["text/csv"]}},
        },
        "InferenceRecommendations": [
            {
                "RecommendationId": "churn-job/abc123",
                "Metrics": {"CostPerHour": 0.2, "MaxInvocations": 1200, "ModelLatency": 40, "P99Latency": 80},
                "EndpointConfiguration": {"EndpointName": "churn-staging", "VariantName": "AllTraffic"},
                "ModelConfiguration": {},
                "InvocationStartTime": STARTED.isoformat().replace("+00:00", "Z"),
                "InvocationEndTime": int(ENDED.timestamp()),
                "Loadrec": {"Report": "report.html"},
            }
        ],
        "Loadrec": {"Secret": "never sent", "Tests": [{"Index": 0}]},
    }


def test_to_wire_drops_what_the_output_shape_does_not_have_and_sends_epoch_seconds() -> None:
    wire = to_wire(describe_body(), model(DESCRIBE).output_shape)
    assert "Loadrec" not in wire and "FailureReason" not in wire
    assert wire["InputConfig"]["Endpoints"] == [{"EndpointName": "churn-staging"}]
    recommendation = wire["InferenceRecommendations"][0]
    assert "Loadrec" not in recommendation and "P99Latency" not in recommendation["Metrics"]
    assert recommendation["Metrics"] == {"CostPerHour": 0.2, "MaxInvocations": 1200, "ModelLatency": 40}
    assert recommendation["ModelConfiguration"] == {}
    assert wire["CreationTime"] == CREATED.timestamp() == 1795521600.123
    assert wire["LastModifiedTime"] == MODIFIED.timestamp()
    assert wire["CompletionTime"] == COMPLETED.timestamp()
    assert recommendation["InvocationStartTime"] == STARTED.timestamp()
    assert recommendation["InvocationEndTime"] == ENDED.timestamp()
    for value in (wire["CreationTime"], wire["LastModifiedTime"], wire["CompletionTime"]):
        assert isinstance(value, float)
    assert "never sent" not in json.dumps(wire)


def test_the_wire_answer_parses_with_botocore_into_the_same_times() -> None:
    wire = json.loads(json.dumps(to_wire(describe_body(), model(DESCRIBE).output_shape)))
    parsed = parse_as(DESCRIBE, wire)
    assert parsed["CreationTime"] == CREATED
    assert parsed["LastModifiedTime"] == MODIFIED
    assert parsed["CompletionTime"] == COMPLETED
    recommendation = parsed["InferenceRecommendations"][0]
    assert recommendation["InvocationStartTime"] == STARTED
    assert recommendation["InvocationEndTime"] == ENDED
    assert parsed["JobName"] == "churn-job" and parsed["Status"] == "COMPLETED"
    assert parsed["InputConfig"]["ContainerConfig"]["PayloadConfig"]["SupportedContentTypes"] == ["text/csv"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1795521600, 1795521600.0),
        (1795521600.1234567, 1795521600.123),
        ("2026-11-24T12:00:00+00:00", 1795521600.0),
        ("2026-11-24T12:00:00.999Z", 1795521600.999),
        ("2026-11-24T14:00:00+02:00", 1795521600.0),
        (datetime(2026, 11, 24, 12, 0, 0, 456789, tzinfo=UTC), 1795521600.457),
    ],
)
def test_each_form_of_a_timestamp_becomes_epoch_seconds_to_the_millisecond(value: Any, expected: float) -> None:
    shape = model(DESCRIBE).output_shape
    assert to_wire({"CreationTime": value}, shape) == {"CreationTime": expected}


def test_a_list_answer_keeps_its_members_and_drops_a_null_next_token() -> None:
    member = {"JobName": "j", "JobDescription": "", "JobType": "Advanced", "Status": "PENDING",
              "JobArn": "arn:aws:sagemaker:us-east-1:000000000000:inference-recommendations-job/j",
              "RoleArn": "arn:aws:iam::000000000000:role/r", "CreationTime": 1795521600.5,
              "LastModifiedTime": 1795521600.5}  # fmt: skip
    summary = {**member, "CompletionTime": None, "Extra": 1}
    wire = to_wire({"InferenceRecommendationsJobs": [summary], "NextToken": None}, model(LIST_JOBS).output_shape)
    assert wire == {"InferenceRecommendationsJobs": [member]}
    parsed = parse_as(LIST_JOBS, wire)
    assert parsed["InferenceRecommendationsJobs"][0]["CreationTime"] == datetime(2026, 11, 24, 12, 0, 0, 500000, UTC)


def test_an_operation_without_an_output_shape_answers_an_empty_object() -> None:
    stop = model("StopInferenceRecommendationsJob")
    assert stop.output_shape is None
    assert to_wire({"Anything": 1}, stop.output_shape) == {}


# --- reading a request -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"MaxResults": 1,}', b"{'MaxResults': 1}", b"\xff\xfe{}", b'{"MaxResults": NaN}', b"[" * 10_000],
    ids=["truncated", "trailing-comma", "single-quotes", "not-utf8", "nan", "too-deep"],
)
def test_a_body_that_is_not_json_is_a_serialization_exception(body: bytes) -> None:
    with pytest.raises(ApiError) as caught:
        read_params(body, model(LIST_JOBS))
    assert (caught.value.code, caught.value.status) == ("SerializationException", 400)
    assert "\n" not in caught.value.message


@pytest.mark.parametrize("body", [b"[]", b'[{"MaxResults": 1}]', b'"text"', b"5", b"null", b"true"])
def test_a_body_that_is_not_an_object_is_a_serialization_exception(body: bytes) -> None:
    with pytest.raises(ApiError) as caught:
        read_params(body, model(LIST_JOBS))
    assert caught.value.code == "SerializationException"
    assert caught.value.message == "request body: expected a JSON object"


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"MaxResults": 0}, ["MaxResults"]),
        ({"MaxResults": 101}, ["MaxResults"]),
        ({"MaxResults": -5}, ["MaxResults"]),
        ({"MaxResults": "10"}, ["MaxResults"]),
        ({"SortBy": "Size"}, ["SortBy"]),
        ({"SortBy": "name"}, ["SortBy"]),
        ({"SortOrder": "Up"}, ["SortOrder"]),
        ({"StatusEquals": "DONE"}, ["StatusEquals"]),
        ({"Colour": "blue"}, ["Colour"]),
        ({"MaxResults": 0, "SortBy": "Size", "SortOrder": "Up"}, ["MaxResults", "SortBy", "SortOrder"]),
    ],
)
def test_list_parameters_outside_the_model_are_a_validation_exception_naming_each_field(
    params: dict[str, Any], fields: list[str]
) -> None:
    with pytest.raises(ApiError) as caught:
        read_params(json.dumps(params).encode(), model(LIST_JOBS))
    assert (caught.value.code, caught.value.status) == ("ValidationException", 400)
    message = caught.value.message
    count = f"{len(fields)} validation error{'s' if len(fields) > 1 else ''} detected: "
    named = re.findall(r" at '([^']+)' failed to satisfy constraint: ", message)
    assert message.startswith(count) and named == [f[0].lower() + f[1:] for f in fields], message


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"MaxResults": 1},
        {"MaxResults": 100},
        {"SortBy": "Name", "SortOrder": "Ascending"},
        {"SortBy": "Status", "SortOrder": "Descending", "StatusEquals": "COMPLETED"},
        {"NameContains": "churn", "ModelNameEquals": "churn-model", "NextToken": "abc"},
    ],
)
def test_list_parameters_within_the_model_are_read_as_sent(params: dict[str, Any]) -> None:
    assert read_params(json.dumps(params).encode(), model(LIST_JOBS)) == params


@pytest.mark.parametrize("body", [b"", b"  \n", b"{}"])
def test_an_empty_body_is_no_parameters(body: bytes) -> None:
    assert read_params(body, model(LIST_JOBS)) == {}


def test_a_missing_required_parameter_is_a_validation_exception() -> None:
    with pytest.raises(ApiError) as caught:
        read_params(b"{}", model(DESCRIBE))
    assert caught.value.code == "ValidationException"
    assert caught.value.message == (
        "1 validation error detected: Value null at 'jobName' failed to satisfy constraint: Member must not be null"
    )


def test_a_create_request_is_left_for_the_job_s_own_checks() -> None:
    params = {"JobName": "j", "Colour": "blue"}
    assert read_params(json.dumps(params).encode(), model("CreateInferenceRecommendationsJob")) == params


def test_a_body_over_the_limit_is_a_validation_exception() -> None:
    body = json.dumps({"NameContains": "x" * MAX_BODY_BYTES}).encode()
    with pytest.raises(ApiError) as caught:
        read_params(body, model(LIST_JOBS))
    assert caught.value.code == "ValidationException"
    assert "larger than 1024 KiB" in caught.value.message


def test_a_validation_error_reads_as_aws_s_with_every_problem() -> None:
    """AWS's words and member paths (lower camel case, lists from 1 with .member), the value found there, and
    nothing only the server's operator can act on (the --limits flag)."""
    request = {"InputConfig": {"TrafficPattern": {"Phases": [{}, {"SpawnRate": 60}]}}, "JobName": "a\nb"}
    problems = [
        Problem("InputConfig.TrafficPattern.Phases[1].SpawnRate", f"60 is above the AWS limit of 20 ({RELAXED_HINT})"),
        Problem("JobName", '"a\\nb" does not match the pattern X'),
        Problem("RoleArn", "is required"),
        Problem("", "whole request"),
    ]  # fmt: skip
    error = validation_error(problems, request)
    assert error.body() == {"__type": "ValidationException", "message": (
        "4 validation errors detected: Value '60' at 'inputConfig.trafficPattern.phases.2.member.spawnRate' failed "
        "to satisfy constraint: Member is above the AWS limit of 20; Value 'a\\u000ab' at 'jobName' failed to "
        "satisfy constraint: Member does not match the pattern X; Value null at 'roleArn' failed to satisfy "
        "constraint: Member must not be null; whole request"
    )}  # fmt: skip
    assert error.status == 400 and "--limits" not in error.message


def test_a_validation_error_past_its_bound_counts_the_problems_it_does_not_list() -> None:
    problems = [Problem(f"Field{i}", f"is wrong because {'x' * 400}") for i in range(30)]
    message = validation_error(problems).message
    listed = message.count("failed to satisfy constraint")
    assert message.startswith("30 validation errors detected: ") and len(message) < MAX_MESSAGE
    assert 1 < listed < 30 and message.endswith(f"; and {30 - listed} more")
    alone = validation_error([Problem("Field", "x" * 5000)]).message  # one problem longer than a message
    assert len(alone) < MAX_MESSAGE and alone.endswith("…")


def test_timestamps_reach_the_operations_as_aware_datetimes_whatever_form_they_came_in() -> None:
    for sent in (1795521600.5, "2026-11-24T12:00:00.5Z"):
        params = read_params(json.dumps({"CreationTimeAfter": sent}).encode(), model(LIST_JOBS))
        assert params["CreationTimeAfter"] == datetime(2026, 11, 24, 12, 0, 0, 500000, UTC)


@pytest.mark.parametrize("sent", ["yesterday", -1e20, 1e300, True, [1]], ids=str)
def test_a_value_that_is_no_timestamp_is_a_validation_exception_naming_it(sent: Any) -> None:
    with pytest.raises(ApiError) as caught:
        read_params(json.dumps({"CreationTimeBefore": sent}).encode(), model(LIST_JOBS))
    assert caught.value.code == "ValidationException"
    assert caught.value.message.startswith("1 validation error detected: Value ")
    assert " at 'creationTimeBefore' failed to satisfy constraint: " in caught.value.message


# --- the operation -----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_each_served_operation_is_found(name: str) -> None:
    found = operation(f"SageMaker.{name}", OPERATIONS)
    assert found.name == name
    assert found.input_shape is not None


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "SageMaker.",
        "SageMaker.CreateEndpoint",  # SageMaker's, not served here
        "SageMaker.DeleteInferenceRecommendationsJob",
        "SageMaker.NoSuchOperation",
        "DescribeInferenceRecommendationsJob",  # no prefix
        "sagemaker.DescribeInferenceRecommendationsJob",
        "SageMaker.describeInferenceRecommendationsJob",
        "AmazonSageMaker.DescribeInferenceRecommendationsJob",
        "SageMaker.DescribeInferenceRecommendationsJob ",
        "SageMaker.SageMaker.DescribeInferenceRecommendationsJob",
    ],
)
def test_a_target_not_served_is_an_unknown_operation(target: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        operation(target, OPERATIONS)
    assert (caught.value.code, caught.value.status) == ("UnknownOperationException", 400)
    assert "DescribeInferenceRecommendationsJob" in caught.value.message  # it says what is served


def test_an_operation_is_served_only_if_listed() -> None:
    served = {"DescribeInferenceRecommendationsJob": OPERATIONS["DescribeInferenceRecommendationsJob"]}
    assert operation("SageMaker.DescribeInferenceRecommendationsJob", served).name == DESCRIBE
    with pytest.raises(ApiError) as caught:
        operation("SageMaker.ListInferenceRecommendationsJobs", served)
    assert caught.value.code == "UnknownOperationException"
    assert caught.value.message == "this server serves only: DescribeInferenceRecommendationsJob"
