"""The typed shapes of ``Loadrec.Prompts``, of one prompt, and of the summary results show.

Checked from the job file by :mod:`loadrec.engine.job.prompts_key`; nothing here reads
untrusted input.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SYNTHETIC, DATASET = "Synthetic", "Dataset"
WORDS = "words"  # the counting without a tokenizer: whitespace-separated words, an approximation of tokens


@dataclass(frozen=True)
class Lengths:
    """A token length distribution: a normal of ``mean`` and ``stddev``, rounded and clipped to [minimum, maximum]."""

    mean: float
    stddev: float = 0.0
    minimum: int = 1
    maximum: int | None = None  # None: no bound above but the key's limit

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"Mean": self.mean, "StdDev": self.stddev, "Min": self.minimum}
        return data | ({"Max": self.maximum} if self.maximum is not None else {})


@dataclass(frozen=True)
class Synthetic:
    input_tokens: Lengths
    count: int = 100  # distinct prompts made (users take them round robin, as payload files)
    seed: int = 0  # the same seed makes the same prompts, in every process and run


@dataclass(frozen=True)
class PromptsSpec:
    """``Loadrec.Prompts``: where prompts come from, the body they are sent in, how their tokens are counted."""

    template: str
    synthetic: Synthetic | None = None
    dataset: str | None = None  # a JSONL file: a path from the job's folder, or s3://bucket/key
    output_tokens: Lengths | None = None  # each body's max output tokens (a dataset row's own wins)
    ignore_eos: bool = False  # ask the server to generate all of them (vLLM's, SGLang's and LMI's ignore_eos)
    model: str | None = None  # OpenAI bodies' "model"
    tokenizer: str | None = None  # a local tokenizer.json (None: words are counted)

    @property
    def source(self) -> str:
        return SYNTHETIC if self.synthetic is not None else DATASET


@dataclass(frozen=True)
class Prompt:
    text: str
    input_tokens: int  # as the counter counts the text
    max_tokens: int | None = None  # the body's max output tokens (None: the server's default)


def _spread(values: Sequence[int]) -> dict[str, float | int]:
    ordered = sorted(values)
    return {"Mean": round(statistics.fmean(ordered), 1), "Min": ordered[0], "P50": ordered[len(ordered) // 2],
            "Max": ordered[-1]}  # fmt: skip


@dataclass(frozen=True)
class PromptSummary:
    """What a test's prompts hold: how many, where from, their input tokens and asked-for output tokens."""

    source: str  # SYNTHETIC or DATASET
    count: int
    counting: str  # "tokenizer <file name>" or WORDS
    template: str
    input_tokens: dict[str, float | int]  # Mean, Min, P50, Max
    max_output_tokens: dict[str, float | int] | None  # the same over the bodies that set one (None: none does)

    @classmethod
    def of(cls, spec: PromptsSpec, prompts: Sequence[Prompt], counting: str) -> PromptSummary:
        outputs = [p.max_tokens for p in prompts if p.max_tokens is not None]
        return cls(spec.source, len(prompts), counting, spec.template, _spread([p.input_tokens for p in prompts]),
                   _spread(outputs) if outputs else None)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """As describe.json's ``Loadrec.Tests[i].Prompts`` shows it (and the test's record keeps it)."""
        data: dict[str, Any] = {
            "Source": self.source,
            "Count": self.count,
            "Template": self.template,
            "InputTokens": dict(self.input_tokens),
            "InputTokensCountedBy": self.counting,
        }
        if self.max_output_tokens is not None:
            data["MaxOutputTokens"] = dict(self.max_output_tokens)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptSummary:
        """Raises KeyError, TypeError or ValueError on anything ``to_dict`` does not write."""
        spreads = [data["InputTokens"], data.get("MaxOutputTokens")]
        for spread in spreads:
            if spread is not None and (set(spread) != {"Mean", "Min", "P50", "Max"} or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in spread.values())):  # fmt: skip
                raise ValueError("a token spread of the wrong shape")
        texts = [data["Source"], data["InputTokensCountedBy"], data["Template"]]
        if not all(isinstance(t, str) for t in texts) or data["Source"] not in (SYNTHETIC, DATASET):
            raise ValueError("a prompt summary of the wrong shape")
        count = data["Count"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError("a prompt count that is not a positive integer")
        outputs = None if spreads[1] is None else dict(spreads[1])
        return cls(texts[0], count, texts[1], texts[2], dict(spreads[0]), outputs)

    def summary(self) -> str:
        """One line for the terminal: e.g. ``100 synthetic prompts, input tokens mean 512 (128-1024, tokenizer …)``."""
        spread = self.input_tokens
        line = (f"{self.count:,} {self.source.lower()} prompts ({self.template}), input tokens mean {spread['Mean']:,} "
                f"({spread['Min']:,}-{spread['Max']:,}, counted by {self.counting})")  # fmt: skip
        if self.max_output_tokens is not None:
            line += f", max output tokens mean {self.max_output_tokens['Mean']:,}"
        return line
