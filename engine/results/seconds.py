"""A test's seconds file (``tests/N/seconds.jsonl``): written as each second completes, read as it grows.

The first line is ``{"start": EPOCH}`` (second 0 of the test); each further line is a
second's stats in their wire form (histogram included) or a users sample
(``{"u": second, "t": target, "r": running, "w": workers}``), flushed as written, so a
killed process loses nothing it measured. Reading checks every record: a file that
says something loadrec never writes is damage, reported in one line.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from loadrec.engine.measurement.metrics import Timeline
from loadrec.engine.measurement.recording import check_wire

START_KEY = "start"  # the first line of a seconds file: {"start": epoch of second 0}


class SecondsFileError(Exception):
    """The seconds file is damaged; the message is one line naming it."""


class Journal:
    """Appends a test's seconds as JSON lines, each flushed as written (a killed process loses none)."""

    def __init__(self, path: Path, start_epoch: int) -> None:
        self._stream: IO[str] | None = path.open("w", encoding="utf-8")
        self.write({START_KEY: start_epoch})

    def write(self, record: dict[str, Any]) -> None:
        """Raises OSError once (a full disk, a removed folder); the journal then stops writing."""
        if self._stream is None:
            return
        try:
            self._stream.write(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
            self._stream.flush()
        except OSError:
            self.close()  # what could not be flushed is dropped, never retried at close
            raise

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(OSError):  # a buffered line a full disk refused: already reported
                stream.close()


class SecondsFollower:
    """A test's seconds file as it grows: each ``read`` parses only what was appended since the last one.

    Rebuilding an hour-long test's timeline from scratch every second would cost seconds
    a time; this keeps the timeline and adds the new lines. A line not yet ended waits
    for its end; a line that is not JSON (cut short by a killed process) is skipped; a
    file replaced (a new start) is read again from its beginning.
    """

    def __init__(self, path: Path, listener: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.path = path
        self._listener = listener  # each record as it is read, once (the start line too: a new file starts anew)
        self.timeline: Timeline | None = None
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file read so far
        self._offset = 0
        self._partial = b""

    def read(self) -> Timeline | None:
        """The timeline as the file stands (None without a file or a start line); raises SecondsFileError."""
        try:
            with self.path.open("rb") as stream:
                status = os.fstat(stream.fileno())
                identity = (status.st_dev, status.st_ino)
                if identity != self._identity or status.st_size < self._offset:
                    self.timeline, self._identity, self._offset, self._partial = None, identity, 0, b""
                stream.seek(self._offset)
                data = stream.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise SecondsFileError(f"{self.path}: damaged, not a seconds file ({reason(error)})") from None
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        try:
            for line in lines:
                self._apply(line)
            self._partial.decode("utf-8")  # an unended line may be torn, but never holds bytes loadrec cannot write
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise SecondsFileError(
                f"{self.path}: damaged, not a seconds file ({type(error).__name__}: {error})"
            ) from None
        return self.timeline

    def _apply(self, line: bytes) -> None:
        text = line.decode("utf-8")  # loadrec writes ASCII: bytes that are not UTF-8 are damage, not a torn line
        try:
            record = json.loads(text)
        except ValueError:  # a line cut short by a killed process (or not text at all)
            return
        if not isinstance(record, dict):
            return
        if self.timeline is None:
            if START_KEY in record:  # the first line; without it the file says nothing yet
                self.timeline = Timeline(int(record[START_KEY]))
                if self._listener is not None:
                    self._listener(record)
            return
        check_wire(record, self.timeline.start_epoch)
        self.timeline.apply(record)
        if self._listener is not None:
            self._listener(record)


def reason(error: BaseException) -> str:
    """An OS error's own words (without its number), or the error's text."""
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)
