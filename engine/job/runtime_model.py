"""What botocore's models say of the values a SageMaker target sends, beyond the job request's own model:
InvokeEndpoint's members (TargetVariant, CustomAttributes, …, sent as headers) and the regions SageMaker
runs in. Read from botocore's sagemaker-runtime model and its endpoint data, never copied by hand."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import botocore.session
from botocore.model import Shape

from loadrec.engine.job.headers import region_problem
from loadrec.engine.job.limits import RELAXED_HINT
from loadrec.engine.job.problems import Problem, show
from loadrec.engine.job.validation import string_problems

KEY = "Loadrec"


@cache
def _invoke_endpoint_members() -> Mapping[str, Shape]:
    session = botocore.session.get_session()
    return session.get_service_model("sagemaker-runtime").operation_model("InvokeEndpoint").input_shape.members


def invoke_endpoint_problems(member: str, value: str, path: str) -> list[Problem]:
    """What InvokeEndpoint's model says of ``value`` sent as its ``member`` (TargetVariant at most 63
    characters of its pattern, CustomAttributes at most 1,024 ASCII ones, …)."""
    return string_problems(value, _invoke_endpoint_members()[member], path)


@cache
def sagemaker_regions() -> frozenset[str]:
    """Every region botocore knows SageMaker in, in every partition (aws, aws-cn, aws-us-gov, …)."""
    session = botocore.session.get_session()
    partitions = session.get_available_partitions()
    return frozenset(r for p in partitions for r in session.get_available_regions("sagemaker", partition_name=p))


def unknown_region_problems(raw: Any) -> list[Problem]:
    """Under AWS's limits, a SageMaker target's or provisioner's Region must be one botocore knows SageMaker in
    (``mars-1`` is well formed, and no region); relaxed, any well-formed name (a region newer than botocore)."""
    if not isinstance(raw, dict):
        return []
    targets = raw.get("Targets")
    places = [(f"{KEY}.Targets[{i}].SageMaker", t.get("SageMaker"))
              for i, t in enumerate(targets if isinstance(targets, list) else []) if isinstance(t, dict)]  # fmt: skip
    provisioner = raw.get("Provisioner")
    if isinstance(provisioner, dict):
        places.append((f"{KEY}.Provisioner.SageMaker", provisioner.get("SageMaker")))
    found = []
    for path, entry in places:
        region = entry.get("Region") if isinstance(entry, dict) else None
        if isinstance(region, str) and region_problem(region) is None and region not in sagemaker_regions():
            found.append(
                Problem(f"{path}.Region", f"{show(region)} is not a region SageMaker runs in ({RELAXED_HINT})")
            )
    return found
