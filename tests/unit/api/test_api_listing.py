"""The list operations' filters, order and pages (engine/api/listing.py): ``job_page`` over stored job
records and ``steps_page`` over a job's steps, with their NextTokens walked to the end and forged."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from loadrec.engine.api.listing import job_page, steps_page
from loadrec.engine.api.protocol import ApiError
from loadrec.engine.api.store import JobRecord

BASE = 1_795_521_600.0  # 2026-11-24 12:00:00 UTC
ARN = "arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/"


def at(minutes: float) -> datetime:
    return datetime.fromtimestamp(BASE + 60 * minutes, UTC)


def job(name: str, status: str, minute: float, model: str | None = None, modified: float | None = None) -> JobRecord:
    config: dict[str, Any] = {"Endpoints": [{"EndpointName": "e"}]}
    if model is not None:
        config["ModelName"] = model
    else:
        config["ModelPackageVersionArn"] = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{name}/1"
    created = BASE + 60 * minute
    completed = created + 30 if status in ("COMPLETED", "FAILED", "STOPPED") else None
    return JobRecord(
        name=name,
        arn=ARN + name,
        request={"JobName": name, "JobType": "Default", "InputConfig": config},
        status=status,
        created=created,
        modified=created + 30 if modified is None else BASE + 60 * modified,
        completed=completed,
        failure_reason="it broke" if status == "FAILED" else None,
        folder=f"/data/jobs/{name}",
    )


JOBS = [
    job("alpha-churn", "COMPLETED", 0, "churn", modified=10),
    job("Beta-Churn", "FAILED", 1, "churn", modified=4),
    job("gamma", "IN_PROGRESS", 2, "fraud", modified=2.5),
    job("delta-CHURN", "COMPLETED", 3, "fraud", modified=3.5),
    job("epsilon", "STOPPED", 4, None, modified=4.5),
]
NEWEST_FIRST = ["epsilon", "delta-CHURN", "gamma", "Beta-Churn", "alpha-churn"]


def names(records: list[JobRecord]) -> list[str]:
    return [r.name for r in records]


def token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


# --- filters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, NEWEST_FIRST),
        ({"NameContains": "churn"}, ["delta-CHURN", "Beta-Churn", "alpha-churn"]),
        ({"NameContains": "CHURN"}, ["delta-CHURN", "Beta-Churn", "alpha-churn"]),
        ({"NameContains": "a-c"}, ["delta-CHURN", "Beta-Churn", "alpha-churn"]),
        ({"NameContains": "GAMMA"}, ["gamma"]),
        ({"NameContains": "zeta"}, []),
        ({"StatusEquals": "COMPLETED"}, ["delta-CHURN", "alpha-churn"]),
        ({"StatusEquals": "FAILED"}, ["Beta-Churn"]),
        ({"StatusEquals": "PENDING"}, []),
        ({"CreationTimeAfter": at(2)}, ["epsilon", "delta-CHURN"]),  # strictly after
        ({"CreationTimeBefore": at(2)}, ["Beta-Churn", "alpha-churn"]),  # strictly before
        ({"CreationTimeAfter": at(0.5), "CreationTimeBefore": at(3.5)}, ["delta-CHURN", "gamma", "Beta-Churn"]),
        ({"CreationTimeAfter": at(4)}, []),
        ({"CreationTimeBefore": at(0)}, []),
        ({"CreationTimeAfter": BASE + 120}, ["epsilon", "delta-CHURN"]),  # epoch seconds, as the wire has them
        ({"CreationTimeBefore": BASE + 60.5}, ["Beta-Churn", "alpha-churn"]),
        ({"LastModifiedTimeAfter": at(4)}, ["epsilon", "alpha-churn"]),
        ({"LastModifiedTimeBefore": at(3.5)}, ["gamma"]),
        ({"ModelNameEquals": "churn"}, ["Beta-Churn", "alpha-churn"]),
        ({"ModelNameEquals": "fraud"}, ["delta-CHURN", "gamma"]),
        ({"ModelNameEquals": "Churn"}, []),
        ({"ModelPackageVersionArnEquals": JOBS[4].request["InputConfig"]["ModelPackageVersionArn"]}, ["epsilon"]),
        ({"NameContains": "churn", "StatusEquals": "COMPLETED"}, ["delta-CHURN", "alpha-churn"]),
        ({"NameContains": "churn", "ModelNameEquals": "fraud"}, ["delta-CHURN"]),
        ({"NameContains": "churn", "CreationTimeBefore": at(1)}, ["alpha-churn"]),
        ({"StatusEquals": "COMPLETED", "ModelNameEquals": "churn", "CreationTimeAfter": at(0)}, []),
        ({"NameContains": None, "StatusEquals": None}, NEWEST_FIRST),  # absent and null alike
    ],
)
def test_filters_keep_exactly_the_matching_jobs(params: dict[str, Any], expected: list[str]) -> None:
    page, next_token = job_page(JOBS, params)
    assert names(page) == expected
    assert next_token is None


# --- order -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, NEWEST_FIRST),
        ({"SortBy": "CreationTime"}, NEWEST_FIRST),
        ({"SortOrder": "Descending"}, NEWEST_FIRST),
        ({"SortOrder": "Ascending"}, NEWEST_FIRST[::-1]),
        ({"SortBy": "CreationTime", "SortOrder": "Ascending"}, NEWEST_FIRST[::-1]),
        # code point order, as AWS sorts names: capitals first
        (
            {"SortBy": "Name", "SortOrder": "Ascending"},
            ["Beta-Churn", "alpha-churn", "delta-CHURN", "epsilon", "gamma"],
        ),
        ({"SortBy": "Name"}, ["gamma", "epsilon", "delta-CHURN", "alpha-churn", "Beta-Churn"]),
        # equal statuses: by name, in the same direction
        (
            {"SortBy": "Status", "SortOrder": "Ascending"},
            ["alpha-churn", "delta-CHURN", "Beta-Churn", "gamma", "epsilon"],
        ),
        (
            {"SortBy": "Status", "SortOrder": "Descending"},
            ["epsilon", "gamma", "Beta-Churn", "delta-CHURN", "alpha-churn"],
        ),
        (
            {"SortBy": "Name", "SortOrder": "Ascending", "NameContains": "churn"},
            ["Beta-Churn", "alpha-churn", "delta-CHURN"],
        ),
    ],
)
def test_jobs_come_in_the_order_asked_for(params: dict[str, Any], expected: list[str]) -> None:
    assert names(job_page(JOBS, params)[0]) == expected
    assert names(job_page(JOBS[::-1], params)[0]) == expected  # whatever order the store returns


def test_jobs_created_in_the_same_second_are_ordered_by_name() -> None:
    same = [job(name, "COMPLETED", 7) for name in ("m", "b", "z", "a")]
    assert names(job_page(same, {})[0]) == ["z", "m", "b", "a"]
    assert names(job_page(same, {"SortOrder": "Ascending"})[0]) == ["a", "b", "m", "z"]


# --- pages -------------------------------------------------------------------------------

STATUSES = ["COMPLETED", "FAILED", "IN_PROGRESS", "COMPLETED", "STOPPED", "PENDING", "COMPLETED"]
# 13 jobs, created three to a minute and with statuses repeating: every sort key has ties
MANY = [
    job(f"job-{(i * 7) % 13:02d}", STATUSES[i % len(STATUSES)], i // 3, "churn" if i % 2 else "fraud")
    for i in range(13)
]
ORDERS = [
    {"SortBy": by, "SortOrder": order}
    for by in ("Name", "CreationTime", "Status")
    for order in ("Ascending", "Descending")
]


def walk(records: list[JobRecord], params: dict[str, Any]) -> list[list[str]]:
    """Every page, following NextToken to the last page."""
    pages: list[list[str]] = []
    next_token: str | None = None
    while True:
        page, next_token = job_page(records, {**params, "NextToken": next_token} if next_token else params)
        pages.append(names(page))
        if next_token is None:
            return pages
        assert len(pages) <= len(records), "the pages never end"


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: f"{o['SortBy']}-{o['SortOrder']}")
@pytest.mark.parametrize("size", [1, 2, 3, 4, 6, 12, 13, 14, 100])
def test_walking_every_page_lists_each_job_once_in_order(order: dict[str, str], size: int) -> None:
    whole = names(job_page(MANY, order)[0])
    assert sorted(whole) == sorted(r.name for r in MANY)
    pages = walk(MANY, {**order, "MaxResults": size})
    assert [name for page in pages for name in page] == whole
    assert len(pages) == -(-len(MANY) // size)  # no empty last page
    assert all(len(page) == size for page in pages[:-1])


@pytest.mark.parametrize("size", [1, 2, 5])
def test_walking_filtered_pages_lists_the_matching_jobs_once_in_order(size: int) -> None:
    params: dict[str, Any] = {"StatusEquals": "COMPLETED", "SortBy": "Name", "SortOrder": "Ascending"}
    whole = names(job_page(MANY, params)[0])
    assert len(whole) == 5
    assert [name for page in walk(MANY, {**params, "MaxResults": size}) for name in page] == whole


def test_the_last_page_has_no_token_and_a_full_page_before_it_has_one() -> None:
    first, next_token = job_page(JOBS, {"MaxResults": 3})
    assert names(first) == NEWEST_FIRST[:3] and next_token is not None
    second, last_token = job_page(JOBS, {"MaxResults": 3, "NextToken": next_token})
    assert names(second) == NEWEST_FIRST[3:] and last_token is None
    assert job_page(JOBS, {"MaxResults": 5}) == (JOBS[::-1], None)


@pytest.mark.parametrize(
    ("order", "new", "expected"),
    [
        # newest first: a job created after the first page sorts before the cursor, and is not listed
        ({}, job("zeta", "PENDING", 9), NEWEST_FIRST),
        # oldest first: it sorts last, and is listed last
        ({"SortOrder": "Ascending"}, job("zeta", "PENDING", 9), [*NEWEST_FIRST[::-1], "zeta"]),
        (
            {"SortBy": "Name", "SortOrder": "Ascending"},
            job("beta-new", "PENDING", 9),
            ["Beta-Churn", "alpha-churn", "beta-new", "delta-CHURN", "epsilon", "gamma"],
        ),
        (
            {"SortBy": "Name", "SortOrder": "Ascending"},
            job("Aardvark", "PENDING", 9),
            ["Beta-Churn", "alpha-churn", "delta-CHURN", "epsilon", "gamma"],
        ),
        (
            {"SortBy": "Status", "SortOrder": "Ascending"},
            job("omega", "PENDING", 9),
            ["alpha-churn", "delta-CHURN", "Beta-Churn", "gamma", "omega", "epsilon"],
        ),
    ],
    ids=["newest-first", "oldest-first", "name-after-cursor", "name-before-cursor", "status-after-cursor"],
)
def test_a_job_created_between_pages_repeats_and_skips_no_job(
    order: dict[str, str], new: JobRecord, expected: list[str]
) -> None:
    first, next_token = job_page(JOBS, {**order, "MaxResults": 2})
    assert next_token is not None
    listed = names(first)
    stored = [*JOBS, new]
    while next_token is not None:
        page, next_token = job_page(stored, {**order, "MaxResults": 2, "NextToken": next_token})
        listed += names(page)
    assert listed == expected
    assert sorted(set(listed) - {new.name}) == sorted(NEWEST_FIRST)
    assert len(listed) == len(set(listed))


def test_a_job_created_in_the_same_second_as_the_cursor_is_placed_by_name() -> None:
    first, next_token = job_page(JOBS, {"SortOrder": "Ascending", "MaxResults": 2})
    assert names(first) == ["alpha-churn", "Beta-Churn"]
    twin = job("Beta-Churn-2", "PENDING", 1)  # created with Beta-Churn, named after it
    rest, _ = job_page([*JOBS, twin], {"SortOrder": "Ascending", "MaxResults": 10, "NextToken": next_token})
    assert names(rest) == ["Beta-Churn-2", "gamma", "delta-CHURN", "epsilon"]


def _name_token() -> str:
    next_token = job_page(JOBS, {"SortBy": "Name", "MaxResults": 1})[1]
    assert next_token is not None
    return next_token


FOREIGN_TOKENS = [
    ("garbage", "garbage"),
    ("not-base64", "!!!!"),
    ("non-ascii", "é€"),
    ("base64-not-json", base64.urlsafe_b64encode(b"\xff\xfe not json").decode()),
    ("json-object", token({"SortBy": "CreationTime"})),
    ("json-number", token(5)),
    ("short-list", token(["CreationTime", BASE])),
    ("long-list", token(["CreationTime", BASE, "gamma", 1])),
    ("steps-token", token(["gamma", 2])),
    ("other-sort-key", _name_token()),
    ("padding-only", "===="),
]


@pytest.mark.parametrize("foreign", [t for _, t in FOREIGN_TOKENS], ids=[n for n, _ in FOREIGN_TOKENS])
def test_a_token_this_listing_did_not_give_is_a_validation_exception(foreign: str) -> None:
    with pytest.raises(ApiError) as caught:
        job_page(JOBS, {"NextToken": foreign, "MaxResults": 2})
    assert (caught.value.code, caught.value.status) == ("ValidationException", 400)
    assert caught.value.message.startswith("NextToken:")


@pytest.mark.parametrize(
    ("params", "forged"),
    [
        ({}, token(["CreationTime", "yesterday", "gamma"])),
        ({}, token(["CreationTime", None, "gamma"])),
        ({"SortBy": "Name"}, token(["Name", 5, "gamma"])),
        ({"SortBy": "Status"}, token(["Status", ["COMPLETED"], "gamma"])),
    ],
    ids=["text-time", "null-time", "number-name", "list-status"],
)
def test_a_forged_token_with_values_of_the_wrong_type_is_a_validation_exception(
    params: dict[str, Any], forged: str
) -> None:
    with pytest.raises(ApiError) as caught:
        job_page(JOBS, {**params, "NextToken": forged})
    assert caught.value.code == "ValidationException"


# --- steps -------------------------------------------------------------------------------


def step(index: int, status: str, kind: str = "BENCHMARK") -> dict[str, Any]:
    return {
        "StepType": kind,
        "JobName": "churn-job",
        "Status": status,
        "InferenceBenchmark": {"EndpointConfiguration": {"VariantName": f"variant-{index}"}},
    }


STEPS = [
    step(0, "COMPLETED"),
    step(1, "FAILED"),
    step(2, "COMPLETED"),
    step(3, "IN_PROGRESS"),
    step(4, "COMPLETED", "OTHER"),
    step(5, "PENDING"),
    step(6, "COMPLETED"),
]


def variants(steps: list[Any]) -> list[int]:
    return [int(s["InferenceBenchmark"]["EndpointConfiguration"]["VariantName"].split("-")[1]) for s in steps]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [0, 1, 2, 3, 4, 5, 6]),
        ({"Status": "COMPLETED"}, [0, 2, 4, 6]),
        ({"Status": "FAILED"}, [1]),
        ({"Status": "STOPPED"}, []),
        ({"StepType": "BENCHMARK"}, [0, 1, 2, 3, 5, 6]),
        ({"StepType": "OTHER"}, [4]),
        ({"Status": "COMPLETED", "StepType": "BENCHMARK"}, [0, 2, 6]),
        ({"Status": None, "StepType": None}, [0, 1, 2, 3, 4, 5, 6]),
    ],
)
def test_steps_filters_keep_exactly_the_matching_steps_in_their_order(
    params: dict[str, Any], expected: list[int]
) -> None:
    page, next_token = steps_page("churn-job", STEPS, params)
    assert variants(page) == expected
    assert next_token is None


@pytest.mark.parametrize(
    ("params", "pages"),
    [
        ({"MaxResults": 3}, [[0, 1, 2], [3, 4, 5], [6]]),
        ({"MaxResults": 7}, [[0, 1, 2, 3, 4, 5, 6]]),
        ({"MaxResults": 1, "Status": "COMPLETED"}, [[0], [2], [4], [6]]),
        ({"MaxResults": 2, "Status": "COMPLETED"}, [[0, 2], [4, 6]]),
        ({"MaxResults": 4, "StepType": "BENCHMARK"}, [[0, 1, 2, 3], [5, 6]]),
        ({"MaxResults": 2, "Status": "STOPPED"}, [[]]),
    ],
)
def test_walking_steps_pages_lists_each_step_once(params: dict[str, Any], pages: list[list[int]]) -> None:
    walked: list[list[int]] = []
    next_token: str | None = None
    while True:
        page, next_token = steps_page("churn-job", STEPS, {**params, "NextToken": next_token})
        walked.append(variants(page))
        if next_token is None:
            break
    assert walked == pages


def test_a_steps_token_holds_the_offset_to_start_from() -> None:
    page, next_token = steps_page("churn-job", STEPS, {"NextToken": token(["churn-job", 5])})
    assert variants(page) == [5, 6] and next_token is None
    page, next_token = steps_page("churn-job", STEPS, {"NextToken": token(["churn-job", 99])})
    assert page == [] and next_token is None


@pytest.mark.parametrize(
    "foreign",
    [
        token(["other-job", 2]),  # another job's token
        token(["churn-job", -1]),
        token(["churn-job", "2"]),
        token(["churn-job"]),
        token(["CreationTime", BASE, "churn-job"]),  # a job list's token
        "garbage",
    ],
)
def test_a_steps_token_not_given_for_this_job_is_a_validation_exception(foreign: str) -> None:
    with pytest.raises(ApiError) as caught:
        steps_page("churn-job", STEPS, {"NextToken": foreign, "MaxResults": 2})
    assert caught.value.code == "ValidationException"


def test_a_steps_token_is_bound_to_the_job_it_was_given_for() -> None:
    _, next_token = steps_page("job-a", STEPS, {"MaxResults": 2})
    assert next_token is not None
    assert variants(steps_page("job-a", STEPS, {"MaxResults": 2, "NextToken": next_token})[0]) == [2, 3]
    with pytest.raises(ApiError) as caught:
        steps_page("job-b", STEPS, {"MaxResults": 2, "NextToken": next_token})
    assert caught.value.code == "ValidationException"


def test_a_steps_token_with_a_fractional_offset_is_a_validation_exception() -> None:
    with pytest.raises(ApiError) as caught:
        steps_page("churn-job", STEPS, {"NextToken": token(["churn-job", 1.5])})
    assert caught.value.code == "ValidationException"
