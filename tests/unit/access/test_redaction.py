"""Secrets masked in answer samples, and the pause after connection failures, as exact tables."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote, quote_plus

import pytest

from loadrec.engine.access.redaction import MASK, redact, request_secrets
from loadrec.engine.load.exchange import Backoff, InvocationFailure

SIGNATURE = "a" * 64
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/sagemaker/aws4_request, "
    f"SignedHeaders=content-type;host;x-amz-date, Signature={SIGNATURE}"
)


def test_sensitive_headers_and_resolved_env_values_are_the_secrets() -> None:
    headers = {"Authorization": "Bearer tok-123", "X-Amz-Security-Token": "FQoGZXIvYXdzE", "Accept": "text/csv"}
    assert request_secrets(headers, ["my-api-key", "abc"]) == [
        "Bearer tok-123", "FQoGZXIvYXdzE", "my-api-key", "tok-123"
    ]  # fmt: skip


def test_credentials_inside_header_values_are_secrets_too() -> None:
    basic = "Basic " + base64.b64encode(b"alice:pa/ss+word").decode()
    secrets = request_secrets({"Authorization": basic, "Cookie": "session=abc123xyz; theme=dark"})
    assert {"alice:pa/ss+word", "pa/ss+word", "abc123xyz"} <= set(secrets)
    assert "dark" in secrets  # each cookie value: loadrec cannot tell which one matters


@pytest.mark.parametrize(
    "echo",
    ["invalid token tok-5ecret/9+x", "next=%2Fx%3Ftoken%3Dtok-5ecret%2F9%2Bx", "q=tok-5ecret%2F9%2Bx",
     '{"token": "tok-5ecret\\/9+x"}'],
)  # fmt: skip
def test_echoed_secrets_are_masked_in_every_form_an_answer_writes_them(echo: str) -> None:
    secrets = request_secrets({"Authorization": "Bearer tok-5ecret/9+x"})
    assert "5ecret" not in redact(echo, secrets)


TOKEN = "FQoGZXIvYXdzEJr//////////wEaDO+session/token=value-1234"
ENV_VALUE = "s3cr3t-v@lue/ü"
HEADERS = {"Authorization": AUTHORIZATION, "X-Amz-Security-Token": TOKEN, "X-Custom": ENV_VALUE}
ECHOES = {
    "sigv4 with + for spaces": AUTHORIZATION.replace(" ", "+"),
    "sigv4 percent-encoded": quote_plus(AUTHORIZATION),
    "sigv4 upper-cased": AUTHORIZATION.upper(),
    "base64 of the whole header": base64.b64encode(f"Authorization: {AUTHORIZATION}".encode()).decode(),
    "base64 of the token alone": f"got {base64.b64encode(TOKEN.encode()).decode()} here",
    "url-safe base64": base64.urlsafe_b64encode(f"k={ENV_VALUE}".encode()).decode(),
    "percent-encoded in lower case": quote(ENV_VALUE, safe="").lower() + " " + quote(TOKEN, safe="").lower(),
    "percent-encoded in upper case": quote(TOKEN, safe=""),
    "case-folded": TOKEN.lower() + " " + ENV_VALUE.upper(),
    "HTML entities": html.escape(ENV_VALUE) + html.escape(TOKEN).replace("/", "&#x2F;"),
    "every character an entity": "".join(f"&#{ord(c)};" for c in ENV_VALUE),
    "JSON escapes": json.dumps({"t": TOKEN.replace("/", "\\/"), "e": ENV_VALUE}),
    "JSON \\u escapes": json.dumps(ENV_VALUE).replace("/", "\\u002F"),
    "a redirect's query": "redirect to https://x/?tok=" + quote(TOKEN, safe="").lower(),
}
PARTS = ("AKIDEXAMPLE", SIGNATURE[:12], "session/token", "session%2ftoken", "s3cr3t", "ü")


@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
def test_secrets_are_masked_in_every_encoding_an_echo_uses(echo: str) -> None:
    shown = redact(echo, request_secrets(HEADERS, [ENV_VALUE]))
    assert MASK in shown and not [part for part in PARTS if part.lower() in shown.lower()], shown


def test_masking_keeps_the_text_around_secrets() -> None:
    secrets = request_secrets(HEADERS, [ENV_VALUE])
    assert redact("before s3cr3t-v%40lue%2F%C3%BC after", secrets) == f"before {MASK} after"
    assert redact("a &lt;b&gt; &amp; \\u0041 100% (no secret)", secrets) == "a &lt;b&gt; &amp; \\u0041 100% (no secret)"
    assert redact("x " + base64.b64encode(b"unrelated data here").decode(), secrets).startswith("x dW5yZWxh")


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("echo: Bearer tok-123!", ["Bearer tok-123"], f"echo: {MASK}!"),
        ('{"key": "p\\"w"}', ['p"w'], f'{{"key": "{MASK}"}}'),  # as a JSON body escapes it
        (f"Authorization: {AUTHORIZATION}\r\nHost: x", [], f"Authorization: AWS4-HMAC-SHA256 {MASK}\r\nHost: x"),
        (f"/o?X-Amz-Signature={SIGNATURE}&X-Amz-Credential=AKID%2F1&a=1", [], f"/o?X-Amz-Signature={MASK}"
         f"&X-Amz-Credential={MASK}&a=1"),
        ("X-Amz-Security-Token=FQo/Gz+1 rest", [], f"X-Amz-Security-Token={MASK} rest"),
        ("nothing secret here", ["absent"], "nothing secret here"),
    ],
)  # fmt: skip
def test_redact(text: str, secrets: list[str], expected: str) -> None:
    assert redact(text, secrets) == expected


def test_backoff_doubles_on_connection_failures_up_to_a_second_and_resets() -> None:
    backoff = Backoff()
    refused = InvocationFailure("connection refused", connection=True)
    pauses = [backoff.after(refused) for _ in range(10)]
    assert pauses == [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.0, 1.0]
    assert backoff.after(InvocationFailure("HTTP 503")) == 0.0  # the endpoint answered
    assert backoff.after(refused) == 0.005
    assert backoff.after(None) == 0.0
