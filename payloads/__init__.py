"""Sample payloads: where they come from (S3 archive or prefix, local directory or archive), how users pick them."""

from __future__ import annotations

import re
from pathlib import Path

from loadrec.payloads.archive import is_archive_name, read_tar_gz
from loadrec.payloads.local import LocalArchiveSource, LocalDirectorySource
from loadrec.payloads.picker import PayloadPicker
from loadrec.payloads.s3 import S3_SCHEME, S3ArchiveSource, S3PrefixSource, parse_s3_uri
from loadrec.payloads.source import (
    DEFAULT_LIMITS,
    InMemorySource,
    Payload,
    PayloadError,
    PayloadLimits,
    PayloadSource,
    content_type_for,
    guess_content_type,
)

__all__ = [
    "InMemorySource",
    "LocalArchiveSource",
    "LocalDirectorySource",
    "Payload",
    "PayloadError",
    "PayloadLimits",
    "PayloadPicker",
    "PayloadSource",
    "S3ArchiveSource",
    "S3PrefixSource",
    "content_type_for",
    "guess_content_type",
    "open_source",
    "parse_s3_uri",
    "read_tar_gz",
]

FILE_SCHEME = "file://"

# Virtual-hosted S3 URLs: https://bucket.s3.amazonaws.com/key, https://bucket.s3.eu-west-1.amazonaws.com/key, …
_S3_HTTPS = re.compile(r"^https?://(?P<bucket>[^/]+)\.s3[.-](?:[a-z0-9-]+\.)*amazonaws\.com(?:\.cn)?/(?P<key>.*)$")
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")


def open_source(
    url: str,
    *,
    content_type: str | None = None,
    base_dir: Path | None = None,
    s3_endpoint_url: str | None = None,
    region: str | None = None,
    limits: PayloadLimits = DEFAULT_LIMITS,
) -> PayloadSource:
    """The source for a SamplePayloadUrl; ``PayloadError`` if ``url`` names nothing loadrec can read.

    ``s3://…/x.tar.gz`` (or ``.tgz``) is an archive object, any other ``s3://…`` a prefix.
    Anything else is a local path (``file://`` allowed; relative to ``base_dir`` when given):
    a directory, or a ``.tar.gz``/``.tgz`` file. ``content_type`` overrides per-file guesses.
    """
    if not url.strip():
        raise PayloadError(repr(url), "is empty (expected an s3:// URI or a local path)")
    if url.startswith(S3_SCHEME):
        _, key = parse_s3_uri(url)
        options = {"endpoint_url": s3_endpoint_url, "region": region}
        if is_archive_name(key):
            return S3ArchiveSource(url, content_type, limits, **options)
        return S3PrefixSource(url, content_type, limits, **options)
    virtual_hosted = _S3_HTTPS.match(url)
    if virtual_hosted:
        s3_uri = f"s3://{virtual_hosted['bucket']}/{virtual_hosted['key']}"
        raise PayloadError(url, f"HTTPS object URLs are not supported; use the S3 URI {s3_uri}")
    scheme = _SCHEME.match(url)
    if scheme and not url.startswith(FILE_SCHEME):
        raise PayloadError(url, f"unsupported URL scheme {scheme['scheme']!r} (expected s3:// or a local path)")
    return _local_source(url.removeprefix(FILE_SCHEME), content_type, base_dir, limits)


def _local_source(
    raw_path: str, content_type: str | None, base_dir: Path | None, limits: PayloadLimits
) -> PayloadSource:
    path = Path(raw_path).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if path.is_dir():
        return LocalDirectorySource(path, content_type, limits)
    if is_archive_name(path.name):
        return LocalArchiveSource(path, content_type, limits)
    if not path.exists():
        raise PayloadError(str(path), "does not exist")
    raise PayloadError(str(path), "is neither a directory nor a .tar.gz/.tgz archive")
