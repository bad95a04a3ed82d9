"""The API server's SigV4 check (engine/api/sigv4.py) against requests signed by botocore's real signer:
what boto3 signs is accepted, and each way a request can be wrong gets AWS's error code, never with the secret."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials

from loadrec.engine.api.sigv4 import AMZ_DATE, SIGNATURE_MISMATCH, AuthError, SignedRequest, verify

KEY_ID = "AKIDLOADRECTEST00001"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYLOADRECKEY"
OTHER_SECRET = "xKbmsYVuoGFNJ/L8NEOH+cQyShgDZLOADRECKEY"
KEYS = {KEY_ID: SECRET}
URL = "http://127.0.0.1:8443/"
BODY = b'{"MaxResults": 10, "SortBy": "Name"}'
TARGET = "SageMaker.ListInferenceRecommendationsJobs"
REGION = "us-east-1"  # the server's


@dataclasses.dataclass(frozen=True)
class Signed:
    request: SignedRequest
    at: datetime  # the request's X-Amz-Date
    signature: str


def sign(
    body: bytes = BODY,
    *,
    key_id: str = KEY_ID,
    secret: str = SECRET,
    service: str = "sagemaker",
    region: str = REGION,
    url: str = URL,
    headers: Mapping[str, str] | None = None,
) -> Signed:
    """``body`` POSTed to ``url``, signed as boto3 signs it; the headers as the server sees them."""
    aws = AWSRequest(
        method="POST",
        url=url,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET, **(headers or {})},
        data=body,
    )
    SigV4Auth(Credentials(key_id, secret), service, region).add_auth(aws)
    return as_received(aws.method, aws.url, dict(aws.headers.items()), body)


def as_received(method: str, url: str, headers: Mapping[str, Any], body: bytes) -> Signed:
    parts = urlsplit(url)
    seen = {name.lower(): value.decode() if isinstance(value, bytes) else str(value) for name, value in headers.items()}
    seen["host"] = parts.netloc
    at = datetime.strptime(seen["x-amz-date"], AMZ_DATE).replace(tzinfo=UTC)
    signature = seen["authorization"].rpartition("Signature=")[2]
    return Signed(SignedRequest(method, parts.path or "/", parts.query, seen, body), at, signature)


def changed(signed: Signed, *, body: bytes | None = None, **headers: str | None) -> SignedRequest:
    """The signed request with its body or headers (``x_amz_target`` → ``x-amz-target``; None: removed) changed."""
    new = dict(signed.request.headers)
    for name, value in headers.items():
        key = name.replace("_", "-")
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
    return dataclasses.replace(signed.request, headers=new, body=signed.request.body if body is None else body)


def refused(request: SignedRequest, keys: Mapping[str, str], now: datetime, signature: str = "") -> AuthError:
    with pytest.raises(AuthError) as caught:
        verify(request, keys, now, REGION)
    error = caught.value
    for secret in (SECRET, OTHER_SECRET, *keys.values()):
        assert secret not in error.message and secret not in str(error)
    if signature:
        assert signature not in error.message
    return error


# --- accepted ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "url", "headers"),
    [
        (BODY, URL, {}),
        (b"", URL, {}),
        (b"{}", "http://localhost:8080/", {}),
        (BODY, "https://api.example.test/", {}),
        (BODY, "http://127.0.0.1:8443/some%20path/x", {}),
        (BODY, "http://127.0.0.1:8443/?b=2&a=1&a=0", {}),
        ('{"NameContains": "café"}'.encode(), URL, {}),
        (BODY, URL, {"X-Amz-Content-SHA256": hashlib.sha256(BODY).hexdigest()}),
        (BODY, URL, {"X-Custom": "  spaced   value  "}),
    ],
    ids=["json", "empty-body", "other-host", "https", "encoded-path", "query", "utf8-body", "sha256-header", "spaces"],
)
def test_a_request_botocore_signed_is_accepted(body: bytes, url: str, headers: dict[str, str]) -> None:
    signed = sign(body, url=url, headers=headers)
    assert verify(signed.request, KEYS, signed.at, REGION) == KEY_ID


def test_a_request_a_boto3_client_sends_is_accepted() -> None:
    captured: dict[str, Any] = {}

    def capture(request: Any, **_: Any) -> AWSResponse:
        captured["request"] = request
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, _Raw())

    session = boto3.session.Session(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name=REGION)
    client = session.client("sagemaker", endpoint_url="http://127.0.0.1:8443")
    client.meta.events.register("before-send", capture)
    client.list_inference_recommendations_jobs(NameContains="churn", MaxResults=5)
    sent = captured["request"]
    signed = as_received(sent.method, sent.url, dict(sent.headers.items()), sent.body)
    assert "user-agent" in signed.request.headers  # sent, though not signed
    assert verify(signed.request, {"AKIDOTHER": OTHER_SECRET, **KEYS}, signed.at, REGION) == KEY_ID


class _Raw:
    def stream(self, **_: Any) -> Any:
        yield b"{}"


@pytest.mark.parametrize("offset_s", [-300, -299, -1, 0, 1, 299, 300])
def test_a_request_dated_within_five_minutes_of_the_server_clock_is_accepted(offset_s: int) -> None:
    signed = sign()
    # offset_s < 0: the request is dated before the server's clock
    assert verify(signed.request, KEYS, signed.at - timedelta(seconds=offset_s), REGION) == KEY_ID


# --- refused -----------------------------------------------------------------------------


def test_a_wrong_secret_is_an_invalid_signature() -> None:
    signed = sign(secret=OTHER_SECRET)
    error = refused(signed.request, KEYS, signed.at, signed.signature)
    assert (error.code, error.message, error.status) == ("InvalidSignatureException", SIGNATURE_MISMATCH, 400)


def test_an_unknown_key_id_is_an_unrecognized_client() -> None:
    signed = sign(key_id="AKIDNOBODYKNOWS00001")
    error = refused(signed.request, KEYS, signed.at, signed.signature)
    assert (error.code, error.status) == ("UnrecognizedClientException", 400)
    assert error.message == "The security token included in the request is invalid."


def test_a_request_without_authorization_is_a_missing_token_403() -> None:
    signed = sign()
    error = refused(changed(signed, authorization=None), KEYS, signed.at)
    assert (error.code, error.status) == ("MissingAuthenticationTokenException", 403)


def test_an_empty_authorization_header_is_a_missing_token_403() -> None:
    signed = sign()
    error = refused(changed(signed, authorization=""), KEYS, signed.at)
    assert (error.code, error.status) == ("MissingAuthenticationTokenException", 403)


def test_no_keys_configured_refuses_every_signed_request() -> None:
    signed = sign()
    assert refused(signed.request, {}, signed.at).code == "UnrecognizedClientException"


Change = Callable[[Signed], SignedRequest]

TAMPERED: list[tuple[str, Change]] = [
    ("body", lambda s: changed(s, body=BODY.replace(b"10", b"99"))),
    ("body-emptied", lambda s: changed(s, body=b"")),
    ("body-appended", lambda s: changed(s, body=BODY + b" ")),
    ("operation", lambda s: changed(s, x_amz_target="SageMaker.StopInferenceRecommendationsJob")),
    ("host", lambda s: changed(s, host="127.0.0.1:9999")),
    ("content-type", lambda s: changed(s, content_type="application/json")),
    ("method", lambda s: dataclasses.replace(s.request, method="PUT")),
    ("path", lambda s: dataclasses.replace(s.request, path="/other")),
    ("query", lambda s: dataclasses.replace(s.request, query="a=1")),
    ("signature", lambda s: changed(s, authorization=s.request.headers["authorization"][:-4] + "0000")),
]


@pytest.mark.parametrize("change", [c for _, c in TAMPERED], ids=[n for n, _ in TAMPERED])
def test_a_request_changed_after_signing_is_an_invalid_signature(change: Change) -> None:
    signed = sign()
    error = refused(change(signed), KEYS, signed.at, signed.signature)
    assert (error.code, error.message, error.status) == ("InvalidSignatureException", SIGNATURE_MISMATCH, 400)


def test_a_body_not_matching_its_signed_sha256_header_is_an_invalid_signature() -> None:
    signed = sign(headers={"X-Amz-Content-SHA256": hashlib.sha256(BODY).hexdigest()})
    error = refused(changed(signed, body=b"{}"), KEYS, signed.at, signed.signature)
    assert error.code == "InvalidSignatureException"
    assert "x-amz-content-sha256" in error.message


@pytest.mark.parametrize(
    ("offset_s", "phrase"),
    [(301, "Signature expired"), (3600, "Signature expired"), (-301, "Signature not yet current")],
)
def test_a_request_dated_more_than_five_minutes_off_is_an_invalid_signature(offset_s: int, phrase: str) -> None:
    signed = sign()
    now = signed.at + timedelta(seconds=offset_s)  # offset_s > 0: the request is dated in the server's past
    error = refused(signed.request, KEYS, now, signed.signature)
    assert (error.code, error.status) == ("InvalidSignatureException", 400)
    assert error.message.startswith(phrase)
    assert f"{signed.at:{AMZ_DATE}}" in error.message


@pytest.mark.parametrize("service", ["s3", "sagemaker-runtime", "execute-api"])
def test_a_signature_scoped_to_another_service_is_an_invalid_signature(service: str) -> None:
    signed = sign(service=service)
    error = refused(signed.request, KEYS, signed.at, signed.signature)
    assert error.code == "InvalidSignatureException"
    assert error.message == "Credential should be scoped to correct service: 'sagemaker'."


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-2", "us-east-1x"])
def test_a_signature_scoped_to_another_region_is_an_invalid_signature(region: str) -> None:
    signed = sign(region=region)
    error = refused(signed.request, KEYS, signed.at, signed.signature)
    assert (error.code, error.status) == ("InvalidSignatureException", 400)
    assert (
        error.message == f"Credential should be scoped to a valid region, not '{region}': this server's is '{REGION}'."
    )


def test_a_scope_date_other_than_the_x_amz_date_is_an_invalid_signature() -> None:
    signed = sign()
    header = signed.request.headers["authorization"]
    day = f"{signed.at:%Y%m%d}"
    other = f"{signed.at - timedelta(days=1):%Y%m%d}"
    error = refused(changed(signed, authorization=header.replace(f"/{day}/", f"/{other}/")), KEYS, signed.at)
    assert error.code == "InvalidSignatureException"
    assert error.message == f"Credential should be scoped to a valid date: {day}"


def test_signed_headers_without_x_amz_date_are_an_invalid_signature() -> None:
    signed = sign()
    header = signed.request.headers["authorization"].replace(";x-amz-date", "")
    error = refused(changed(signed, authorization=header), KEYS, signed.at)
    assert error.code == "InvalidSignatureException"
    assert error.message.startswith("SignedHeaders must name host, x-amz-date, x-amz-target")


def test_a_signed_header_missing_from_the_request_is_an_invalid_signature() -> None:
    signed = sign(headers={"X-Custom": "1"})
    error = refused(changed(signed, x_custom=None), KEYS, signed.at)
    assert error.code == "InvalidSignatureException"
    assert error.message.startswith("SignedHeaders must name host, x-amz-date, x-amz-target")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer abc.def",
        "AWS4-HMAC-SHA1 Credential=AKIDLOADRECTEST00001/20261124/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 ",
        "AWS4-HMAC-SHA256 Credential=AKIDLOADRECTEST00001/20261124/us-east-1/sagemaker/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKIDLOADRECTEST00001/20261124/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date",
        "AWS4-HMAC-SHA256 Credential=AKIDLOADRECTEST00001/20261124/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=",
        "AWS4-HMAC-SHA256 Credential=AKIDLOADRECTEST00001/20261124/us-east-1/sagemaker, "
        "SignedHeaders=host;x-amz-date, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDLOADRECTEST00001//us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDLOADRECTEST00001/20261124/us-east-1/sagemaker/aws4_request/extra, "
        "SignedHeaders=host;x-amz-date, Signature=00",
        "AWS4-HMAC-SHA256 Credential AKIDLOADRECTEST00001, SignedHeaders host, Signature 00",
    ],
    ids=[
        "bearer",
        "sha1",
        "algorithm-only",
        "algorithm-space",
        "no-signed-headers",
        "no-signature",
        "empty-signature",
        "short-scope",
        "empty-date",
        "long-scope",
        "no-equals",
    ],
)
def test_a_malformed_authorization_is_an_incomplete_signature(authorization: str) -> None:
    signed = sign()
    error = refused(changed(signed, authorization=authorization), KEYS, signed.at)
    assert (error.code, error.status) == ("IncompleteSignatureException", 400)


@pytest.mark.parametrize("stamp", [None, "", "2026-11-24T12:00:00Z", "20261124"])
def test_a_missing_or_malformed_x_amz_date_is_an_incomplete_signature(stamp: str | None) -> None:
    signed = sign()
    error = refused(changed(signed, x_amz_date=stamp), KEYS, signed.at)
    assert error.code == "IncompleteSignatureException"
    assert "X-Amz-Date" in error.message


def test_no_refusal_message_holds_the_secret_or_the_signature() -> None:
    """Every refusal above, gathered: the secret, the wrong secret and the signature appear in none."""
    signed = sign()
    wrong = sign(secret=OTHER_SECRET)
    cases = [
        (wrong.request, KEYS, signed.at),
        (signed.request, {"AKIDSOMEONEELSE00001": SECRET}, signed.at),
        (changed(signed, authorization=None), KEYS, signed.at),
        (changed(signed, body=b"{}"), KEYS, signed.at),
        (signed.request, KEYS, signed.at + timedelta(seconds=301)),
        (signed.request, KEYS, signed.at - timedelta(seconds=301)),
        (sign(service="s3").request, KEYS, signed.at),
        (changed(signed, authorization="AWS4-HMAC-SHA256 Signature=" + signed.signature), KEYS, signed.at),
        (changed(signed, x_amz_date="garbage"), KEYS, signed.at),
    ]
    codes = []
    for request, keys, now in cases:
        error = refused(request, keys, now, signed.signature)
        assert wrong.signature not in error.message
        assert SECRET not in repr(error) and OTHER_SECRET not in repr(error)
        codes.append(error.code)
    assert codes == [
        "InvalidSignatureException",
        "UnrecognizedClientException",
        "MissingAuthenticationTokenException",
        "InvalidSignatureException",
        "InvalidSignatureException",
        "InvalidSignatureException",
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "IncompleteSignatureException",
    ]


def test_a_signature_that_leaves_the_operation_unsigned_is_refused() -> None:
    """A captured request whose X-Amz-Target was not signed could be replayed as another operation."""
    body = b'{"JobName":"x"}'
    request = AWSRequest(
        "POST", "http://127.0.0.1:8085/", data=body, headers={"Content-Type": "application/x-amz-json-1.1"}
    )
    SigV4Auth(Credentials(KEY_ID, SECRET), "sagemaker", "us-east-1").add_auth(request)
    headers = {name.lower(): value for name, value in request.prepare().headers.items()}
    headers |= {"host": "127.0.0.1:8085", "x-amz-target": "SageMaker.StopInferenceRecommendationsJob"}
    when = datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    with pytest.raises(AuthError) as refused:
        verify(SignedRequest("POST", "/", "", headers, body), {KEY_ID: SECRET}, when, REGION)
    assert refused.value.code == "InvalidSignatureException"
