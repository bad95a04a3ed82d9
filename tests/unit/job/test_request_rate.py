"""The Loadrec key's RequestRate: parsed with its defaults, every bad value named on its own line."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.request_rate import DEFAULT_MAX_IN_FLIGHT, RequestRate
from loadrec.engine.job.spec import JobSpecError, parse_job
from tests.conftest import VALID_REQUEST


def job_with(rate: Any) -> dict[str, Any]:
    request = copy.deepcopy(VALID_REQUEST)
    request.setdefault("Loadrec", {})["RequestRate"] = rate
    return request


def problems(rate: Any) -> list[str]:
    with pytest.raises(JobSpecError) as raised:
        parse_job(job_with(rate), LimitsMode.RELAXED)
    return [str(problem) for problem in raised.value.problems]


def test_a_rate_alone_takes_constant_arrivals_and_the_default_cap() -> None:
    spec = parse_job(job_with({"RequestsPerSecondPerUser": 2}), LimitsMode.RELAXED)
    assert spec.extension.request_rate == RequestRate(2.0, "Constant", DEFAULT_MAX_IN_FLIGHT)


def test_every_field_is_read() -> None:
    raw = {"RequestsPerSecondPerUser": 0.5, "Arrivals": "Poisson", "MaxRequestsInFlight": 40}
    spec = parse_job(job_with(raw), LimitsMode.AWS)
    assert spec.extension.request_rate == RequestRate(0.5, "Poisson", 40)
    assert spec.extension.request_rate.to_dict() == raw


def test_without_the_key_the_test_is_closed_loop() -> None:
    assert parse_job(copy.deepcopy(VALID_REQUEST), LimitsMode.RELAXED).extension.request_rate is None


R = "RequestsPerSecondPerUser"
BAD_VALUES = [
    ([], ["Loadrec.RequestRate: [] is an array, expected an object"]),
    ({}, [f"Loadrec.RequestRate.{R}: is required"]),
    ({R: 0}, [f"Loadrec.RequestRate.{R}: 0 must be above 0"]),
    ({R: -1}, [f"{R}: -1 is below the minimum of 0"]),
    ({R: 1001}, [f"{R}: 1001 is above the maximum of 1,000"]),
    ({R: True}, [f"{R}: true is a boolean, expected a number"]),
    ({R: "2"}, [f'{R}: "2" is a string, expected a number']),
    ({R: 10**400}, [f"{R}: 1000000"]),
    ({R: 1, "Arrivals": "poisson"}, ['Arrivals: "poisson" is not one of: Constant, Poisson']),
    ({R: 1, "MaxRequestsInFlight": 0}, ["MaxRequestsInFlight: 0 is below the minimum of 1"]),
    ({R: 1, "MaxRequestsInFlight": 2.5}, ["MaxRequestsInFlight: 2.5 is a number, expected an integer"]),
    ({R: 1, "MaxRequestsInFlight": 100_001}, ["MaxRequestsInFlight: 100001 is above the maximum of 100,000"]),
    ({R: 1, "Rate": 3}, [f"RequestRate.Rate: unknown field (allowed here: {R}, Arrivals, MaxRequestsInFlight)"]),
]


@pytest.mark.parametrize(("rate", "expected"), BAD_VALUES)
def test_each_bad_value_is_one_line_naming_its_field(rate: Any, expected: list[str]) -> None:
    found = problems(rate)
    assert len(found) == len(expected), found
    for line, wanted in zip(found, expected, strict=True):
        assert wanted in line, found
    assert all("\n" not in line and len(line) < 300 for line in found)


def test_every_problem_is_collected_at_once() -> None:
    found = problems({"RequestsPerSecondPerUser": 0, "Arrivals": 3, "MaxRequestsInFlight": -2, "X": 1})
    assert sorted(line.split(":")[0] for line in found) == [
        "Loadrec.RequestRate.Arrivals",
        "Loadrec.RequestRate.MaxRequestsInFlight",
        "Loadrec.RequestRate.RequestsPerSecondPerUser",
        "Loadrec.RequestRate.X",
    ]
