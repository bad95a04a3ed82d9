"""Synthetic prompts: pieces of the bundled public-domain corpus, each of a drawn number of tokens.

Each prompt starts at a random place in the corpus (seeded) and runs, wrapping around, for
the drawn length in the counter's units; its count is then taken again from its text, so
the input tokens results report are the counter's count of what is sent. With a
byte-level tokenizer the two agree; where decoding and encoding again differ (a merge
across the cut), the piece is cut again to the difference, a few times at most.
"""

from __future__ import annotations

import random
from importlib import resources

from loadrec.payloads.prompts.counting import Counter
from loadrec.payloads.prompts.lengths import draw
from loadrec.payloads.prompts.spec import Lengths, Prompt, Synthetic

MAX_INPUT_TOKENS = 200_000  # a prompt's ceiling (the largest context windows served today)
MAX_OUTPUT_TOKENS = 100_000
RECUTS = 3


def corpus() -> str:
    return resources.files("loadrec.payloads.prompts.corpus").joinpath("alice.txt").read_text(encoding="utf-8")


def synthetic_prompts(options: Synthetic, output: Lengths | None, counter: Counter, text: str) -> list[Prompt]:
    """``options.count`` prompts cut from ``text``, the same ones for the same seed."""
    rng = random.Random(f"prompts/{options.seed}")
    units = list(counter.units(text))
    prompts = []
    for _ in range(options.count):
        wanted = draw(options.input_tokens, rng, MAX_INPUT_TOKENS)
        start = rng.randrange(len(units))
        length, piece, counted = wanted, "", 0
        for _ in range(RECUTS):
            piece = counter.join([units[(start + k) % len(units)] for k in range(length)])
            counted = len(counter.units(piece))
            if counted == wanted or length + wanted - counted < 1:
                break
            length += wanted - counted
        max_tokens = None if output is None else draw(output, rng, MAX_OUTPUT_TOKENS)
        prompts.append(Prompt(piece, counted, max_tokens))
    return prompts
