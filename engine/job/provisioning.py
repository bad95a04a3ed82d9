"""``Loadrec.Provisioner``: how loadrec creates the endpoint of a configuration that names no target.

Read and checked here (pure); :mod:`loadrec.engine.provision` does the creating. A
``Command`` provisioner starts a local model server per test::

    "Provisioner": {"Command": {
      "Command": ["python", "-m", "my_server", "--port", "{port}"],
      "ReadyUrl": "http://127.0.0.1:{port}/ping",
      "Url": "http://127.0.0.1:{port}/invocations",
      "Method": "POST", "Headers": {"Authorization": "env:TOKEN"},
      "StartTimeoutSeconds": 60, "StopGraceSeconds": 10
    }}

``Command`` is an argument list (no shell) or one string split as a shell would split
it, never run by one. Placeholders: ``{port}``, a free port chosen for each test, and
``{NAME}`` for each of the test's environment parameters (which are also set in the
server's environment; a name a loader or an interpreter reads, such as ``LD_PRELOAD`` or
``PYTHONPATH``, only when ``AllowedEnvironment`` names it: see ``environment_names``). The
job's ``env:`` variables are kept from the server unless ``AllowedEnvironment`` names them.
``Loadrec.Targets[i]`` set to ``null`` (or no ``Targets`` at all)
means: provision configuration ``i``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loadrec.engine.job.environment_names import refused_names
from loadrec.engine.job.headers import url_problem
from loadrec.engine.job.problems import Accepted, Problem, is_int, show
from loadrec.engine.job.streaming_key import framing_of
from loadrec.engine.job.targets import HttpTarget, SageMakerTarget, Target

KEY = "Loadrec.Provisioner"
ALLOWED = "AllowedEnvironment"  # the fields, types and bounds of each provisioner: loadrec_model.py
# ``{name}`` is a placeholder; ``{{`` and ``}}`` are a literal brace (as in Python's str.format), so a
# command can carry JSON: ``--config {{"workers": {W}}}``.
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
PORT = "port"
DEFAULT_START_TIMEOUT_S = 60.0
DEFAULT_STOP_GRACE_S = 10.0
DEFAULT_WAIT_TIMEOUT_S = 1800.0  # SageMaker's own waiter gives an endpoint 30 minutes to be InService


@dataclass(frozen=True)
class CommandProvisioning:
    """A local model server per test, started from ``command`` and ready when ``ready_url`` answers."""

    command: tuple[str, ...]
    ready_url: str
    url: str
    method: str = "POST"
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S
    stop_grace_s: float = DEFAULT_STOP_GRACE_S
    framing: str | None = None  # the server streams its answers, so framed
    # AllowedEnvironment: names a loader or an interpreter reads that environment parameters may set
    # anyway, and env: variables of the job the server is given (it needs the token it checks).
    allowed_environment: frozenset[str] = frozenset()
    withheld: frozenset[str] = frozenset()  # the job's env: variables, not allowed: kept from the server
    secret_names: frozenset[str] = frozenset()  # every env: variable of the job: masked in the server's output


@dataclass(frozen=True)
class SageMakerProvisioning:
    """A SageMaker endpoint per test: model, endpoint configuration, endpoint; deleted after the test."""

    region: str | None = None  # None: botocore's default chain
    api_endpoint_url: str | None = None  # the SageMaker API elsewhere (a local stand-in in tests)
    runtime_endpoint_url: str | None = None  # where InvokeEndpoint goes, when not SageMaker's runtime
    wait_timeout_s: float = DEFAULT_WAIT_TIMEOUT_S
    framing: str | None = None  # invoked with InvokeEndpointWithResponseStream, its parts so framed


Provisioning = CommandProvisioning | SageMakerProvisioning


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` replaced (names are checked before: every one is in ``values``) and
    each ``{{`` or ``}}`` made one brace."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return match.group(0)[0] if name is None else values[name]

    return PLACEHOLDER.sub(value, template)


def placeholders(template: str) -> set[str]:
    return {m.group(1) for m in PLACEHOLDER.finditer(template) if m.group(1) is not None}


def command_words(command: Any) -> list[str] | None:
    """The argument list ``Command`` names, or None when it is neither a list of strings nor a string."""
    if isinstance(command, str):
        try:
            return shlex.split(command)
        except ValueError:
            return None
    if isinstance(command, list) and all(isinstance(word, str) for word in command):
        return list(command)
    return None


def provisioner_problems(
    raw: Mapping[str, Any], parameters: list[set[str]], accepted: Accepted, request: Mapping[str, Any] | None = None
) -> list[Problem]:
    """What the model leaves to a ``Loadrec.Provisioner`` (an object), on the fields it ``accepted``;
    ``parameters``: each configuration's environment parameter names; ``request``: the AWS request (the
    SageMaker provisioner needs its model and role)."""
    found: list[Problem] = []
    if "SageMaker" in raw and accepted.typed(f"{KEY}.SageMaker"):
        found += _sagemaker_problems(raw["SageMaker"], request or {}, any(parameters), accepted)
    if "Command" in raw and accepted.typed(f"{KEY}.Command"):
        found += _command_problems(raw["Command"], parameters, accepted, request)
    return found


def _command_problems(
    entry: Mapping[str, Any], parameters: list[set[str]], accepted: Accepted, request: Mapping[str, Any] | None
) -> list[Problem]:
    path = f"{KEY}.Command"
    words = command_words(entry["Command"]) if "Command" in entry else []
    found = []
    if words is None or ("Command" in entry and not words):
        found.append(Problem(f"{path}.Command", "must be a non-empty list of strings (or one string) naming a program"))
        words = []
    if any("\x00" in word for word in words):
        found.append(Problem(f"{path}.Command", "must not hold a NUL character"))
    if any(PORT in names for names in parameters):
        found.append(Problem(path, f"{{{PORT}}} is the free port: no environment parameter may be named {PORT}"))
    permitted = frozenset(entry.get(ALLOWED, ()) if accepted.whole(f"{path}.{ALLOWED}") else ())
    for configuration, names in enumerate(parameters):
        for name in refused_names(sorted(names), permitted):
            found.append(
                Problem(
                    f"InputConfig.EndpointConfigurations[{configuration}].EnvironmentParameterRanges",
                    f"{show(name)} is read by a loader or an interpreter, so setting it could run any program: "
                    f"name it in {path}.{ALLOWED} if the model server needs it",
                )
            )
    templates = [(f"{path}.Command", word) for word in words]
    urls = [name for name in ("ReadyUrl", "Url") if name in entry and accepted.whole(f"{path}.{name}")]
    for name in urls:
        templates.append((f"{path}.{name}", entry[name]))
        problem = url_problem(fill(entry[name], PlaceholderSample()))
        if problem is not None:
            found.append(Problem(f"{path}.{name}", problem))
    config = (request or {}).get("InputConfig")  # the AWS fields, which may be wrong in type themselves
    resources = config.get("ResourceLimit") if isinstance(config, dict) else None
    parallel = resources.get("MaxParallelOfTests", 1) if isinstance(resources, dict) else 1
    every_template = words and len(urls) == 2  # else a missing one might have named the port
    if every_template and is_int(parallel) and parallel > 1 and not any(PORT in placeholders(t) for _, t in templates):
        found.append(
            Problem(
                f"{path}.Command",
                f"names no {{{PORT}}}, so every server listens on one fixed port, yet up to {parallel} tests run "
                "at once (ResourceLimit.MaxParallelOfTests): they would share a server; use {port}",
            )
        )
    for where, template in templates:
        for configuration, names in enumerate(parameters):
            unknown = sorted(placeholders(template) - names - {PORT})
            if unknown:
                allowed = ", ".join("{" + n + "}" for n in [PORT, *sorted(names)])
                found.append(
                    Problem(
                        where,
                        f"{show('{' + unknown[0] + '}')} is not a placeholder of configuration {configuration} "
                        f"(allowed: {allowed}; a literal brace is written {{{{ or }}}})",
                    )
                )
                break
    return found


def _sagemaker_problems(
    entry: Mapping[str, Any], request: Mapping[str, Any], with_parameters: bool, accepted: Accepted
) -> list[Problem]:
    path = f"{KEY}.SageMaker"
    found = []
    for name in ("ApiEndpointUrl", "RuntimeEndpointUrl"):
        if name in entry and accepted.whole(f"{path}.{name}") and (problem := url_problem(entry[name])):
            found.append(Problem(f"{path}.{name}", problem))
    config = request.get("InputConfig")
    config = config if isinstance(config, dict) else {}
    package, model = config.get("ModelPackageVersionArn"), config.get("ModelName")
    if not package and not model:
        found.append(Problem("InputConfig", "the SageMaker provisioner needs ModelPackageVersionArn or ModelName"))
    if (package or with_parameters) and not request.get("RoleArn"):
        found.append(Problem("RoleArn", "the SageMaker provisioner creates a model: name its execution role"))
    return found


class PlaceholderSample(dict[str, str]):
    """Any placeholder filled with a plausible value, to check a URL template's shape."""

    def __missing__(self, key: str) -> str:
        return "1" if key == PORT else "x"


def parse_provisioner(raw: Any, references: frozenset[str] = frozenset()) -> Provisioning | None:
    """The provisioner of a validated ``Loadrec`` key (None without one); ``references``: the environment
    variables the job's ``env:`` values read (a Command server is given only those it is allowed)."""
    if raw is None:
        return None
    if "SageMaker" in raw:
        entry = raw["SageMaker"]
        return SageMakerProvisioning(
            region=entry.get("Region"),
            api_endpoint_url=entry.get("ApiEndpointUrl"),
            runtime_endpoint_url=entry.get("RuntimeEndpointUrl"),
            wait_timeout_s=float(entry.get("WaitTimeoutSeconds", DEFAULT_WAIT_TIMEOUT_S)),
            framing=framing_of(entry.get("Streaming"), sagemaker=True),
        )
    entry = raw["Command"]
    return CommandProvisioning(
        command=tuple(command_words(entry["Command"]) or ()),
        ready_url=entry["ReadyUrl"],
        url=entry["Url"],
        method=entry.get("Method", "POST"),
        headers=tuple((entry.get("Headers") or {}).items()),
        start_timeout_s=float(entry.get("StartTimeoutSeconds", DEFAULT_START_TIMEOUT_S)),
        stop_grace_s=float(entry.get("StopGraceSeconds", DEFAULT_STOP_GRACE_S)),
        framing=framing_of(entry.get("Streaming"), sagemaker=False),
        allowed_environment=frozenset(entry.get(ALLOWED, ())),
        withheld=references - frozenset(entry.get(ALLOWED, ())),
        secret_names=references,
    )


def provisioned_streams(raw: Any) -> bool:
    """The provisioner's endpoints stream (its entry has a Streaming key)."""
    return isinstance(raw, dict) and any(isinstance(e, dict) and "Streaming" in e for e in raw.values())


def template_target(provisioning: Provisioning, port: int, environment: dict[str, str], name: str = "") -> Target:
    """The target a created endpoint answers at: a server's URL template filled in for ``port``, or the
    SageMaker endpoint ``name`` (checked before the job with a stand-in name)."""
    if isinstance(provisioning, SageMakerProvisioning):
        return SageMakerTarget(
            endpoint_name=name or "loadrec-check", region=provisioning.region,
            endpoint_url=provisioning.runtime_endpoint_url, framing=provisioning.framing,
        )  # fmt: skip
    url = fill(provisioning.url, {**environment, PORT: str(port)})
    return HttpTarget(url=url, method=provisioning.method, headers=provisioning.headers, framing=provisioning.framing)
