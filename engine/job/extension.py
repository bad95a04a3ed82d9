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
      "StoppingConditions": {"TokenLatencyThresholds": [...], "FlatThroughput": "OutputTokens"},
      "RequestRate": {"RequestsPerSecondPerUser": 2, "Arrivals": "Poisson"},
      "Prompts": {"Template": "OpenAIChat", "Synthetic": {"InputTokens": {"Mean": 512}}},
      "Search": {"MaxUsers": 64, "TolerancePercent": 5},
      "Thresholds": ["LatencyP95Ms <= 100", "ErrorRatePercent < 1"]
    }

A target (:mod:`.targets`) with ``Streaming`` is read as its answer arrives (:mod:`loadrec.engine.streaming`);
``StoppingConditions`` holds the streamed answers' own (:mod:`.token_conditions`); ``RequestRate``
makes the test open-model, requests sent at a rate (:mod:`.request_rate`); ``Prompts`` sends
prompts made to token lengths or read from a dataset instead of payload files (:mod:`.prompts_key`);
``Slo`` says what a good request is, for goodput and SLO attainment (:mod:`.slo_key`); ``Search``
finds the most users that hold the thresholds, in probes instead of the pattern (:mod:`.search_key`);
``Thresholds`` are conditions on the results that gate a pipeline (:mod:`.thresholds_key`).
Header values written ``env:NAME`` are read from the environment when the run starts,
so secrets never sit in the job file, the logs or the results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loadrec.engine.job import prompts_key, request_rate, search_key, slo_key, thresholds_key, token_conditions
from loadrec.engine.job.environment_names import env_references
from loadrec.engine.job.loadrec_model import check_part
from loadrec.engine.job.problems import Accepted, Problem
from loadrec.engine.job.provisioning import (
    PlaceholderSample,
    Provisioning,
    fill,
    parse_provisioner,
    provisioned_streams,
    provisioner_problems,
)
from loadrec.engine.job.request_rate import RequestRate
from loadrec.engine.job.search_key import SearchKey
from loadrec.engine.job.slo_key import Slo
from loadrec.engine.job.targets import (
    SageMakerTarget,
    Target,
    http_problems,
    parse_target,
    target_problems,
    url_problems,
)
from loadrec.engine.job.thresholds_key import Threshold
from loadrec.engine.job.token_conditions import TokenConditions
from loadrec.payloads.prompts import PromptsSpec

KEY = "Loadrec"
DEFAULT_TIMEOUT_S = 60.0
# SageMaker's own limit on an InvokeEndpoint answer; beyond it a request fails "answer too large".
DEFAULT_MAX_RESPONSE_BYTES = 6 * 1024 * 1024


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
    request_rate: RequestRate | None = None  # None: closed loop (each user waits for its answer)
    prompts: PromptsSpec | None = None  # None: the payload files are the bodies
    slo: Slo | None = None  # what a good request is (goodput, attainment); None: no SLO
    search: SearchKey | None = None  # probes for the most users that hold the thresholds; None: the pattern runs
    thresholds: tuple[Threshold, ...] = ()  # conditions on each configuration's results that gate a pipeline


def split_request(request: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    """(the AWS request without the extension, the extension's raw value or None)."""
    aws = {k: v for k, v in request.items() if k != KEY}
    return aws, request.get(KEY)


def check_extension(
    raw: Any, configurations: int, parameters: list[set[str]] | None = None, request: Mapping[str, Any] | None = None
) -> list[Problem]:
    """Problems with the extension; ``configurations`` is how many targets it must name, ``parameters`` each
    configuration's environment parameter names (only an endpoint loadrec creates can be given them).

    The model (:mod:`.loadrec_model`) checks every field's type and bounds; each key's rules then read
    only the values it accepted (``Accepted``), so a value wrong in type is reported once."""
    parameters = parameters or []
    raw = {} if raw is None else raw
    model = check_part(KEY, raw, KEY)
    if not isinstance(raw, dict):
        return model
    found, accepted = list(model), Accepted(model)

    def given(name: str) -> bool:  # given, and an object or an array as the model says
        return name in raw and accepted.typed(f"{KEY}.{name}")

    provisioned = "Provisioner" in raw
    if given("Provisioner"):
        found += provisioner_problems(raw["Provisioner"], parameters or [set()], accepted, request)
        command, where = raw["Provisioner"].get("Command"), f"{KEY}.Provisioner.Command"
        if command is not None and accepted.typed(where):  # its server is checked as a target's would be
            server = {k: command[k] for k in ("Method", "Headers") if k in command}
            if "Url" in command and accepted.whole(f"{where}.Url"):
                server["Url"] = fill(command["Url"], PlaceholderSample())
            found += [p for p in http_problems(server, where, accepted) if not p.path.endswith(".Url")]
    targets = raw.get("Targets")
    targets = targets if isinstance(targets, list) else []
    if configurations and isinstance(raw.get("Targets"), list) and len(targets) != configurations:
        count = f"has {len(targets)} entries for {configurations} endpoint configurations (one each, in order)"
        found.append(Problem(f"{KEY}.Targets", count))
    for index, target in enumerate(targets):
        where = f"{KEY}.Targets[{index}]"
        if target is None and not provisioned:
            found.append(Problem(where, f"is null, asking loadrec to create the endpoint: configure {KEY}.Provisioner"))
        elif target is not None and accepted.typed(where):
            found += target_problems(target, where, accepted)
    for index, names in enumerate(parameters):
        if not names:
            continue
        where = f"InputConfig.EndpointConfigurations[{index}].EnvironmentParameterRanges"
        if index < len(targets) and targets[index] is not None:
            found.append(
                Problem(
                    where,
                    f"needs an endpoint loadrec creates, but {KEY}.Targets[{index}] names one that exists: "
                    f"set it to null and configure {KEY}.Provisioner",
                )
            )
        elif not provisioned:
            found.append(Problem(where, f"needs an endpoint loadrec creates: configure {KEY}.Provisioner"))
    # Which endpoints stream: each target given, and those the provisioner creates (all alike).
    streaming = [isinstance(t, dict) and "Streaming" in t for t in targets if t is not None]
    streaming += [provisioned_streams(raw["Provisioner"])] if provisioned else []
    if given("StoppingConditions"):
        found += token_conditions.rules(raw["StoppingConditions"], f"{KEY}.StoppingConditions", accepted)
        if not any(streaming) and token_conditions.asks_for_tokens(raw["StoppingConditions"]):
            found.append(Problem(f"{KEY}.StoppingConditions", "judges tokens, but no target streams "
                                 f"(give a target of {KEY}.Targets a Streaming key)"))  # fmt: skip
    if given("Slo"):
        found += slo_key.rules(raw["Slo"], f"{KEY}.Slo", any(streaming))
    if given("Search"):
        judged_by = None if request is None else search_key.thresholds_named(request, raw)
        found += search_key.rules(raw["Search"], f"{KEY}.Search", judged_by, accepted)
    if given("Thresholds"):
        texts = enumerate(raw["Thresholds"])
        found += thresholds_key.check(
            {i: t for i, t in texts if accepted.whole(f"{KEY}.Thresholds[{i}]")}, f"{KEY}.Thresholds"
        )
    if given("Prompts"):
        found += prompts_key.rules(raw["Prompts"], f"{KEY}.Prompts", streaming, accepted)
    if "Prompts" in raw:
        found += _payload_clash(raw, request)
    for name in ("S3EndpointUrl", "CloudWatchEndpointUrl"):
        if name in raw and accepted.whole(f"{KEY}.{name}"):
            found += url_problems(raw[name], f"{KEY}.{name}")
    return found


def _payload_clash(raw: Mapping[str, Any], request: Mapping[str, Any] | None) -> list[Problem]:
    """Prompts are the bodies: a payload folder as well would leave one of them unused."""
    config = (request or {}).get("InputConfig", {})
    container = config.get("ContainerConfig", {}) if isinstance(config, dict) else {}
    payload = container.get("PayloadConfig", {}) if isinstance(container, dict) else {}
    named = ["Loadrec.SamplePayloadUrl"] if "SamplePayloadUrl" in raw else []
    named += ["InputConfig.ContainerConfig.PayloadConfig.SamplePayloadUrl"] if isinstance(payload, dict) and (
        "SamplePayloadUrl" in payload) else []  # fmt: skip
    return [Problem(f"{KEY}.Prompts", f"makes the request bodies, but {n} names payloads too: keep one") for n in named]


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
        request_rate=request_rate.parse(raw.get("RequestRate")),
        prompts=prompts_key.parse(raw.get("Prompts")),
        slo=slo_key.parse(raw.get("Slo")),
        search=search_key.parse(raw.get("Search")),
        thresholds=thresholds_key.parse(raw.get("Thresholds")),
    )
