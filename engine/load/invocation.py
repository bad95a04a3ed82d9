"""How one invocation of a target is sent: URL, method, headers, and SigV4 signing.

``prepare(target)`` resolves everything that can fail (credentials, region, ``env:``
header values) once, before any load, raising ``TargetError`` with one line. What it
returns, an ``Invocation``, only builds per-request headers.

SageMaker targets are signed with botocore's own credential chain and SigV4 signer,
but sent on Locust's fast HTTP client: a boto3 client per request is several times
slower, and the load generator must not be the bottleneck.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, urlsplit

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from loadrec.engine.job.environment_names import ENV_PREFIX
from loadrec.engine.job.extension import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_S, Extension
from loadrec.engine.job.headers import header_value_problem, region_problem
from loadrec.engine.job.targets import HttpTarget, SageMakerTarget, Target
from loadrec.engine.trust.bundles import TrustError, read_bundle

SIGNING_SERVICE = "sagemaker"  # InvokeEndpoint signs as "sagemaker" on runtime.sagemaker.*
DEFAULT_ACCEPT = "application/json"


class TargetError(Exception):
    """A target cannot be invoked (no credentials, no region, a missing env variable)."""


class SigV4Signer:
    """Signs InvokeEndpoint requests; credentials come from botocore's default chain.

    A SigV4 signature is a pure function of the request, the credentials and the
    X-Amz-Date second. Users send the same few payloads thousands of times a second, so
    botocore's result is kept for the rest of its second and reused for identical
    requests: the headers are exactly what botocore would compute again, at a fraction
    of the cost (signing is otherwise half the load generator's CPU).
    """

    def __init__(self, region: str, credentials: Credentials, clock: Callable[[], float] = time.time) -> None:
        self.region = region
        self.credentials = credentials
        self._clock = clock
        self._second = -1
        self._signed: dict[tuple[object, ...], dict[str, str]] = {}

    def sign(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """``headers`` plus Authorization, X-Amz-Date and, for temporary credentials, the token."""
        # Frozen per request: refreshable credentials (instance roles, SSO) renew themselves here.
        frozen = self.credentials.get_frozen_credentials()
        second = int(self._clock())
        if second != self._second:
            self._second, self._signed = second, {}
        key = (method, url, body, tuple(headers.items()), frozen.access_key, frozen.token)
        signed = self._signed.get(key)
        if signed is None:
            request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
            SigV4Auth(frozen, SIGNING_SERVICE, self.region).add_auth(request)
            signed = self._signed[key] = dict(request.headers.items())
        return dict(signed)


@dataclass(frozen=True)
class Invocation:
    """A ready-to-send request template for one target."""

    base_url: str  # scheme://host[:port], Locust's "host"
    path: str
    method: str
    headers: tuple[tuple[str, str], ...]  # resolved; may hold secrets: never log or write them
    signer: SigV4Signer | None = None
    secrets: tuple[str, ...] = ()  # the resolved env: values, redacted from whatever is shown
    timeout_s: float = DEFAULT_TIMEOUT_S  # bounds each whole request
    max_answer_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    framing: str | None = None  # a streamed answer's framing (None: read whole)
    event_stream: bool = False  # the answer is SageMaker's event stream, its parts in ``framing``
    ca_pem: str | None = None  # the CAs an https connection trusts (None: certifi's), see trust.py

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def headers_for(self, body: bytes, content_type: str) -> dict[str, str]:
        headers = dict(self.headers)
        headers["Content-Type"] = content_type
        if self.signer is None:
            return headers
        return self.signer.sign(self.method, self.url, body, headers)


def prepare(
    target: Target,
    extension: Extension | None = None,
    environ: Mapping[str, str] | None = None,
    base_dir: Path = Path(),
) -> Invocation:
    """Resolve a target into an ``Invocation`` (relative paths from ``base_dir``, the job's folder); raises
    TargetError before any load."""
    environ = os.environ if environ is None else environ
    if isinstance(target, HttpTarget):
        invocation = _prepare_http(target, environ)
        bundle = None if target.ca_bundle is None else base_dir / Path(target.ca_bundle).expanduser()
        invocation = replace(invocation, ca_pem=_trusted(bundle, "CaBundle"))
    else:
        invocation = _prepare_sagemaker(target, environ)
        setting = botocore.session.get_session().get_config_variable("ca_bundle")  # AWS_CA_BUNDLE, profile
        bundle = None if not setting else Path(str(setting)).expanduser()
        invocation = replace(invocation, ca_pem=_trusted(bundle, "AWS_CA_BUNDLE (or the profile's ca_bundle)"))
    if extension is None:
        return invocation
    return replace(invocation, timeout_s=extension.request_timeout_s, max_answer_bytes=extension.max_response_bytes)


def _trusted(bundle: Path | None, what: str) -> str | None:
    if bundle is None:
        return None
    try:
        return read_bundle(bundle)
    except TrustError as error:
        raise TargetError(f"{what}: {error}") from None


def _prepare_http(target: HttpTarget, environ: Mapping[str, str]) -> Invocation:
    parts = urlsplit(target.url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers, secrets = [], []
    for name, value in target.headers:
        if value.startswith(ENV_PREFIX):
            variable = value.removeprefix(ENV_PREFIX)
            if variable not in environ:
                raise TargetError(f"header {name} of {target.label}: environment variable {variable} is not set")
            value = environ[variable]
            if problem := header_value_problem(value):  # the value itself is never shown
                raise TargetError(f"header {name} of {target.label}: environment variable {variable} {problem}")
            secrets.append(value)
        headers.append((name, value))
    base_url = f"{parts.scheme}://{parts.netloc}"
    return Invocation(base_url, path, target.method, tuple(headers), secrets=tuple(secrets), framing=target.framing)


def configured_region(environ: Mapping[str, str]) -> str | None:
    """The environment's AWS region: AWS_REGION, else botocore's (AWS_DEFAULT_REGION, the profile)."""
    # AWS_REGION is what the AWS SDKs and CLI v2 read; botocore alone reads AWS_DEFAULT_REGION and profiles.
    region = environ.get("AWS_REGION") or botocore.session.get_session().get_config_variable("region")
    return str(region) if region else None


def _prepare_sagemaker(target: SageMakerTarget, environ: Mapping[str, str]) -> Invocation:
    session = botocore.session.get_session()
    region = target.region or configured_region(environ)
    if region and target.region is None and (problem := region_problem(region)):
        raise TargetError(f"endpoint {target.endpoint_name}: the AWS region set (AWS_REGION or profile) {problem}")
    if not region:
        raise TargetError(
            f"endpoint {target.endpoint_name}: no AWS region (set Region in its target, AWS_REGION, or a profile)"
        )
    credentials = session.get_credentials()
    if credentials is None:
        raise TargetError(
            f"endpoint {target.endpoint_name}: no AWS credentials found "
            "(environment, shared config and credentials files, SSO, or an instance role)"
        )
    base_url = (target.endpoint_url or f"https://runtime.sagemaker.{region}.amazonaws.com").rstrip("/")
    streamed = target.framing is not None
    # InvokeEndpointWithResponseStream names the model's answer type in its own header (botocore's model).
    headers = [("X-Amzn-SageMaker-Accept" if streamed else "Accept", target.accept or DEFAULT_ACCEPT)]
    optional = {
        "X-Amzn-SageMaker-Target-Variant": target.target_variant,
        "X-Amzn-SageMaker-Inference-Component": target.inference_component_name,
        "X-Amzn-SageMaker-Custom-Attributes": target.custom_attributes,
    }
    headers += [(name, value) for name, value in optional.items() if value is not None]
    operation = "invocations-response-stream" if streamed else "invocations"
    path = f"/endpoints/{quote(target.endpoint_name, safe='')}/{operation}"
    signer = SigV4Signer(region, credentials)
    return Invocation(base_url, path, "POST", tuple(headers), signer, framing=target.framing, event_stream=streamed)
