"""Validation of a CreateInferenceRecommendationsJob request, every problem at once.

Three layers, each adding only what the one before skips:
1. botocore's ParamValidator against the service model: structure, unknown fields,
   types, required members and minimums (the schema is never copied by hand).
2. A walk over the same model for what botocore skips: maximums, enums, patterns,
   plus the documented AWS limits of :mod:`loadrec.engine.job.limits` (per ``LimitsMode``).
3. Rules of a custom load test that no schema states (a traffic pattern is needed,
   phases need their three numbers, the phase-boundary jump, …).

Each problem carries the dotted path of the field, e.g.
``InputConfig.TrafficPattern.Phases[0].SpawnRate``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, TypeGuard

import botocore.session
import regex  # botocore's patterns are Java regexes with \p{L}-style classes
from botocore.model import Shape
from botocore.validate import ParamValidator

from loadrec.engine.job import limits
from loadrec.engine.job.limits import LimitsMode, Range
from loadrec.shapes.schedule import phase_end_users

OPERATION = "CreateInferenceRecommendationsJob"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the request, at one field."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@lru_cache(maxsize=1)
def request_shape() -> Shape:
    """The input shape of CreateInferenceRecommendationsJob from botocore's model."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model(OPERATION).input_shape


def check_request(request: Mapping[str, Any], mode: LimitsMode) -> list[Problem]:
    """Every problem with ``request`` (an empty list when it is valid)."""
    shape = request_shape()
    problems = list(_botocore_problems(request, shape))
    problems += _model_problems(request, shape, "", mode)
    problems += _load_test_problems(request, mode)
    return problems


# --- layer 1: botocore -------------------------------------------------------------

_JSON_TYPE_NAMES = {
    "<class 'str'>": "a string",
    "<class 'int'>": "an integer",
    "<class 'float'>": "a number",
    "<class 'decimal.Decimal'>": "a number",
    "<class 'bool'>": "a boolean",
    "<class 'dict'>": "an object",
    "<class 'list'>": "an array",
    "<class 'tuple'>": "an array",
}


def _botocore_problems(request: Mapping[str, Any], shape: Shape) -> Iterator[Problem]:
    report = ParamValidator().validate(dict(request), shape)
    # botocore keeps the structured errors in a private list and offers only a joined
    # text report; the structured form gives us paths and values to phrase our own.
    for reason, name, info in report._errors:
        path = name.lstrip(".")
        if reason == "missing required field":
            field = _join(path, info["required_name"])
            if field not in limits.SELF_HOSTED_OPTIONAL:
                yield Problem(field, "is required")
        elif reason == "unknown field":
            allowed = ", ".join(info["valid_names"])
            yield Problem(_join(path, info["unknown_param"]), f"unknown field (allowed here: {allowed})")
        elif reason == "invalid type":
            expected = " or ".join(dict.fromkeys(_JSON_TYPE_NAMES.get(t, t) for t in info["valid_types"]))
            yield Problem(path, f"{show(info['param'])} is {_json_type(info['param'])}, expected {expected}")
        elif reason == "invalid range":
            yield Problem(path, f"{show(info['param'])} is below the minimum of {info['min_allowed']}")
        elif reason == "invalid length":
            yield Problem(path, f"length {info['param']} is below the minimum of {info['min_allowed']}")
        else:  # pragma: no cover - reasons this operation's model cannot produce
            yield Problem(path, reason)


# --- layer 2: what botocore skips --------------------------------------------------


def _model_problems(value: Any, shape: Shape, path: str, mode: LimitsMode) -> list[Problem]:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        found: list[Problem] = []
        for key, item in value.items():
            if key in shape.members:
                found += _model_problems(item, shape.members[key], _join(path, key), mode)
        return found
    if kind == "list" and isinstance(value, list):
        found = _count_problems(len(value), shape, path, mode)
        for index, item in enumerate(value):
            found += _model_problems(item, shape.member, f"{path}[{index}]", mode)
        return found
    if kind == "string" and isinstance(value, str):
        return _string_problems(value, shape, path)
    if kind in ("integer", "long"):
        if isinstance(value, bool):  # JSON true/false pass botocore's int check
            return [Problem(path, f"{show(value)} is a boolean, expected an integer")]
        if isinstance(value, int):
            return _integer_problems(value, shape, path, mode)
    return []


def _count_problems(count: int, shape: Shape, path: str, mode: LimitsMode) -> list[Problem]:
    aws = limits.AWS_LIMITS.get(_generic(path))
    if aws is not None:
        # A documented limit replaces the model's bounds for this list.
        if mode is LimitsMode.AWS and aws.maximum is not None and count > aws.maximum:
            return [Problem(path, f"{count} entries is above the AWS limit of {aws.maximum} ({limits.RELAXED_HINT})")]
        return []
    maximum = shape.metadata.get("max")
    if maximum is not None and count > maximum:
        return [Problem(path, f"{count} entries is above the maximum of {maximum}")]
    return []


def _string_problems(value: str, shape: Shape, path: str) -> list[Problem]:
    meta = shape.metadata
    if "max" in meta and len(value) > meta["max"]:
        return [Problem(path, f"length {len(value)} is above the maximum of {meta['max']}")]
    if "enum" in meta and value not in meta["enum"]:
        return [Problem(path, f"{show(value)} is not one of: {', '.join(meta['enum'])}")]
    if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
        return [Problem(path, f"{show(value)} does not match the pattern {meta['pattern']}")]
    return []


def _integer_problems(value: int, shape: Shape, path: str, mode: LimitsMode) -> list[Problem]:
    generic = _generic(path)
    model_min = shape.metadata.get("min")
    if model_min is not None and value < model_min:
        return []  # botocore already reported it
    semantic_min = limits.SEMANTIC_MINIMUMS.get(generic)
    if semantic_min is not None and value < semantic_min:
        return [Problem(path, f"{value} is below the minimum of {semantic_min}")]
    aws = limits.AWS_LIMITS.get(generic)
    if mode is LimitsMode.RELAXED:
        return []
    if aws is None:
        aws = Range(maximum=shape.metadata.get("max"))
    return _aws_range_problems(value, aws, path)


def _aws_range_problems(value: int, allowed: Range, path: str) -> list[Problem]:
    hint = limits.RELAXED_HINT
    if allowed.minimum is not None and value < allowed.minimum:
        return [Problem(path, f"{value} is below the AWS limit of {allowed.minimum} ({hint})")]
    if allowed.maximum is not None and value > allowed.maximum:
        return [Problem(path, f"{value} is above the AWS limit of {allowed.maximum} ({hint})")]
    if allowed.multiple_of is not None and value % allowed.multiple_of:
        return [Problem(path, f"{value} is not a multiple of {allowed.multiple_of}, as AWS requires ({hint})")]
    return []


@cache
def _pattern(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


# --- layer 3: rules of a custom load test ------------------------------------------


def _load_test_problems(request: Mapping[str, Any], mode: LimitsMode) -> list[Problem]:
    found: list[Problem] = []
    if request.get("JobType") == "Default":
        found.append(Problem("JobType", '"Default" is not supported: loadrec runs custom load tests ("Advanced")'))
    config = request.get("InputConfig")
    if isinstance(config, dict):
        found += _traffic_problems(config, mode)
        found += _endpoint_problems(config)
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
        values = [v for v in (phase.get(f) for f in _PHASE_FIELDS) if _is_int(v)]
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
    return found


def _stairs_problems(stairs: Any, job_duration: Any, mode: LimitsMode) -> list[Problem]:
    if not isinstance(stairs, dict):
        return []
    base = limits.STAIRS
    missing = [f for f in _STAIRS_FIELDS if f not in stairs]
    found = [Problem(f"{base}.{f}", "is required") for f in missing]
    duration, steps = stairs.get("DurationInSeconds"), stairs.get("NumberOfSteps")
    if _is_int(duration) and _is_int(steps) and steps > duration >= 1:
        # Locust moves users once a second at best; a step shorter than that never shows.
        found.append(
            Problem(
                f"{base}.NumberOfSteps",
                f"{steps} steps over {duration} s makes steps shorter than 1 s (at most {duration} steps)",
            )
        )
    if _is_int(duration):
        found += _job_duration_problems(duration, job_duration, mode)
    return found


def _job_duration_problems(pattern_s: int, job_duration: Any, mode: LimitsMode) -> list[Problem]:
    if mode is LimitsMode.AWS and _is_int(job_duration) and 1 <= job_duration < pattern_s:
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


_PERCENTILE = re.compile(r"P(\d{1,2}(?:\.\d+)?)")


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
    match = _PERCENTILE.fullmatch(text)
    if match is None:
        return None
    value = float(match.group(1))
    return value if 0 < value < 100 else None


# --- helpers -----------------------------------------------------------------------


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def _generic(path: str) -> str:
    """``Phases[2].SpawnRate`` → ``Phases[].SpawnRate``, the key of the limits table."""
    return re.sub(r"\[\d+\]", "[]", path)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


SHOWN_CHARACTERS = 80  # an echoed value is cut to this: a 1 MB string must not make a 1 MB error line


def show(value: Any) -> str:
    """``value`` as the job file spells it, shortened for an error line."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) <= SHOWN_CHARACTERS:
        return text
    return f"{text[: SHOWN_CHARACTERS - 1]}… ({len(text)} characters)"


def _json_type(value: Any) -> str:
    return _JSON_TYPE_NAMES.get(str(type(value)), type(value).__name__)
