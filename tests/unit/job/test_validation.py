"""Job validation: both edges of every documented limit, in both limit modes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from loadrec.engine.job.extension import check_extension, split_request
from loadrec.engine.job.limits import AWS_LIMITS, RANGES, LimitsMode
from loadrec.engine.job.slo_key import Slo
from loadrec.engine.job.spec import JobSpecError, parse_job
from loadrec.engine.job.validation import check_request
from loadrec.payloads.prompts import build_prompts
from tests.conftest import EXAMPLES

AWS, RELAXED = LimitsMode.AWS, LimitsMode.RELAXED
PHASE0 = "InputConfig.TrafficPattern.Phases[0]"
STAIRS = "InputConfig.TrafficPattern.Stairs"
SERVERLESS0 = "InputConfig.EndpointConfigurations[0].ServerlessConfig"
HINT = "(use --limits relaxed to allow it)"


def set_path(request: dict[str, Any], path: str, value: Any) -> None:
    """Set the field at a dotted path such as ``A.B[0].C``."""
    keys: list[Any] = [int(index) if index else key for key, index in re.findall(r"(\w+)|\[(\d+)\]", path)]
    node: Any = request
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value


def problems(request: dict[str, Any], mode: LimitsMode) -> list[str]:
    return [str(p) for p in check_request(request, mode)]


def stairs_request(request: dict[str, Any]) -> dict[str, Any]:
    request["InputConfig"]["TrafficPattern"] = {
        "TrafficType": "STAIRS",
        "Stairs": {"DurationInSeconds": 600, "NumberOfSteps": 5, "UsersPerStep": 2},
    }
    return request


def serverless_request(request: dict[str, Any]) -> dict[str, Any]:
    request["InputConfig"]["EndpointConfigurations"] = [
        {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 20}}
    ]
    return request


def phases_request(request: dict[str, Any]) -> dict[str, Any]:
    return request


# (path, AWS min, AWS max, the minimum in both modes (botocore's or loadrec's), request variant)
INTEGER_LIMITS: list[tuple[str, int | None, int | None, int | None, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    (f"{PHASE0}.InitialNumberOfUsers", 1, 3, 1, phases_request),
    (f"{PHASE0}.SpawnRate", 0, 3, 0, phases_request),
    (f"{PHASE0}.DurationInSeconds", 120, 3600, 1, phases_request),
    (f"{STAIRS}.DurationInSeconds", 120, 3600, 1, stairs_request),
    (f"{STAIRS}.UsersPerStep", 1, 3, 1, stairs_request),
    (f"{STAIRS}.NumberOfSteps", 1, None, 1, stairs_request),
    ("InputConfig.JobDurationInSeconds", None, 18000, 1, phases_request),
    ("InputConfig.ResourceLimit.MaxNumberOfTests", 1, 10, 1, phases_request),
    ("InputConfig.ResourceLimit.MaxParallelOfTests", 1, 10, 1, phases_request),
    ("StoppingConditions.MaxInvocations", 1, 30000, 1, phases_request),
    (f"{SERVERLESS0}.MemorySizeInMB", 1024, 6144, 1024, serverless_request),
    (f"{SERVERLESS0}.MaxConcurrency", 1, 200, 1, serverless_request),
]


def test_the_table_covers_every_integer_limit() -> None:
    covered = {path.replace("[0]", "[]") for path, *_ in INTEGER_LIMITS}
    lists = {
        "InputConfig.EndpointConfigurations",
        RANGES,
        f"{RANGES}[].Value",
    }  # list lengths: tests/unit/job/test_cases.py
    assert covered | lists == set(AWS_LIMITS)


@pytest.mark.parametrize(
    ("path", "low", "high", "floor", "variant"), INTEGER_LIMITS, ids=[r[0] for r in INTEGER_LIMITS]
)
def test_integer_limit_edges(
    request_dict: dict[str, Any],
    path: str,
    low: int | None,
    high: int | None,
    floor: int | None,
    variant: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    request = variant(request_dict)
    for value in (v for v in (low, high) if v is not None):
        set_path(request, path, value)
        assert problems(request, AWS) == [], (path, value)
        assert problems(request, RELAXED) == [], (path, value)
    if high is not None:
        set_path(request, path, high + 1)
        assert problems(request, AWS) == [f"{path}: {high + 1} is above the AWS limit of {high} {HINT}"]
        assert problems(request, RELAXED) == []
    if low is not None and floor is not None and low > floor:
        set_path(request, path, low - 1)
        assert problems(request, AWS) == [f"{path}: {low - 1} is below the AWS limit of {low} {HINT}"]
        assert problems(request, RELAXED) == []
    if floor is not None:
        set_path(request, path, floor - 1)
        below = problems(request, AWS)
        assert below == problems(request, RELAXED)
        assert below == [f"{path}: {floor - 1} is below the minimum of {floor}"]


def test_serverless_memory_must_be_a_multiple_of_1024_under_aws_limits(request_dict: dict[str, Any]) -> None:
    request = serverless_request(request_dict)
    set_path(request, f"{SERVERLESS0}.MemorySizeInMB", 3000)
    assert problems(request, AWS) == [
        f"{SERVERLESS0}.MemorySizeInMB: 3000 is not a multiple of 1024, as AWS requires {HINT}"
    ]
    assert problems(request, RELAXED) == []


def test_endpoint_configuration_count_edges(request_dict: dict[str, Any]) -> None:
    path = "InputConfig.EndpointConfigurations"
    request_dict["InputConfig"]["EndpointConfigurations"] = [{"InstanceType": "ml.c5.xlarge"}] * 10
    assert problems(request_dict, AWS) == []
    request_dict["InputConfig"]["EndpointConfigurations"] = [{"InstanceType": "ml.c5.xlarge"}] * 11
    assert problems(request_dict, AWS) == [f"{path}: 11 entries is above the AWS limit of 10 {HINT}"]
    assert problems(request_dict, RELAXED) == []
    request_dict["InputConfig"]["EndpointConfigurations"] = []
    assert problems(request_dict, RELAXED) == [f"{path}: length 0 is below the minimum of 1"]


@pytest.mark.parametrize("mode", [AWS, RELAXED])
def test_exactly_one_latency_threshold(request_dict: dict[str, Any], mode: LimitsMode) -> None:
    path = "StoppingConditions.ModelLatencyThresholds"
    request_dict["StoppingConditions"]["ModelLatencyThresholds"] *= 2
    assert problems(request_dict, mode) == [f"{path}: 2 entries is above the maximum of 1"]
    request_dict["StoppingConditions"]["ModelLatencyThresholds"] = []
    assert problems(request_dict, mode) == [f"{path}: length 0 is below the minimum of 1"]


@pytest.mark.parametrize(
    ("percentile", "aws_ok", "relaxed_ok"),
    [
        ("P95", True, True),
        ("P99", True, True),
        ("P90", False, True),
        ("P99.9", False, True),
        ("P100", False, False),
        ("95", False, False),
    ],
)
def test_percentiles(request_dict: dict[str, Any], percentile: str, aws_ok: bool, relaxed_ok: bool) -> None:
    request_dict["StoppingConditions"]["ModelLatencyThresholds"][0]["Percentile"] = percentile
    assert (problems(request_dict, AWS) == []) is aws_ok
    assert (problems(request_dict, RELAXED) == []) is relaxed_ok


def test_latency_threshold_value_must_be_positive_in_both_modes(request_dict: dict[str, Any]) -> None:
    path = "StoppingConditions.ModelLatencyThresholds[0].ValueInMilliseconds"
    set_path(request_dict, path, 0)
    expected = [f"{path}: 0 is below the minimum of 1"]
    assert problems(request_dict, AWS) == expected == problems(request_dict, RELAXED)


@pytest.mark.parametrize(
    ("previous", "next_initial", "aws_ok"),
    [
        ((1, 2, 180), 2, True),  # ends at 5 users: a change of 3
        ((1, 2, 180), 3, True),
        ((1, 3, 180), 3, False),  # ends at 7 users: a change of 4
        ((3, 0, 120), 1, True),
        ((1, 3, 240), 3, False),  # ends at 10 users
    ],
)
def test_phase_boundary_rule(
    request_dict: dict[str, Any], previous: tuple[int, int, int], next_initial: int, aws_ok: bool
) -> None:
    first = dict(zip(("InitialNumberOfUsers", "SpawnRate", "DurationInSeconds"), previous, strict=True))
    second = {"InitialNumberOfUsers": next_initial, "SpawnRate": 0, "DurationInSeconds": 120}
    request_dict["InputConfig"]["TrafficPattern"]["Phases"] = [first, second]
    found = problems(request_dict, AWS)
    if aws_ok:
        assert found == []
    else:
        assert len(found) == 1
        assert found[0].startswith("InputConfig.TrafficPattern.Phases[1].InitialNumberOfUsers: 3 is ")
        assert "AWS allows a change of at most 3 between phases" in found[0]
    assert problems(request_dict, RELAXED) == []


def test_the_pattern_must_fit_in_the_job_duration_under_aws_limits(request_dict: dict[str, Any]) -> None:
    request_dict["InputConfig"]["JobDurationInSeconds"] = 120
    assert problems(request_dict, AWS) == []
    request_dict["InputConfig"]["JobDurationInSeconds"] = 119
    found = problems(request_dict, AWS)
    assert len(found) == 1 and found[0].startswith("InputConfig.JobDurationInSeconds: 119 is shorter than")
    assert problems(request_dict, RELAXED) == []


def test_stairs_steps_shorter_than_a_second_are_refused_in_both_modes(request_dict: dict[str, Any]) -> None:
    request = stairs_request(request_dict)
    set_path(request, f"{STAIRS}.NumberOfSteps", 600)
    assert problems(request, AWS) == []
    set_path(request, f"{STAIRS}.NumberOfSteps", 601)
    expected = [f"{STAIRS}.NumberOfSteps: 601 steps over 600 s makes steps shorter than 1 s (at most 600 steps)"]
    assert problems(request, AWS) == expected == problems(request, RELAXED)


def test_many_problems_are_reported_together_with_their_paths(request_dict: dict[str, Any]) -> None:
    request_dict.update({"JobName": "bad name", "JobType": "ADVANCED", "Extra": 1})
    del request_dict["RoleArn"]  # not required self-hosted: no problem
    phases = request_dict["InputConfig"]["TrafficPattern"]["Phases"]
    phases[0]["SpawnRate"] = 60
    phases.append({"InitialNumberOfUsers": True, "DurationInSeconds": 60.5})
    request_dict["InputConfig"]["EndpointConfigurations"].append({})
    request_dict["StoppingConditions"]["FlatInvocations"] = "stop"
    found = problems(request_dict, AWS)
    assert {line.split(": ", 1)[0] for line in found} == {
        "Extra",
        "JobName",
        "JobType",
        f"{PHASE0}.SpawnRate",
        "InputConfig.TrafficPattern.Phases[1].InitialNumberOfUsers",
        "InputConfig.TrafficPattern.Phases[1].DurationInSeconds",
        "InputConfig.TrafficPattern.Phases[1].SpawnRate",
        "InputConfig.EndpointConfigurations[1]",
        "StoppingConditions.FlatInvocations",
    }
    assert f"{PHASE0}.SpawnRate: 60 is above the AWS limit of 3 {HINT}" in found
    assert 'JobType: "ADVANCED" is not one of: Default, Advanced' in found
    assert "InputConfig.TrafficPattern.Phases[1].SpawnRate: is required" in found
    assert "InputConfig.TrafficPattern.Phases[1].DurationInSeconds: 60.5 is a number, expected an integer" in found
    assert "InputConfig.TrafficPattern.Phases[1].InitialNumberOfUsers: true is a boolean, expected an integer" in found
    with pytest.raises(JobSpecError) as raised:
        parse_job(request_dict, AWS)
    assert [str(p) for p in raised.value.problems] == found


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: r["InputConfig"].pop("TrafficPattern"),
            "InputConfig.TrafficPattern: is required for a load test (TrafficType PHASES or STAIRS)",
        ),
        (
            lambda r: r["InputConfig"]["TrafficPattern"].pop("TrafficType"),
            "InputConfig.TrafficPattern.TrafficType: is required (PHASES or STAIRS)",
        ),
        (
            lambda r: r["InputConfig"]["TrafficPattern"].update(TrafficType="STAIRS"),
            "InputConfig.TrafficPattern.Stairs: is required with TrafficType STAIRS",
        ),
        (
            lambda r: r.update(JobType="Default"),
            'JobType: "Default" is not supported: loadrec runs custom load tests ("Advanced")',
        ),
        (
            lambda r: r["InputConfig"].pop("EndpointConfigurations"),
            "InputConfig.EndpointConfigurations: is required (or InputConfig.Endpoints, to test an existing endpoint)",
        ),
        (
            lambda r: r["InputConfig"].update(Endpoints=[{"EndpointName": "live"}]),
            "InputConfig.Endpoints: is not allowed together with InputConfig.EndpointConfigurations",
        ),
        (lambda r: r.pop("JobName"), "JobName: is required"),
    ],
)
def test_load_test_rules(request_dict: dict[str, Any], mutate: Callable[[dict[str, Any]], Any], expected: str) -> None:
    mutate(request_dict)
    assert expected in problems(request_dict, RELAXED)


def test_phases_and_stairs_together_are_refused(request_dict: dict[str, Any]) -> None:
    request_dict["InputConfig"]["TrafficPattern"]["Stairs"] = {
        "DurationInSeconds": 120,
        "NumberOfSteps": 1,
        "UsersPerStep": 1,
    }
    assert problems(request_dict, AWS) == [
        "InputConfig.TrafficPattern.Stairs: is not allowed with TrafficType PHASES (use Phases)"
    ]


def test_existing_endpoint_mode_is_valid(request_dict: dict[str, Any]) -> None:
    request_dict["InputConfig"].pop("EndpointConfigurations")
    request_dict["InputConfig"]["Endpoints"] = [{"EndpointName": "my-endpoint"}]
    spec = parse_job(request_dict, AWS)
    assert spec.existing_endpoints == ("my-endpoint",)
    assert spec.endpoint_configurations == ()


def test_tag_patterns_with_unicode_classes_are_checked(request_dict: dict[str, Any]) -> None:
    request_dict["Tags"] = [{"Key": "équipe", "Value": "ok"}]
    assert problems(request_dict, AWS) == []
    request_dict["Tags"] = [{"Key": "bad#key", "Value": "ok"}]
    assert problems(request_dict, AWS)[0].startswith('Tags[0].Key: "bad#key" does not match the pattern')


@pytest.mark.parametrize("name", ["phases.json", "stairs.json"])
def test_the_shared_examples_validate(name: str) -> None:
    request = json.loads((EXAMPLES / name).read_text())
    assert problems(request, AWS) == []
    spec = parse_job(request)
    assert spec.name == request["JobName"]


def test_the_prompts_example_validates_under_aws_limits_and_makes_its_prompts() -> None:
    request = json.loads((EXAMPLES / "prompts.json").read_text())
    aws, extension = split_request(request)
    assert problems(aws, AWS) == [] and check_extension(extension, 1, request=request) == []
    prompts = parse_job(request).extension.prompts
    assert prompts is not None and prompts.synthetic is not None and prompts.synthetic.count == 100
    assert parse_job(request).stopping.slo == Slo(500.0, 20.0, None, 90.0)
    made = build_prompts(prompts, EXAMPLES, stream=True)
    assert len(made.payloads) == 100 and made.summary.input_tokens["Min"] >= 50


def test_the_request_rate_example_validates_under_aws_limits_and_asks_for_its_rate() -> None:
    request = json.loads((EXAMPLES / "request-rate.json").read_text())
    aws, extension = split_request(request)
    assert problems(aws, AWS) == [] and check_extension(extension, 1, request=request) == []
    rate = parse_job(request).extension.request_rate
    assert rate is not None and (rate.per_user_per_s, rate.arrivals, rate.max_in_flight) == (10, "Poisson", 200)


def test_the_search_example_validates_under_aws_limits_and_searches() -> None:
    request = json.loads((EXAMPLES / "search.json").read_text())
    aws, extension = split_request(request)
    assert problems(aws, AWS) == [] and check_extension(extension, 1, request=request) == []
    search = parse_job(request).new_search()
    assert search is not None and (search.low, search.high, search.tolerance, search.probe_s) == (1, 64, 0.05, 10)
