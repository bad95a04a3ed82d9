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

from loadrec.engine.job.problems import Accepted, Problem, show
from loadrec.payloads.prompts import Lengths, PromptsSpec, Synthetic
from loadrec.payloads.prompts.synthetic import MAX_INPUT_TOKENS, MAX_OUTPUT_TOKENS
from loadrec.payloads.prompts.templates import IGNORE_EOS_TEMPLATES

KEY = "Prompts"  # its fields, types and bounds: loadrec_model.py


def _lengths_problems(raw: Mapping[str, Any], path: str, ceiling: int) -> list[Problem]:
    low, high = raw.get("Min", 1), raw.get("Max", ceiling)
    if low <= raw["Mean"] <= high:
        return []
    return [Problem(path, f"Mean {show(raw['Mean'])} must lie between Min and Max")]


def _lengths(raw: Mapping[str, Any]) -> Lengths:
    return Lengths(float(raw["Mean"]), float(raw.get("StdDev", 0)), int(raw.get("Min", 1)), raw.get("Max"))


def rules(raw: Mapping[str, Any], path: str, streams: list[bool], accepted: Accepted) -> list[Problem]:
    """What the model leaves to ``Loadrec.Prompts``, on the fields it ``accepted``: Synthetic or Dataset,
    lengths whose mean lies between their bounds, IgnoreEos where the template has it; ``streams`` says, per
    target, whether it streams."""
    found = []
    template = raw.get("Template") if accepted.whole(f"{path}.Template") else None
    if ("Synthetic" in raw) == ("Dataset" in raw):
        found.append(Problem(path, "needs one of Synthetic (prompts made to token lengths) or Dataset (a JSONL file)"))
    inputs = f"{path}.Synthetic.InputTokens"
    if "Synthetic" in raw and accepted.typed(f"{path}.Synthetic") and accepted.whole(inputs):
        found += _lengths_problems(raw["Synthetic"]["InputTokens"], inputs, MAX_INPUT_TOKENS)
    if "OutputTokens" in raw and accepted.whole(f"{path}.OutputTokens"):
        found += _lengths_problems(raw["OutputTokens"], f"{path}.OutputTokens", MAX_OUTPUT_TOKENS)
    eos = raw.get("IgnoreEos", False) is True and template is not None
    if eos and template not in IGNORE_EOS_TEMPLATES:
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
