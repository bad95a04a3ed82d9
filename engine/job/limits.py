"""The documented limits of a custom load test, in one place.

botocore's service model carries the *shape* of a CreateInferenceRecommendationsJob
request and a few bounds (mostly minimums). AWS documents stricter limits in the
Inference Recommender guide; they live here, keyed by the field's path pattern
(``[]`` stands for any list index), so the validator, the docs and the tests read
the same facts.

Two modes:
- ``aws`` (default): every documented limit and every maximum in botocore's model.
- ``relaxed``: botocore's own minimums only. Self-hosted runs need more users than
  AWS allows and tests need durations of seconds, not minutes. Enums, patterns,
  string lengths and loadrec's semantic rules still apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LimitsMode(StrEnum):
    AWS = "aws"
    RELAXED = "relaxed"


@dataclass(frozen=True)
class Range:
    """Allowed integer range (inclusive); ``multiple_of`` adds a step constraint."""

    minimum: int | None = None
    maximum: int | None = None
    multiple_of: int | None = None


PHASES = "InputConfig.TrafficPattern.Phases"
STAIRS = "InputConfig.TrafficPattern.Stairs"
SERVERLESS = "InputConfig.EndpointConfigurations[].ServerlessConfig"
RANGES = "InputConfig.EndpointConfigurations[].EnvironmentParameterRanges.CategoricalParameterRanges"

# Limits from the AWS guide ("Run a custom load test") and the API reference.
# Values are integers; list entries bound the list's length.
AWS_LIMITS: dict[str, Range] = {
    f"{PHASES}[].InitialNumberOfUsers": Range(1, 3),
    f"{PHASES}[].SpawnRate": Range(0, 3),
    f"{PHASES}[].DurationInSeconds": Range(120, 3600),
    f"{STAIRS}.DurationInSeconds": Range(120, 3600),
    f"{STAIRS}.UsersPerStep": Range(1, 3),
    f"{STAIRS}.NumberOfSteps": Range(1, None),
    "InputConfig.JobDurationInSeconds": Range(None, 18000),
    "InputConfig.ResourceLimit.MaxNumberOfTests": Range(1, 10),
    "InputConfig.ResourceLimit.MaxParallelOfTests": Range(1, 10),
    "InputConfig.EndpointConfigurations": Range(1, 10),
    f"{RANGES}": Range(1, 5),
    f"{RANGES}[].Value": Range(1, 3),
    "StoppingConditions.MaxInvocations": Range(1, 30000),
    f"{SERVERLESS}.MemorySizeInMB": Range(1024, 6144, multiple_of=1024),
    f"{SERVERLESS}.MaxConcurrency": Range(1, 200),
}

# Between consecutive phases, |next InitialNumberOfUsers - users at the end of the
# previous phase| may not exceed this (AWS mode only).
PHASE_BOUNDARY_MAX_USER_JUMP = 3

# Ceilings in both modes (relaxed mode lifts AWS's limits, not these): beyond them a
# run is no longer a load test but a week-long hang or an out-of-memory.
MAX_PATTERN_S = 7 * 24 * 3600  # a traffic pattern lasts at most 7 days
MAX_PEAK_USERS = 100_000  # virtual users at the pattern's peak, all workers together
# A price per instance-hour above this is a typo (SageMaker's dearest instance is near $100): every cost is
# a product of prices, so a bound here keeps each one finite (a 1e308 price overflowed to infinity).
MAX_PRICE_PER_HOUR = 10_000

# ModelLatencyThresholds[].Percentile values AWS accepts. Relaxed mode accepts any
# "P<number>" with 0 < number < 100 (e.g. P50, P99.9).
AWS_PERCENTILES = ("P95", "P99")

# Rules that hold in both modes because a run cannot mean anything otherwise.
SEMANTIC_MINIMUMS: dict[str, int] = {
    "StoppingConditions.MaxInvocations": 1,
    "StoppingConditions.ModelLatencyThresholds[].ValueInMilliseconds": 1,
}

# Defaults AWS applies when a field is absent.
DEFAULT_FLAT_INVOCATIONS = "Stop"
DEFAULT_MAX_PARALLEL_OF_TESTS = 1

# Fields that mean nothing self-hosted: validated when present, never required.
SELF_HOSTED_OPTIONAL = frozenset({"RoleArn"})

RELAXED_HINT = "use --limits relaxed to allow it"
