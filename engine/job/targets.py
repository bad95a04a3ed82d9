"""The live endpoints a job's tests invoke, ``Loadrec.Targets[i]``: what each is, its checks, and its entry.

A target is a SageMaker endpoint (InvokeEndpoint, SigV4-signed) or any HTTP model server
(a URL, a method, headers whose values may be ``env:NAME``); either may stream its
answer (``Streaming``, :mod:`.streaming_key`) and carry a ``PricePerHour``. A target
loadrec creates for a test travels to workers as its entry (``target_entry``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from loadrec.engine.job.environment_names import ENV_PREFIX
from loadrec.engine.job.headers import (
    header_name_problem,
    header_value_problem,
    shown_url,
    url_problem,
    without_credentials,
)
from loadrec.engine.job.problems import Accepted, Problem, join, show
from loadrec.engine.job.runtime_model import invoke_endpoint_problems
from loadrec.engine.job.streaming_key import framing_of

SAGEMAKER_FIELDS = (
    "EndpointName",
    "Region",
    "EndpointUrl",
    "Accept",
    "TargetVariant",
    "InferenceComponentName",
    "CustomAttributes",
)
SAGEMAKER_HEADER_FIELDS = ("Accept", "TargetVariant", "InferenceComponentName", "CustomAttributes")
MAX_ENDPOINT_NAME = 63  # SageMaker's; the fields, types and bounds of a target: loadrec_model.py


@dataclass(frozen=True)
class SageMakerTarget:
    """InvokeEndpoint on a SageMaker endpoint (real-time or serverless), SigV4-signed."""

    endpoint_name: str
    region: str | None = None  # None: the botocore default chain (AWS_REGION, config file)
    endpoint_url: str | None = None  # e.g. a local server standing in for sagemaker-runtime
    accept: str | None = None
    target_variant: str | None = None
    inference_component_name: str | None = None
    custom_attributes: str | None = None
    price_per_hour: float | None = None
    framing: str | None = None  # streamed (InvokeEndpointWithResponseStream): how its parts are framed

    @property
    def label(self) -> str:
        return f"sagemaker:{self.endpoint_name}"


@dataclass(frozen=True)
class HttpTarget:
    """Any HTTP model server: a URL, a method and headers."""

    url: str
    method: str = "POST"
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # values may be env:NAME
    price_per_hour: float | None = None
    framing: str | None = None  # a streamed answer's framing (server-sent events, JSON lines, text)
    ca_bundle: str | None = None  # a PEM file of the CAs trusted for an https URL (relative: to the job's folder)

    @property
    def label(self) -> str:
        """The URL as outputs show it (its query's values may hold a key: masked)."""
        return shown_url(self.url)

    @property
    def endpoint_name(self) -> str:
        """A valid SageMaker EndpointName standing for the URL (AWS's shapes need one)."""
        parts = urlsplit(self.url)
        words = re.findall(r"[a-zA-Z0-9]+", f"{parts.hostname} {parts.port or ''} {parts.path}")
        return "-".join(words)[:MAX_ENDPOINT_NAME].strip("-") or "http-endpoint"


Target = SageMakerTarget | HttpTarget


def target_problems(target: Mapping[str, Any], path: str, accepted: Accepted) -> list[Problem]:
    """What the model leaves to a target (an object, ``path`` naming it), on the fields it ``accepted``: one
    kind, its URL and headers."""
    kinds = [k for k in ("SageMaker", "Http") if k in target]
    found = [] if len(kinds) == 1 else [Problem(path, "needs exactly one of SageMaker or Http")]
    if "SageMaker" in target and accepted.typed(f"{path}.SageMaker"):
        found += _sagemaker_problems(target["SageMaker"], f"{path}.SageMaker", accepted)
    if "Http" in target and accepted.typed(f"{path}.Http"):
        found += http_problems(target["Http"], f"{path}.Http", accepted)
    return found


def _sagemaker_problems(entry: Mapping[str, Any], path: str, accepted: Accepted) -> list[Problem]:
    found = []
    if "EndpointUrl" in entry and accepted.whole(f"{path}.EndpointUrl"):
        found += url_problems(entry["EndpointUrl"], f"{path}.EndpointUrl")
    for key in SAGEMAKER_HEADER_FIELDS:  # each is sent as a header
        value = entry.get(key) if accepted.whole(f"{path}.{key}") else None
        if value is not None and (problem := header_value_problem(value)):
            found.append(Problem(f"{path}.{key}", f"{show(value)} {problem}"))
        elif value is not None:  # and bounded as InvokeEndpoint's model bounds it (length, pattern)
            found += invoke_endpoint_problems(key, value, f"{path}.{key}")
    return found


def http_problems(entry: Mapping[str, Any], path: str, accepted: Accepted) -> list[Problem]:
    """What the model leaves to an HTTP server's entry (a target's, or a Command provisioner's)."""
    url = entry.get("Url") if accepted.whole(f"{path}.Url") else None
    found = [] if url is None else url_problems(url, f"{path}.Url")
    if "CaBundle" in entry and url is not None and not url.lower().startswith("https://"):
        found.append(Problem(f"{path}.CaBundle", "is for an https:// Url only"))
    headers = entry.get("Headers", {}) if accepted.typed(f"{path}.Headers") else {}
    for name, value in headers.items():
        where = join(f"{path}.Headers", name)
        if problem := header_name_problem(name):
            found.append(Problem(f"{path}.Headers", f"{show(name)} {problem}"))
        elif not accepted.whole(where):
            continue
        elif problem := header_value_problem(value):
            # A header's value is never shown: any header may carry a secret (not only SENSITIVE_HEADERS).
            found.append(Problem(where, f"the value {problem}"))
        elif value.startswith(ENV_PREFIX) and not value.removeprefix(ENV_PREFIX):
            found.append(Problem(where, '"env:" must name an environment variable'))
    return found


def target_entry(target: Target) -> dict[str, Any]:
    """``target`` as a ``Loadrec.Targets`` entry (what workers are sent for an endpoint created for a test)."""
    body: dict[str, Any]
    if isinstance(target, HttpTarget):
        body = {"Http": {"Url": target.url, "Method": target.method, "Headers": dict(target.headers)}}
        if target.ca_bundle is not None:
            body["Http"]["CaBundle"] = target.ca_bundle
    else:
        values = (target.endpoint_name, target.region, target.endpoint_url, target.accept, target.target_variant,
                  target.inference_component_name, target.custom_attributes)  # fmt: skip
        body = {"SageMaker": {k: v for k, v in zip(SAGEMAKER_FIELDS, values, strict=True) if v is not None}}
    if target.price_per_hour is not None:
        body["PricePerHour"] = target.price_per_hour
    if target.framing is not None:
        body["Streaming"] = {"Framing": target.framing}
    return body


def parse_target(entry: Mapping[str, Any]) -> Target:
    """A checked ``Loadrec.Targets`` entry as a target."""
    price, framing = entry.get("PricePerHour"), framing_of(entry.get("Streaming"), sagemaker="SageMaker" in entry)
    if "Http" in entry:
        http = entry["Http"]
        return HttpTarget(
            url=http["Url"],
            method=http.get("Method", "POST"),
            headers=tuple(sorted(http.get("Headers", {}).items())),
            price_per_hour=price,
            framing=framing,
            ca_bundle=http.get("CaBundle"),
        )
    sm = entry["SageMaker"]
    return SageMakerTarget(
        endpoint_name=sm["EndpointName"],
        region=sm.get("Region"),
        endpoint_url=sm.get("EndpointUrl"),
        accept=sm.get("Accept"),
        target_variant=sm.get("TargetVariant"),
        inference_component_name=sm.get("InferenceComponentName"),
        custom_attributes=sm.get("CustomAttributes"),
        price_per_hour=price,
        framing=framing,
    )


def url_problems(url: str, path: str) -> list[Problem]:
    problem = url_problem(url)
    return [Problem(path, f"{show(without_credentials(url))} {problem}")] if problem else []
