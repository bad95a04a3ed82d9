"""The ``Loadrec`` extension of a job file: where traffic goes and where payloads come from.

It is one top-level key beside the AWS fields, so the AWS fields stay exactly what
``CreateInferenceRecommendationsJob`` takes (``loadrec aws-request JOB`` prints them
without it). ``Targets[i]`` is the live endpoint that stands for
``InputConfig.EndpointConfigurations[i]`` (or ``InputConfig.Endpoints[0]``)::

    "Loadrec": {
      "Targets": [
        {"SageMaker": {"EndpointName": "churn-c5", "Region": "us-east-1"}, "PricePerHour": 0.204},
        {"Http": {"Url": "http://10.0.0.5:8080/invocations", "Headers": {"Authorization": "env:API_TOKEN"}}},
        {"Http": {"Url": "http://10.0.0.7:8000/v1/completions"}, "Streaming": {"Framing": "ServerSentEvents"}}
      ],
      "SamplePayloadUrl": "payloads/",
      "S3EndpointUrl": "http://127.0.0.1:5000",
      "CloudWatchEndpointUrl": "http://127.0.0.1:5000",
      "RequestTimeoutSeconds": 60,
      "MaxResponseSizeInBytes": 6291456,
      "StoppingConditions": {"TokenLatencyThresholds": [...], "FlatThroughput": "OutputTokens"}
    }

A target with ``Streaming`` is read as its answer arrives (:mod:`loadrec.engine.streaming`);
``StoppingConditions`` holds the streamed answers' own (:mod:`.token_conditions`).
Header values written ``env:NAME`` are read from the environment when the run starts,
so secrets never sit in the job file, the logs or the results.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from loadrec.engine.job import token_conditions
from loadrec.engine.job.environment_names import ENV_PREFIX, env_references
from loadrec.engine.job.headers import (
    header_name_problem,
    header_value_problem,
    region_problem,
    shown_url,
    url_problem,
    without_credentials,
)
from loadrec.engine.job.limits import MAX_PRICE_PER_HOUR
from loadrec.engine.job.problems import Problem, is_int, is_number, join, show
from loadrec.engine.job.provisioning import (
    PlaceholderSample,
    Provisioning,
    fill,
    parse_provisioner,
    provisioned_streams,
    provisioner_problems,
)
from loadrec.engine.job.runtime_model import invoke_endpoint_problems
from loadrec.engine.job.streaming_key import framing_of, streaming_problems
from loadrec.engine.job.token_conditions import TokenConditions

KEY = "Loadrec"
DEFAULT_TIMEOUT_S = 60.0
# SageMaker's own limit on an InvokeEndpoint answer; beyond it a request fails "answer too large".
DEFAULT_MAX_RESPONSE_BYTES = 6 * 1024 * 1024
MAX_RESPONSE_BYTES = 1024 * 1024 * 1024  # each user holds one answer in memory at a time
MAX_TIMEOUT_S = 3600  # a request that may take longer than an hour is not load-tested
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
EXTENSION_FIELDS = (
    "Targets",
    "Provisioner",
    "SamplePayloadUrl",
    "S3EndpointUrl",
    "CloudWatchEndpointUrl",
    "RequestTimeoutSeconds",
    "MaxResponseSizeInBytes",
    "StoppingConditions",
)
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


@dataclass(frozen=True)
class Extension:
    targets: tuple[Target | None, ...] = ()  # None (or past the end): the provisioner creates that endpoint
    provisioner: Provisioning | None = None
    sample_payload_url: str | None = None
    s3_endpoint_url: str | None = None
    cloudwatch_endpoint_url: str | None = None
    request_timeout_s: float = DEFAULT_TIMEOUT_S
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    token_conditions: TokenConditions = field(default_factory=TokenConditions)  # streamed answers' stops


def split_request(request: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    """(the AWS request without the extension, the extension's raw value or None)."""
    aws = {k: v for k, v in request.items() if k != KEY}
    return aws, request.get(KEY)


def check_extension(
    raw: Any, configurations: int, parameters: list[set[str]] | None = None, request: Mapping[str, Any] | None = None
) -> list[Problem]:
    """Problems with the extension; ``configurations`` is how many targets it must name, ``parameters`` each
    configuration's environment parameter names (only an endpoint loadrec creates can be given them)."""
    parameters = parameters or []
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return [Problem(KEY, "must be an object")]
    found = _unknown(raw, EXTENSION_FIELDS, KEY)
    provisioned = "Provisioner" in raw
    if provisioned:
        found += provisioner_problems(raw["Provisioner"], parameters or [set()], request)
        command = raw["Provisioner"].get("Command") if isinstance(raw["Provisioner"], dict) else None
        if isinstance(command, dict) and isinstance(command.get("Url"), str):
            server = {"Url": fill(command["Url"], PlaceholderSample())} | {
                k: command[k] for k in ("Method", "Headers") if k in command
            }
            found += [p for p in _http_problems(server, f"{KEY}.Provisioner.Command") if not p.path.endswith(".Url")]
    targets = raw.get("Targets")
    if "Targets" in raw:
        if not isinstance(targets, list):
            found.append(Problem(f"{KEY}.Targets", "must be an array with one target per endpoint configuration"))
            targets = []
        else:
            if configurations and len(targets) != configurations:
                found.append(
                    Problem(
                        f"{KEY}.Targets",
                        f"has {len(targets)} entries for {configurations} endpoint configurations (one each, in order)",
                    )
                )
            for index, target in enumerate(targets):
                if target is None and provisioned:
                    continue  # created by the provisioner
                found += target_problems(target, f"{KEY}.Targets[{index}]")
    for index, names in enumerate(parameters):
        if not names:
            continue
        where = f"InputConfig.EndpointConfigurations[{index}].EnvironmentParameterRanges"
        if isinstance(targets, list) and index < len(targets) and targets[index] is not None:
            found.append(
                Problem(
                    where,
                    f"needs an endpoint loadrec creates, but {KEY}.Targets[{index}] names one that exists: "
                    f"set it to null and configure {KEY}.Provisioner",
                )
            )
        elif not provisioned:
            found.append(Problem(where, f"needs an endpoint loadrec creates: configure {KEY}.Provisioner"))
    if "StoppingConditions" in raw:
        found += token_conditions.check(raw["StoppingConditions"], f"{KEY}.StoppingConditions")
        streams = isinstance(targets, list) and any(isinstance(t, dict) and "Streaming" in t for t in targets)
        streams = streams or provisioned_streams(raw.get("Provisioner"))
        if not streams and token_conditions.asks_for_tokens(raw["StoppingConditions"]):
            found.append(Problem(f"{KEY}.StoppingConditions", "judges tokens, but no target streams "
                                 f"(give a target of {KEY}.Targets a Streaming key)"))  # fmt: skip
    for name in ("SamplePayloadUrl", "S3EndpointUrl", "CloudWatchEndpointUrl"):
        if name in raw and (not isinstance(raw[name], str) or not raw[name]):
            found.append(Problem(f"{KEY}.{name}", "must be a non-empty string"))
    for name in ("S3EndpointUrl", "CloudWatchEndpointUrl"):
        if isinstance(raw.get(name), str) and raw[name]:
            found += _url_problems(raw[name], f"{KEY}.{name}")
    timeout = raw.get("RequestTimeoutSeconds")
    if "RequestTimeoutSeconds" in raw and (not is_number(timeout) or timeout <= 0):
        found.append(Problem(f"{KEY}.RequestTimeoutSeconds", f"{show(timeout)} must be a number of seconds above 0"))
    elif is_number(timeout) and timeout > MAX_TIMEOUT_S:
        found.append(Problem(f"{KEY}.RequestTimeoutSeconds", f"{show(timeout)} is more than {MAX_TIMEOUT_S} s"))
    size = raw.get("MaxResponseSizeInBytes")
    if "MaxResponseSizeInBytes" in raw and (not is_int(size) or not 1 <= size <= MAX_RESPONSE_BYTES):
        found.append(
            Problem(
                f"{KEY}.MaxResponseSizeInBytes", f"{show(size)} must be a whole number from 1 to {MAX_RESPONSE_BYTES}"
            )
        )
    return found


def target_problems(target: Any, path: str) -> list[Problem]:
    if not isinstance(target, dict):
        return [Problem(path, "must be an object with SageMaker or Http")]
    found = _unknown(target, TARGET_FIELDS, path)
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
        found += _http_problems(target["Http"], f"{path}.Http")
    return found


def _sagemaker_problems(entry: Any, path: str) -> list[Problem]:
    if not isinstance(entry, dict):
        return [Problem(path, "must be an object")]
    found = _unknown(entry, SAGEMAKER_FIELDS, path)
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
        found += _url_problems(url, f"{path}.EndpointUrl")
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


def _http_problems(entry: Any, path: str) -> list[Problem]:
    if not isinstance(entry, dict):
        return [Problem(path, "must be an object")]
    found = _unknown(entry, HTTP_FIELDS, path)
    url = entry.get("Url")
    if url is None:
        found.append(Problem(f"{path}.Url", "is required"))
    elif not isinstance(url, str):
        found.append(Problem(f"{path}.Url", f"{show(url)} is not an http(s) URL"))
    else:
        found += _url_problems(url, f"{path}.Url")
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


def parse_extension(raw: Any, existing_endpoints: tuple[str, ...]) -> Extension:
    """The validated extension (run ``check_extension`` first)."""
    raw = raw or {}
    targets: list[Target | None] = [None if t is None else parse_target(t) for t in raw.get("Targets", [])]
    if not targets and existing_endpoints:
        # InputConfig.Endpoints names a SageMaker endpoint: invoke it as it is.
        targets = [SageMakerTarget(endpoint_name=name) for name in existing_endpoints]
    return Extension(
        targets=tuple(targets),
        provisioner=parse_provisioner(raw.get("Provisioner"), frozenset(env_references(raw))),
        sample_payload_url=raw.get("SamplePayloadUrl"),
        s3_endpoint_url=raw.get("S3EndpointUrl"),
        cloudwatch_endpoint_url=raw.get("CloudWatchEndpointUrl"),
        request_timeout_s=float(raw.get("RequestTimeoutSeconds", DEFAULT_TIMEOUT_S)),
        max_response_bytes=int(raw.get("MaxResponseSizeInBytes", DEFAULT_MAX_RESPONSE_BYTES)),
        token_conditions=token_conditions.parse(raw.get("StoppingConditions")),
    )


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


def _unknown(entry: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> list[Problem]:
    return [
        Problem(join(path, key), f"unknown field (allowed here: {', '.join(allowed)})")
        for key in entry
        if key not in allowed
    ]


def _url_problems(url: str, path: str) -> list[Problem]:
    problem = url_problem(url)
    return [Problem(path, f"{show(without_credentials(url))} {problem}")] if problem else []
