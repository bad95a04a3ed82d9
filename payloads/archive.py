"""Reading an untrusted ``.tar.gz`` of payloads in memory: every member checked, nothing extracted to disk.

Regular files become payloads named by their path inside the archive; directories are
skipped. Anything else (absolute or ``..`` paths, links, devices, FIFOs) is refused, as
are archives that break ``PayloadLimits``: declared sizes are checked before a member
is read, and the decompressed stream as a whole is bounded, so neither a huge member
nor a header or directory padded with gigabytes of zeros is ever held or fully inflated.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import zlib
from pathlib import Path
from typing import BinaryIO, Protocol

from loadrec.payloads.source import (
    DEFAULT_LIMITS,
    Budget,
    Payload,
    PayloadError,
    PayloadLimits,
    content_type_for,
    finish,
)

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")

# Tar headers and padding cost at most this much per entry (a 512-byte header, up to 511 bytes of padding,
# and extended headers for long names); the allowance is shared, not per entry.
_HEADER_ALLOWANCE = 4096
# tarfile reads ahead by whole records, past the end-of-archive marker.
_READ_AHEAD = 64 * 1024

_DRIVE = re.compile(r"^[A-Za-z]:")


def is_archive_name(name: str) -> bool:
    """Whether ``name`` ends like a gzipped tar (``.tar.gz`` or ``.tgz``, any case)."""
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def read_tar_gz(
    archive: Path | bytes,
    location: str,
    *,
    content_type: str | None = None,
    limits: PayloadLimits = DEFAULT_LIMITS,
) -> tuple[Payload, ...]:
    """The payloads in ``archive`` (a path or the archive's bytes), sorted by name; ``PayloadError`` if unusable."""
    if isinstance(archive, bytes):
        return _read(io.BytesIO(archive), location, content_type, limits)
    try:
        raw = archive.open("rb")
    except OSError as error:
        raise PayloadError(location, f"cannot be read ({error.strerror or error})") from None
    with raw:
        return _read(raw, location, content_type, limits)


def decompressed_bound(limits: PayloadLimits) -> int:
    """How many bytes the tar stream inside the gzip may decompress to before it is refused."""
    entries = 2 * limits.max_files + 2  # regular files, as many directories, and the end-of-archive blocks
    return limits.max_total_bytes + entries * _HEADER_ALLOWANCE + _READ_AHEAD


def _read(raw: BinaryIO, location: str, content_type: str | None, limits: PayloadLimits) -> tuple[Payload, ...]:
    stream = _BoundedReader(gzip.GzipFile(fileobj=raw, mode="rb"), decompressed_bound(limits), location)
    budget = Budget(location, limits)
    payloads: list[Payload] = []
    seen: set[str] = set()
    directories = 0
    try:
        # Stream mode ("r|") reads strictly forwards, so the bounded reader sees every byte tarfile consumes.
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                name = _checked_name(location, member.name)
                if member.isdir():
                    directories += 1
                    if directories > limits.max_files:
                        raise PayloadError(
                            location, f"more than {limits.max_files} directory entries (max_files, refused)"
                        )
                    continue
                _refuse_unless_regular(location, member)
                if not name:
                    raise PayloadError(location, f"member {member.name!r} has no file name (refused)")
                if name in seen:
                    raise PayloadError(location, f"member {member.name!r} appears more than once (refused)")
                if member.size < 0:
                    raise PayloadError(location, f"member {member.name!r} declares a negative size (refused)")
                budget.admit(name, member.size)
                extracted = tar.extractfile(member)
                if extracted is None:  # only for non-regular members, refused above
                    raise PayloadError(location, f"member {member.name!r} cannot be read")
                payloads.append(Payload(name, extracted.read(), content_type_for(name, content_type)))
                seen.add(name)
            _read_to_the_end(stream, tar.offset, location)
    except PayloadError:
        raise
    except gzip.BadGzipFile as error:
        if not str(error).startswith("Not a gzipped file"):  # gzip, damaged: a bad header, checksum or length
            raise PayloadError(location, f"is damaged ({error}; refused)") from None
        raise PayloadError(location, "is not a gzip file (expected a .tar.gz)") from None
    except tarfile.ReadError as error:
        # tarfile says "empty file" both for a zero-length stream and for a tar holding no entries at all.
        if str(error) == "empty file":
            raise PayloadError(location, "contains no payload files") from None
        raise PayloadError(location, f"is not a readable .tar.gz ({error})") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise PayloadError(location, f"is not a readable .tar.gz ({error})") from None
    return finish(location, payloads)


def _read_to_the_end(stream: _BoundedReader, end_of_archive: int, location: str) -> None:
    """Read what follows the last member to the gzip's end: only zeros may follow, and gzip checks its CRC.

    tarfile ends its iteration silently at a header it cannot read once one member was read,
    and gzip checks its checksum only at the end of the stream: without this, one flipped
    byte would shrink the payload set without a word."""
    tail_start = stream.consumed - len(stream.tail)
    if end_of_archive < tail_start or stream.tail[end_of_archive - tail_start :].lstrip(b"\0"):
        raise PayloadError(location, f"is damaged: an unreadable tar header at byte {end_of_archive} (refused)")
    while chunk := stream.read(_READ_AHEAD):
        if chunk.lstrip(b"\0"):
            raise PayloadError(location, "is damaged: data after the end of the archive (refused)")


def _checked_name(location: str, raw_name: str) -> str:
    """``raw_name`` normalised (no ``.`` or empty parts), or ``PayloadError`` if it could point outside."""
    if raw_name.startswith(("/", "\\")) or _DRIVE.match(raw_name):
        raise PayloadError(location, f"member {raw_name!r} has an absolute path (refused)")
    # Backslashes count as separators too: the name must be safe wherever it is interpreted.
    parts = [part for part in re.split(r"[/\\]", raw_name) if part not in ("", ".")]
    if ".." in parts:
        raise PayloadError(location, f"member {raw_name!r} escapes the archive (refused)")
    return "/".join(parts)


def _refuse_unless_regular(location: str, member: tarfile.TarInfo) -> None:
    reason = None
    if member.issym():
        reason = f"is a symbolic link to {member.linkname!r}"
    elif member.islnk():
        reason = f"is a hard link to {member.linkname!r}"
    elif member.ischr():
        reason = "is a character device"
    elif member.isblk():
        reason = "is a block device"
    elif member.isfifo():
        reason = "is a FIFO"
    elif not member.isreg():
        reason = f"has unsupported tar type {member.type!r}"
    if reason is not None:
        raise PayloadError(location, f"member {member.name!r} {reason} (refused)")


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _BoundedReader(io.RawIOBase):
    """A read-only stream that raises ``PayloadError`` once more than ``bound`` bytes come out of ``inner``."""

    def __init__(self, inner: _Readable, bound: int, location: str) -> None:
        super().__init__()
        self._inner = inner
        self._bound = bound
        self._location = location
        self.consumed = 0
        # The last bytes read: tarfile buffers less than this past where it stopped (its reads are 10 KiB).
        self.tail = bytearray()

    def read(self, size: int = -1) -> bytes:
        # Never ask for more than one byte past the bound, so an unbounded read cannot inflate everything first.
        allowed = self._bound - self.consumed + 1
        chunk = self._inner.read(allowed if size < 0 else min(size, allowed))
        self.consumed += len(chunk)
        if self.consumed > self._bound:
            raise PayloadError(self._location, f"decompresses to more than {self._bound} bytes (refused)")
        self.tail += chunk
        if len(self.tail) > _READ_AHEAD:
            del self.tail[: len(self.tail) - _READ_AHEAD]
        return chunk

    def readable(self) -> bool:
        return True
