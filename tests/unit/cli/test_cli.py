"""``loadrec validate`` and ``loadrec schedule``: outputs, exit codes, the AWS CLI flag form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loadrec.engine.cli import EXIT_BAD_INPUT, EXIT_OK, main
from loadrec.engine.job.files import read_request, request_from_cli_flags
from loadrec.engine.job.spec import parse_job
from tests.conftest import EXAMPLES


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_validate_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", str(EXAMPLES / "phases.json"))
    assert code == EXIT_OK and err == ""
    assert "load-test-phases is valid under aws limits" in out
    assert "PHASES pattern of 2 phases, 240 s in all (4:00), peaking at 2 users" in out
    assert "3 endpoint configurations (ml.c5.xlarge, ml.m5.xlarge, ml.r5.xlarge)" in out
    assert "P95 model latency exceeds 100 ms" in out and "invocations reach 1,000 per minute" in out
    assert len(out.strip().splitlines()) == 1


def test_invalid_job_exits_2_with_one_line_per_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any]
) -> None:
    request_dict["InputConfig"]["TrafficPattern"]["Phases"][0]["SpawnRate"] = 60
    request_dict["StoppingConditions"]["MaxInvocations"] = 30001
    code, out, err = run(capsys, "validate", write(tmp_path, "job.json", request_dict))
    assert code == EXIT_BAD_INPUT and out == ""
    hint = "(use --limits relaxed to allow it)"
    assert err.splitlines() == [
        f"InputConfig.TrafficPattern.Phases[0].SpawnRate: 60 is above the AWS limit of 3 {hint}",
        f"StoppingConditions.MaxInvocations: 30001 is above the AWS limit of 30000 {hint}",
    ]
    code, _, err = run(capsys, "validate", "--limits", "relaxed", write(tmp_path, "job.json", request_dict))
    assert code == EXIT_OK and err == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"JobName":\n  "x",,\n}',
            "invalid JSON at line 2, column 7: Expecting property name enclosed in double quotes",
        ),
        (
            "[1, 2]",
            "the job must be a JSON object (the CreateInferenceRecommendationsJob request), not an array",
        ),
        (
            '"job"',
            "the job must be a JSON object (the CreateInferenceRecommendationsJob request), not a string",
        ),
        (b"\xff\xfe{}", "not UTF-8 text (byte 0)"),
    ],
)
def test_unreadable_jobs_exit_2_with_one_clear_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / "job.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    code, out, err = run(capsys, "validate", str(path))
    assert code == EXIT_BAD_INPUT and out == ""
    assert err.splitlines() == [f"{path}: {message}"]


def test_missing_file_and_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path / "absent.json"))
    assert (code, err) == (EXIT_BAD_INPUT, f"{tmp_path / 'absent.json'}: no such file\n")
    code, _, err = run(capsys, "schedule", str(tmp_path))
    assert (code, err) == (EXIT_BAD_INPUT, f"{tmp_path}: is a directory, expected a JSON job file\n")


def test_no_job_and_both_forms_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate")
    assert code == EXIT_BAD_INPUT and err.startswith("no job given")
    code, _, err = run(capsys, "validate", str(EXAMPLES / "phases.json"), "--job-name", "x")
    assert code == EXIT_BAD_INPUT and err.startswith("give either a JOB file or the AWS CLI flags")


def test_aws_cli_flags_give_the_same_spec_as_the_json_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    request = read_request(str(EXAMPLES / "stairs.json"))
    input_config = write(tmp_path, "input.json", request["InputConfig"])
    flags = {
        "job_name": request["JobName"],
        "job_type": request["JobType"],
        "role_arn": request["RoleArn"],
        "input_config": f"file://{input_config}",
        "stopping_conditions": json.dumps(request["StoppingConditions"]),  # inline JSON, as the CLI also takes
    }
    assert parse_job(request_from_cli_flags(flags)) == parse_job(request)
    argv = [f"--{k.replace('_', '-')}={v}" for k, v in flags.items()]
    code, out_flags, _ = run(capsys, "validate", *argv)
    assert code == EXIT_OK
    _, out_file, _ = run(capsys, "validate", str(EXAMPLES / "stairs.json"))
    assert out_flags == out_file


def test_cli_input_json_with_flag_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "validate", f"--cli-input-json=file://{EXAMPLES / 'phases.json'}", "--job-name", "renamed"
    )
    assert code == EXIT_OK and out.startswith("renamed is valid")


def test_bad_flag_json_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", "--job-name", "x", "--job-type", "Advanced", "--input-config", "{oops}")
    assert code == EXIT_BAD_INPUT
    assert (
        err == "--input-config: invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes\n"
    )


def test_schedule_preview_of_the_stairs_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schedule", str(EXAMPLES / "stairs.json"))
    assert code == EXIT_OK
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [(r[0], r[3]) for r in rows[:-1]] == [
        ("0", "2"),
        ("120", "4"),
        ("240", "6"),
        ("360", "8"),
        ("480", "10"),
    ]
    assert rows[-1][:4] == ["600", "s", "10:00", "end"]


def test_schedule_json_has_every_second(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schedule", "--json", str(EXAMPLES / "phases.json"))
    assert code == EXIT_OK
    table = json.loads(out)
    assert len(table) == 240
    assert table[0] == {"t": 0, "users": 1}
    assert [row["t"] for row in table] == list(range(240))
    assert [row["users"] for row in table] == [1] * 60 + [2] * 60 + [1] * 60 + [2] * 60
