"""SigV4: for the same request and timestamp, our Authorization header equals boto3's."""

from __future__ import annotations

import datetime
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSResponse

from loadrec.engine.job.targets import HttpTarget, SageMakerTarget
from loadrec.engine.load.invocation import TargetError, prepare

FIXED = datetime.datetime(2026, 11, 24, 12, 0, 0)


class _Body:
    def stream(self, **_: Any) -> Any:
        yield b"{}"


@pytest.fixture
def frozen_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    # botocore's signer reads the time here; both signers see the same frozen instant
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: FIXED)


def boto3_request(**kwargs: Any) -> Any:
    captured: dict[str, Any] = {}

    def capture(request: Any, **_: Any) -> AWSResponse:
        captured["request"] = request
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, _Body())

    # a fresh session: boto3's default one caches whatever credentials it first saw
    session = boto3.session.Session()
    client = session.client("sagemaker-runtime", region_name="us-east-1", endpoint_url="http://127.0.0.1:8080")
    client.meta.events.register("before-send", capture)
    client.invoke_endpoint(**kwargs)
    return captured["request"]


def header(request: Any, name: str) -> str:
    value = request.headers[name]
    return value.decode() if isinstance(value, bytes) else str(value)


@pytest.mark.usefixtures("frozen_aws")
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"TargetVariant": "variant-b", "CustomAttributes": "trace=1"},
        {"InferenceComponentName": "component-1"},
    ],
)
def test_authorization_matches_boto3(options: dict[str, str]) -> None:
    body = b"1.0,2.0,3.0,4.0,5.0,6.0,7.0,8.0\n"
    theirs = boto3_request(
        EndpointName="my-endpoint", Body=body, ContentType="text/csv", Accept="application/json", **options
    )
    target = SageMakerTarget(
        endpoint_name="my-endpoint",
        region="us-east-1",
        endpoint_url="http://127.0.0.1:8080",
        accept="application/json",
        target_variant=options.get("TargetVariant"),
        inference_component_name=options.get("InferenceComponentName"),
        custom_attributes=options.get("CustomAttributes"),
    )
    invocation = prepare(target)
    ours = invocation.headers_for(body, "text/csv")
    assert invocation.url == theirs.url
    assert ours["Authorization"] == header(theirs, "Authorization")
    assert ours["X-Amz-Date"] == header(theirs, "X-Amz-Date") == "20261124T120000Z"
    assert ours["X-Amz-Security-Token"] == "session-token"


@pytest.mark.usefixtures("frozen_aws")
def test_region_comes_from_the_default_chain() -> None:
    invocation = prepare(SageMakerTarget(endpoint_name="ep"))
    assert invocation.url == "https://runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/ep/invocations"
    assert "/eu-west-1/sagemaker/aws4_request" in invocation.headers_for(b"x", "text/csv")["Authorization"]


def test_missing_credentials_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(TargetError, match=r"^endpoint ep: no AWS credentials found"):
        prepare(SageMakerTarget(endpoint_name="ep", region="us-east-1"))


def test_http_headers_read_secrets_from_the_environment() -> None:
    target = HttpTarget(url="http://127.0.0.1:9000/v1/predict?x=1", headers=(("Authorization", "env:API_TOKEN"),))
    invocation = prepare(target, environ={"API_TOKEN": "Bearer s3cret"})
    assert (invocation.base_url, invocation.path) == ("http://127.0.0.1:9000", "/v1/predict?x=1")
    assert invocation.headers_for(b"{}", "application/json") == {
        "Authorization": "Bearer s3cret",
        "Content-Type": "application/json",
    }
    with pytest.raises(TargetError, match="environment variable API_TOKEN is not set"):
        prepare(target, environ={})


@pytest.mark.usefixtures("frozen_aws")
def test_signatures_are_reused_within_their_second_only(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.2]
    invocation = prepare(SageMakerTarget(endpoint_name="ep", region="us-east-1"))
    assert invocation.signer is not None
    signer = type(invocation.signer)(invocation.signer.region, invocation.signer.credentials, clock=lambda: now[0])
    first = signer.sign("POST", invocation.url, b"a", {"Content-Type": "text/csv"})
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: FIXED + datetime.timedelta(seconds=1))
    assert signer.sign("POST", invocation.url, b"a", {"Content-Type": "text/csv"}) == first  # same second: reused
    other_body = signer.sign("POST", invocation.url, b"b", {"Content-Type": "text/csv"})
    assert other_body["X-Amz-Date"] == "20261124T120001Z"  # a different request is signed afresh
    now[0] = 1001.0
    later = signer.sign("POST", invocation.url, b"a", {"Content-Type": "text/csv"})
    assert later["X-Amz-Date"] == "20261124T120001Z" and later["Authorization"] != first["Authorization"]
