"""Rules of a custom load test that no schema states (layer 3 of validation).

A traffic pattern is needed and its phases need their three numbers; AWS's
phase-boundary jump and job-duration rules (AWS mode); the ceilings that hold in both
modes; endpoint configurations or endpoints, not both; content types a header can
carry; latency percentiles. Each rule reads only what the earlier layers let through
and reports with the field's dotted path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from loadrec.engine.job import limits
from loadrec.engine.job.cases import range_problems
from loadrec.engine.job.headers import content_type_problem
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.problems import Problem, is_int, show
from loadrec.shapes.schedule import (
    Phase,
    Stairs,
    TrafficPattern,
    pattern_duration_s,
    pattern_peak_users,
    phase_end_users,
)


def load_test_problems(request: Mapping[str, Any], mode: LimitsMode) -> list[Problem]:
    found: list[Problem] = []
    if request.get("JobType") == "Default":
        found.append(Problem("JobType", '"Default" is not supported: loadrec runs custom load tests ("Advanced")'))
    config = request.get("InputConfig")
    if isinstance(config, dict):
        found += _traffic_problems(config, mode)
        found += _endpoint_problems(config)
        found += range_problems(config.get("EndpointConfigurations"))
        found += _content_type_problems(config)
    stopping = request.get("StoppingConditions")
    if isinstance(stopping, dict):
        found += _threshold_problems(stopping, mode)
    return found


def _traffic_problems(config: Mapping[str, Any], mode: LimitsMode) -> list[Problem]:
    base = "InputConfig.TrafficPattern"
    pattern = config.get("TrafficPattern")
    if pattern is None:
        return [Problem(base, "is required for a load test (TrafficType PHASES or STAIRS)")]
    if not isinstance(pattern, dict):
        return []
    kind = pattern.get("TrafficType")
    if kind is None:
        return [Problem(f"{base}.TrafficType", "is required (PHASES or STAIRS)")]
    if kind not in ("PHASES", "STAIRS"):
        return []  # the enum check reported it
    own, other = ("Phases", "Stairs") if kind == "PHASES" else ("Stairs", "Phases")
    found: list[Problem] = []
    if other in pattern:
        found.append(Problem(f"{base}.{other}", f"is not allowed with TrafficType {kind} (use {own})"))
    if own not in pattern:
        return [*found, Problem(f"{base}.{own}", f"is required with TrafficType {kind}")]
    if kind == "PHASES":
        found += _phases_problems(pattern["Phases"], config.get("JobDurationInSeconds"), mode)
    else:
        found += _stairs_problems(pattern["Stairs"], config.get("JobDurationInSeconds"), mode)
    return found


_PHASE_FIELDS = ("InitialNumberOfUsers", "SpawnRate", "DurationInSeconds")
_STAIRS_FIELDS = ("DurationInSeconds", "NumberOfSteps", "UsersPerStep")


def _phases_problems(phases: Any, job_duration: Any, mode: LimitsMode) -> list[Problem]:
    if not isinstance(phases, list):
        return []
    base = limits.PHASES
    found: list[Problem] = []
    complete: list[tuple[int, int, int]] = []
    for index, phase in enumerate(phases):
        if not isinstance(phase, dict):
            continue
        missing = [f for f in _PHASE_FIELDS if f not in phase]
        found += [Problem(f"{base}[{index}].{f}", "is required") for f in missing]
        values = [v for v in (phase.get(f) for f in _PHASE_FIELDS) if is_int(v)]
        if len(values) == len(_PHASE_FIELDS):
            complete.append((values[0], values[1], values[2]))
    if mode is LimitsMode.AWS and len(complete) == len(phases):
        jump = limits.PHASE_BOUNDARY_MAX_USER_JUMP
        for index in range(1, len(complete)):
            before = phase_end_users(*complete[index - 1])
            start = complete[index][0]
            if abs(start - before) > jump:
                found.append(
                    Problem(
                        f"{base}[{index}].InitialNumberOfUsers",
                        f"{start} is {abs(start - before)} users away from the {before} users at the end of "
                        f"Phases[{index - 1}]; AWS allows a change of at most {jump} between phases "
                        f"({limits.RELAXED_HINT})",
                    )
                )
        found += _job_duration_problems(sum(p[2] for p in complete), job_duration, mode)
    if len(complete) == len(phases) and complete:
        pattern = TrafficPattern("PHASES", phases=tuple(Phase(*p) for p in complete))
        found += _ceiling_problems(base, pattern)
    return found


def _stairs_problems(stairs: Any, job_duration: Any, mode: LimitsMode) -> list[Problem]:
    if not isinstance(stairs, dict):
        return []
    base = limits.STAIRS
    missing = [f for f in _STAIRS_FIELDS if f not in stairs]
    found = [Problem(f"{base}.{f}", "is required") for f in missing]
    duration, steps = stairs.get("DurationInSeconds"), stairs.get("NumberOfSteps")
    if is_int(duration) and is_int(steps) and steps > duration >= 1:
        # Locust moves users once a second at best; a step shorter than that never shows.
        found.append(
            Problem(
                f"{base}.NumberOfSteps",
                f"{steps} steps over {duration} s makes steps shorter than 1 s (at most {duration} steps)",
            )
        )
    if is_int(duration):
        found += _job_duration_problems(duration, job_duration, mode)
    values = [v for v in (stairs.get(f) for f in _STAIRS_FIELDS) if is_int(v)]
    if len(values) == len(_STAIRS_FIELDS):
        found += _ceiling_problems(base, TrafficPattern("STAIRS", stairs=Stairs(*values)))
    return found


def _ceiling_problems(base: str, pattern: TrafficPattern) -> list[Problem]:
    """The ceilings that hold in both modes (computed, never by listing the steps)."""
    found: list[Problem] = []
    if (duration := pattern_duration_s(pattern)) > limits.MAX_PATTERN_S:
        found.append(
            Problem(
                base, f"lasts {show(duration)} s; a traffic pattern lasts at most {limits.MAX_PATTERN_S} s (7 days)"
            )
        )
    if (peak := pattern_peak_users(pattern)) > limits.MAX_PEAK_USERS:
        found.append(Problem(base, f"peaks at {show(peak)} users; at most {limits.MAX_PEAK_USERS} users are allowed"))
    return found


def _job_duration_problems(pattern_s: int, job_duration: Any, mode: LimitsMode) -> list[Problem]:
    if mode is LimitsMode.AWS and is_int(job_duration) and 1 <= job_duration < pattern_s:
        return [
            Problem(
                "InputConfig.JobDurationInSeconds",
                f"{job_duration} is shorter than the traffic pattern's {pattern_s} s; AWS requires "
                f"the pattern to fit in the job ({limits.RELAXED_HINT})",
            )
        ]
    return []


def _endpoint_problems(config: Mapping[str, Any]) -> list[Problem]:
    configurations, endpoints = config.get("EndpointConfigurations"), config.get("Endpoints")
    if configurations is None and not endpoints:
        return [
            Problem(
                "InputConfig.EndpointConfigurations",
                "is required (or InputConfig.Endpoints, to test an existing endpoint)",
            )
        ]
    if configurations is not None and endpoints:
        return [Problem("InputConfig.Endpoints", "is not allowed together with InputConfig.EndpointConfigurations")]
    found: list[Problem] = []
    for index, entry in enumerate(configurations if isinstance(configurations, list) else []):
        if isinstance(entry, dict):
            given = [k for k in ("InstanceType", "ServerlessConfig") if k in entry]
            if len(given) != 1:
                found.append(
                    Problem(
                        f"InputConfig.EndpointConfigurations[{index}]",
                        "needs exactly one of InstanceType or ServerlessConfig"
                        + (" (both given)" if len(given) == 2 else ""),
                    )
                )
    for index, entry in enumerate(endpoints if isinstance(endpoints, list) else []):
        if isinstance(entry, dict) and not entry.get("EndpointName"):
            found.append(Problem(f"InputConfig.Endpoints[{index}].EndpointName", "is required"))
    return found


PERCENTILE = re.compile(r"P([0-9]{1,2}(?:\.[0-9]+)?)")  # ASCII digits: \d takes "P٩٥" too


def _content_type_problems(config: Mapping[str, Any]) -> list[Problem]:
    """Content types are sent as the Content-Type header: botocore's model allows any text."""
    container = config.get("ContainerConfig")
    payload = container.get("PayloadConfig") if isinstance(container, dict) else None
    types = payload.get("SupportedContentTypes") if isinstance(payload, dict) else None
    path = "InputConfig.ContainerConfig.PayloadConfig.SupportedContentTypes"
    return [
        Problem(f"{path}[{index}]", f"{show(value)} {problem}")
        for index, value in enumerate(types if isinstance(types, list) else [])
        # A line break already fails the model's pattern ".*": one line per problem.
        if isinstance(value, str) and "\n" not in value and (problem := content_type_problem(value))
    ]


def _threshold_problems(stopping: Mapping[str, Any], mode: LimitsMode) -> list[Problem]:
    thresholds = stopping.get("ModelLatencyThresholds")
    found: list[Problem] = []
    for index, entry in enumerate(thresholds if isinstance(thresholds, list) else []):
        if not isinstance(entry, dict):
            continue
        base = f"StoppingConditions.ModelLatencyThresholds[{index}]"
        found += [
            Problem(f"{base}.{f}", "is required") for f in ("Percentile", "ValueInMilliseconds") if f not in entry
        ]
        percentile = entry.get("Percentile")
        if not isinstance(percentile, str):
            continue
        if mode is LimitsMode.AWS and percentile not in limits.AWS_PERCENTILES:
            allowed = " or ".join(limits.AWS_PERCENTILES)
            found.append(Problem(f"{base}.Percentile", f"{show(percentile)} is not {allowed} ({limits.RELAXED_HINT})"))
        elif mode is LimitsMode.RELAXED and parse_percentile(percentile) is None:
            found.append(Problem(f"{base}.Percentile", f"{show(percentile)} is not P<number> between P0 and P100"))
    return found


def parse_percentile(text: str) -> float | None:
    """``"P95"`` → 95.0; ``None`` unless it names a percentile strictly between 0 and 100."""
    match = PERCENTILE.fullmatch(text)
    if match is None:
        return None
    value = float(match.group(1))
    return value if 0 < value < 100 else None
