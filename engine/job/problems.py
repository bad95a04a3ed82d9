"""A problem with a job, and how a value is echoed in one: shared by every validator; and how a line reaches a
terminal (``terminal_safe``, the progress reporter ``Say``).

Each problem names the dotted path of its field (``InputConfig.TrafficPattern.Phases[0]``)
or the file, and shows the offending value as the job file spells it, shortened.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeGuard


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the request, at one field."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


SHOWN_CHARACTERS = 80  # an echoed value is cut to this: a 1 MB string must not make a 1 MB error line


class BadInput(Exception):
    """Input problems, one line each: a command reports them with exit code 2, nothing sent."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def terminal_safe(line: str) -> str:
    """``line`` as a terminal may print it: control characters (ESC, NUL, a carriage return) and bidirectional
    format characters written as escapes (``\\x1b``, ``\\u202e``), so a path or a value cannot clear the
    screen, set a title or reorder what is shown. Tabs stay."""
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() or c == "\t" else _escape(c) for c in line)


class TerminalSafe:
    """A text stream that writes what it is given through ``terminal_safe``, line by line (line breaks kept):
    every command's output, whatever value or path it prints."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write("\n".join(terminal_safe(part) for part in text.split("\n")))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding: the stream's own
        return getattr(self.stream, name)


@contextlib.contextmanager
def terminal_safe_output() -> Iterator[None]:
    """sys.stdout and sys.stderr through ``TerminalSafe`` for as long as the block runs."""
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalSafe(sys.stdout), TerminalSafe(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = streams


Say = Callable[[str], None]  # where a run reports: one progress line a call, from the front end down


def say_on_stdout(line: str) -> None:
    """The front ends' reporter (the CLI, the web UI's and the API's servers): each line printed as a terminal
    may show it, flushed (a line waiting in a buffer is a line a watcher does not see)."""
    print(terminal_safe(line), flush=True)


def _escape(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def show(value: Any) -> str:
    """``value`` as the job file spells it, shortened for an error line."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) <= SHOWN_CHARACTERS:
        return text
    return f"{text[: SHOWN_CHARACTERS - 1]}… ({len(text)} characters)"


def is_number(value: Any) -> TypeGuard[int | float]:
    """A finite JSON number: not a boolean, NaN or Infinity (an integer of any size is one: never converted)."""
    return is_int(value) or (isinstance(value, float) and math.isfinite(value))


def is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer (a boolean is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
MAX_ALLOWED_SHOWN = 10  # an enum of 400 instance types is not listed whole in an error line


def join(path: str, key: str) -> str:
    """The dotted path of member ``key`` under ``path``; a key that is not a plain name
    (empty, spaces, dots, control characters) is written ``path["key"]``, shortened."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{show(key)}]"


def one_of(allowed: list[str] | tuple[str, ...]) -> str:
    """``one of: a, b, c`` — the first few when there are many."""
    if len(allowed) <= MAX_ALLOWED_SHOWN:
        return f"one of: {', '.join(allowed)}"
    return f"one of {len(allowed)} values, such as: {', '.join(allowed[:MAX_ALLOWED_SHOWN])}, …"


class Accepted:
    """What a model accepted, from the problems it found: each rule reads a value only where it did, so a value
    of the wrong type is reported once (by the model) and the rules of its siblings still run."""

    def __init__(self, problems: list[Problem]) -> None:
        self.paths = frozenset(p.path for p in problems)

    def whole(self, path: str) -> bool:
        """No problem at ``path`` or under it: the value is as the model says, all of it."""
        return not any(p == path or p.startswith((f"{path}.", f"{path}[")) for p in self.paths)

    def typed(self, path: str) -> bool:
        """No problem at ``path`` itself: an object or an array as the model says (its members may not be)."""
        return path not in self.paths
