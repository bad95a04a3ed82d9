"""The ``Loadrec`` key's model: its fields, types and bounds declared once, as botocore declares AWS's.

The shapes are in botocore's service-model format (``structure``, ``list``, ``map``,
``string``, ``integer``, ``long``, ``double``, ``boolean``; ``required``, ``min``, ``max``,
``enum``, ``pattern``, ``union``) and are walked by the validator that walks the AWS
request (:mod:`.validation`), so a problem in either reads alike and carries its dotted
path. Three traits of loadrec's own, which botocore's model has no word for:

- ``exclusiveMin``: the ``min`` itself is refused (a rate, a duration above 0);
- ``nullable``: ``null`` stands for "not given here" (a target the provisioner creates);
- ``meaning``: what a ``pattern`` asks for, in words, for the error line.

What no schema states (a URL's parts, a header name's, placeholders, one field against
another) is checked by the rules of each key's module, on values this model accepted.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from botocore.model import ListShape, MapShape, Shape, ShapeResolver, StringShape, StructureShape

from loadrec.engine.job.environment_names import ENVIRONMENT_NAME
from loadrec.engine.job.headers import MAX_REGION_LENGTH, REGION, REGION_MEANING
from loadrec.engine.job.limits import MAX_PEAK_USERS, MAX_PRICE_PER_HOUR
from loadrec.engine.job.problems import Problem
from loadrec.engine.job.rules import PERCENTILE
from loadrec.engine.job.targets import MAX_ENDPOINT_NAME
from loadrec.engine.job.thresholds_key import MAX_TEXT, MAX_THRESHOLDS
from loadrec.engine.job.validation import check_input
from loadrec.engine.streaming.frames import FRAMINGS
from loadrec.payloads.prompts.synthetic import MAX_INPUT_TOKENS, MAX_OUTPUT_TOKENS
from loadrec.payloads.prompts.templates import TEMPLATES
from loadrec.shapes.arrivals import ARRIVALS

TRAITS = ("exclusiveMin", "nullable", "meaning")

HOUR_S = 3600.0
_NOT_BLANK = r"(?s)[^\x00]*[^\x00\s][^\x00]*"
HOUR_MS = 3_600_000.0


def _seconds(maximum: float) -> dict[str, Any]:
    return {"type": "double", "min": 0, "exclusiveMin": True, "max": maximum}


def _whole(minimum: int, maximum: int) -> dict[str, Any]:
    return {"type": "long", "min": minimum, "max": maximum}


def _structure(members: dict[str, str], required: tuple[str, ...] = (), **traits: Any) -> dict[str, Any]:
    shaped = {k: {"shape": v} for k, v in members.items()}
    return {"type": "structure", "members": shaped, "required": list(required), **traits}


def _lengths(ceiling: int) -> dict[str, Any]:
    members = {"Mean": f"Tokens{ceiling}", "StdDev": f"Spread{ceiling}", "Min": f"Bound{ceiling}"}
    return _structure({**members, "Max": f"Bound{ceiling}"}, ("Mean",))


def _length_scalars(ceiling: int) -> dict[str, dict[str, Any]]:
    return {
        f"Tokens{ceiling}": {"type": "double", "min": 1, "max": ceiling},
        f"Spread{ceiling}": {"type": "double", "min": 0, "max": ceiling},
        f"Bound{ceiling}": _whole(1, ceiling),
    }


# fmt: off
SHAPES: dict[str, dict[str, Any]] = {
    "Loadrec": _structure({
        "Targets": "Targets", "Provisioner": "Provisioner", "SamplePayloadUrl": "Text",
        "S3EndpointUrl": "Text", "CloudWatchEndpointUrl": "Text",
        "RequestTimeoutSeconds": "RequestTimeoutSeconds", "MaxResponseSizeInBytes": "MaxResponseSizeInBytes",
        "StoppingConditions": "TokenStoppingConditions", "RequestRate": "RequestRate", "Prompts": "Prompts",
        "Slo": "Slo", "Search": "Search", "Thresholds": "Thresholds",
    }),
    "Text": {"type": "string", "min": 1, "max": 4096},
    "Name": {"type": "string", "min": 1, "max": 1024, "pattern": _NOT_BLANK, "meaning": "a name (not blank, no NUL)"},
    "Path": {"type": "string", "min": 1, "max": 1024, "pattern": _NOT_BLANK,
             "meaning": "a file path (not blank, no NUL character)"},
    "RequestTimeoutSeconds": _seconds(HOUR_S),  # a request that may take longer than an hour is not load-tested
    "MaxResponseSizeInBytes": _whole(1, 1024**3),  # each user holds one answer in memory at a time
    # --- where traffic goes (targets.py) ---
    "Targets": {"type": "list", "member": {"shape": "Target", "nullable": True}},  # null: the provisioner's
    "Target": _structure(
        {"SageMaker": "SageMakerTarget", "Http": "HttpTarget", "PricePerHour": "PricePerHour",
         "Streaming": "Streaming"}),
    "PricePerHour": {"type": "double", "min": 0, "max": MAX_PRICE_PER_HOUR},
    "SageMakerTarget": _structure(
        {"EndpointName": "EndpointName", "Region": "Region", "EndpointUrl": "Text", "Accept": "Text",
         "TargetVariant": "Text", "InferenceComponentName": "Text", "CustomAttributes": "Text"},
        ("EndpointName",)),
    "EndpointName": {"type": "string", "max": MAX_ENDPOINT_NAME,
                     "pattern": f"[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,{MAX_ENDPOINT_NAME - 1}}}",
                     "meaning": "a SageMaker endpoint name (letters, digits and hyphens)"},
    "Region": {"type": "string", "max": MAX_REGION_LENGTH, "pattern": REGION.pattern, "meaning": REGION_MEANING},
    "HttpTarget": _structure({"Url": "Text", "Method": "Method", "Headers": "Headers", "CaBundle": "Path"}, ("Url",)),
    "Method": {"type": "string", "enum": ["POST", "PUT", "GET"]},
    "Headers": {"type": "map", "key": {"shape": "HeaderName"}, "value": {"shape": "HeaderValue"}},
    "HeaderName": {"type": "string", "max": 256},
    "HeaderValue": {"type": "string", "max": 8192, "sensitive": True},  # any header may carry a secret
    "Streaming": _structure({"Framing": "Framing"}),
    "Framing": {"type": "string", "enum": list(FRAMINGS)},
    # --- endpoints loadrec creates (provisioning.py) ---
    "Provisioner": _structure({"Command": "CommandProvisioner", "SageMaker": "SageMakerProvisioner"}, union=True),
    "CommandProvisioner": _structure(
        {"Command": "Command", "ReadyUrl": "Text", "Url": "Text", "Method": "Method", "Headers": "Headers",
         "StartTimeoutSeconds": "StartTimeoutSeconds", "StopGraceSeconds": "StopGraceSeconds",
         "Streaming": "Streaming", "AllowedEnvironment": "AllowedEnvironment"},
        ("Command", "ReadyUrl", "Url")),
    "Command": {"type": "structure", "members": {}, "document": True},  # a list of words or one string
    "StartTimeoutSeconds": _seconds(HOUR_S),  # a server that needs more than an hour to start is not waited for
    "StopGraceSeconds": _seconds(10.0),  # a third of the time a stopped test's process gets before it is killed
    "AllowedEnvironment": {"type": "list", "member": {"shape": "EnvironmentName"}, "max": 100},
    "EnvironmentName": {"type": "string", "max": 256, "pattern": ENVIRONMENT_NAME.pattern,
                        "meaning": f"an environment name ({ENVIRONMENT_NAME.pattern})"},
    "SageMakerProvisioner": _structure(
        {"Region": "Region", "ApiEndpointUrl": "Text", "RuntimeEndpointUrl": "Text",
         "WaitTimeoutSeconds": "WaitTimeoutSeconds", "Streaming": "Streaming"}),
    "WaitTimeoutSeconds": _seconds(4 * HOUR_S),
    # --- streamed answers' stops (token_conditions.py) ---
    "TokenStoppingConditions": _structure(
        {"TokenLatencyThresholds": "TokenLatencyThresholds", "FlatThroughput": "FlatThroughput"}),
    "TokenLatencyThresholds": {"type": "list", "member": {"shape": "TokenLatencyThreshold"}, "max": 10},
    "TokenLatencyThreshold": _structure(
        {"Metric": "TokenMetric", "Percentile": "Percentile", "ValueInMilliseconds": "Milliseconds"},
        ("Metric", "Percentile", "ValueInMilliseconds")),
    "TokenMetric": {"type": "string", "enum": ["TimeToFirstToken", "InterTokenLatency"]},
    "Percentile": {"type": "string", "max": 16, "pattern": PERCENTILE.pattern, "meaning": "a percentile such as P95"},
    "Milliseconds": {"type": "double", "min": 0, "exclusiveMin": True, "max": HOUR_MS},
    "FlatThroughput": {"type": "string", "enum": ["Invocations", "OutputTokens"]},
    # --- request rate (request_rate.py) ---
    "RequestRate": _structure(
        {"RequestsPerSecondPerUser": "RatePerUser", "Arrivals": "Arrivals", "MaxRequestsInFlight": "InFlight"},
        ("RequestsPerSecondPerUser",)),
    "RatePerUser": {"type": "double", "min": 0, "exclusiveMin": True, "max": 1000},  # requests a second, a user
    "Arrivals": {"type": "string", "enum": list(ARRIVALS)},
    "InFlight": _whole(1, 100_000),  # each request in flight holds a connection (a file descriptor)
    # --- SLO (slo_key.py) ---
    "Slo": _structure({"TimeToFirstTokenMs": "Milliseconds", "TimePerOutputTokenMs": "Milliseconds",
                       "EndToEndMs": "Milliseconds", "MinAttainmentPercent": "Share"}),
    "Share": {"type": "double", "min": 0, "exclusiveMin": True, "max": 100},
    # --- search (search_key.py) ---
    "Search": _structure({"MinUsers": "Users", "MaxUsers": "Users", "TolerancePercent": "Tolerance",
                          "ProbeSeconds": "ProbeSeconds"}, ("MaxUsers",)),
    "Users": _whole(1, MAX_PEAK_USERS),
    "Tolerance": {"type": "double", "min": 0, "exclusiveMin": True, "max": 50},
    "ProbeSeconds": _whole(4, 3600),  # its judged second half: 2 s at least
    # --- gates (thresholds_key.py) ---
    "Thresholds": {"type": "list", "member": {"shape": "Threshold"}, "max": MAX_THRESHOLDS},
    "Threshold": {"type": "string", "max": MAX_TEXT},  # its form: thresholds_key.parse_threshold
    # --- prompts (prompts_key.py) ---
    "Prompts": _structure(
        {"Template": "Template", "Synthetic": "Synthetic", "Dataset": "Path", "OutputTokens": "OutputLengths",
         "IgnoreEos": "Flag", "Model": "Name", "Tokenizer": "Path"}, ("Template",)),
    "Template": {"type": "string", "enum": list(TEMPLATES)},
    "Synthetic": _structure({"InputTokens": "InputLengths", "Count": "Count", "Seed": "Seed"}, ("InputTokens",)),
    "Count": _whole(1, 10_000),
    "Seed": _whole(0, 2**63 - 1),
    "Flag": {"type": "boolean"},
    "InputLengths": _lengths(MAX_INPUT_TOKENS),
    "OutputLengths": _lengths(MAX_OUTPUT_TOKENS),
    **_length_scalars(MAX_INPUT_TOKENS),
    **_length_scalars(MAX_OUTPUT_TOKENS),
}
# fmt: on


def _with_traits(cls: type[Shape]) -> type[Shape]:
    """``cls`` reading loadrec's traits into ``metadata`` too (botocore reads only the names it knows)."""
    return type(cls.__name__, (cls,), {"METADATA_ATTRS": [*cls.METADATA_ATTRS, *TRAITS]})


class _Resolver(ShapeResolver):
    SHAPE_CLASSES: ClassVar[dict[str, type[Shape]]] = {
        **{
            kind: _with_traits(cls)
            for kind, cls in {
                "structure": StructureShape,
                "list": ListShape,
                "map": MapShape,
                "string": StringShape,
            }.items()
        },
        **{kind: _with_traits(Shape) for kind in ("integer", "long", "double", "float", "boolean")},
    }


def resolver(shapes: dict[str, dict[str, Any]]) -> ShapeResolver:
    """Shapes in this format (these, or another file's that names them, as the server configuration does),
    their traits read."""
    return _Resolver(shapes)


_RESOLVER = resolver(SHAPES)


@cache
def loadrec_shape(name: str = "Loadrec") -> Shape:
    """The shape ``name`` of the model (the whole key by default)."""
    return _RESOLVER.get_shape_by_name(name)


def check_part(name: str, value: Any, path: str) -> list[Problem]:
    """Every problem the model finds with ``value``, of its shape ``name``, at ``path`` (rules not run)."""
    return check_input(value, loadrec_shape(name), None, path)
