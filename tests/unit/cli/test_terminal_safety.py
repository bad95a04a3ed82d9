"""What reaches a terminal, and values that pass a first look: escapes never reach a terminal raw, echoed
values are cut to 80 characters, digits are ASCII, framing headers stay loadrec's, and under AWS's limits
the values AWS's own services would refuse (a 64-bit latency, Region mars-1, a 70-character variant)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from loadrec.engine.cli import EXIT_BAD_INPUT, main
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.problems import terminal_safe
from loadrec.engine.job.rules import parse_percentile
from loadrec.engine.job.spec import JobSpecError, parse_job
from loadrec.engine.results.outputs.terminal import summarize


def problems(request: dict[str, Any], mode: LimitsMode = LimitsMode.AWS) -> list[str]:
    try:
        parse_job(request, mode)
    except JobSpecError as error:
        return [str(problem) for problem in error.problems]
    return []


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("job\x1b[2J.json", "job\\x1b[2J.json"),
        ("a\x00b\rc\x07", "a\\x00b\\x0dc\\x07"),
        ("\u202eevil", "\\u202eevil"),
        ("tab\tstays, é and 日本 too", "tab\tstays, é and 日本 too"),
    ],
)
def test_control_and_bidi_characters_are_written_as_escapes(line: str, shown: str) -> None:
    assert terminal_safe(line) == shown


def test_no_escape_from_a_path_reaches_the_terminal(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["validate", str(tmp_path / "job\x1b[2J\x1b]0;title\x07.json")])
    out, err = capsys.readouterr()
    assert code == EXIT_BAD_INPUT and "\x1b" not in out + err and "\x07" not in out + err
    assert "job\\x1b[2J\\x1b]0;title\\x07.json: " in err


def test_a_huge_integer_is_echoed_cut_to_80_characters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any]
) -> None:
    request_dict["StoppingConditions"] = {"MaxInvocations": int("9" * 4000)}
    path = tmp_path / "job.json"
    path.write_text(json.dumps(request_dict))
    assert main(["validate", str(path)]) == EXIT_BAD_INPUT
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and all(len(line) < 300 for line in lines), [len(line) for line in lines]
    assert "(4000 characters)" in lines[0]


@pytest.mark.parametrize("text", ["P٩٥", "P９５", "P9\u0665"])
def test_a_percentile_is_written_in_ascii_digits(text: str) -> None:
    assert parse_percentile(text) is None
    assert parse_percentile("P95") == 95.0 and parse_percentile("P99.9") == 99.9


def test_under_aws_limits_a_latency_beyond_aws_integers_is_refused(request_dict: dict[str, Any]) -> None:
    request_dict["StoppingConditions"] = {
        "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 2**64}]
    }
    found = problems(request_dict)
    assert found == [
        "StoppingConditions.ModelLatencyThresholds[0].ValueInMilliseconds: 18446744073709551616 is above the AWS "
        "limit of 2147483647 (use --limits relaxed to allow it)"
    ]
    assert problems(request_dict, LimitsMode.RELAXED) == []


def sagemaker_job(request: dict[str, Any], **fields: str) -> dict[str, Any]:
    request = copy.deepcopy(request)
    configurations = len(request["InputConfig"]["EndpointConfigurations"])
    request["Loadrec"] = {
        "Targets": [{"SageMaker": {"EndpointName": f"e{i}", **fields}} for i in range(configurations)]
    }
    return request


def test_a_region_sagemaker_does_not_run_in_is_refused_under_aws_limits_only(request_dict: dict[str, Any]) -> None:
    job = sagemaker_job(request_dict, Region="mars-1")
    found = problems(job)
    assert found and all(line.endswith('.SageMaker.Region: "mars-1" is not a region SageMaker runs in (use --limits '
                                       "relaxed to allow it)") for line in found), found  # fmt: skip
    assert problems(job, LimitsMode.RELAXED) == []  # a region newer than botocore
    assert problems(sagemaker_job(request_dict, Region="eu-west-1")) == []


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("TargetVariant", "v" * 70, "length 70 is above the maximum of 63"),
        ("TargetVariant", "-variant", "does not match the pattern"),
        ("CustomAttributes", "x" * 1025, "length 1025 is above the maximum of 1024"),
        ("CustomAttributes", "café", "does not match the pattern"),
        ("InferenceComponentName", "c" * 64, "length 64 is above the maximum of 63"),
    ],
)
def test_sagemaker_fields_are_bounded_as_invoke_endpoint_s_model_bounds_them(
    request_dict: dict[str, Any], field: str, value: str, said: str
) -> None:
    found = problems(sagemaker_job(request_dict, **{field: value}), LimitsMode.RELAXED)
    assert found and all(f".SageMaker.{field}: " in line and said in line for line in found), found


def test_a_job_with_no_target_nor_provisioner_is_not_described_as_provisioned(request_dict: dict[str, Any]) -> None:
    summary = summarize(parse_job(request_dict))
    assert "provisioner" not in summary.replace("Loadrec.Provisioner", "")
    assert "with no target to load yet (loadrec run needs Loadrec.Targets" in summary
    provisioned = copy.deepcopy(request_dict)
    provisioned["Loadrec"] = {"Provisioner": {"Command": {"Command": ["server", "{port}"],
                                                          "ReadyUrl": "http://127.0.0.1:{port}/ping",
                                                          "Url": "http://127.0.0.1:{port}/invocations"}}}  # fmt: skip
    assert "endpoints created per test by the Command provisioner" in summarize(parse_job(provisioned))
