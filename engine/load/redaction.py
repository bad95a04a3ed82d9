"""Secrets kept out of everything loadrec prints or writes.

An endpoint may echo what it was sent (a 401 page with the request's headers, a debug
body, a redirect to a URL with a token): the answer samples that become a FailureReason
would then carry the resolved ``env:`` values, the SigV4 ``Authorization`` header or the
session token into stdout, describe.json, steps.json and the report. Every sample passes
through ``redact`` first, in whichever process ran the request, before it is cut short
(a secret cut in half would leak its first half).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

MASK = "***"
# Request headers whose values are secrets whatever their origin.
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-amz-security-token", "x-api-key", "api-key", "cookie"}
)
# What a SigV4 signature looks like wherever it is echoed (a header, a presigned URL).
_SIGV4 = re.compile(
    r"(AWS4-HMAC-SHA256\s+)[^\r\n\"']*|((?:X-Amz-)?Signature=)[0-9a-fA-F]{64}|(X-Amz-(?:Security-Token|Credential)=)[^&\s\"']+"
)
SHORTEST_SECRET = 4  # shorter values would mask common words; such values are no secret anyway


def request_secrets(headers: Mapping[str, str], resolved: Iterable[str] = ()) -> list[str]:
    """The secret values of one request, longest first: its sensitive headers' values, the
    credentials inside them (a Bearer token, Basic's user:password, each cookie value) and
    the resolved env: values."""
    values = set(resolved)
    for name, value in headers.items():
        if name.lower() in SENSITIVE_HEADERS:
            values |= {value, *_inner_secrets(name.lower(), value)}
    return sorted((v for v in values if len(v) >= SHORTEST_SECRET), key=lambda v: (-len(v), v))


def _inner_secrets(name: str, value: str) -> set[str]:
    if name == "cookie":
        return {pair.partition("=")[2] for pair in value.split(";")}
    scheme, _, credentials = value.strip().partition(" ")
    found = {credentials.strip()}
    if scheme.lower() == "basic":
        with contextlib.suppress(ValueError, binascii.Error):
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            found |= {decoded, decoded.partition(":")[2]}
    return found


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret masked, as sent or as an answer would echo it (JSON-escaped,
    percent-encoded, with escaped slashes), and every SigV4 signature masked."""
    for secret in secrets:
        forms = {
            secret,
            json.dumps(secret)[1:-1],
            quote(secret, safe=""),
            quote_plus(secret),
            secret.replace("/", "\\/"),
        }
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, MASK)
    return _SIGV4.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + MASK, text)
