"""AWS's output shapes as a test's judge: parse with botocore's own parser, and allow no unknown key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import botocore.session
from botocore.parsers import create_parser


def parse_as(operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """Parse with botocore's own response parser, and check every key is a member of the output shape."""
    shape = botocore.session.get_session().get_service_model("sagemaker").operation_model(operation).output_shape
    aws_only = {k: v for k, v in body.items() if k != "Loadrec"}
    unknown = list(_unknown_keys(aws_only, shape, ""))
    assert unknown == [], unknown
    response = {"body": json.dumps(aws_only).encode(), "headers": {}, "status_code": 200}
    parsed: dict[str, Any] = create_parser("json").parse(response, shape)
    return parsed


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
