"""The ``Streaming`` key of a target (or of a provisioner, for the endpoints it creates): the answer streams.

``{"Framing": "ServerSentEvents" | "JsonLines" | "Text"}``; without ``Framing``, a SageMaker
stream's parts hold JSON lines and an HTTP stream is server-sent events.
"""

from __future__ import annotations

from typing import Any

from loadrec.engine.streaming.frames import JSON_LINES, SSE

KEY = "Streaming"  # its field: loadrec_model.py


def framing_of(streaming: Any, sagemaker: bool) -> str | None:
    """The framing a checked ``Streaming`` value names (None: the answer is not streamed)."""
    if streaming is None:
        return None
    return str(streaming.get("Framing", JSON_LINES if sagemaker else SSE))
