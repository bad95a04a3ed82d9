"""Payloads on the local file system: a directory of files, or a ``.tar.gz``/``.tgz`` archive.

A directory yields every regular file under it, recursively, named by its relative
POSIX path. Symbolic links inside it are refused rather than followed, so a payload
directory cannot reach files elsewhere; the directory itself may be a link.
"""

from __future__ import annotations

import os
from pathlib import Path

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


class LocalDirectorySource:
    """Every regular file under a directory, recursively, sorted by relative path."""

    def __init__(
        self, path: str | Path, content_type: str | None = None, limits: PayloadLimits = DEFAULT_LIMITS
    ) -> None:
        self.path = Path(path)
        self.location = str(path)
        self.content_type = content_type
        self.limits = limits

    def load(self) -> tuple[Payload, ...]:
        if not self.path.exists():
            raise PayloadError(self.location, "does not exist")
        if not self.path.is_dir():
            raise PayloadError(self.location, "is not a directory")
        budget = Budget(self.location, self.limits, noun="file")
        found: list[tuple[str, Path]] = []
        self._walk(self.path, "", budget, found)
        payloads = [
            Payload(name, self._read(name, path), content_type_for(name, self.content_type)) for name, path in found
        ]
        return finish(self.location, payloads)

    def _walk(self, directory: Path, prefix: str, budget: Budget, found: list[tuple[str, Path]]) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            raise PayloadError(self.location, f"cannot list {prefix or '.'!r} ({error.strerror or error})") from None
        for entry in entries:
            name = f"{prefix}{entry.name}"
            if entry.is_symlink():
                raise PayloadError(self.location, f"{name!r} is a symbolic link (refused: links are not followed)")
            if entry.is_dir(follow_symlinks=False):
                self._walk(Path(entry.path), f"{name}/", budget, found)
            elif entry.is_file(follow_symlinks=False):
                budget.admit(name, entry.stat(follow_symlinks=False).st_size)
                found.append((name, Path(entry.path)))
            else:
                raise PayloadError(self.location, f"{name!r} is not a regular file (refused)")

    def _read(self, name: str, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as error:
            raise PayloadError(self.location, f"cannot read {name!r} ({error.strerror or error})") from None


class LocalArchiveSource:
    """The regular files in a local ``.tar.gz``/``.tgz``, read in memory.

    The archive is streamed from disk, so its compressed size needs no bound of its own:
    the decompressed stream and the members' sizes are bounded while reading.
    """

    def __init__(
        self, path: str | Path, content_type: str | None = None, limits: PayloadLimits = DEFAULT_LIMITS
    ) -> None:
        self.path = Path(path)
        self.location = str(path)
        self.content_type = content_type
        self.limits = limits

    def load(self) -> tuple[Payload, ...]:
        if not self.path.exists():
            raise PayloadError(self.location, "does not exist")
        if not self.path.is_file():
            raise PayloadError(self.location, "is not a file")
        return read_tar_gz(self.path, self.location, content_type=self.content_type, limits=self.limits)
