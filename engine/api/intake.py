"""From an AWS request to the job the engine runs: the server's configuration fills in the ``Loadrec`` key.

A request sent to the API is exactly AWS's, so where its traffic goes comes from the
server: each ``InputConfig.Endpoints`` name is mapped to a target (the configuration's
``Endpoints``, else the SageMaker endpoint of that name), and ``EndpointConfigurations``
are created by the configured provisioner. A caller cannot bring a ``Loadrec`` key of
its own (it could name a command to run or a URL to send the server's files to), and its
environment parameters reach a local model server only under the names the configuration
allows (``caller_environment_problems``).

Sample payloads: an ``s3://`` SamplePayloadUrl is read as the engine reads it (an
``https://`` object URL is refused, as the engine does). A local path (which AWS's field
cannot hold, so it is moved to ``Loadrec.SamplePayloadUrl``) must be an absolute path of
a folder or a .tar.gz/.tgz archive lying, links resolved, under one of the configured
payload roots: a caller must never make the server read its own files and send them
out. With no SamplePayloadUrl the configuration's default is used; with neither, the
field is required.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from loadrec.engine.api.config import ServerConfig
from loadrec.engine.job.cases import RANGES, categorical_ranges
from loadrec.engine.job.extension import KEY
from loadrec.engine.job.problems import Problem, show
from loadrec.engine.job.provisioning import ALLOWED
from loadrec.engine.load.prepare import AWS_PAYLOAD_FIELD
from loadrec.payloads import is_archive_name

S3_SCHEME, HTTPS_SCHEME, FILE_SCHEME = "s3://", "https://", "file://"


def engine_request(request: dict[str, Any], config: ServerConfig) -> tuple[dict[str, Any], list[Problem]]:
    """(the request with the server's ``Loadrec`` key, the problems that stop it from running)."""
    problems: list[Problem] = []
    if KEY in request:
        problems.append(
            Problem(
                KEY, "not accepted by the API: targets, payloads and provisioners come from the server's configuration"
            )
        )
    engine = copy.deepcopy({k: v for k, v in request.items() if k != KEY})
    extension: dict[str, Any] = copy.deepcopy(dict(config.extension))
    input_config = engine.get("InputConfig")
    if not isinstance(input_config, dict):
        return engine, problems  # the model check names what is missing
    endpoints = input_config.get("Endpoints")
    if isinstance(endpoints, list) and endpoints:
        names = [e.get("EndpointName") if isinstance(e, dict) else None for e in endpoints]
        if all(isinstance(name, str) for name in names):
            extension["Targets"] = [config.target_for(str(name)) for name in names]
    elif input_config.get("EndpointConfigurations") and config.provisions:
        problems += caller_environment_problems(input_config["EndpointConfigurations"], config)
    elif input_config.get("EndpointConfigurations"):
        problems.append(
            Problem(
                "InputConfig.EndpointConfigurations",
                "this server creates no endpoints (its configuration has no Loadrec.Provisioner): "
                "name an existing endpoint in InputConfig.Endpoints",
            )
        )
    payload = (
        input_config.get("ContainerConfig", {}).get("PayloadConfig", {})
        if isinstance(input_config.get("ContainerConfig"), dict)
        else {}
    )
    url = payload.get("SamplePayloadUrl") if isinstance(payload, dict) else None
    if url is None and "SamplePayloadUrl" not in extension:
        problems.append(Problem(AWS_PAYLOAD_FIELD, "is required: this server has no default sample payloads"))
    if isinstance(url, str) and url:
        if url.startswith(S3_SCHEME):
            extension.pop("SamplePayloadUrl", None)  # the request's own payloads win over the server's default
        elif url.startswith(HTTPS_SCHEME):
            problems.append(Problem(AWS_PAYLOAD_FIELD, f"{show(url)}: an HTTPS URL is not read; give its s3:// URI"))
        else:
            path, problem = local_payload_path(url, config.payload_roots)
            if problem:
                problems.append(Problem(AWS_PAYLOAD_FIELD, problem))
            else:
                del payload["SamplePayloadUrl"]
                extension["SamplePayloadUrl"] = str(path)
    engine[KEY] = extension
    return engine, problems


def caller_environment_problems(configurations: Any, config: ServerConfig) -> list[Problem]:
    """A caller's environment parameters reach a local model server only under the names the server's
    configuration allows (``Provisioner.Command.AllowedEnvironment``, none by default): a name such as
    ``LD_PRELOAD`` or ``BROWSER`` would run a program of the caller's choosing on this host. A SageMaker
    provisioner's parameters go to the model's container on AWS, as AWS's own service takes them."""
    command = config.extension.get("Provisioner", {}).get("Command")
    if not isinstance(command, dict):
        return []
    allowed = set(command.get(ALLOWED, ()))
    found = []
    for index, parameters in categorical_ranges(configurations):
        for number, parameter in enumerate(parameters):
            name = parameter.get("Name") if isinstance(parameter, dict) else None
            if isinstance(name, str) and name not in allowed:
                found.append(
                    Problem(
                        f"InputConfig.EndpointConfigurations[{index}].{RANGES}.CategoricalParameterRanges[{number}]"
                        ".Name",
                        f"{show(name)} is not an environment parameter this server lets a caller set "
                        f"(allowed: {', '.join(sorted(allowed)) or 'none'})",
                    )
                )
    return found


def local_payload_path(url: str, roots: tuple[Path, ...]) -> tuple[Path | None, str | None]:
    """(the resolved path, None) when ``url`` names a path under one of ``roots``, else (None, why not)."""
    raw = url.removeprefix(FILE_SCHEME)
    if not roots:
        return None, f"{show(url)}: this server reads no local payloads (its configuration has no PayloadRoots)"
    if not Path(raw).is_absolute():
        return None, f"{show(url)}: a local payload path must be absolute (or use an s3:// URI)"
    try:
        resolved = Path(raw).resolve()  # links followed: a link inside a root may not lead out of it
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a loop of links
        return None, f"{show(url)}: not a path this server can resolve"
    if not any(resolved.is_relative_to(root) for root in roots):
        # The roots are this host's paths: named to its operator (the configuration), never to a caller.
        return None, f"{show(url)} is not under a payload root of this server (its configuration's PayloadRoots)"
    if not resolved.is_dir() and not (resolved.is_file() and is_archive_name(resolved.name)):
        return None, f"{show(url)}: no such folder or .tar.gz/.tgz archive"
    return resolved, None
