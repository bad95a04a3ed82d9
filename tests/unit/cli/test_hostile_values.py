"""Values that pass the JSON schema but would break every request: refused before any load.

Header names and values, SageMaker header fields, regions, content types, credentials in
URLs, and ``env:`` values resolved at start; plus AWS-shaped names (EndpointName, JobArn)
that loadrec writes.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from loadrec.engine.cli import EXIT_BAD_INPUT, main
from loadrec.engine.job.headers import shown_url, without_credentials
from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.engine.job.targets import HttpTarget
from loadrec.engine.load.prepare import SetupError, load_payloads
from loadrec.engine.results import aws
from tests.report_fixture import REQUEST, fixture_results

SECRET = "s3cr3t-value"
ENDPOINT_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


def validate(capsys: pytest.CaptureFixture[str], request: dict[str, Any], tmp_path: Path) -> tuple[int, list[str]]:
    path = tmp_path / "job.json"
    path.write_text(json.dumps(request))
    code = main(["validate", "--limits", "relaxed", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err.strip().splitlines()


def with_target(request: dict[str, Any], target: dict[str, Any], **loadrec: Any) -> dict[str, Any]:
    request = copy.deepcopy(request)
    request["Loadrec"] = {"Targets": [target], **loadrec}
    return request


def http(url: str = "http://127.0.0.1:9/invocations", **fields: Any) -> dict[str, Any]:
    return {"Http": {"Url": url, **fields}}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Bad\r\nInjected": "1"}, 'Loadrec.Targets[0].Http.Headers: "X-Bad\\r\\nInjected" is not a header name'),
        ({"": "1"}, 'Loadrec.Targets[0].Http.Headers: "" is empty; a header needs a name'),
        ({"X-A:b": "1"}, 'Loadrec.Targets[0].Http.Headers: "X-A:b" is not a header name'),
        ({"Content-Length": "9"}, 'Loadrec.Targets[0].Http.Headers: "Content-Length" frames the request and is set by'),
        ({"transfer-encoding": "chunked"}, 'Loadrec.Targets[0].Http.Headers: "transfer-encoding" frames the request'),
        # a header's value is never shown: any header may carry a secret
        ({"X-Token": "a\r\nX-Evil: 1"}, "Loadrec.Targets[0].Http.Headers.X-Token: the value holds a line break"),
        ({"Authorization": "Bearer s3cr\nt"}, "Loadrec.Targets[0].Http.Headers.Authorization: the value holds a line"),
        ({"Cookie": "id=s3cr€t"}, "Loadrec.Targets[0].Http.Headers.Cookie: the value holds control characters"),
        ({"X-Api-Key": "s3cr\u0000t"}, "Loadrec.Targets[0].Http.Headers.X-Api-Key: the value holds control"),
        ({"X-Euro": "5 €"}, "Loadrec.Targets[0].Http.Headers.X-Euro: the value holds control characters"),
        ({"X-Key": "env:"}, 'Loadrec.Targets[0].Http.Headers.X-Key: "env:" must name an environment variable'),
    ],
)
def test_header_names_and_values_are_checked_up_front(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    request_dict: dict[str, Any],
    headers: dict[str, str],
    expected: str,
) -> None:
    code, lines = validate(capsys, with_target(request_dict, http(Headers=headers)), tmp_path)
    assert code == EXIT_BAD_INPUT and len(lines) == 1 and lines[0].startswith(expected), lines
    assert "s3cr" not in lines[0]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("Accept", "application/json\r\nX-Evil: 1", "holds a line break"),
        ("CustomAttributes", "a\u0085b", "holds control characters"),
        ("Region", "us-east-1\u0007", "is not an AWS region name"),
        ("Region", "US EAST", "is not an AWS region name"),
    ],
)
def test_sagemaker_fields_sent_in_headers_or_urls_are_checked_up_front(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    request_dict: dict[str, Any],
    field: str,
    value: str,
    expected: str,
) -> None:
    target = {"SageMaker": {"EndpointName": "churn", field: value}}
    code, lines = validate(capsys, with_target(request_dict, target), tmp_path)
    assert code == EXIT_BAD_INPUT and len(lines) == 1
    assert lines[0].startswith(f"Loadrec.Targets[0].SageMaker.{field}: ") and expected in lines[0], lines


@pytest.mark.parametrize("content_type", ["text/csv\u202e", "text/csv\u0001", "text/csv\r\n", "текст/csv"])
def test_content_types_a_header_cannot_carry_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any], content_type: str
) -> None:
    request = with_target(request_dict, http())
    request["InputConfig"]["ContainerConfig"] = {"PayloadConfig": {"SupportedContentTypes": ["text/csv", content_type]}}
    code, lines = validate(capsys, request, tmp_path)
    path = "InputConfig.ContainerConfig.PayloadConfig.SupportedContentTypes[1]"
    assert code == EXIT_BAD_INPUT and len(lines) == 1 and lines[0].startswith(f"{path}: "), lines


@pytest.mark.parametrize(
    ("place", "url"),
    [
        ("Targets[0].Http.Url", f"http://user:{SECRET}@127.0.0.1:9/invocations"),
        ("S3EndpointUrl", f"http://{SECRET}@127.0.0.1:5000"),
        ("Targets[0].SageMaker.EndpointUrl", f"https://me:{SECRET}@runtime.example"),
    ],
)
def test_credentials_in_urls_are_refused_without_showing_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any], place: str, url: str
) -> None:
    target = http(url) if place.startswith("Targets[0].Http") else http()
    extra: dict[str, Any] = {}
    if place == "S3EndpointUrl":
        extra["S3EndpointUrl"] = url
    if "SageMaker" in place:
        target = {"SageMaker": {"EndpointName": "churn", "EndpointUrl": url}}
    code, lines = validate(capsys, with_target(request_dict, target, **extra), tmp_path)
    assert code == EXIT_BAD_INPUT and len(lines) == 1, lines
    assert lines[0].startswith(f"Loadrec.{place}: ") and "***@" in lines[0]
    assert 'send them in a header whose value is "env:VARIABLE"' in lines[0]
    assert SECRET not in lines[0]


def test_an_env_header_holding_a_line_break_stops_the_run_before_any_load(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, request_dict: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_TOKEN", f"{SECRET}\r\nX-Evil: 1")
    (tmp_path / "payloads").mkdir()
    (tmp_path / "payloads" / "a.csv").write_text("1,2,3\n")
    request = with_target(request_dict, http(Headers={"Authorization": "env:API_TOKEN"}), SamplePayloadUrl="payloads")
    job = tmp_path / "job.json"
    job.write_text(json.dumps(request))
    code = main(["run", str(job), "--limits", "relaxed", "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == EXIT_BAD_INPUT
    assert err.strip().splitlines() == [
        "Loadrec.Targets[0]: header Authorization of http://127.0.0.1:9/invocations: environment variable "
        "API_TOKEN holds a line break (CR or LF), which would split the request"
    ]
    assert SECRET not in out + err and "Traceback" not in out + err


@pytest.mark.parametrize(
    ("loadrec", "override", "field"),
    [
        ({"SamplePayloadUrl": "missing/"}, None, "Loadrec.SamplePayloadUrl"),
        ({}, "missing.tar.gz", "--payloads"),
    ],
)
def test_payload_errors_name_the_field_or_flag(
    tmp_path: Path, request_dict: dict[str, Any], loadrec: dict[str, Any], override: str | None, field: str
) -> None:
    spec = parse_job(with_target(request_dict, http(), **loadrec), LimitsMode.AWS)
    with pytest.raises(SetupError) as raised:
        load_payloads(spec, tmp_path, override)
    assert str(raised.value).startswith(f"{field}: ") and "does not exist" in str(raised.value)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://127.0.0.1:18080/invocations", "127-0-0-1-18080-invocations"),
        ("https://models.example.com/v1/models/churn:predict?x=1", "models-example-com-v1-models-churn-predict"),
        ("http://[::1]:8080/", "1-8080"),
        ("http://" + "a" * 70 + ".example/", "a" * 63),
        ("http://--.example/---", "example"),
    ],
)
def test_http_targets_get_a_valid_endpoint_name(url: str, name: str) -> None:
    assert HttpTarget(url).endpoint_name == name


def test_describe_writes_valid_endpoint_names_and_keeps_the_url_in_the_loadrec_key() -> None:
    described = aws.describe(fixture_results())
    for recommendation in described["InferenceRecommendations"]:
        name = recommendation["EndpointConfiguration"]["EndpointName"]
        assert name == "127-0-0-1-1-invocations"
    steps = aws.steps(fixture_results())["Steps"]
    names = [s["InferenceBenchmark"]["EndpointConfiguration"]["EndpointName"] for s in steps]
    assert names == ["127-0-0-1-1-invocations", "127-0-0-1-2-invocations"]
    tests = described["Loadrec"]["Tests"]
    assert [t["Configuration"] for t in tests] == ["ml.c5.large", "<img src=x onerror=alert(1)>"]
    assert [t["Target"] for t in tests] == ["http://127.0.0.1:1/invocations", "http://127.0.0.1:2/invocations"]


@pytest.mark.parametrize(
    ("role", "targets", "configured", "arn"),
    [
        ("arn:aws:iam::123456789012:role/R", [http()], "eu-west-1", "arn:aws:sagemaker:eu-west-1:123456789012:"),
        (None, [http()], None, "arn:aws:sagemaker:us-east-1:000000000000:"),
        (None, [http()], "bad\u0007region", "arn:aws:sagemaker:us-east-1:000000000000:"),
        (
            "arn:aws:iam::210987654321:role/R",
            [{"SageMaker": {"EndpointName": "e", "Region": "ap-south-1"}}],
            "eu-west-1",
            "arn:aws:sagemaker:ap-south-1:210987654321:",
        ),
    ],
)
def test_job_arn_follows_aws_format(
    request_dict: dict[str, Any], role: str | None, targets: list[dict[str, Any]], configured: str | None, arn: str
) -> None:
    request = copy.deepcopy(request_dict)
    request.pop("RoleArn")
    if role:
        request["RoleArn"] = role
    request["Loadrec"] = {"Targets": targets}
    assert aws.job_arn(parse_job(request, LimitsMode.AWS), configured) == f"{arn}inference-recommendations-job/unit-job"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@host/x?a=b@c", "http://***@host/x?a=b@c"),
        ("//user:pw@evil/x", "//***@evil/x"),
        ("http://user:p/ss@host/x", "http://***@host/x"),
        ("https://host/path", "https://host/path"),
    ],
)
def test_credentials_are_masked_in_any_url_shown(url: str, shown: str) -> None:
    assert without_credentials(url) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:9/v1?api_key=K3Y&mode=fast", "http://127.0.0.1:9/v1?api_key=…&mode=…"),
        ("http://h/x?K3YALONE", "http://h/x?…"),
        ("http://user:pw@h/x?a=b@c#frag-K3Y", "http://***@h/x?a=…#…"),
        ("https://h/path", "https://h/path"),
        ("http://h/x?", "http://h/x"),
    ],
)
def test_query_values_are_masked_in_any_target_shown(url: str, shown: str) -> None:
    assert shown_url(url) == shown == HttpTarget(url).label


def test_a_target_s_query_key_is_in_no_results_file() -> None:
    request = copy.deepcopy(REQUEST)
    request["Loadrec"]["Targets"][0]["Http"]["Url"] += "?api_key=QUERY-K3Y"
    results = replace(fixture_results(), spec=parse_job(request, LimitsMode.RELAXED))
    body = json.dumps(aws.describe(results), ensure_ascii=False)
    assert "QUERY-K3Y" not in body and "/invocations?api_key=…" in body
