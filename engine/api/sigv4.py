"""Checking a request's AWS Signature Version 4 against the server's keys.

The signature is recomputed with botocore's own signer (``SigV4Auth``: its canonical
request, string to sign and key derivation) over exactly the headers the caller
signed, so what boto3 and the AWS CLI sign verifies byte for byte, and nothing of the
algorithm is written here. What AWS checks around it is: the key must be known
(``UnrecognizedClientException``), the signature must match, be scoped to the server's
region and service, and the request date be within 5 minutes of the server's clock
(``InvalidSignatureException``), and a request
without an Authorization header is ``MissingAuthenticationTokenException``. The
comparison takes constant time; no secret or signature is put in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "sagemaker"
MAX_SKEW = timedelta(minutes=5)  # AWS's rule: a request dated further from the server's clock is refused
AMZ_DATE = "%Y%m%dT%H%M%SZ"
REQUIRED_SIGNED = frozenset({"host", "x-amz-date", "x-amz-target"})
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


class AuthError(Exception):
    """The request is not signed by a known key; ``code`` is AWS's error code."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class SignedRequest:
    """What of an HTTP request the signature covers."""

    method: str
    path: str  # as the server decoded it (the API has one path, "/")
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes


def _incomplete(message: str) -> AuthError:
    return AuthError("IncompleteSignatureException", message)


@dataclass(frozen=True)
class _Authorization:
    key_id: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str


def _parse_authorization(value: str) -> _Authorization:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported signing algorithm: only {ALGORITHM} is accepted")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, equals, part = item.strip().partition("=")
        if equals:
            parts[name] = part
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not parts.get(name)]
    if missing:
        raise _incomplete(f"Authorization header requires '{missing[0]}' parameter")
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or not all(scope):
        raise _incomplete("Credential must have the form KEY_ID/DATE/REGION/SERVICE/aws4_request")
    key_id, date, region, service, terminator = scope
    signed = tuple(parts["SignedHeaders"].split(";"))
    return _Authorization(key_id, date, region, service, terminator, signed, parts["Signature"])


def verify(request: SignedRequest, keys: Mapping[str, str], now: datetime, region: str) -> str:
    """The access key id that signed ``request`` for ``region``; raises AuthError as AWS would answer."""
    header = request.headers.get("authorization")
    if not header:
        raise AuthError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
    auth = _parse_authorization(header)
    secret = keys.get(auth.key_id)
    if secret is None:
        raise AuthError("UnrecognizedClientException", "The security token included in the request is invalid.")
    if auth.service != SERVICE or auth.terminator != "aws4_request":
        raise AuthError("InvalidSignatureException", f"Credential should be scoped to correct service: '{SERVICE}'.")
    if auth.region != region:  # as AWS: a regional endpoint takes what was signed for its region only
        raise AuthError(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{auth.region[:40]}': this server's is '{region}'.",
        )
    stamp = request.headers.get("x-amz-date", "")
    try:
        when = datetime.strptime(stamp, AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        raise _incomplete("Authorization header requires existence of a valid 'X-Amz-Date' header") from None
    if auth.date != stamp[:8]:
        raise AuthError("InvalidSignatureException", "Credential should be scoped to a valid date: " + stamp[:8])
    _check_skew(when, now)
    # The operation is signed too (boto3 and the CLI always sign it): a captured request cannot be replayed
    # as another operation.
    if not set(auth.signed_headers) >= REQUIRED_SIGNED or any(
        name not in request.headers for name in auth.signed_headers
    ):
        raise AuthError(
            "InvalidSignatureException", f"SignedHeaders must name {', '.join(sorted(REQUIRED_SIGNED))}, all present"
        )
    claimed = request.headers.get("x-amz-content-sha256")
    if claimed is not None and claimed != hashlib.sha256(request.body).hexdigest():
        raise AuthError("InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match")
    expected = _signature(request, auth, secret, stamp)
    if not hmac.compare_digest(expected.encode(), auth.signature.encode()):
        raise AuthError("InvalidSignatureException", SIGNATURE_MISMATCH)
    return auth.key_id


def _check_skew(when: datetime, now: datetime) -> None:
    if when < now - MAX_SKEW:
        raise AuthError(
            "InvalidSignatureException",
            f"Signature expired: {when:{AMZ_DATE}} is now earlier than {now - MAX_SKEW:{AMZ_DATE}} "
            f"({now:{AMZ_DATE}} - 5 min.)",
        )
    if when > now + MAX_SKEW:
        raise AuthError(
            "InvalidSignatureException",
            f"Signature not yet current: {when:{AMZ_DATE}} is still later than {now + MAX_SKEW:{AMZ_DATE}} "
            f"({now:{AMZ_DATE}} + 5 min.)",
        )


def _signature(request: SignedRequest, auth: _Authorization, secret: str, stamp: str) -> str:
    """The signature botocore's signer gives the request, over the headers the caller signed."""
    signer = SigV4Auth(Credentials(auth.key_id, secret), auth.service, auth.region)
    # An http:// URL: botocore then always hashes the body, as a client signing for http does.
    url = f"http://{request.headers['host']}{request.path}" + (f"?{request.query}" if request.query else "")
    headers = {name: request.headers[name] for name in auth.signed_headers}
    signed = AWSRequest(method=request.method, url=url, headers=headers, data=request.body)
    signed.context["timestamp"] = stamp
    canonical = signer.canonical_request(signed)
    return str(signer.signature(signer.string_to_sign(signed, canonical), signed))
