"""The API server's configuration file: who may call it, where jobs send traffic, what it may read.

An AWS request cannot carry the ``Loadrec`` key (boto3 refuses unknown parameters), so
the server decides what the job file's extension would have said::

    {
      "Region": "us-east-1",
      "AccessKeys": {"AKIDLOADREC0000000001": "env:LOADREC_API_SECRET"},
      "MaxConcurrentJobs": 2,
      "PayloadRoots": ["/srv/payloads"],
      "Endpoints": {
        "churn-staging": {"Http": {"Url": "http://10.0.0.5:8080/invocations"}, "PricePerHour": 0.2}
      },
      "Loadrec": {"Provisioner": {"Command": {...}}, "SamplePayloadUrl": "/srv/payloads/default/"}
    }

- ``AccessKeys``: access key id → secret access key (``env:NAME`` reads the environment,
  so the secret need not sit in the file). A request signed by any other key is refused.
- ``Endpoints``: ``InputConfig.Endpoints[].EndpointName`` → a ``Loadrec.Targets`` entry;
  a name not listed is the SageMaker endpoint of that name in ``Region``.
- ``Loadrec``: the extension every job gets (Provisioner for EndpointConfigurations,
  a default SamplePayloadUrl, S3/CloudWatch endpoint URLs, timeouts); never Targets.
- ``PayloadRoots``: a request's local SamplePayloadUrl must lie under one of them.
Relative paths (payload roots and paths, CA bundles) are read from the configuration file's folder.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from botocore.model import Shape

from loadrec.engine.job.environment_names import ENV_PREFIX
from loadrec.engine.job.extension import KEY, check_extension
from loadrec.engine.job.files import JobFileError, parse_json, read_text
from loadrec.engine.job.loadrec_model import SHAPES, resolver
from loadrec.engine.job.problems import Accepted, Problem, join, show
from loadrec.engine.job.targets import target_problems
from loadrec.engine.job.validation import check_input
from loadrec.engine.trust.bundles import TrustError, read_bundle

DEFAULT_REGION = "us-east-1"
DEFAULT_MAX_CONCURRENT_JOBS = 2
# The configuration's shapes, in the format of the Loadrec key's model and naming its shapes (Region, Target).
# Loadrec is walked by check_extension (the key's model and its rules), so it is any JSON value here.
# fmt: off
CONFIG_SHAPES: dict[str, dict[str, Any]] = {
    "ServerConfig": {"type": "structure", "members": {
        "Region": {"shape": "Region"}, "AccessKeys": {"shape": "AccessKeys"},
        "MaxConcurrentJobs": {"shape": "ConcurrentJobs"}, "PayloadRoots": {"shape": "PayloadRoots"},
        "Endpoints": {"shape": "Endpoints"}, KEY: {"shape": "ExtensionValue"}}},
    "AccessKeys": {"type": "map", "key": {"shape": "AccessKeyId"}, "value": {"shape": "SecretAccessKey"},
                   "sensitive": True},  # a wrong type is never echoed: it may hold the secrets
    "AccessKeyId": {"type": "string", "min": 1, "max": 128, "pattern": "[A-Za-z0-9]+",
                    "meaning": "an access key id (letters and digits)"},
    "SecretAccessKey": {"type": "string", "min": 1, "max": 1024, "sensitive": True},  # or env:NAME
    "ConcurrentJobs": {"type": "long", "min": 1, "max": 100},
    "PayloadRoots": {"type": "list", "member": {"shape": "Path"}},
    "Endpoints": {"type": "map", "key": {"shape": "EndpointName"}, "value": {"shape": "Target"}},
    "ExtensionValue": {"type": "structure", "members": {}, "document": True},
}
# fmt: on
PAYLOAD_URL_FIELDS = ("SamplePayloadUrl",)  # extension fields holding a local path, read from the file's folder


class ConfigError(Exception):
    """The configuration cannot be used: one line per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class ServerConfig:
    region: str = DEFAULT_REGION
    access_keys: Mapping[str, str] = field(default_factory=dict)  # id → secret, read from the environment
    max_concurrent_jobs: int = DEFAULT_MAX_CONCURRENT_JOBS
    payload_roots: tuple[Path, ...] = ()  # absolute, links resolved
    endpoints: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # EndpointName → Loadrec.Targets entry
    extension: Mapping[str, Any] = field(default_factory=dict)  # the Loadrec key every job gets
    secret_variables: frozenset[str] = frozenset()  # the environment variables the secrets were read from

    def target_for(self, endpoint_name: str) -> dict[str, Any]:
        """The ``Loadrec.Targets`` entry for an existing endpoint a request names."""
        mapped = self.endpoints.get(endpoint_name)
        if mapped is not None:
            return copy.deepcopy(dict(mapped))  # a job may change its copy; the configuration stays
        return {"SageMaker": {"EndpointName": endpoint_name, "Region": self.region}}

    @property
    def provisions(self) -> bool:
        return "Provisioner" in self.extension

    def __repr__(self) -> str:  # the secrets never reach a log through a repr
        return f"ServerConfig(region={self.region!r}, access_keys=[{', '.join(self.access_keys)}], ...)"


def load_config(path: str | None, environ: Mapping[str, str] = os.environ) -> ServerConfig:
    """The configuration in ``path`` (None: an empty one); raises ConfigError."""
    if path is None:
        return ServerConfig()
    try:
        raw = parse_json(read_text(path), path)
    except JobFileError as error:
        raise ConfigError([str(error)]) from None
    return parse_config(raw, Path(path).resolve().parent, environ)


def parse_config(raw: Any, base: Path, environ: Mapping[str, str]) -> ServerConfig:
    if not isinstance(raw, dict):
        raise ConfigError(["the server configuration must be a JSON object"])
    model = check_input(raw, _config_shape(), None)
    problems, accepted = list(model), Accepted(model)
    # Each rule reads the entries the model accepted (an entry it refused is reported once, by the model).
    keys: dict[str, str] = {}
    secret_variables = frozenset[str]()
    if isinstance(raw.get("AccessKeys"), dict):
        read = {k: v for k, v in raw["AccessKeys"].items() if accepted.whole(join("AccessKeys", k))}
        keys, secret_variables, key_problems = _access_keys(read, environ)
        problems += key_problems
    roots: tuple[Path, ...] = ()
    if accepted.whole("PayloadRoots"):
        roots, root_problems = _roots(raw.get("PayloadRoots", []), base)
        problems += root_problems
    targets = {}
    endpoints = raw.get("Endpoints")
    for name, entry in endpoints.items() if isinstance(endpoints, dict) else ():
        where = join("Endpoints", name)
        if not accepted.typed(where):
            continue
        found = target_problems(entry, where, accepted)
        if not found and accepted.whole(where):
            entry, found = _with_absolute_bundle(entry, base, where)
        targets[name] = entry
        problems += found
    extension = {} if raw.get(KEY) is None else raw[KEY]  # null: no extension, as in a job file
    problems += _extension_problems(extension)
    if problems:
        raise ConfigError([str(p) for p in problems])
    return ServerConfig(
        region=raw.get("Region", DEFAULT_REGION),
        access_keys=keys,
        max_concurrent_jobs=raw.get("MaxConcurrentJobs", DEFAULT_MAX_CONCURRENT_JOBS),
        payload_roots=roots,
        endpoints=targets,
        extension=_absolute_paths(extension, base),
        secret_variables=secret_variables,
    )


@cache
def _config_shape() -> Shape:
    return resolver({**SHAPES, **CONFIG_SHAPES}).get_shape_by_name("ServerConfig")


def _access_keys(
    raw: Mapping[str, str], environ: Mapping[str, str]
) -> tuple[dict[str, str], frozenset[str], list[Problem]]:
    """(access key id → secret, the environment variables read for them, the problems)."""
    keys, variables, problems = {}, set(), []
    for key_id, secret in raw.items():
        if secret.startswith(ENV_PREFIX):
            name = secret.removeprefix(ENV_PREFIX)
            if not environ.get(name):
                problems.append(
                    Problem(join("AccessKeys", key_id), f"the environment variable {show(name)} is not set")
                )
            else:
                keys[key_id] = environ[name]
                variables.add(name)
        else:
            keys[key_id] = secret
    return keys, frozenset(variables), problems


def _roots(raw: list[str], base: Path) -> tuple[tuple[Path, ...], list[Problem]]:
    roots, problems = [], []
    for index, item in enumerate(raw):
        path = _from_file(base, item)
        if not _is_folder(path):
            problems.append(Problem(f"PayloadRoots[{index}]", f"{show(item)} is not a folder"))
        else:
            roots.append(path)
    return tuple(roots), problems


def _extension_problems(extension: Any) -> list[Problem]:
    if not isinstance(extension, dict):
        return check_extension(extension, 0)  # the model's line for a value that is no object
    found = []
    if "Targets" in extension:
        found.append(Problem(f"{KEY}.Targets", "not allowed here: map InputConfig.Endpoints names in Endpoints"))
    return found + check_extension({k: v for k, v in extension.items() if k != "Targets"}, 0)


def _with_absolute_bundle(entry: dict[str, Any], base: Path, path: str) -> tuple[dict[str, Any], list[Problem]]:
    """A checked target with its CA bundle's path made absolute (jobs run from the data directory), the bundle
    read now: a wrong one stops the server before it listens, not each job that uses it."""
    bundle = entry.get("Http", {}).get("CaBundle")
    if bundle is None:
        return entry, []
    absolute = _from_file(base, bundle)
    try:
        read_bundle(absolute)
    except TrustError as error:
        return entry, [Problem(f"{path}.Http.CaBundle", str(error))]
    return {**entry, "Http": {**entry["Http"], "CaBundle": str(absolute)}}, []


def _from_file(base: Path, value: str) -> Path:
    """A path written in the configuration file: relative ones from its folder, links resolved (``~user``
    of no such user is taken as written: it then names no folder)."""
    try:
        written = Path(value).expanduser()
    except RuntimeError:  # "Could not determine home directory"
        written = Path(value)
    return (base / written).resolve()


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name longer than the file system allows, a loop of links
        return False


def _absolute_paths(extension: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """The extension with its local payload path made absolute (jobs run from the data directory)."""
    fixed = dict(extension)
    for name in PAYLOAD_URL_FIELDS:
        value = fixed.get(name)
        if isinstance(value, str) and "://" not in value:
            fixed[name] = str(_from_file(base, value))
    return fixed
