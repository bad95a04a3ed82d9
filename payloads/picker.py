"""Which payload a simulated user sends next: round robin from a per-user random starting point.

Each user starts at its own offset so that users launched together do not all send the
same body; with a seed, the offset depends only on the seed and the user's index, so a
run can be repeated exactly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from loadrec.payloads.source import Payload


class PayloadPicker:
    """Hands out ``payloads`` in order, cycling, starting from an offset drawn for this user."""

    def __init__(self, payloads: Sequence[Payload], seed: int | None, user_index: int) -> None:
        if not payloads:
            raise ValueError("PayloadPicker needs at least one payload")
        self._payloads = tuple(payloads)
        rng = random.Random(f"{seed}:{user_index}") if seed is not None else random.Random()
        self.offset = rng.randrange(len(self._payloads))
        self._position = self.offset

    def next(self) -> Payload:
        """The next payload for this user."""
        payload = self._payloads[self._position]
        self._position = (self._position + 1) % len(self._payloads)
        return payload
