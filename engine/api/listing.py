"""ListInferenceRecommendationsJobs and ListInferenceRecommendationsJobSteps: filters, order and pages.

Pure functions of the stored jobs (or a job's steps) and the request's parameters.
A job page's NextToken holds the sort key of the page's last job, so the next page starts
right after it even when jobs were created in between; a steps page's token holds the
job name and an offset (a job's steps never change order). Tokens are opaque to callers
and checked when they come back: a token from elsewhere is a ValidationException.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from loadrec.engine.api.protocol import ApiError
from loadrec.engine.api.store import JobRecord

DEFAULT_MAX_RESULTS = 100
SORT_KEYS: dict[str, Callable[[JobRecord], Any]] = {
    "Name": lambda r: r.name,
    "CreationTime": lambda r: r.created,
    "Status": lambda r: r.status,
}


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _matches(record: JobRecord, params: dict[str, Any]) -> bool:
    config = record.request.get("InputConfig", {})
    checks = (
        ("CreationTimeAfter", lambda v: record.created > _epoch(v)),
        ("CreationTimeBefore", lambda v: record.created < _epoch(v)),
        ("LastModifiedTimeAfter", lambda v: record.modified > _epoch(v)),
        ("LastModifiedTimeBefore", lambda v: record.modified < _epoch(v)),
        ("NameContains", lambda v: v.lower() in record.name.lower()),
        ("StatusEquals", lambda v: record.status == v),
        ("ModelNameEquals", lambda v: config.get("ModelName") == v),
        ("ModelPackageVersionArnEquals", lambda v: config.get("ModelPackageVersionArn") == v),
    )
    return all(check(params[name]) for name, check in checks if params.get(name) is not None)


def job_page(records: Sequence[JobRecord], params: dict[str, Any]) -> tuple[list[JobRecord], str | None]:
    """The page of jobs the parameters ask for, and the token of the next page (None: the last page)."""
    by = params.get("SortBy", "CreationTime")
    descending = params.get("SortOrder", "Descending") == "Descending"
    key = SORT_KEYS[by]

    def order(record: JobRecord) -> tuple[Any, str]:
        return (key(record), record.name)  # names are unique: the order is total

    chosen = sorted((r for r in records if _matches(r, params)), key=order, reverse=descending)
    token = params.get("NextToken")
    if token:
        after = _decode(token, lambda v: isinstance(v, list) and len(v) == 3 and v[0] == by and _key_types(by, v))
        last = (after[1], after[2])
        chosen = [r for r in chosen if (order(r) < last if descending else order(r) > last)]
    size = params.get("MaxResults", DEFAULT_MAX_RESULTS)
    page = chosen[:size]
    more = len(chosen) > size
    return page, _encode([by, *order(page[-1])]) if more and page else None


def steps_page(job_name: str, steps: list[dict[str, Any]], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    """The page of a job's steps the parameters ask for (Status and StepType filters), and the next token."""
    chosen = [
        step
        for step in steps
        if params.get("Status") in (None, step.get("Status")) and params.get("StepType") in (None, step.get("StepType"))
    ]
    start = 0
    if params.get("NextToken"):
        start = _decode(
            params["NextToken"],
            lambda v: isinstance(v, list) and len(v) == 2 and v[0] == job_name and type(v[1]) is int and v[1] >= 0,
        )[1]
    size = params.get("MaxResults", DEFAULT_MAX_RESULTS)
    end = start + size
    return chosen[start:end], _encode([job_name, end]) if end < len(chosen) else None


def _key_types(by: str, token: list[Any]) -> bool:
    """The token's sort key has the types its jobs' keys have (it is compared with them)."""
    key, name = token[1], token[2]
    number = isinstance(key, int | float) and not isinstance(key, bool)
    return isinstance(name, str) and (number if by == "CreationTime" else isinstance(key, str))


def _encode(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _decode(token: str, valid: Callable[[Any], bool]) -> Any:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
        if valid(value):
            return value
    except (ValueError, TypeError, binascii.Error):
        pass
    raise ApiError("ValidationException", "NextToken: not a token this server gave for this request")
