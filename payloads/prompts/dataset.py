"""A JSONL file of prompts: one JSON object a line, its text in ``prompt`` (or ``text``), and an optional
``max_tokens`` (the row's max output tokens).

Untrusted like every payload: the file is bounded by the payload limits (its bytes), its
rows by ``MAX_ROWS``, and each line is checked; every bad line is reported with its
number (the first ``MAX_REPORTED`` of them), and nothing is sent. Other keys of a row
(an id, a category) are left alone, so datasets made for other tools load as they are.
Blank lines are skipped.
"""

from __future__ import annotations

import json
import random
from typing import Any

from loadrec.payloads.prompts.counting import Counter
from loadrec.payloads.prompts.lengths import draw
from loadrec.payloads.prompts.spec import Lengths, Prompt
from loadrec.payloads.prompts.synthetic import MAX_OUTPUT_TOKENS
from loadrec.payloads.source import PayloadError

MAX_ROWS = 100_000
MAX_REPORTED = 5
TEXT_KEYS = ("prompt", "text")


def _row(line: str, counter: Counter) -> Prompt | str:
    """The prompt of one line, or what is wrong with it."""
    try:
        row: Any = json.loads(line)
    except ValueError as error:
        return f"is not JSON ({str(error)[:80]})"
    if not isinstance(row, dict):
        return 'must be a JSON object, e.g. {"prompt": "…", "max_tokens": 128}'
    texts = [row[key] for key in TEXT_KEYS if key in row]
    if len(texts) != 1 or not isinstance(texts[0], str) or not texts[0].strip():
        return "needs one non-empty string in prompt or text"
    limit = row.get("max_tokens")
    whole = isinstance(limit, int) and not isinstance(limit, bool)
    if limit is not None and not (whole and 1 <= limit <= MAX_OUTPUT_TOKENS):
        return f"max_tokens {str(limit)[:20]} is not a whole number from 1 to {MAX_OUTPUT_TOKENS:,}"
    return Prompt(texts[0], len(counter.units(texts[0])), limit)


def dataset_prompts(
    data: bytes, location: str, counter: Counter, output: Lengths | None, rng: random.Random
) -> list[Prompt]:
    """Every row's prompt; a row without ``max_tokens`` draws one from ``output`` (None: the server's default)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PayloadError(location, f"is not UTF-8 text (byte {error.start})") from None
    prompts: list[Prompt] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(prompts) + len(problems) >= MAX_ROWS:
            raise PayloadError(location, f"has more than {MAX_ROWS:,} rows (refused)")
        found = _row(line, counter)
        if isinstance(found, str):
            problems.append(f"line {number}: {found}")
        elif found.max_tokens is None and output is not None:
            prompts.append(Prompt(found.text, found.input_tokens, draw(output, rng, MAX_OUTPUT_TOKENS)))
        else:
            prompts.append(found)
    if problems:
        more = f" (and {len(problems) - MAX_REPORTED:,} more lines)" if len(problems) > MAX_REPORTED else ""
        raise PayloadError(location, "; ".join(problems[:MAX_REPORTED]) + more)
    if not prompts:
        raise PayloadError(location, "holds no prompt")
    return prompts
