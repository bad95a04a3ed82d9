"""``Loadrec.Prompts`` to the payloads users send: read or make the prompts, count them, render their bodies.

A dataset is read whole and bounded (a local file, or one S3 object as payloads are);
its bodies, like synthetic ones, are bounded by the payload limits' total bytes. Every
body is ``application/json``. What can go wrong is a ``PayloadError``, before any load.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loadrec.payloads.prompts.counting import open_counter
from loadrec.payloads.prompts.dataset import dataset_prompts
from loadrec.payloads.prompts.spec import Prompt, PromptsSpec, PromptSummary
from loadrec.payloads.prompts.synthetic import corpus, synthetic_prompts
from loadrec.payloads.prompts.templates import render
from loadrec.payloads.s3 import S3_SCHEME, read_object
from loadrec.payloads.source import DEFAULT_LIMITS, Budget, Payload, PayloadError, PayloadLimits

CONTENT_TYPE = "application/json"
WHERE = "Loadrec.Prompts"


@dataclass(frozen=True)
class PromptSet:
    payloads: tuple[Payload, ...]
    summary: PromptSummary
    # The job's tokenizer, to count answers whose server gives no count (None: no tokenizer named).
    count: Callable[[str], int] | None = None


def read_dataset(location: str, base_dir: Path, s3_endpoint_url: str | None, max_bytes: int) -> bytes:
    """The dataset file's bytes: an s3:// object, or a path from ``base_dir``."""
    if location.startswith(S3_SCHEME):
        return read_object(location, max_bytes, s3_endpoint_url)
    path = base_dir / location
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)  # one byte past the bound: a larger file is refused unread
    except OSError as error:
        raise PayloadError(str(path), f"cannot be read ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise PayloadError(str(path), f"is over the {max_bytes}-byte limit (max_total_bytes)")
    return data


def build_prompts(
    spec: PromptsSpec,
    base_dir: Path,
    stream: bool,
    s3_endpoint_url: str | None = None,
    limits: PayloadLimits = DEFAULT_LIMITS,
) -> PromptSet:
    """The bodies of ``spec``'s prompts (asking to stream when ``stream``), named ``prompt-00001.json`` …"""
    counter = open_counter(spec.tokenizer, base_dir, f"{WHERE}.Tokenizer")
    prompts: list[Prompt]
    if spec.synthetic is not None:
        prompts = synthetic_prompts(spec.synthetic, spec.output_tokens, counter, corpus())
    else:
        assert spec.dataset is not None  # the key has one of the two
        try:
            data = read_dataset(spec.dataset, base_dir, s3_endpoint_url, limits.max_total_bytes)
            rng = random.Random("prompts/dataset")
            prompts = dataset_prompts(data, spec.dataset, counter, spec.output_tokens, rng)
        except PayloadError as error:
            raise PayloadError(f"{WHERE}.Dataset", str(error)) from None
    budget = Budget(WHERE, limits, noun="prompt body")
    payloads = []
    for number, prompt in enumerate(prompts, start=1):
        name = f"prompt-{number:05d}.json"
        body = render(spec.template, prompt, stream, spec.model, spec.ignore_eos)
        budget.admit(name, len(body))
        payloads.append(Payload(name, body, CONTENT_TYPE, prompt.input_tokens))
    count = None if spec.tokenizer is None else (lambda text: len(counter.units(text)))
    return PromptSet(tuple(payloads), PromptSummary.of(spec, prompts, counter.name), count)
