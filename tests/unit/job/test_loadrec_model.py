"""The Loadrec key's model (engine/job/loadrec_model.py) and the traits the validator reads from it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.model import Shape

from loadrec.engine.job.extension import check_extension
from loadrec.engine.job.loadrec_model import SHAPES, check_part, loadrec_shape

HTTP = {"Http": {"Url": "http://127.0.0.1:9/invocations"}}
COMMAND = {"Command": ["serve"], "ReadyUrl": "http://127.0.0.1:{port}/ping", "Url": "http://127.0.0.1:{port}/x"}


def lines(raw: Any, configurations: int = 1) -> list[str]:
    return [str(p) for p in check_extension(raw, configurations)]


def _walk(shape: Shape, seen: set[str]) -> None:
    if shape.name in seen:
        return
    seen.add(shape.name)
    children = {
        "structure": lambda: list(shape.members.values()),  # type: ignore[attr-defined]
        "list": lambda: [shape.member],  # type: ignore[attr-defined]
        "map": lambda: [shape.key, shape.value],  # type: ignore[attr-defined]
    }.get(shape.type_name, list)()
    for child in children:
        _walk(child, seen)


def test_every_shape_resolves_and_is_reached_from_the_key() -> None:
    reached: set[str] = set()
    _walk(loadrec_shape(), reached)
    assert reached == set(SHAPES)  # no shape names one that is missing, none is left unused


def test_a_full_key_is_accepted() -> None:
    raw = {
        "Targets": [{**HTTP, "PricePerHour": 0.5, "Streaming": {"Framing": "JsonLines"}}],
        "RequestTimeoutSeconds": 0.5,
        "MaxResponseSizeInBytes": 1024,
        "StoppingConditions": {"TokenLatencyThresholds": [
            {"Metric": "TimeToFirstToken", "Percentile": "P99.9", "ValueInMilliseconds": 800}]},
        "RequestRate": {"RequestsPerSecondPerUser": 1000, "Arrivals": "Poisson"},
        "Slo": {"TimeToFirstTokenMs": 500, "MinAttainmentPercent": 100},
        "Search": {"MaxUsers": 100_000, "ProbeSeconds": 4},
        "Thresholds": ["LatencyP95Ms <= 100"],
    }  # fmt: skip
    assert lines(raw) == []


def test_null_is_a_target_only_the_provisioner_can_fill() -> None:
    assert lines({"Targets": [None]}) == [
        "Loadrec.Targets[0]: is null, asking loadrec to create the endpoint: configure Loadrec.Provisioner"
    ]
    assert lines({"Targets": [None], "Provisioner": {"Command": COMMAND}}) == []
    assert lines({"Targets": [None], "RequestTimeoutSeconds": None}) == [
        "Loadrec.RequestTimeoutSeconds: is null, expected a number",  # nullable is the target's trait alone
        "Loadrec.Targets[0]: is null, asking loadrec to create the endpoint: configure Loadrec.Provisioner",
    ]


def test_a_provisioner_is_one_kind() -> None:
    assert lines({"Provisioner": {}}, 0) == ["Loadrec.Provisioner: needs one of: Command, SageMaker"]
    both = {"Command": COMMAND, "SageMaker": {}}
    assert lines({"Provisioner": both}, 0) == ["Loadrec.Provisioner: takes only one of: Command, SageMaker"]


@pytest.mark.parametrize("value", [12345, ["s3cr3t"], {"k": "s3cr3t"}, True])
def test_a_header_value_of_the_wrong_type_is_never_echoed(value: Any) -> None:
    found = lines({"Targets": [{"Http": {**HTTP["Http"], "Headers": {"Authorization": value}}}]})
    assert len(found) == 1 and found[0].startswith("Loadrec.Targets[0].Http.Headers.Authorization: the value is ")
    assert "s3cr3t" not in found[0] and "12345" not in found[0] and "true" not in found[0].split(": ", 1)[1]


def test_a_map_key_that_is_no_plain_name_is_quoted_in_the_path() -> None:
    found = lines({"Targets": [{"Http": {**HTTP["Http"], "Headers": {"X Y.z": 5}}}]})
    assert found == [
        'Loadrec.Targets[0].Http.Headers["X Y.z"]: the value is an integer, expected a string',
        'Loadrec.Targets[0].Http.Headers: "X Y.z" is not a header name (letters, digits and !#$%&\'*+-.^_`|~ only; '
        "no spaces, ':' or line breaks)",
    ]


@pytest.mark.parametrize(
    "raw",
    [
        {"Targets": [{"Http": {**HTTP["Http"], "Headers": ["Authorization: Bearer s3cr3t"]}}]},
        {"Targets": [[{"Http": {**HTTP["Http"], "Headers": {"Authorization": "Bearer s3cr3t"}}}]]},
        {"Targets": {"a": {"Http": {**HTTP["Http"], "Headers": {"Authorization": "Bearer s3cr3t"}}}}},
        {"Targets": [{"Http": [{**HTTP["Http"], "Headers": {"Authorization": "Bearer s3cr3t"}}]}]},
        {"Provisioner": {"Command": [{**COMMAND, "Headers": {"Authorization": "Bearer s3cr3t"}}]}},
        {"Targets": [{"Http": {**HTTP["Http"], "Headers": {"Authorization": None}}}]},
    ],
)
def test_a_value_holding_a_header_is_never_echoed_when_its_type_is_wrong(raw: Any) -> None:
    found = lines(raw, 0)
    assert found and all("s3cr3t" not in line for line in found), found
    assert all("the value is" in line or "is null, expected a string" in line for line in found), found


def test_a_field_wrong_in_type_hides_none_of_its_siblings_rules() -> None:
    http = {"Url": "ftp://x", "Method": "DELETE", "Headers": {"X": "a\r\nb"}}
    assert sorted(lines({"Targets": [{"Http": http, "PricePerHour": "cheap"}]})) == [
        "Loadrec.Targets[0].Http.Headers.X: the value holds a line break (CR or LF), which would split the request",
        'Loadrec.Targets[0].Http.Method: "DELETE" is not one of: POST, PUT, GET',
        'Loadrec.Targets[0].Http.Url: "ftp://x" is not an http(s) URL',
        'Loadrec.Targets[0].PricePerHour: "cheap" is a string, expected a number',
    ]
    command = {**COMMAND, "Command": [], "Url": "ftp://{nope}", "StartTimeoutSeconds": 0}
    assert sorted(p.split(":")[0] for p in lines({"Targets": [None], "Provisioner": {"Command": command}})) == [
        "Loadrec.Provisioner.Command.Command",
        "Loadrec.Provisioner.Command.StartTimeoutSeconds",
        "Loadrec.Provisioner.Command.Url",
        "Loadrec.Provisioner.Command.Url",  # not an http(s) URL, and {nope} is no placeholder
    ]
    sagemaker = {"Targets": [None], "Provisioner": {"SageMaker": {"WaitTimeoutSeconds": 0}}}
    assert [str(p) for p in check_extension(sagemaker, 1, request={"InputConfig": {}})] == [
        "Loadrec.Provisioner.SageMaker.WaitTimeoutSeconds: 0 must be above 0",
        "InputConfig: the SageMaker provisioner needs ModelPackageVersionArn or ModelName",
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"Search": {"MaxUsers": False}}, ["Loadrec.Search.MaxUsers: false is a boolean, expected an integer"]),
        ({"Search": {"MaxUsers": 8, "ProbeSeconds": True}},
         ["Loadrec.Search.ProbeSeconds: true is a boolean, expected an integer"]),
        ({"MaxResponseSizeInBytes": False},
         ["Loadrec.MaxResponseSizeInBytes: false is a boolean, expected an integer"]),
        ({"Thresholds": ["LatencyP95Ms <= " + "1" * 210]},
         ["Loadrec.Thresholds[0]: length 226 is above the maximum of 200"]),
        ({"Thresholds": ["x"] * 101}, ["Loadrec.Thresholds: 101 entries is above the maximum of 100"]),
        ({"Prompts": {"Template": "TGI", "Synthetic": 5}},
         ["Loadrec.Prompts.Synthetic: 5 is an integer, expected an object"]),
    ],
)  # fmt: skip
def test_each_problem_is_said_once(raw: Any, expected: list[str]) -> None:
    assert lines(raw, 0) == expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("RequestRate", {"RequestsPerSecondPerUser": 0}, "rate.RequestsPerSecondPerUser: 0 must be above 0"),
        ("RequestRate", {"RequestsPerSecondPerUser": 1e-9}, None),  # just above the exclusive minimum
        ("RequestRate", {"RequestsPerSecondPerUser": float("inf")}, "rate.RequestsPerSecondPerUser: "),
        ("Slo", {"EndToEndMs": 0.25, "TimeToFirstTokenMs": True}, "rate.TimeToFirstTokenMs: true is a boolean"),
        ("Search", {"MaxUsers": 2**70}, "rate.MaxUsers: 1180591620717411303424 is above the maximum of 100,000"),
        ("Target", {"SageMaker": {"EndpointName": "a_b"}}, 'rate.SageMaker.EndpointName: "a_b" is not a SageMaker'),
        ("Target", {"SageMaker": {"EndpointName": "e", "Region": "US"}}, 'rate.SageMaker.Region: "US" is not an AWS'),
    ],
)
def test_a_part_is_checked_at_the_path_given(name: str, value: Any, expected: str | None) -> None:
    found = [str(p) for p in check_part(name, copy.deepcopy(value), "rate")]
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(expected), found
