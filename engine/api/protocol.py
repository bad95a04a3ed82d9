"""SageMaker's JSON protocol as the server speaks it: the operation named by ``X-Amz-Target``, the body
checked against botocore's model, and answers and errors in the shapes botocore's parser expects.

A response is rendered through the operation's output shape: members the shape does not
have are left out (AWS sends none) and timestamps become epoch seconds, as AWS's JSON
protocol writes them, whatever form the results files keep them in. Errors are
``{"__type": CODE, "message": TEXT}`` with HTTP 400, from which boto3's ClientError
takes its code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.model import OperationModel, Shape
from botocore.utils import parse_timestamp

from loadrec.engine.job.files import JobFileError, parse_json
from loadrec.engine.job.limits import RELAXED_HINT
from loadrec.engine.job.problems import SHOWN_CHARACTERS, Problem, show
from loadrec.engine.job.validation import check_input, service_model

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "SageMaker."
MAX_BODY_BYTES = 1024 * 1024  # a CreateInferenceRecommendationsJob request is a few KB


class ApiError(Exception):
    """An error answer: AWS's code, one message, the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> dict[str, str]:
        return {"__type": self.code, "message": self.message}


# A message is one line, as AWS's are: past this many characters the problems not yet said are counted,
# not listed (the caller fixes the first and is told the rest). A dozen problems of loadrec's longest
# wording fit.
MAX_MESSAGE = 4000


def validation_error(problems: list[Problem], request: Mapping[str, Any] | None = None) -> ApiError:
    """A ValidationException worded as AWS words it, every problem in one message::

        2 validation errors detected: Value '60' at 'inputConfig.trafficPattern.phases.1.member.spawnRate'
        failed to satisfy constraint: 60 is above the AWS limit of 20; Value null at ...

    AWS's member paths (lower camel case, lists counted from 1 with ``.member``) and the value
    found there in ``request``; the constraint is loadrec's own words, less what only the
    server's operator can act on (a command-line flag). Past MAX_MESSAGE characters the rest are counted."""
    said = [aws_constraint(problem, request or {}) for problem in problems]
    count = len(said)
    text = f"{count} validation error{'s' if count != 1 else ''} detected: {said[0] if said else ''}"
    for index, constraint in enumerate(said[1:], start=1):
        if len(text) + len(constraint) + 2 > MAX_MESSAGE - 20:  # room left for the "and N more" said next
            text += f"; and {count - index} more"
            break
        text += f"; {constraint}"
    return ApiError("ValidationException", text if len(text) < MAX_MESSAGE else f"{text[: MAX_MESSAGE - 2]}…")


def aws_constraint(problem: Problem, request: Mapping[str, Any]) -> str:
    message = problem.message.replace(f" ({RELAXED_HINT})", "").replace(RELAXED_HINT, "")
    message = " ".join(message.split())  # one line, whatever a value held
    if message == "is required":
        message = "Member must not be null"  # AWS's words
    if not problem.path:
        return message
    found, value = _value_at(request, problem.path)
    shown = "null" if not found or value is None else f"'{_java_text(value)}'"
    if found and message.startswith(show(value)):  # the value is said once, where AWS says it
        message = message[len(show(value)) :].lstrip(": ")
    if message.split(" ", 1)[0] in _VERBS:
        message = f"Member {message}"
    return f"Value {shown} at '{aws_path(problem.path)}' failed to satisfy constraint: {message}"


_VERBS = frozenset({"is", "are", "does", "must", "has", "holds", "lasts", "peaks", "needs", "names", "entries"})


_SEGMENT = re.compile(r"\.?([A-Za-z0-9_-]+)|\[([0-9]+)\]|\[(\"(?:[^\"\\]|\\.)*\"[^\]]*)\]")


def aws_path(path: str) -> str:
    """``InputConfig.TrafficPattern.Phases[0].SpawnRate`` as AWS writes it:
    ``inputConfig.trafficPattern.phases.1.member.spawnRate``."""
    parts = []
    for name, index, quoted in _SEGMENT.findall(path):
        if index:
            parts.append(f"{int(index) + 1}.member")
        else:
            text = name or quoted
            parts.append(text[:1].lower() + text[1:])
    return ".".join(parts) or path


def _value_at(request: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = request
    for name, index, _quoted in _SEGMENT.findall(path):
        if index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        elif name and isinstance(value, Mapping) and name in value:
            value = value[name]
        else:
            return False, None
    return True, value


def _java_text(value: Any) -> str:
    """A value as AWS's messages show one (text as it is, the rest as JSON), shortened, on one line."""
    text = value if isinstance(value, str) else show(value)
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
    return text if len(text) <= SHOWN_CHARACTERS else f"{text[: SHOWN_CHARACTERS - 1]}…"


def not_found(message: str) -> ApiError:
    return ApiError("ResourceNotFound", message)


def operation(target: str | None, served: Mapping[str, object]) -> OperationModel:
    """The operation an ``X-Amz-Target`` header names, if this server serves it."""
    name = (target or "").removeprefix(TARGET_PREFIX)
    if not target or not target.startswith(TARGET_PREFIX) or name not in served:
        raise ApiError("UnknownOperationException", f"this server serves only: {', '.join(served)}")
    return service_model().operation_model(name)


def read_params(body: bytes, model: OperationModel) -> dict[str, Any]:
    """The request's parameters, checked against the operation's input shape; raises ApiError."""
    if len(body) > MAX_BODY_BYTES:
        raise ApiError("ValidationException", f"the request body is larger than {MAX_BODY_BYTES // 1024} KiB")
    try:
        params = parse_json(body.decode("utf-8"), "request body") if body.strip() else {}
    except (JobFileError, UnicodeDecodeError) as error:
        raise ApiError("SerializationException", str(error).splitlines()[0]) from None
    if not isinstance(params, dict):
        raise ApiError("SerializationException", "request body: expected a JSON object")
    if model.name != "CreateInferenceRecommendationsJob":  # checked whole, with the job's own rules, later
        params = _parsed_timestamps(params, model.input_shape)
        problems = check_input(params, model.input_shape)
        if problems:
            raise validation_error(problems, params)
    return params


def _parsed_timestamps(params: dict[str, Any], shape: Shape) -> dict[str, Any]:
    """Top-level timestamps as datetimes (the wire carries epoch seconds; ISO 8601 text is taken too)."""
    out = dict(params)
    problems = []
    for name, member in shape.members.items():
        value = out.get(name)
        if member.type_name != "timestamp" or value is None:
            continue
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError
            out[name] = parse_timestamp(value)
            out[name].timestamp()  # a date outside what the platform can count in seconds fails here
        except (ValueError, TypeError, OverflowError, OSError, RuntimeError):
            problems.append(Problem(name, f"{show(value)} is not a timestamp (epoch seconds or ISO 8601)"))
    if problems:
        raise validation_error(problems, params)
    return out


def to_wire(value: Any, shape: Shape | None) -> Any:
    """``value`` as AWS sends it for ``shape``: only the shape's members, timestamps in epoch seconds."""
    if shape is None:
        return {}
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        return {
            key: to_wire(item, shape.members[key])
            for key, item in value.items()
            if key in shape.members and item is not None
        }
    if kind == "list" and isinstance(value, list | tuple):
        return [to_wire(item, shape.member) for item in value]
    if kind == "map" and isinstance(value, Mapping):
        return {key: to_wire(item, shape.value) for key, item in value.items()}
    if kind == "timestamp":
        return _epoch_seconds(value)
    return value


def _epoch_seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return round(value.timestamp(), 3)
    if isinstance(value, str):
        return round(datetime.fromisoformat(value).timestamp(), 3)
    return round(float(value), 3)
