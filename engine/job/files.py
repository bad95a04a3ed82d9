"""Reading a job: a JSON request file, or the AWS CLI's own flags.

Both forms produce the same request dict (boto3's CreateInferenceRecommendationsJob
kwargs). Everything that can go wrong before validation (a missing file, bad JSON,
a wrong top-level type) becomes a ``JobFileError`` with one line a person can act on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import JobSpec, parse_job

FILE_PREFIX = "file://"

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
    value = _parse_json(_read_text(path), path)
    if not isinstance(value, dict):
        raise JobFileError(
            f"{path}: the job must be a JSON object (the CreateInferenceRecommendationsJob request), "
            f"not {_json_kind(value)}"
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
        return _parse_json(_read_text(text), text)
    return _parse_json(text, flag)


def load_job(path: str, mode: LimitsMode = LimitsMode.AWS) -> JobSpec:
    """Read and validate the job file at ``path`` (raises JobFileError or JobSpecError)."""
    return parse_job(read_request(path), mode)


def _read_text(path: str) -> str:
    file = Path(path.removeprefix(FILE_PREFIX))
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise JobFileError(f"{path}: is a directory, expected a JSON job file") from None
    except UnicodeDecodeError as error:
        raise JobFileError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise JobFileError(f"{path}: cannot read it ({error.strerror})") from None


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise JobFileError(
            f"{source}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
