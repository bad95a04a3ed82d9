"""The ``Prompts`` key of ``Loadrec``: prompts that look like production instead of payload files::

    "Loadrec": {
      "Prompts": {
        "Template": "OpenAIChat",
        "Synthetic": {"InputTokens": {"Mean": 512, "StdDev": 128, "Min": 64, "Max": 1024}, "Count": 200},
        "OutputTokens": {"Mean": 128, "StdDev": 32, "Min": 16, "Max": 256},
        "IgnoreEos": true,
        "Model": "llama-3-8b",
        "Tokenizer": "tokenizer.json"
      }
    }

``Synthetic`` or ``Dataset`` (a JSONL file, a path from the job's folder or an s3://
URI), not both; ``Template`` is the body's shape (:mod:`loadrec.payloads.prompts.templates`).
The prompts are made by :mod:`loadrec.payloads.prompts` when a test starts; here only
their options are checked, each problem with its dotted path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadrec.engine.job.problems import Problem, is_int, is_number, show, unknown_fields
from loadrec.payloads.prompts import TEMPLATES, Lengths, PromptsSpec, Synthetic
from loadrec.payloads.prompts.synthetic import MAX_INPUT_TOKENS, MAX_OUTPUT_TOKENS
from loadrec.payloads.prompts.templates import IGNORE_EOS_TEMPLATES

KEY = "Prompts"
FIELDS = ("Template", "Synthetic", "Dataset", "OutputTokens", "IgnoreEos", "Model", "Tokenizer")
SYNTHETIC_FIELDS = ("InputTokens", "Count", "Seed")
LENGTH_FIELDS = ("Mean", "StdDev", "Min", "Max")
MAX_PROMPTS = 10_000
MAX_TEXT = 1024  # a path, a model name


def _lengths_problems(raw: Any, path: str, ceiling: int) -> list[Problem]:
    if not isinstance(raw, dict):
        return [Problem(path, 'must be an object, e.g. {"Mean": 512, "StdDev": 128, "Min": 64, "Max": 1024}')]
    found = unknown_fields(raw, LENGTH_FIELDS, path)
    mean, stddev, low, high = (raw.get(k) for k in LENGTH_FIELDS)
    if "Mean" not in raw:
        found.append(Problem(f"{path}.Mean", "is required"))
    elif not is_number(mean) or not 1 <= mean <= ceiling:
        found.append(Problem(f"{path}.Mean", f"{show(mean)} must be a number of tokens from 1 to {ceiling:,}"))
    if "StdDev" in raw and (not is_number(stddev) or not 0 <= stddev <= ceiling):
        found.append(Problem(f"{path}.StdDev", f"{show(stddev)} must be a number from 0 to {ceiling:,}"))
    for name, value in (("Min", low), ("Max", high)):
        if name in raw and (not is_int(value) or not 1 <= value <= ceiling):
            found.append(Problem(f"{path}.{name}", f"{show(value)} must be a whole number from 1 to {ceiling:,}"))
    if found:
        return found
    low, high = raw.get("Min", 1), raw.get("Max", ceiling)
    if not low <= mean <= high:
        found.append(Problem(path, f"Mean {show(mean)} must lie between Min and Max"))
    return found


def _lengths(raw: Mapping[str, Any]) -> Lengths:
    return Lengths(float(raw["Mean"]), float(raw.get("StdDev", 0)), int(raw.get("Min", 1)), raw.get("Max"))


def _text_problem(raw: Mapping[str, Any], name: str, path: str, what: str) -> list[Problem]:
    value = raw.get(name)
    if name in raw and (not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT or "\0" in value):
        return [Problem(f"{path}.{name}", f"{show(value)} must be {what} of 1 to {MAX_TEXT} characters")]
    return []


def check(raw: Any, path: str, streams: list[bool]) -> list[Problem]:
    """Problems with ``Loadrec.Prompts``; ``streams`` says, per target, whether it streams."""
    if not isinstance(raw, dict):
        return [Problem(path, 'must be an object, e.g. {"Template": "OpenAICompletions", "Synthetic": {…}}')]
    found = unknown_fields(raw, FIELDS, path)
    template = raw.get("Template")
    if "Template" not in raw:
        found.append(Problem(f"{path}.Template", f"is required (one of: {', '.join(TEMPLATES)})"))
    elif template not in TEMPLATES:
        found.append(Problem(f"{path}.Template", f"{show(template)} is not one of: {', '.join(TEMPLATES)}"))
    if ("Synthetic" in raw) == ("Dataset" in raw):
        found.append(Problem(path, "needs one of Synthetic (prompts made to token lengths) or Dataset (a JSONL file)"))
    synthetic = raw.get("Synthetic")
    if "Synthetic" in raw and not isinstance(synthetic, dict):
        found.append(Problem(f"{path}.Synthetic", 'must be an object, e.g. {"InputTokens": {"Mean": 512}}'))
    elif isinstance(synthetic, dict):
        where = f"{path}.Synthetic"
        found += unknown_fields(synthetic, SYNTHETIC_FIELDS, where)
        if "InputTokens" not in synthetic:
            found.append(Problem(f"{where}.InputTokens", "is required"))
        else:
            found += _lengths_problems(synthetic["InputTokens"], f"{where}.InputTokens", MAX_INPUT_TOKENS)
        count, seed = synthetic.get("Count"), synthetic.get("Seed")
        if "Count" in synthetic and (not is_int(count) or not 1 <= count <= MAX_PROMPTS):
            found.append(Problem(f"{where}.Count", f"{show(count)} must be a whole number from 1 to {MAX_PROMPTS:,}"))
        if "Seed" in synthetic and (not is_int(seed) or not 0 <= seed < 2**63):
            found.append(Problem(f"{where}.Seed", f"{show(seed)} must be a whole number from 0"))
    found += _text_problem(raw, "Dataset", path, "a JSONL file's path or s3:// URI")
    found += _text_problem(raw, "Model", path, "a model name")
    found += _text_problem(raw, "Tokenizer", path, "a local tokenizer.json's path")
    if "OutputTokens" in raw:
        found += _lengths_problems(raw["OutputTokens"], f"{path}.OutputTokens", MAX_OUTPUT_TOKENS)
    eos = raw.get("IgnoreEos", False)
    if not isinstance(eos, bool):
        found.append(Problem(f"{path}.IgnoreEos", f"{show(eos)} must be true or false"))
    elif eos and template in TEMPLATES and template not in IGNORE_EOS_TEMPLATES:
        found.append(Problem(f"{path}.IgnoreEos", f"{template} servers have no ignore_eos option "
                             f"(it is: {', '.join(IGNORE_EOS_TEMPLATES)})"))  # fmt: skip
    elif eos and "Synthetic" in raw and "OutputTokens" not in raw:
        found.append(Problem(f"{path}.IgnoreEos", "needs OutputTokens: without a limit the answer never ends"))
    if streams and any(streams) != all(streams):
        found.append(Problem(path, "the prompts' bodies ask to stream or not for every target alike: give every "
                             "target a Streaming key, or none"))  # fmt: skip
    return found


def parse(raw: Any) -> PromptsSpec | None:
    """The checked key (run ``check`` first); None when absent."""
    if raw is None:
        return None
    synthetic = raw.get("Synthetic")
    return PromptsSpec(
        template=raw["Template"],
        synthetic=None if synthetic is None else Synthetic(
            _lengths(synthetic["InputTokens"]), int(synthetic.get("Count", 100)), int(synthetic.get("Seed", 0))),
        dataset=raw.get("Dataset"),
        output_tokens=_lengths(raw["OutputTokens"]) if "OutputTokens" in raw else None,
        ignore_eos=raw.get("IgnoreEos", False),
        model=raw.get("Model"),
        tokenizer=raw.get("Tokenizer"),
    )  # fmt: skip
