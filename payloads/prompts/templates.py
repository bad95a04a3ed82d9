"""Request bodies for a prompt, in the shape each kind of model server reads.

| template | body |
|---|---|
| ``OpenAICompletions`` | ``{"model", "prompt", "max_tokens", "stream", "stream_options": {"include_usage": true}}`` |
| ``OpenAIChat`` | the same with ``"messages": [{"role": "user", "content": …}]`` for ``prompt`` |
| ``TGI`` | ``{"inputs", "parameters": {"max_new_tokens", "details": true}, "stream"}`` |
| ``LMI`` | ``{"inputs", "parameters": {"max_new_tokens"}, "stream"}`` (DJL's large model inference) |
| ``JumpStart`` | ``{"inputs", "parameters": {"max_new_tokens"}, "stream"}`` (SageMaker JumpStart text generation) |

``ignore_eos`` (generate every asked-for token) goes where vLLM, SGLang and LMI read it;
TGI and JumpStart have no such option, so the job key refuses it with them. ``stream``
is the test's: the bodies ask to stream when the targets stream.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from loadrec.payloads.prompts.spec import Prompt

Body = dict[str, Any]


def _openai(prompt: Prompt, stream: bool, model: str | None, ignore_eos: bool, key: str, value: Any) -> Body:
    body: Body = ({"model": model} if model else {}) | {key: value}
    if prompt.max_tokens is not None:
        body["max_tokens"] = prompt.max_tokens
    if ignore_eos:
        body["ignore_eos"] = True
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}  # usage: the server's own counts
    return body


def _completions(prompt: Prompt, stream: bool, model: str | None, ignore_eos: bool) -> Body:
    return _openai(prompt, stream, model, ignore_eos, "prompt", prompt.text)


def _chat(prompt: Prompt, stream: bool, model: str | None, ignore_eos: bool) -> Body:
    return _openai(prompt, stream, model, ignore_eos, "messages", [{"role": "user", "content": prompt.text}])


def _inputs(prompt: Prompt, stream: bool, ignore_eos: bool, **extra: Any) -> Body:
    parameters: Body = {} if prompt.max_tokens is None else {"max_new_tokens": prompt.max_tokens}
    if ignore_eos:
        parameters["ignore_eos"] = True
    body: Body = {"inputs": prompt.text, "parameters": parameters | extra}
    return body | ({"stream": True} if stream else {})


def _tgi(prompt: Prompt, stream: bool, model: str | None, ignore_eos: bool) -> Body:
    return _inputs(prompt, stream, False, details=True)


def _lmi(prompt: Prompt, stream: bool, model: str | None, ignore_eos: bool) -> Body:
    return _inputs(prompt, stream, ignore_eos)


def _jumpstart(prompt: Prompt, stream: bool, model: str | None, ignore_eos: bool) -> Body:
    return _inputs(prompt, stream, False)


TEMPLATES: dict[str, Callable[[Prompt, bool, str | None, bool], Body]] = {
    "OpenAICompletions": _completions,
    "OpenAIChat": _chat,
    "TGI": _tgi,
    "LMI": _lmi,
    "JumpStart": _jumpstart,
}
IGNORE_EOS_TEMPLATES = ("OpenAICompletions", "OpenAIChat", "LMI")


def render(template: str, prompt: Prompt, stream: bool, model: str | None = None, ignore_eos: bool = False) -> bytes:
    """The JSON body of ``prompt`` in ``template`` (one of TEMPLATES)."""
    return json.dumps(TEMPLATES[template](prompt, stream, model, ignore_eos), ensure_ascii=False).encode()
