"""Payloads in Amazon S3 (or an S3-compatible endpoint): a ``.tar.gz`` object, or every object under a prefix.

Clients are created on ``load()``, never at construction, so building a source does no
I/O. Botocore failures (service errors, missing credentials, unreachable endpoints)
become one-line ``PayloadError``s naming the S3 URI.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from loadrec.payloads.archive import read_tar_gz
from loadrec.payloads.source import (
    DEFAULT_LIMITS,
    Budget,
    Payload,
    PayloadError,
    PayloadLimits,
    content_type_for,
    finish,
)

S3_SCHEME = "s3://"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``; the key may be empty. ``PayloadError`` if there is no bucket."""
    if not uri.startswith(S3_SCHEME):
        raise PayloadError(uri, "is not an s3:// URI")
    bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
    if not bucket:
        raise PayloadError(uri, "names no bucket (expected s3://bucket/key)")
    return bucket, key


class S3ArchiveSource:
    """The regular files in a ``.tar.gz`` object, downloaded and read in memory."""

    def __init__(
        self,
        uri: str,
        content_type: str | None = None,
        limits: PayloadLimits = DEFAULT_LIMITS,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        self.bucket, self.key = parse_s3_uri(uri)
        if not self.key:
            raise PayloadError(uri, "names no object key (expected s3://bucket/key.tar.gz)")
        self.location = uri
        self.content_type = content_type
        self.limits = limits
        self.endpoint_url = endpoint_url
        self.region = region

    def load(self) -> tuple[Payload, ...]:
        client = _client(self.location, self.endpoint_url, self.region)
        # The download is held in memory, so it gets the same bound as the payloads it holds.
        data = _get_object(self.location, client, self.bucket, self.key, self.limits.max_total_bytes)
        return read_tar_gz(data, self.location, content_type=self.content_type, limits=self.limits)


class S3PrefixSource:
    """Every object under a prefix, one payload each, named by its key relative to the prefix.

    A non-empty prefix is taken as a folder: ``s3://b/data`` means the keys under ``data/``,
    not ``data-old/…``. Keys ending in ``/`` (folder placeholders) are skipped.
    """

    def __init__(
        self,
        uri: str,
        content_type: str | None = None,
        limits: PayloadLimits = DEFAULT_LIMITS,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        self.bucket, prefix = parse_s3_uri(uri)
        self.prefix = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
        self.location = uri
        self.content_type = content_type
        self.limits = limits
        self.endpoint_url = endpoint_url
        self.region = region

    def load(self) -> tuple[Payload, ...]:
        client = _client(self.location, self.endpoint_url, self.region)
        budget = Budget(self.location, self.limits, noun="object")
        listed: list[tuple[str, str]] = []
        try:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for entry in page.get("Contents", []):
                    key: str = entry["Key"]
                    if key.endswith("/"):
                        continue
                    name = key[len(self.prefix) :]
                    budget.admit(name, entry["Size"])
                    listed.append((name, key))
        except (BotoCoreError, ClientError) as error:
            raise PayloadError(self.location, _describe(error)) from None
        payloads = []
        remaining = self.limits.max_total_bytes
        for name, key in listed:
            # Bounded by what is left of the budget, in case an object grew since it was listed.
            body = _get_object(self.location, client, self.bucket, key, remaining)
            remaining -= len(body)
            payloads.append(Payload(name, body, content_type_for(name, self.content_type)))
        return finish(self.location, payloads)


def _client(location: str, endpoint_url: str | None, region: str | None) -> Any:
    try:
        return boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region)
    except (BotoCoreError, ValueError) as error:  # ValueError: a malformed endpoint URL
        raise PayloadError(location, f"cannot create an S3 client ({error})") from None


def _get_object(location: str, client: Any, bucket: str, key: str, max_bytes: int) -> bytes:
    """The body of ``bucket/key``, refused without reading it when it is larger than ``max_bytes``."""
    try:
        response = client.get_object(Bucket=bucket, Key=key)
        body = response["Body"]
        try:
            length = response.get("ContentLength")
            if length is not None and length > max_bytes:
                raise PayloadError(
                    location, f"object {key!r} is {length} bytes, over the {max_bytes}-byte limit (max_total_bytes)"
                )
            # An endpoint may omit or understate the length: read one byte past the bound to notice.
            data: bytes = body.read(max_bytes + 1)
        finally:
            body.close()
    except (BotoCoreError, ClientError) as error:
        raise PayloadError(location, _describe(error)) from None
    if len(data) > max_bytes:
        raise PayloadError(location, f"object {key!r} is over the {max_bytes}-byte limit (max_total_bytes)")
    return data


def _describe(error: BotoCoreError | ClientError) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code") or "ClientError"
        message = details.get("Message")
        return f"{code} ({message})" if message else str(code)
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
    if isinstance(error, EndpointConnectionError):
        return f"cannot connect to S3 ({error})"
    return f"{type(error).__name__} ({error})"


def read_object(uri: str, max_bytes: int, endpoint_url: str | None = None, region: str | None = None) -> bytes:
    """One object's body (a prompt dataset), refused past ``max_bytes``; PayloadError naming ``uri`` else."""
    bucket, key = parse_s3_uri(uri)
    if not key or key.endswith("/"):
        raise PayloadError(uri, "names no object key (expected s3://bucket/key.jsonl)")
    return _get_object(uri, _client(uri, endpoint_url, region), bucket, key, max_bytes)
