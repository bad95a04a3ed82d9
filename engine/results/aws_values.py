"""Values AWS's answers hold as the model bounds them, where a self-hosted job's own may not fit.

botocore's model makes members required that a self-hosted job need not give (RoleArn),
bounds text that loadrec writes (FailureReason: 1,024 characters), and holds a pattern
that a local payload folder does not match (SamplePayloadUrl: an S3 URI). Every answer
(describe.json, steps.json, the API's Describe and List) takes these values from here;
the bounds are read from the model itself.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import regex  # the model's patterns are Java regexes

from loadrec.engine.job.validation import service_model

DEFAULT_ACCOUNT = "000000000000"  # no RoleArn: no account to take one from
# AWS's answers require a RoleArn that a self-hosted job need not give: this one says it is none.
PLACEHOLDER_ROLE_ARN = f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/loadrec-no-role"


def role_arn(request: dict[str, Any]) -> str:
    """The job's RoleArn, or the placeholder (a required member of every answer that has one)."""
    given = request.get("RoleArn")
    return given if isinstance(given, str) and given else PLACEHOLDER_ROLE_ARN


@cache
def _failure_reason_max() -> int:
    return int(service_model().shape_for("FailureReason").metadata["max"])


def aws_failure_reason(reason: str) -> str:
    """``reason`` within the model's FailureReason (1,024 characters): cut in the middle, both ends kept
    (an S3 URI a thousand characters long once made a reason of 1,106)."""
    limit = _failure_reason_max()
    if len(reason) <= limit:
        return reason
    half = (limit - 1) // 2
    return f"{reason[:half]}…{reason[len(reason) - (limit - 1 - half) :]}"


def echoed_input_config(input_config: Any) -> Any:
    """The request's InputConfig as AWS's answers may show it: a SamplePayloadUrl that is no S3 URI (a local
    folder, moved to the Loadrec key when the job was accepted) is left out, as the model's pattern asks."""
    if not isinstance(input_config, dict):
        return input_config
    payload = input_config.get("ContainerConfig", {}).get("PayloadConfig", {})
    url = payload.get("SamplePayloadUrl") if isinstance(payload, dict) else None
    if url is None or _s3_uri(url):
        return input_config
    kept = {k: v for k, v in payload.items() if k != "SamplePayloadUrl"}
    container = {**input_config["ContainerConfig"], "PayloadConfig": kept}
    return {**input_config, "ContainerConfig": container}


def _s3_uri(url: Any) -> bool:
    shape = service_model().shape_for("S3Uri").metadata
    return isinstance(url, str) and len(url) <= shape["max"] and regex.fullmatch(shape["pattern"], url) is not None
