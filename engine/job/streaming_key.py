"""The ``Streaming`` key of a target (or of a provisioner, for the endpoints it creates): the answer streams.

``{"Framing": "ServerSentEvents" | "JsonLines" | "Text"}``; without ``Framing``, a SageMaker
stream's parts hold JSON lines and an HTTP stream is server-sent events.
"""

from __future__ import annotations

from typing import Any

from loadrec.engine.job.problems import Problem, show, unknown_fields
from loadrec.engine.streaming.frames import FRAMINGS, JSON_LINES, SSE

KEY = "Streaming"
FIELDS = ("Framing",)


def streaming_problems(entry: Any, path: str) -> list[Problem]:
    if not isinstance(entry, dict):
        return [Problem(path, 'must be an object, e.g. {"Framing": "ServerSentEvents"}')]
    found = unknown_fields(entry, FIELDS, path)
    framing = entry.get("Framing")
    if "Framing" in entry and framing not in FRAMINGS:
        found.append(Problem(f"{path}.Framing", f"{show(framing)} is not one of: {', '.join(FRAMINGS)}"))
    return found


def framing_of(streaming: Any, sagemaker: bool) -> str | None:
    """The framing a checked ``Streaming`` value names (None: the answer is not streamed)."""
    if streaming is None:
        return None
    return str(streaming.get("Framing", JSON_LINES if sagemaker else SSE))
