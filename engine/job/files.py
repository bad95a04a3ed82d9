"""Reading a job: a JSON request file, or the AWS CLI's own flags.

Both forms produce the same request dict (boto3's CreateInferenceRecommendationsJob
kwargs). Everything that can go wrong before validation (a missing file, bad JSON,
a wrong top-level type) becomes a ``JobFileError`` with one line a person can act on.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.problems import join
from loadrec.engine.job.spec import JobSpec, parse_job

FILE_PREFIX = "file://"
MAX_JOB_BYTES = 1024 * 1024  # a job file of AWS's request is a few KB; this bounds what is read
MAX_NESTING = 32  # the request nests 6 levels deep; deeper input is refused before anything walks it

# AWS CLI flag → request key, in the order `aws sagemaker create-inference-recommendations-job` lists them.
CLI_TEXT_FLAGS = {
    "job_name": "JobName",
    "job_type": "JobType",
    "role_arn": "RoleArn",
    "job_description": "JobDescription",
}
CLI_JSON_FLAGS = {
    "input_config": "InputConfig",
    "stopping_conditions": "StoppingConditions",
    "output_config": "OutputConfig",
    "tags": "Tags",
}


class JobFileError(Exception):
    """The job could not be read; the message is one line naming the file or flag."""


def read_request(path: str) -> dict[str, Any]:
    """The request held in the JSON file at ``path`` (``file://`` prefix allowed)."""
    value = parse_json(read_text(path), path)
    if not isinstance(value, dict):
        raise JobFileError(
            f"{path}: the job must be a JSON object (the CreateInferenceRecommendationsJob request), "
            f"not {json_kind(value)}"
        )
    return value


def request_from_cli_flags(flags: dict[str, str | None], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build a request from AWS CLI flags (``--input-config file://…`` or inline JSON).

    ``base`` is a request read from ``--cli-input-json``; flags given override its keys,
    as in the AWS CLI.
    """
    request = dict(base or {})
    for flag, key in CLI_TEXT_FLAGS.items():
        if flags.get(flag) is not None:
            request[key] = flags[flag]
    for flag, key in CLI_JSON_FLAGS.items():
        text = flags.get(flag)
        if text is not None:
            request[key] = json_argument(text, "--" + flag.replace("_", "-"))
    return request


def json_argument(text: str, flag: str) -> Any:
    """A JSON-valued CLI argument: inline JSON, or ``file://PATH`` as the AWS CLI takes it."""
    if text.startswith(FILE_PREFIX):
        return parse_json(read_text(text), text)
    return parse_json(text, flag)


def load_job(path: str, mode: LimitsMode = LimitsMode.AWS) -> JobSpec:
    """Read and validate the job file at ``path`` (raises JobFileError or JobSpecError)."""
    return parse_job(read_request(path), mode)


def read_text(path: str) -> str:
    """A regular file of at most MAX_JOB_BYTES, as UTF-8 text (never a device, a FIFO or a directory)."""
    file = Path(path.removeprefix(FILE_PREFIX))
    try:
        kind = file.stat().st_mode
        if stat.S_ISDIR(kind):
            raise JobFileError(f"{path}: is a directory, expected a JSON job file")
        if not stat.S_ISREG(kind):
            raise JobFileError(f"{path}: not a regular file (a device, a pipe or a socket), expected a JSON job file")
        with file.open("rb") as stream:
            data = stream.read(MAX_JOB_BYTES + 1)
    except FileNotFoundError:
        raise JobFileError(f"{path}: no such file") from None
    except OSError as error:
        raise JobFileError(f"{path}: cannot read it ({error.strerror})") from None
    if len(data) > MAX_JOB_BYTES:
        raise JobFileError(f"{path}: larger than {MAX_JOB_BYTES // 1024} KiB, the most a job file may hold")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JobFileError(f"{path}: not UTF-8 text (byte {error.start})") from None


class FileRefused(ValueError):
    """A file ``read_regular`` does not read; ``unreadable``: the system refused it (its words are the message)."""

    def __init__(self, reason: str, unreadable: bool = False) -> None:
        super().__init__(reason)
        self.unreadable = unreadable


def read_regular(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes, at most ``max_bytes`` (a FIFO would block the open, a device never end);
    raises FileRefused saying why not."""
    try:
        kind = path.stat().st_mode
        if stat.S_ISDIR(kind):
            raise FileRefused("is a directory")
        if not stat.S_ISREG(kind):
            raise FileRefused("not a regular file (a device, a pipe or a socket)")
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as error:
        raise FileRefused(error.strerror or type(error).__name__, unreadable=True) from None
    if len(data) > max_bytes:
        raise FileRefused(f"larger than {max_bytes // 1024} KiB")
    return data


def parse_json(text: str, source: str) -> Any:
    """Strict JSON (no NaN or Infinity), at most MAX_NESTING levels deep."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_int=_bounded_int)
    except json.JSONDecodeError as error:
        raise JobFileError(
            f"{source}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise JobFileError(f"{source}: nested more than {MAX_NESTING} levels deep") from None
    except _NotFinite:
        raise JobFileError(f"{source}: {_constants_named(text)}") from None
    if _depth(value) > MAX_NESTING:
        raise JobFileError(f"{source}: nested more than {MAX_NESTING} levels deep")
    return value


class _NotFinite(ValueError):
    """NaN, Infinity or -Infinity, which Python's JSON reads and JSON has not."""


class _Constant(str):
    """Where such a constant was, when the text is read again to name its field."""


def _refuse_constant(name: str) -> Any:
    raise _NotFinite(name)


# Beyond this many digits Python will not convert an integer (and no field takes one): refused, and named.
MAX_INTEGER_DIGITS = 4300


def _bounded_int(digits: str) -> int:
    if (count := len(digits.lstrip("-"))) > MAX_INTEGER_DIGITS:
        raise _NotFinite(f"an integer of {count:,} digits")
    return int(digits)


def _marked_int(digits: str) -> int | _Constant:
    try:
        return _bounded_int(digits)
    except _NotFinite as huge:
        return _Constant(str(huge))


def _constants_named(text: str) -> str:
    """The first field holding NaN, Infinity or an integer too long to read (the text read again, each kept
    as a marker)."""
    found: list[tuple[str, str]] = []
    try:
        read = json.loads(text, parse_constant=_Constant, parse_int=_marked_int)
        pending: list[tuple[str, Any]] = [("", read)]
    except (ValueError, RecursionError):  # broken further on: the constant is what is said
        pending = []
    while pending:
        path, item = pending.pop(0)  # outer fields first: the first one found is named
        if isinstance(item, _Constant):
            found.append((path or "the document", str(item)))
        elif isinstance(item, dict):
            pending += [(join(path, str(key)), child) for key, child in item.items()]
        elif isinstance(item, list):
            pending += [(f"{path}[{index}]", child) for index, child in enumerate(item)]
    if not found:
        return "NaN or Infinity is not a JSON number (only finite numbers are)"
    where, name = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    if name.startswith("an integer"):
        return f"{where}: {name} is too long to be read (at most {MAX_INTEGER_DIGITS:,}){more}"
    return f"{where}: {name} is not a JSON number (only finite numbers are){more}"


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (without recursion)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level <= MAX_NESTING:
            pending.extend((child, level + 1) for child in children)
    return deepest


def json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
