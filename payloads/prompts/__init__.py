"""Prompts that look like production: synthetic ones of drawn token lengths, or a JSONL dataset's, as request bodies.

``Loadrec.Prompts`` (checked by :mod:`loadrec.engine.job.prompts_key`) asks for them
instead of payload files; :func:`build_prompts` turns its ``PromptsSpec`` into the
``Payload`` bodies users send (one JSON body per prompt, in the chosen server's template)
and a ``PromptSummary`` of what they hold (their token counts and how they were counted).

- :mod:`.spec`: the typed options, a prompt, the summary.
- :mod:`.lengths`: token lengths drawn from a clipped normal distribution, seeded.
- :mod:`.counting`: what a token is: a Hugging Face ``tokenizer.json`` the user points to, else words.
- :mod:`.synthetic`: prompts cut from the bundled public-domain corpus to drawn lengths.
- :mod:`.dataset`: a JSONL file's prompts, each row checked.
- :mod:`.templates`: the request bodies of OpenAI chat and completions, TGI, LMI and JumpStart.
"""

from __future__ import annotations

from loadrec.payloads.prompts.build import PromptSet, build_prompts
from loadrec.payloads.prompts.spec import Lengths, Prompt, PromptsSpec, PromptSummary, Synthetic
from loadrec.payloads.prompts.templates import TEMPLATES

__all__ = ["TEMPLATES", "Lengths", "Prompt", "PromptSet", "PromptSummary", "PromptsSpec", "Synthetic", "build_prompts"]
