"""Validation of a CreateInferenceRecommendationsJob request, every problem at once.

Three layers, each adding only what the one before skips:
1. botocore's ParamValidator against the service model: structure, unknown fields,
   types, required members and minimums (the schema is never copied by hand).
2. A walk over the same model for what botocore skips: maximums, enums, patterns,
   plus the documented AWS limits of :mod:`loadrec.engine.job.limits` (per ``LimitsMode``).
   The ``Loadrec`` key's model (:mod:`.loadrec_model`) is walked by these two layers as
   well, with its three traits: ``exclusiveMin``, ``nullable`` and ``meaning``.
3. Rules of a custom load test that no schema states, in :mod:`loadrec.engine.job.rules`
   (a traffic pattern is needed, phases need their three numbers, the phase-boundary
   jump, …).

Each problem carries the dotted path of the field, e.g.
``InputConfig.TrafficPattern.Phases[0].SpawnRate``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import botocore.session
import regex  # botocore's patterns are Java regexes with \p{L}-style classes
from botocore.model import ServiceModel, Shape
from botocore.validate import ParamValidator, ValidationErrors

from loadrec.engine.job import limits
from loadrec.engine.job.limits import LimitsMode, Range
from loadrec.engine.job.problems import Problem, join, one_of, show
from loadrec.engine.job.rules import load_test_problems

OPERATION = "CreateInferenceRecommendationsJob"
MAX_AWS_INTEGER = 2**31 - 1  # the model's "integer" is Java's int


@lru_cache(maxsize=1)
def service_model() -> ServiceModel:
    """SageMaker's service model, as botocore ships it."""
    return botocore.session.get_session().get_service_model("sagemaker")


def request_shape() -> Shape:
    """The input shape of CreateInferenceRecommendationsJob from botocore's model."""
    return service_model().operation_model(OPERATION).input_shape


def check_request(request: Mapping[str, Any], mode: LimitsMode) -> list[Problem]:
    """Every problem with ``request`` (an empty list when it is valid)."""
    problems = check_input(request, request_shape(), mode)
    problems += load_test_problems(request, mode)
    return problems


def check_input(params: Any, shape: Shape, mode: LimitsMode | None = None, path: str = "") -> list[Problem]:
    """Every problem the model finds with ``params``, a value of ``shape`` (an operation's input, or a part
    of the ``Loadrec`` key at ``path``); ``mode`` None: the model's own bounds alone (AWS's documented job
    limits are for a job request)."""
    return [*_botocore_problems(params, shape, path), *_model_problems(params, shape, path, mode)]


# --- layer 1: botocore -------------------------------------------------------------


class _Validator(ParamValidator):
    """botocore's validator from a value at ``path``, with a map's keys named as ``join`` names them
    (botocore writes ``Headers.X Y``, which a key holding a dot or a space makes unreadable), ``null`` let
    through where the model says ``nullable``, and a ``sensitive`` value never echoed: nor a value of the
    wrong type that holds one (a target given as an array may carry its headers)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def validate(self, params: Any, shape: Shape) -> ValidationErrors:
        errors = ValidationErrors()
        self._validate(params, shape, errors, self.path)
        return errors

    def _validate(self, params: Any, shape: Shape, errors: Any, name: str) -> None:
        if params is None and shape.metadata.get("nullable"):
            return
        if shape.metadata.get("sensitive"):
            errors = _Withholding(errors)
        elif _holds_secret(shape):
            errors = _Withholding(errors, only=name)
        super()._validate(params, shape, errors, name)

    def _validate_map(self, params: Any, shape: Any, errors: Any, name: str) -> None:
        if not isinstance(params, dict):
            errors.report(name, "invalid type", param=params, valid_types=[str(dict)])
            return
        for key, value in params.items():
            where = join(name.lstrip("."), key)
            self._validate(key, shape.key, errors, where)
            self._validate(value, shape.value, errors, where)


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


@dataclass(frozen=True)
class _Withheld:
    """A sensitive value in an error: its JSON type said, the value itself never."""

    kind: str


class _Withholding:
    """botocore's error list, each value reported withheld (``only``: those reported at that path alone)."""

    def __init__(self, errors: Any, only: str | None = None) -> None:
        self.errors, self.only = errors, only

    def report(self, name: str, reason: str, **info: Any) -> None:
        mine = self.only is None or name == self.only
        if mine and info.get("param") is not None and reason != "invalid length":  # null and lengths hide nothing
            info["param"] = _Withheld(_json_type(info["param"]))
        self.errors.report(name, reason, **info)


@cache
def _holds_secret(shape: Shape, seen: frozenset[str] = frozenset()) -> bool:
    """Some value under ``shape`` is ``sensitive`` (``seen``: the shapes above, for a recursive one)."""
    if shape.metadata.get("sensitive"):
        return True
    if shape.name in seen:
        return False
    kind, inner = shape.type_name, seen | {shape.name}
    children: list[Any] = (
        list(shape.members.values()) if kind == "structure" and not shape.metadata.get("document")
        else [shape.member] if kind == "list"
        else [shape.key, shape.value] if kind == "map"
        else []
    )  # fmt: skip
    return any(_holds_secret(child, inner) for child in children)


def _botocore_problems(request: Any, shape: Shape, path: str) -> Iterator[Problem]:
    report = _Validator(path).validate(request, shape)
    # botocore keeps the structured errors in a private list and offers only a joined
    # text report; the structured form gives us paths and values to phrase our own.
    for reason, name, info in report._errors:
        path = name.lstrip(".")
        if reason == "missing required field":
            field = join(path, info["required_name"])
            if field not in limits.SELF_HOSTED_OPTIONAL:
                yield Problem(field, "is required")
        elif reason == "unknown field":
            allowed = ", ".join(info["valid_names"])
            yield Problem(join(path, info["unknown_param"]), f"unknown field (allowed here: {allowed})")
        elif reason == "invalid type":
            names = dict.fromkeys(_JSON_TYPE_NAMES.get(t, t) for t in info["valid_types"])
            expected = "a number" if "a number" in names else " or ".join(names)  # an integer is a number
            if info["param"] is None:
                yield Problem(path, f"is null, expected {expected}")
            else:
                yield Problem(path, f"{_shown(info['param'])} is {_json_type(info['param'])}, expected {expected}")
        elif reason == "empty input":
            yield Problem(path, f"needs one of: {', '.join(info['members'])}")
        elif reason == "more than one input":
            yield Problem(path, f"takes only one of: {', '.join(info['members'])}")
        elif reason == "invalid range" and isinstance(info["param"], bool):
            continue  # false below a minimum of 1: the second layer says it is a boolean
        elif reason == "invalid range":
            yield Problem(path, f"{_shown(info['param'])} is below the minimum of {info['min_allowed']}")
        elif reason == "invalid length":
            yield Problem(path, f"length {info['param']} is below the minimum of {info['min_allowed']}")
        else:  # pragma: no cover - reasons this operation's model cannot produce
            yield Problem(path, reason)


# --- layer 2: what botocore skips --------------------------------------------------


def _model_problems(value: Any, shape: Shape, path: str, mode: LimitsMode | None) -> list[Problem]:
    kind = shape.type_name
    found: list[Problem] = []
    if shape.metadata.get("document"):
        return found
    if kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            where = join(path, str(key))
            if isinstance(key, str):
                found += string_problems(key, shape.key, where)
            found += _model_problems(item, shape.value, where, mode)
        return found
    if kind in ("double", "float") and value is not None:
        return _number_problems(value, shape, path)
    if kind == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                found += _model_problems(item, shape.members[key], join(path, key), mode)
        return found
    if kind == "list" and isinstance(value, list):
        found += _count_problems(len(value), shape, path, mode)
        for index, item in enumerate(value):
            found += _model_problems(item, shape.member, f"{path}[{index}]", mode)
        return found
    if kind == "string" and isinstance(value, str):
        return string_problems(value, shape, path)
    if kind in ("integer", "long"):
        if isinstance(value, bool):  # JSON true/false pass botocore's int check
            return [Problem(path, f"{show(value)} is a boolean, expected an integer")]
        if isinstance(value, int):
            return _integer_problems(value, shape, path, mode)
    return []


def _count_problems(count: int, shape: Shape, path: str, mode: LimitsMode | None) -> list[Problem]:
    aws = limits.AWS_LIMITS.get(_generic(path)) if mode is not None else None
    if aws is not None:
        # A documented limit replaces the model's bounds for this list.
        if mode is LimitsMode.AWS and aws.maximum is not None and count > aws.maximum:
            return [Problem(path, f"{count} entries is above the AWS limit of {aws.maximum} ({limits.RELAXED_HINT})")]
        return []
    maximum = shape.metadata.get("max")
    if maximum is not None and count > maximum:
        return [Problem(path, f"{count} entries is above the maximum of {maximum}")]
    return []


def string_problems(value: str, shape: Shape, path: str) -> list[Problem]:
    meta = shape.metadata
    shown = "the value" if meta.get("sensitive") else show(value)
    if "min" in meta and len(value) < meta["min"]:
        return []  # botocore reported it
    if "max" in meta and len(value) > meta["max"]:
        return [Problem(path, f"length {len(value)} is above the maximum of {meta['max']}")]
    if "enum" in meta and value not in meta["enum"]:
        return [Problem(path, f"{shown} is not {one_of(meta['enum'])}")]
    if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
        if "meaning" in meta:
            return [Problem(path, f"{shown} is not {meta['meaning']}")]
        return [Problem(path, f"{shown} does not match the pattern {meta['pattern']}")]
    return []


def _number_problems(value: Any, shape: Shape, path: str) -> list[Problem]:
    """A double's bounds past botocore's minimum: a boolean, a non-finite value, the maximum, an exclusive minimum."""
    meta = shape.metadata
    if isinstance(value, bool):  # JSON true/false pass botocore's number check
        return [Problem(path, f"{show(value)} is a boolean, expected a number")]
    if not isinstance(value, int | float):
        return []  # botocore reported its type
    if isinstance(value, float) and not math.isfinite(value):
        return [Problem(path, f"{show(value)} is not a finite number")]
    if "min" in meta and value < meta["min"]:
        return []  # botocore already reported it
    if meta.get("exclusiveMin") and value == meta["min"]:
        return [Problem(path, f"{show(value)} must be above {_figure(meta['min'])}")]
    if "max" in meta and value > meta["max"]:
        return [Problem(path, f"{show(value)} is above the maximum of {_figure(meta['max'])}")]
    return []


def _figure(bound: float) -> str:
    """A bound as an error line writes it: 3600, 3,600,000, 0.5."""
    return f"{int(bound):,}" if float(bound).is_integer() else f"{bound:,}"


def _integer_problems(value: int, shape: Shape, path: str, mode: LimitsMode | None) -> list[Problem]:
    generic = _generic(path)
    model_min, model_max = shape.metadata.get("min"), shape.metadata.get("max")
    if model_min is not None and value < model_min:
        return []  # botocore already reported it
    if mode is None:
        return (
            [Problem(path, f"{show(value)} is above the maximum of {_figure(model_max)}")]
            if model_max is not None and value > model_max
            else []
        )
    semantic_min = limits.SEMANTIC_MINIMUMS.get(generic)
    if semantic_min is not None and value < semantic_min:
        return [Problem(path, f"{show(value)} is below the minimum of {semantic_min}")]
    aws = limits.AWS_LIMITS.get(generic)
    if mode is LimitsMode.RELAXED:
        return []
    if aws is None:  # AWS's integers are 32-bit: a larger one never reaches its service
        aws = Range(maximum=shape.metadata.get("max", MAX_AWS_INTEGER if shape.type_name == "integer" else None))
    return _aws_range_problems(value, aws, path)


def _aws_range_problems(value: int, allowed: Range, path: str) -> list[Problem]:
    hint = limits.RELAXED_HINT
    if allowed.minimum is not None and value < allowed.minimum:
        return [Problem(path, f"{show(value)} is below the AWS limit of {allowed.minimum} ({hint})")]
    if allowed.maximum is not None and value > allowed.maximum:
        return [Problem(path, f"{show(value)} is above the AWS limit of {allowed.maximum} ({hint})")]
    if allowed.multiple_of is not None and value % allowed.multiple_of:
        return [Problem(path, f"{show(value)} is not a multiple of {allowed.multiple_of}, as AWS requires ({hint})")]
    return []


@cache
def _pattern(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


# --- helpers -----------------------------------------------------------------------


def _generic(path: str) -> str:
    """``Phases[2].SpawnRate`` → ``Phases[].SpawnRate``, the key of the limits table."""
    return re.sub(r"\[\d+\]", "[]", path)


def _json_type(value: Any) -> str:
    if isinstance(value, _Withheld):
        return value.kind
    return _JSON_TYPE_NAMES.get(str(type(value)), type(value).__name__)


def _shown(value: Any) -> str:
    return "the value" if isinstance(value, _Withheld) else show(value)
