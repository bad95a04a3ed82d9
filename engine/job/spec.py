"""The job spec: a validated CreateInferenceRecommendationsJob request as typed, immutable values.

``parse_job`` is the only way in: it validates (see :mod:`loadrec.engine.job.validation`) and
either returns a ``JobSpec`` or raises ``JobSpecError`` carrying every problem.
The rest of the engine reads only ``JobSpec``, never the raw request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal, cast

from loadrec.engine.job import limits
from loadrec.engine.job.cases import TestCase, expand, ranges_of
from loadrec.engine.job.extension import KEY as EXTENSION_KEY
from loadrec.engine.job.extension import Extension, check_extension, parse_extension, split_request
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.problems import Problem
from loadrec.engine.job.rules import parse_percentile
from loadrec.engine.job.runtime_model import unknown_region_problems
from loadrec.engine.job.slo_key import Slo
from loadrec.engine.job.targets import Target
from loadrec.engine.job.token_conditions import TokenConditions
from loadrec.engine.job.validation import check_request
from loadrec.shapes.schedule import Phase, Schedule, Stairs, TrafficPattern, build_schedule
from loadrec.shapes.search import Search


class JobSpecError(Exception):
    """The request is invalid; ``problems`` lists every reason, one per field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class ServerlessConfig:
    memory_size_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None = None


@dataclass(frozen=True)
class EndpointConfiguration:
    """One entry of InputConfig.EndpointConfigurations: what one load test evaluates."""

    index: int
    instance_type: str | None = None
    serverless: ServerlessConfig | None = None
    inference_specification_name: str | None = None
    environment_ranges: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, values), as written

    @property
    def label(self) -> str:
        if self.serverless is not None:
            return f"serverless {self.serverless.memory_size_mb} MB x{self.serverless.max_concurrency}"
        return self.instance_type or f"configuration {self.index}"


@dataclass(frozen=True)
class LatencyThreshold:
    percentile: str  # as written, e.g. "P95"
    quantile: float  # e.g. 95.0
    value_ms: int


@dataclass(frozen=True)
class StoppingConditions:
    max_invocations: int | None = None  # per minute
    latency: LatencyThreshold | None = None
    flat_invocations: Literal["Stop", "Continue"] = "Stop"
    tokens: TokenConditions = field(default_factory=TokenConditions)  # streamed answers' stops (Loadrec key)
    slo: Slo | None = None  # the Loadrec key's: goodput and attainment, a stop when MinAttainmentPercent is set


@dataclass(frozen=True)
class ResourceLimit:
    max_number_of_tests: int
    max_parallel_of_tests: int


@dataclass(frozen=True)
class PayloadConfig:
    sample_payload_url: str | None = None
    content_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobSpec:
    name: str
    description: str | None
    traffic: TrafficPattern
    endpoint_configurations: tuple[EndpointConfiguration, ...]
    existing_endpoints: tuple[str, ...]  # InputConfig.Endpoints: test these endpoints as they are
    resource_limit: ResourceLimit
    stopping: StoppingConditions
    payload: PayloadConfig
    job_duration_s: int | None
    limits: LimitsMode
    extension: Extension  # the Loadrec key: targets, payload overrides
    request_json: str  # the AWS request as given (without the extension), for echoing back in results
    extension_json: str = "null"  # the Loadrec key as given, for workers that rebuild the spec
    cases: tuple[TestCase, ...] = ()  # the tests, in order: a configuration (or endpoint) × each combination

    def case(self, index: int) -> TestCase:
        return self.cases[index]

    def label_of(self, index: int) -> str:
        """How results name test ``index``: its endpoint configuration (and environment), else its endpoint."""
        return self.cases[index].label if index < len(self.cases) else f"test {index}"

    def target_of(self, index: int) -> Target | None:
        """The existing endpoint test ``index`` loads; None when the provisioner creates it."""
        configuration = self.cases[index].configuration
        targets = self.extension.targets
        return targets[configuration] if configuration < len(targets) else None

    def configuration_of(self, index: int) -> EndpointConfiguration | None:
        """Test ``index``'s endpoint configuration (None for an existing endpoint of InputConfig.Endpoints)."""
        configurations = self.endpoint_configurations
        return configurations[self.cases[index].configuration] if configurations else None

    @cached_property
    def schedule(self) -> Schedule:
        return build_schedule(self.traffic)

    def new_search(self) -> Search | None:
        """A fresh search for one test (``Loadrec.Search``), run instead of the schedule; None: the schedule runs."""
        key = self.extension.search
        return None if key is None else key.new_search()

    @property
    def peak_users(self) -> int:
        """The most users a test may run: the search's MaxUsers, else the pattern's peak."""
        key = self.extension.search
        return self.schedule.peak_users if key is None else key.max_users

    @property
    def request(self) -> dict[str, Any]:
        """A fresh copy of the AWS request as given."""
        return cast(dict[str, Any], json.loads(self.request_json))

    @property
    def request_with_extension(self) -> dict[str, Any]:
        """The whole job file's request, Loadrec key included."""
        request = self.request
        extension = json.loads(self.extension_json)
        if extension is not None:
            request[EXTENSION_KEY] = extension
        return request


def parse_job(request: Mapping[str, Any], mode: LimitsMode = LimitsMode.AWS) -> JobSpec:
    """Validate ``request`` and build its ``JobSpec``; raise ``JobSpecError`` with every problem."""
    request, raw_extension = split_request(request)
    problems = check_request(request, mode)
    if not problems:  # the shapes hold: the parameters can be read
        parameters = [{name for name, _ in ranges_of(entry)} for entry in _configurations(request)]
        problems += check_extension(raw_extension, _configuration_count(request), parameters, request)
        if mode is LimitsMode.AWS:
            problems += unknown_region_problems(raw_extension)
    else:
        problems += check_extension(raw_extension, _configuration_count(request))
    if problems:
        raise JobSpecError(problems)
    config = request["InputConfig"]
    configurations = tuple(
        _endpoint_configuration(i, e) for i, e in enumerate(config.get("EndpointConfigurations", []))
    )
    endpoints = tuple(e["EndpointName"] for e in config.get("Endpoints", []))
    if configurations:
        cases = expand([c.label for c in configurations], [c.environment_ranges for c in configurations])
    else:
        cases = expand(endpoints, [()] * len(endpoints))
    extension = parse_extension(raw_extension, endpoints)
    return JobSpec(
        name=request["JobName"],
        description=request.get("JobDescription"),
        traffic=_traffic(config["TrafficPattern"]),
        endpoint_configurations=configurations,
        existing_endpoints=endpoints,
        resource_limit=_resource_limit(config.get("ResourceLimit", {}), len(cases)),
        stopping=replace(
            _stopping(request.get("StoppingConditions", {})), tokens=extension.token_conditions, slo=extension.slo
        ),
        payload=_payload(config.get("ContainerConfig", {}).get("PayloadConfig", {})),
        job_duration_s=config.get("JobDurationInSeconds"),
        limits=mode,
        extension=extension,
        request_json=json.dumps(request, sort_keys=True),
        extension_json=json.dumps(raw_extension, sort_keys=True),
        cases=cases,
    )


def _configurations(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(request["InputConfig"].get("EndpointConfigurations", []))


def _configuration_count(request: Mapping[str, Any]) -> int:
    config = request.get("InputConfig")
    if not isinstance(config, dict):
        return 0
    entries = config.get("EndpointConfigurations") or config.get("Endpoints") or []
    return len(entries) if isinstance(entries, list) else 0


def _traffic(pattern: Mapping[str, Any]) -> TrafficPattern:
    if pattern["TrafficType"] == "PHASES":
        phases = tuple(
            Phase(p["InitialNumberOfUsers"], p["SpawnRate"], p["DurationInSeconds"]) for p in pattern["Phases"]
        )
        return TrafficPattern("PHASES", phases=phases)
    s = pattern["Stairs"]
    return TrafficPattern("STAIRS", stairs=Stairs(s["DurationInSeconds"], s["NumberOfSteps"], s["UsersPerStep"]))


def _endpoint_configuration(index: int, entry: Mapping[str, Any]) -> EndpointConfiguration:
    serverless = entry.get("ServerlessConfig")
    return EndpointConfiguration(
        index=index,
        instance_type=entry.get("InstanceType"),
        serverless=None
        if serverless is None
        else ServerlessConfig(
            serverless["MemorySizeInMB"],
            serverless["MaxConcurrency"],
            serverless.get("ProvisionedConcurrency"),
        ),
        inference_specification_name=entry.get("InferenceSpecificationName"),
        environment_ranges=ranges_of(entry),
    )


def _resource_limit(entry: Mapping[str, Any], configured: int) -> ResourceLimit:
    # Absent fields: run every test (each configuration and combination), one at a time.
    return ResourceLimit(
        max_number_of_tests=entry.get("MaxNumberOfTests", max(configured, 1)),
        max_parallel_of_tests=entry.get("MaxParallelOfTests", limits.DEFAULT_MAX_PARALLEL_OF_TESTS),
    )


def _stopping(entry: Mapping[str, Any]) -> StoppingConditions:
    thresholds = entry.get("ModelLatencyThresholds") or []
    latency = None
    if thresholds:
        percentile = thresholds[0]["Percentile"]
        quantile = parse_percentile(percentile)
        assert quantile is not None  # validated
        latency = LatencyThreshold(percentile, quantile, thresholds[0]["ValueInMilliseconds"])
    return StoppingConditions(
        max_invocations=entry.get("MaxInvocations"),
        latency=latency,
        flat_invocations=entry.get("FlatInvocations", limits.DEFAULT_FLAT_INVOCATIONS),
    )


def _payload(entry: Mapping[str, Any]) -> PayloadConfig:
    return PayloadConfig(
        sample_payload_url=entry.get("SamplePayloadUrl"),
        content_types=tuple(entry.get("SupportedContentTypes", [])),
    )
