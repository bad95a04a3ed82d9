"""Token lengths drawn from a ``Lengths`` distribution: a normal, rounded and clipped, from a seeded stream.

AIPerf and GuideLLM draw prompt and output lengths the same way (mean, standard deviation,
bounds), so a job written for them asks for the same traffic here.
"""

from __future__ import annotations

import random

from loadrec.payloads.prompts.spec import Lengths


def draw(lengths: Lengths, rng: random.Random, ceiling: int) -> int:
    """One length of ``lengths``, within [minimum, maximum or ``ceiling``]."""
    top = min(lengths.maximum if lengths.maximum is not None else ceiling, ceiling)
    value = lengths.mean if lengths.stddev == 0 else rng.gauss(lengths.mean, lengths.stddev)
    return max(lengths.minimum, min(top, round(value)))
