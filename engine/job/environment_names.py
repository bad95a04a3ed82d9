"""Which environment names a model server may be given, and which variables the job itself reads.

A Command provisioner sets each test's environment parameters in its model server's
environment. Some names are read before the server's own code runs, by the dynamic
loader, an interpreter, a shell or a library the server uses (``LD_PRELOAD``,
``PYTHONPATH``, ``BROWSER``, ``NODE_OPTIONS``, ``AWS_CONFIG_FILE`` with a
``credential_process`` …): whoever sets one of them can run a program of their choosing
as loadrec's user. Such a name is refused unless the provisioner's ``AllowedEnvironment``
names it (the job owner, or the API server's operator, says the server needs it); a
request to ``loadrec serve`` may set only names its configuration allows, none by default.

The list errs on the side of refusing: a name is cheap to allow, a hole is not. Names are
compared in upper case (``http_proxy`` and ``HTTP_PROXY`` are both read).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

ENV_PREFIX = "env:"
# SageMaker's EnvironmentKey pattern (CreateModel's Environment): also a valid process environment name.
ENVIRONMENT_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

# Read whole by a loader, an interpreter, a shell or a common library; each can run code or send
# the server's traffic (and its credentials) elsewhere.
READ_BY_LOADERS = frozenset(
    {
        "BROWSER",  # Python's webbrowser, run by whatever imports it (PYTHONWARNINGS can make a module load)
        "BASH_ENV", "ENV", "PS4", "SHELLOPTS", "BASHOPTS", "IFS", "CDPATH", "PROMPT_COMMAND",  # shells
        "PATH", "HOME", "SHELL", "EDITOR", "VISUAL", "PAGER", "LESSOPEN", "LESSCLOSE",
        "GCONV_PATH", "GETCONF_DIR", "HOSTALIASES", "LOCALDOMAIN", "RES_OPTIONS", "LOCPATH", "NLSPATH",
        "GLIBC_TUNABLES", "TZDIR",  # the C library
        "CLASSPATH", "RUBYOPT", "RUBYLIB", "TCLLIBPATH", "LUA_INIT", "LUA_PATH", "LUA_CPATH",
        "SSLKEYLOGFILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "KUBECONFIG",
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY",
        "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS", "XDG_DATA_HOME", "XDG_DATA_DIRS",
    }
)  # fmt: skip
READ_BY_LOADERS_PREFIXES = (
    "LD_", "DYLD_",  # the dynamic loader: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT
    "PYTHON",  # PYTHONPATH, PYTHONSTARTUP, PYTHONWARNINGS, PYTHONHOME, PYTHONINSPECT
    "PERL", "NODE_", "NPM_CONFIG_", "JAVA_", "_JAVA_", "JDK_JAVA_", "DOTNET_", "CORECLR_", "COR_", "R_", "JULIA_",
    "MALLOC_", "OPENSSL_", "SSL_CERT_", "GIT_",
    "AWS_", "BOTO_",  # credentials and config files (a profile's credential_process runs a command)
)  # fmt: skip


def read_by_loaders(name: str) -> bool:
    """``name`` is read by a loader, interpreter or library before (or besides) the model server's own code."""
    upper = name.upper()
    return upper in READ_BY_LOADERS or upper.startswith(READ_BY_LOADERS_PREFIXES)


def env_references(value: Any) -> set[str]:
    """The environment variables an ``env:NAME`` string anywhere in ``value`` (a JSON value) reads."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item.startswith(ENV_PREFIX) and item.removeprefix(ENV_PREFIX):
                found.add(item.removeprefix(ENV_PREFIX))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def refused_names(names: Iterable[str], allowed: Iterable[str]) -> list[str]:
    """The names, in order, a job owner may not set without allowing them (``read_by_loaders``)."""
    permitted = set(allowed)
    return [name for name in names if read_by_loaders(name) and name not in permitted]
