"""Shared fixtures: paths of the bundled examples and a valid request to mutate."""

from gevent import monkey

monkey.patch_all()  # the tests' entry point: gevent patches the standard library before anything imports ssl

import copy
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis, seeded and bounded for ``make test``; ``make check`` (HYPOTHESIS_PROFILE=quick) tries fewer
# examples to keep the inner loop short, ``make properties`` (HYPOTHESIS_PROFILE=long) many more.
_QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
settings.register_profile(
    "default", max_examples=120, derandomize=True, database=None, deadline=2000, suppress_health_check=_QUIET
)
settings.register_profile(
    "quick", max_examples=30, derandomize=True, database=None, deadline=2000, suppress_health_check=_QUIET
)
settings.register_profile("long", max_examples=4000, derandomize=False, deadline=2000, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

VALID_REQUEST: dict[str, Any] = {
    "JobName": "unit-job",
    "JobType": "Advanced",
    "RoleArn": "arn:aws:iam::123456789012:role/SageMakerInferenceRecommender",
    "InputConfig": {
        "JobDurationInSeconds": 7200,
        "TrafficPattern": {
            "TrafficType": "PHASES",
            "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120}],
        },
        "ResourceLimit": {"MaxNumberOfTests": 2, "MaxParallelOfTests": 1},
        "EndpointConfigurations": [{"InstanceType": "ml.c5.xlarge"}],
    },
    "StoppingConditions": {
        "MaxInvocations": 1000,
        "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}],
    },
}

STAIRS_PATTERN: dict[str, Any] = {
    "TrafficType": "STAIRS",
    "Stairs": {"DurationInSeconds": 600, "NumberOfSteps": 5, "UsersPerStep": 2},
}


@pytest.fixture
def request_dict() -> dict[str, Any]:
    """A fresh, valid (AWS limits) PHASES request."""
    return copy.deepcopy(VALID_REQUEST)


@pytest.fixture
def stairs_request() -> dict[str, Any]:
    """A fresh, valid (AWS limits) STAIRS request."""
    request = copy.deepcopy(VALID_REQUEST)
    request["InputConfig"]["TrafficPattern"] = copy.deepcopy(STAIRS_PATTERN)
    return request
