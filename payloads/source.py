"""The payload model: ``Payload``, the ``PayloadSource`` interface, its error, its limits and content types.

Every source (S3 archive or prefix, local directory or archive, memory) returns the
same thing from ``load()``: payloads sorted by name, at least one. Everything that can
go wrong becomes a ``PayloadError`` whose message is one line starting with the
source's location, so the CLI can print it as it is.
"""

from __future__ import annotations

import itertools
import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

DEFAULT_CONTENT_TYPE = "application/octet-stream"

# Checked before ``mimetypes``: these are the types model containers expect, whatever the platform's tables say.
_KNOWN_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".jsonl": "application/jsonlines",
}

# Built-in tables only, so a guess does not depend on the host's /etc/mime.types.
_MIME = mimetypes.MimeTypes()


@dataclass(frozen=True)
class Payload:
    """One sample request body."""

    name: str
    body: bytes = field(repr=False)
    content_type: str
    input_tokens: int | None = None  # a prompt's tokens, when Loadrec.Prompts made the body (its records say)


class PayloadError(Exception):
    """A payload source cannot be used; ``str()`` is one line: ``<location>: <reason>``."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(location, reason)
        self.location = location
        self.reason = reason

    def __str__(self) -> str:
        return one_line(f"{self.location}: {self.reason}")


@dataclass(frozen=True)
class PayloadLimits:
    """Bounds on what a source may load, whatever it is: the number of files and their total size."""

    max_files: int = 10_000
    max_total_bytes: int = 200 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.max_files < 1 or self.max_total_bytes < 1:
            raise ValueError(f"payload limits must be positive: {self}")


DEFAULT_LIMITS = PayloadLimits()


class PayloadSource(Protocol):
    """Somewhere sample payloads come from."""

    @property
    def location(self) -> str:
        """Where the payloads are, as the user wrote it (for messages)."""
        ...

    def load(self) -> tuple[Payload, ...]:
        """All payloads, sorted by name; at least one, else ``PayloadError``."""
        ...


class InMemorySource:
    """Payloads given directly (tests, or callers that already hold the bodies)."""

    def __init__(self, payloads: Iterable[Payload], location: str = "<memory>") -> None:
        self.location = location
        self._payloads = tuple(payloads)

    def load(self) -> tuple[Payload, ...]:
        return finish(self.location, self._payloads)


class Budget:
    """Counts files and bytes against ``PayloadLimits`` as a source discovers them, before it reads them."""

    def __init__(self, location: str, limits: PayloadLimits, noun: str = "member") -> None:
        self.location = location
        self.limits = limits
        self.noun = noun  # what the source calls one file in messages: archive member, file, object
        self.files = 0
        self.total_bytes = 0

    def admit(self, name: str, size: int) -> None:
        """Account for one more file of ``size`` bytes, or raise ``PayloadError`` if it breaks a limit."""
        if self.files + 1 > self.limits.max_files:
            raise PayloadError(self.location, f"more than {self.limits.max_files} files (max_files, refused)")
        if self.total_bytes + size > self.limits.max_total_bytes:
            raise PayloadError(
                self.location,
                f"{self.noun} {name!r} ({size} bytes) takes the total past {self.limits.max_total_bytes} bytes "
                "(max_total_bytes, refused)",
            )
        self.files += 1
        self.total_bytes += size


def guess_content_type(name: str) -> str:
    """The content type for a file called ``name``, from its extension; ``application/octet-stream`` if unknown."""
    dot = name.rfind(".")
    if dot > name.rfind("/"):
        known = _KNOWN_TYPES.get(name[dot:].lower())
        if known is not None:
            return known
    guessed, encoding = _MIME.guess_type(name, strict=False)
    # A compressed file (``x.csv.gz``) is not the type of what it would decompress to.
    if guessed is None or encoding is not None:
        return DEFAULT_CONTENT_TYPE
    return guessed


def content_type_for(name: str, override: str | None) -> str:
    """``override`` (the job's SupportedContentTypes[0]) when given, else a guess from ``name``."""
    return override if override else guess_content_type(name)


def finish(location: str, payloads: Iterable[Payload]) -> tuple[Payload, ...]:
    """Sort ``payloads`` by name, refusing duplicate names and an empty result."""
    ordered = tuple(sorted(payloads, key=lambda p: p.name))
    if not ordered:
        raise PayloadError(location, "contains no payload files")
    for before, after in itertools.pairwise(ordered):
        if before.name == after.name:
            raise PayloadError(location, f"payload {after.name!r} appears more than once (refused)")
    return ordered


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(text.split())
