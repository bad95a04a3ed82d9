"""Which certificate authorities a target's https connections trust.

By default, certifi's bundle (geventhttpclient's default). A target may name its own:
an Http target's ``CaBundle``, and for SageMaker targets botocore's ``ca_bundle``
setting (``AWS_CA_BUNDLE`` or the profile's ``ca_bundle``), read as boto3 reads it. A
bundle replaces the default trust, as botocore's ``verify=PATH`` does. It is read and
checked once, when the test is prepared, so a wrong file is one line before any load;
each connection then builds its TLS context from the text in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent.ssl  # the context must be gevent's: connections wrap their sockets cooperatively

MAX_BUNDLE_BYTES = 1024 * 1024  # a CA bundle is a few KB; certifi's whole one is under 300 KB


class TrustError(Exception):
    """A CA bundle cannot be used; the message names the file and why."""


def read_bundle(path: Path) -> str:
    """The PEM text of the CA bundle at ``path``, checked to hold at least one certificate."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BUNDLE_BYTES + 1)
    except OSError as error:
        raise TrustError(f"{path}: cannot be read ({error.strerror or type(error).__name__})") from None
    if len(data) > MAX_BUNDLE_BYTES:
        raise TrustError(f"{path}: larger than {MAX_BUNDLE_BYTES // 1024} KiB, not a CA bundle")
    not_pem = TrustError(f"{path}: not a PEM file of CA certificates")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise not_pem from None
    if "-----BEGIN CERTIFICATE-----" not in text:  # an empty text would load the system's CAs instead
        raise not_pem
    try:
        context = gevent.ssl.create_default_context(cadata=text)
    except (gevent.ssl.SSLError, ValueError):
        raise not_pem from None
    if not context.get_ca_certs():
        raise not_pem
    return text


def context_factory(pem: str) -> Callable[..., gevent.ssl.SSLContext]:
    """What geventhttpclient calls for a connection's TLS context: one trusting only ``pem``'s CAs."""

    def factory(**_: Any) -> gevent.ssl.SSLContext:  # it passes cafile=certifi's bundle: not used
        return gevent.ssl.create_default_context(cadata=pem)

    return factory
