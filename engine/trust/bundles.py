"""Which certificate authorities a target's https connections trust, and one TLS context per trust.

By default, certifi's bundle (as geventhttpclient and botocore use). A target may name
its own: an Http target's ``CaBundle``, and for SageMaker targets botocore's
``ca_bundle`` setting (``AWS_CA_BUNDLE`` or the profile's ``ca_bundle``), read as boto3
reads it. A bundle replaces the default trust, as botocore's ``verify=PATH`` does. It is
read and checked once, when the test is prepared, so a wrong file is one line before
any load.

Loading a bundle into a TLS context costs milliseconds of CPU (certifi's: about 13 ms),
and geventhttpclient would do it for every connection a user opens: 2,000 users ramping
up at once would stall the load generator for seconds. So each process builds one
context per bundle and every connection shares it (an SSLContext is made to be shared).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import certifi
import gevent.ssl  # the context must be gevent's: connections wrap their sockets cooperatively

from loadrec.engine.job.files import FileRefused, read_regular

MAX_BUNDLE_BYTES = 1024 * 1024  # a CA bundle is a few KB; certifi's whole one is under 300 KB
# The certificates of a bundle: whatever surrounds them (comments, a byte-order mark, UTF-8 text) is ignored,
# as OpenSSL ignores it when it reads the file itself.
_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")
_contexts: dict[str | None, gevent.ssl.SSLContext] = {}


class TrustError(Exception):
    """A CA bundle cannot be used; the message names the file and why."""


def read_bundle(path: Path) -> str:
    """The certificates (PEM) of the CA bundle at ``path``, checked to be at least one a TLS context takes."""
    try:
        data = read_regular(path, MAX_BUNDLE_BYTES)  # a FIFO would hang the run: refused before it is opened
    except FileRefused as error:
        said = f"cannot be read ({error})" if error.unreadable else f"{error}, not a CA bundle"
        raise TrustError(f"{path}: {said}") from None
    pem = "\n".join(block.decode("ascii") for block in _CERTIFICATE.findall(data))
    if not pem:  # an empty text would make the context load the system's CAs instead
        raise TrustError(f"{path}: not a PEM file of CA certificates")
    try:
        context = gevent.ssl.create_default_context(cadata=pem)
    except (gevent.ssl.SSLError, ValueError):
        raise TrustError(f"{path}: not a PEM file of CA certificates") from None
    if not context.get_ca_certs():
        raise TrustError(f"{path}: not a PEM file of CA certificates")
    return pem


def shared_context(pem: str | None) -> gevent.ssl.SSLContext:
    """This process's one TLS context trusting ``pem``'s CAs (None: certifi's)."""
    context = _contexts.get(pem)
    if context is None:
        if pem is None:
            context = gevent.ssl.create_default_context(cafile=certifi.where())
        else:
            context = gevent.ssl.create_default_context(cadata=pem)
        context = _contexts[pem] = context
    return context


def context_factory(pem: str | None) -> Callable[..., gevent.ssl.SSLContext]:
    """What geventhttpclient calls for a connection's TLS context: the shared one trusting ``pem``'s CAs."""

    def factory(**_: Any) -> gevent.ssl.SSLContext:  # it passes cafile=certifi's bundle: ours decides
        return shared_context(pem)

    return factory
