"""The sample endpoint's language model: a word-level Markov chain over a bundled public-domain text.

Small and real: it learns, from the first chapter of *Alice's Adventures in Wonderland*
(``payloads/prompts/corpus/alice.txt``, which synthetic prompts are cut from too), which
words follow each pair of words, and generates by walking those transitions. The same
prompt always gets the same answer (the walk is seeded by the prompt), so tests can
compare what was sent with what was counted. A token is one word with its leading space,
as LLM tokenizers split plain English roughly.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from importlib import resources

ORDER = 2  # words of context


@cache
def _chain() -> tuple[dict[tuple[str, ...], list[str]], list[tuple[str, ...]]]:
    """(context → words seen after it, the contexts a sentence starts with)."""
    text = resources.files("loadrec.payloads.prompts.corpus").joinpath("alice.txt").read_text(encoding="utf-8")
    words = text.split()
    chain: dict[tuple[str, ...], list[str]] = defaultdict(list)
    starts = []
    for index in range(len(words) - ORDER):
        context = tuple(words[index : index + ORDER])
        chain[context].append(words[index + ORDER])
        if index == 0 or words[index - 1].endswith((".", "!", "?")):
            starts.append(context)
    return dict(chain), starts


def generate(prompt: str, tokens: int) -> Iterator[str]:
    """``tokens`` tokens continuing ``prompt`` (its last words, when the text knows them), each a word with
    its leading space."""
    chain, starts = _chain()
    rng = random.Random(hashlib.sha256(prompt.encode()).digest())
    context = tuple(prompt.split()[-ORDER:])
    if context not in chain:
        context = rng.choice(starts)
    for _ in range(tokens):
        followers = chain.get(context)
        if not followers:  # the text's last words: start a new sentence
            context = rng.choice(starts)
            followers = chain[context]
        word = rng.choice(followers)
        yield " " + word
        context = (*context[1:], word)
