"""AWS's output shapes as a test's judge: parse with botocore's own parser, allow no unknown key, and hold
every value to the model (required members, minimums and maximums, enums, patterns), as boto3's users would
meet them (botocore 1.31 made CostPerHour required: a missing one was a KeyError in their code)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import botocore.session
from botocore.parsers import create_parser
from botocore.validate import ParamValidator

from loadrec.engine.job.validation import _model_problems as model_problems


def parse_as(operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """Parse with botocore's own response parser, and check every key is a member of the output shape."""
    shape = botocore.session.get_session().get_service_model("sagemaker").operation_model(operation).output_shape
    aws_only = {k: v for k, v in body.items() if k != "Loadrec"}
    unknown = list(_unknown_keys(aws_only, shape, ""))
    assert unknown == [], unknown
    response = {"body": json.dumps(aws_only).encode(), "headers": {}, "status_code": 200}
    parsed: dict[str, Any] = create_parser("json").parse(response, shape)
    problems = shape_problems(parsed, shape)
    assert problems == [], problems
    return parsed


def in_the_model(operation: str, answer: dict[str, Any]) -> list[str]:
    """What the model says of ``answer``, an operation's answer as boto3 parsed it."""
    shape = botocore.session.get_session().get_service_model("sagemaker").operation_model(operation).output_shape
    return shape_problems(answer, shape)


def shape_problems(value: dict[str, Any], shape: Any) -> list[str]:
    """What the model says of ``value`` (parsed): botocore's own validator for required members, types and
    minimums, and the walk loadrec validates requests with for what botocore skips (maximums, enums,
    patterns). Both are the model's judgement, not loadrec's: the walk reads only the model's metadata."""
    value = {k: v for k, v in value.items() if k != "ResponseMetadata"}  # the parser's own, not the answer's
    report = ParamValidator().validate(value, shape)
    found = [f"{name or '.'}: {reason} {_short(info)}" for reason, name, info in report._errors]
    return found + [str(problem) for problem in model_problems(value, shape, "", None)]


def _unknown_keys(value: Any, shape: Any, path: str) -> Iterator[str]:
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key not in shape.members:
                yield f"{path}.{key}"
            else:
                yield from _unknown_keys(item, shape.members[key], f"{path}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unknown_keys(item, shape.member, f"{path}[{index}]")


def _short(info: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in info.items() if key != "user_params"}
