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
    region_problem,
    shown_url,
    url_problem,
    without_credentials,
)
from loadrec.engine.job.limits import MAX_PRICE_PER_HOUR
from loadrec.engine.job.problems import Problem, is_number, show, unknown_fields
from loadrec.engine.job.runtime_model import invoke_endpoint_problems
from loadrec.engine.job.streaming_key import framing_of, streaming_problems

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
HTTP_FIELDS = ("Url", "Method", "Headers", "CaBundle")
TARGET_FIELDS = ("SageMaker", "Http", "PricePerHour", "Streaming")
_ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
MAX_ENDPOINT_NAME = 63


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


def target_problems(target: Any, path: str) -> list[Problem]:
    if not isinstance(target, dict):
        return [Problem(path, "must be an object with SageMaker or Http")]
    found = unknown_fields(target, TARGET_FIELDS, path)
    kinds = [k for k in ("SageMaker", "Http") if k in target]
    if len(kinds) != 1:
        found.append(Problem(path, "needs exactly one of SageMaker or Http"))
    price = target.get("PricePerHour")
    if "PricePerHour" in target and (not is_number(price) or not 0 <= price <= MAX_PRICE_PER_HOUR):
        found.append(
            Problem(
                f"{path}.PricePerHour",
                f"{show(price)} must be a number of dollars, 0 or more, at most {MAX_PRICE_PER_HOUR:,}",
            )
        )
    if "Streaming" in target:
        found += streaming_problems(target["Streaming"], f"{path}.Streaming")
    if "SageMaker" in target:
        found += _sagemaker_problems(target["SageMaker"], f"{path}.SageMaker")
    if "Http" in target:
        found += http_problems(target["Http"], f"{path}.Http")
    return found


def _sagemaker_problems(entry: Any, path: str) -> list[Problem]:
    if not isinstance(entry, dict):
        return [Problem(path, "must be an object")]
    found = unknown_fields(entry, SAGEMAKER_FIELDS, path)
    found += [
        Problem(f"{path}.{k}", "must be a string")
        for k in SAGEMAKER_FIELDS
        if k in entry and not isinstance(entry[k], str)
    ]
    name = entry.get("EndpointName")
    if name is None:
        found.append(Problem(f"{path}.EndpointName", "is required"))
    elif isinstance(name, str) and not _ENDPOINT_NAME.fullmatch(name):
        found.append(Problem(f"{path}.EndpointName", f"{show(name)} is not a SageMaker endpoint name"))
    url = entry.get("EndpointUrl")
    if isinstance(url, str):
        found += url_problems(url, f"{path}.EndpointUrl")
    region = entry.get("Region")
    if isinstance(region, str) and (problem := region_problem(region)):
        found.append(Problem(f"{path}.Region", f"{show(region)} {problem}"))
    for key in SAGEMAKER_HEADER_FIELDS:  # each is sent as a header
        value = entry.get(key)
        if isinstance(value, str) and (problem := header_value_problem(value)):
            found.append(Problem(f"{path}.{key}", f"{show(value)} {problem}"))
        elif isinstance(value, str):  # and bounded as InvokeEndpoint's model bounds it (length, pattern)
            found += invoke_endpoint_problems(key, value, f"{path}.{key}")
    return found


def http_problems(entry: Any, path: str) -> list[Problem]:
    if not isinstance(entry, dict):
        return [Problem(path, "must be an object")]
    found = unknown_fields(entry, HTTP_FIELDS, path)
    url = entry.get("Url")
    if url is None:
        found.append(Problem(f"{path}.Url", "is required"))
    elif not isinstance(url, str):
        found.append(Problem(f"{path}.Url", f"{show(url)} is not an http(s) URL"))
    else:
        found += url_problems(url, f"{path}.Url")
    bundle = entry.get("CaBundle")
    if bundle is not None and (not isinstance(bundle, str) or not bundle.strip() or "\x00" in bundle):
        found.append(Problem(f"{path}.CaBundle", f"{show(bundle)} is not a file path"))
    elif bundle is not None and not (isinstance(url, str) and url.lower().startswith("https://")):
        found.append(Problem(f"{path}.CaBundle", "is for an https:// Url only"))
    method = entry.get("Method", "POST")
    if method not in ("POST", "PUT", "GET"):
        found.append(Problem(f"{path}.Method", f"{show(method)} is not one of: POST, PUT, GET"))
    headers = entry.get("Headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        found.append(Problem(f"{path}.Headers", "must be an object of header names to string values"))
        return found
    for name, value in headers.items():
        if problem := header_name_problem(name):
            found.append(Problem(f"{path}.Headers", f"{show(name)} {problem}"))
        elif problem := header_value_problem(value):
            # A header's value is never shown: any header may carry a secret (not only SENSITIVE_HEADERS).
            found.append(Problem(f"{path}.Headers.{name}", f"the value {problem}"))
        elif value.startswith(ENV_PREFIX) and not value.removeprefix(ENV_PREFIX):
            found.append(Problem(f"{path}.Headers.{name}", '"env:" must name an environment variable'))
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
