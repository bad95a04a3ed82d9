"""Hostile job files and values: exit 2, one line per problem naming the file or the field, never a traceback."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from loadrec.engine.cli import EXIT_BAD_INPUT, main
from loadrec.engine.job.files import MAX_JOB_BYTES, MAX_NESTING

TARGET = {"Http": {"Url": "http://127.0.0.1:9/invocations"}}


def validate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(["validate", "--limits", "relaxed", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err.strip().splitlines()


def job_file(tmp_path: Path, request: dict[str, Any], **loadrec: Any) -> str:
    request = copy.deepcopy(request)
    request["Loadrec"] = {"Targets": [TARGET], **loadrec}
    path = tmp_path / "job.json"
    path.write_text(json.dumps(request))
    return str(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"JobName": ' + "9" * 5000 + "}",
            "JobName: an integer of 5,000 digits is too long to be read (at most 4,300)",
        ),
        ("[" * 1000 + "]" * 1000, f"nested more than {MAX_NESTING} levels deep"),
        ('{"a": ' * 40 + "1" + "}" * 40, f"nested more than {MAX_NESTING} levels deep"),
        ('{"JobName": NaN}', "NaN is not a JSON number"),
        ('{"JobName": -Infinity}', "-Infinity is not a JSON number"),
    ],
)
def test_json_python_refuses_beyond_syntax_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "job.json"
    path.write_text(text)
    code, lines = validate(capsys, str(path))
    assert code == EXIT_BAD_INPUT and len(lines) == 1
    assert lines[0].startswith(f"{path}: ") and expected in lines[0]
    code, lines = validate(capsys, "--job-name", "x", "--input-config", text)  # inline, as the AWS CLI takes it
    assert code == EXIT_BAD_INPUT and len(lines) == 1 and lines[0].startswith("--input-config: ")


def test_the_job_file_is_read_with_bounds(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, lines = validate(capsys, "/dev/zero")
    assert code == EXIT_BAD_INPUT and lines == [
        "/dev/zero: not a regular file (a device, a pipe or a socket), expected a JSON job file"
    ]
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    code, lines = validate(capsys, str(fifo))  # never opened, so never blocks
    assert code == EXIT_BAD_INPUT and "not a regular file" in lines[0]
    big = tmp_path / "big.json"
    big.write_text(" " * (MAX_JOB_BYTES + 1))
    code, lines = validate(capsys, str(big))
    assert code == EXIT_BAD_INPUT and lines == [f"{big}: larger than 1024 KiB, the most a job file may hold"]


@pytest.mark.parametrize(
    ("loadrec", "expected"),
    [
        ({"Targets": None}, "Loadrec.Targets: is null, expected an array"),
        ({"RequestTimeoutSeconds": None}, "Loadrec.RequestTimeoutSeconds: is null, expected a number"),
        ({"S3EndpointUrl": "http://[::1/x"}, 'Loadrec.S3EndpointUrl: "http://[::1/x" is not an http(s) URL'),
    ],
)
def test_null_and_malformed_extension_values_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any], loadrec: Any, expected: str
) -> None:
    path = job_file(tmp_path, request_dict, **loadrec)
    if "Targets" in loadrec:  # replace the target list itself
        request = json.loads(Path(path).read_text())
        request["Loadrec"]["Targets"] = None
        Path(path).write_text(json.dumps(request))
    code, lines = validate(capsys, path)
    assert code == EXIT_BAD_INPUT and any(line.startswith(expected) for line in lines), lines


@pytest.mark.parametrize("url", ["http://[::1/x", "http://127.0.0.1:99999/x", "http://127.0.0.1:abc/x", "http:///x"])
def test_malformed_urls_and_ports_are_refused_before_any_request(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any], url: str
) -> None:
    request = copy.deepcopy(request_dict)
    request["Loadrec"] = {"Targets": [{"Http": {"Url": url}}]}
    path = tmp_path / "job.json"
    path.write_text(json.dumps(request))
    code, lines = validate(capsys, str(path))
    assert code == EXIT_BAD_INPUT and lines == [f"Loadrec.Targets[0].Http.Url: {json.dumps(url)} is not an http(s) URL"]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-1"])
def test_non_finite_numbers_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any], value: str
) -> None:
    text = json.dumps({**request_dict, "Loadrec": {"Targets": [{**TARGET, "PricePerHour": 0}]}})
    path = tmp_path / "job.json"
    path.write_text(text.replace('"PricePerHour": 0', f'"PricePerHour": {value}'))
    code, lines = validate(capsys, str(path))
    assert code == EXIT_BAD_INPUT and len(lines) == 1
    if value == "-1":
        assert lines[0] == "Loadrec.Targets[0].PricePerHour: -1 is below the minimum of 0"
    else:  # the file and the field are named
        assert (
            lines[0]
            == f"{path}: Loadrec.Targets[0].PricePerHour: {value} is not a JSON number (only finite numbers are)"
        )


def test_several_non_finite_numbers_name_the_first_and_count_the_rest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "job.json"
    path.write_text(
        '{"JobName": "j", "Loadrec": {"RequestTimeoutSeconds": NaN, "Targets": [{"PricePerHour": -Infinity}]}}'
    )
    code, lines = validate(capsys, str(path))
    assert code == EXIT_BAD_INPUT and lines == [
        f"{path}: Loadrec.RequestTimeoutSeconds: NaN is not a JSON number (only finite numbers are) (and 1 more)"
    ]


@pytest.mark.parametrize(
    ("loadrec", "field"),
    [
        ({"Targets": [{**TARGET, "PricePerHour": 1e308}]}, "Loadrec.Targets[0].PricePerHour"),  # cost overflowed
        ({"Targets": [{**TARGET, "PricePerHour": 10**400}]}, "Loadrec.Targets[0].PricePerHour"),  # beyond a float
        ({"Targets": [TARGET], "RequestTimeoutSeconds": 10**400}, "Loadrec.RequestTimeoutSeconds"),
        ({"Targets": [{**TARGET, "Streaming": {}}], "StoppingConditions": {"TokenLatencyThresholds": [
            {"Metric": ["TimeToFirstToken"], "Percentile": "P95", "ValueInMilliseconds": 5}]}},
         "Loadrec.StoppingConditions.TokenLatencyThresholds[0].Metric"),
        ({"Targets": [{**TARGET, "Streaming": {}}], "StoppingConditions": {"TokenLatencyThresholds": [
            {"Metric": {"a": 1}, "Percentile": "P95", "ValueInMilliseconds": 10**400}]}},
         "Loadrec.StoppingConditions.TokenLatencyThresholds[0].Metric"),
    ],
)  # fmt: skip
def test_a_value_of_any_type_or_size_is_a_line_naming_its_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any], loadrec: Any, field: str
) -> None:
    path = tmp_path / "job.json"
    path.write_text(json.dumps({**request_dict, "Loadrec": loadrec}))
    code, lines = validate(capsys, str(path))
    assert code == EXIT_BAD_INPUT and lines and lines[0].startswith(f"{field}: "), lines


def test_echoed_values_are_shortened(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any]
) -> None:
    request = copy.deepcopy(request_dict)
    request["Loadrec"] = {"Targets": [{"Http": {"Url": "x" * 200_000}}]}
    request["JobType"] = "y" * 200_000
    path = tmp_path / "job.json"
    path.write_text(json.dumps(request))
    code, lines = validate(capsys, str(path))
    assert code == EXIT_BAD_INPUT and len(lines) >= 2
    assert all(len(line) < 300 for line in lines), [len(line) for line in lines]
    assert any("(200002 characters)" in line for line in lines)


def test_bad_payloads_are_refused_before_the_web_ui_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any]
) -> None:
    path = job_file(tmp_path, request_dict)
    code = main(["ui", path, "--payloads", str(tmp_path / "missing"), "--out", str(tmp_path / "out")])
    _, err = capsys.readouterr()
    assert code == EXIT_BAD_INPUT and len(err.strip().splitlines()) == 1
    assert err.startswith("--payloads: ") and "missing" in err
    assert not (tmp_path / "out").exists()  # nothing claimed, nothing started


HUGE_STAIRS = {"DurationInSeconds": 10**9, "NumberOfSteps": 10**9, "UsersPerStep": 1}
HUGE_PHASE = {"InitialNumberOfUsers": 1, "SpawnRate": 0, "DurationInSeconds": 10**12}
AT_MOST_7_DAYS = "a traffic pattern lasts at most 604800 s (7 days)"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            {"TrafficType": "STAIRS", "Stairs": HUGE_STAIRS},
            [
                f"InputConfig.TrafficPattern.Stairs: lasts 1000000000 s; {AT_MOST_7_DAYS}",
                "InputConfig.TrafficPattern.Stairs: peaks at 1000000000 users; at most 100000 users are allowed",
            ],
        ),
        (
            {"TrafficType": "PHASES", "Phases": [HUGE_PHASE]},
            [f"InputConfig.TrafficPattern.Phases: lasts 1000000000000 s; {AT_MOST_7_DAYS}"],
        ),
    ],
)
def test_huge_relaxed_patterns_are_refused_at_once(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    request_dict: dict[str, Any],
    pattern: dict[str, Any],
    expected: list[str],
) -> None:
    request = copy.deepcopy(request_dict)
    request["InputConfig"]["TrafficPattern"] = pattern
    code, lines = validate(capsys, job_file(tmp_path, request))
    assert code == EXIT_BAD_INPUT and lines == expected


@pytest.mark.parametrize("out", ["a-file/results", "a-file"])
def test_an_out_folder_that_cannot_be_written_is_refused_before_any_load(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any], out: str
) -> None:
    (tmp_path / "payloads").mkdir()
    (tmp_path / "payloads" / "row.csv").write_text("1,2,3\n")
    (tmp_path / "a-file").write_text("not a folder")
    path = job_file(tmp_path, request_dict, SamplePayloadUrl="payloads")
    code = main(["run", path, "--out", str(tmp_path / out)])
    captured = capsys.readouterr()
    assert code == EXIT_BAD_INPUT and "Traceback" not in captured.out + captured.err
    reason = "Not a directory" if "/" in out else "File exists"
    assert captured.err.strip().splitlines() == [f"--out: {tmp_path / out}: cannot write results here ({reason})"]
    assert captured.out == ""  # nothing started


def test_local_model_servers_cannot_be_kept(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any]
) -> None:
    command = {
        "Command": ["serve", "{port}"],
        "ReadyUrl": "http://127.0.0.1:{port}/",
        "Url": "http://127.0.0.1:{port}/",
    }
    path = job_file(tmp_path, request_dict, Provisioner={"Command": command})
    request = json.loads(Path(path).read_text())
    request["Loadrec"]["Targets"] = [None]
    Path(path).write_text(json.dumps(request))
    code = main(["run", path, "--keep-endpoints", "--out", str(tmp_path / "out")])
    _, err = capsys.readouterr()
    assert code == EXIT_BAD_INPUT and err.startswith("--keep-endpoints: a Command provisioner's servers are local")
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
