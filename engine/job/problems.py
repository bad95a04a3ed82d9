"""A problem with a job, and how a value is echoed in one: shared by every validator.

Each problem names the dotted path of its field (``InputConfig.TrafficPattern.Phases[0]``)
or the file, and shows the offending value as the job file spells it, shortened.
"""

from __future__ import annotations

import json
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


def show(value: Any) -> str:
    """``value`` as the job file spells it, shortened for an error line."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) <= SHOWN_CHARACTERS:
        return text
    return f"{text[: SHOWN_CHARACTERS - 1]}… ({len(text)} characters)"


def is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer (a boolean is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)
