"""Prompts (payloads/prompts): drawn lengths, synthetic prompts, datasets, counting, the bodies and the summary."""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path
from typing import Any

import pytest

from loadrec.payloads import PayloadError, PayloadLimits
from loadrec.payloads.prompts import Lengths, Prompt, PromptsSpec, PromptSummary, Synthetic, build_prompts
from loadrec.payloads.prompts.counting import TokenizerCounter, WordCounter, open_counter
from loadrec.payloads.prompts.dataset import MAX_REPORTED, dataset_prompts
from loadrec.payloads.prompts.lengths import draw
from loadrec.payloads.prompts.synthetic import corpus, synthetic_prompts
from loadrec.payloads.prompts.templates import render
from tests.tokenizer import train, write_tokenizer

WORDS = WordCounter()


def test_a_length_without_spread_is_its_mean_and_every_length_keeps_its_bounds() -> None:
    rng = random.Random(1)
    assert {draw(Lengths(64.4), rng, 1000) for _ in range(20)} == {64}
    drawn = [draw(Lengths(100, 80, 50, 150), rng, 1000) for _ in range(2000)]
    assert min(drawn) == 50 and max(drawn) == 150  # clipped both ways, as AIPerf and GuideLLM clip
    assert max(draw(Lengths(900, 500), rng, 1000) for _ in range(200)) == 1000  # the key's ceiling without a Max


def test_seeded_lengths_have_the_asked_for_mean_and_spread() -> None:
    drawn = [draw(Lengths(512, 64, 1, 100_000), random.Random(f"s{k}"), 100_000) for k in range(4000)]
    assert abs(statistics.fmean(drawn) - 512) < 3  # 4,000 draws: the mean's standard error is 1 token
    assert abs(statistics.pstdev(drawn) - 64) < 3


def test_synthetic_prompts_are_corpus_words_of_the_drawn_lengths_the_same_for_a_seed() -> None:
    options = Synthetic(Lengths(40, 10, 20, 60), count=30, seed=7)
    prompts = synthetic_prompts(options, Lengths(16), WORDS, corpus())
    assert len(prompts) == 30 and all(20 <= p.input_tokens <= 60 for p in prompts)
    assert all(len(p.text.split()) == p.input_tokens and p.max_tokens == 16 for p in prompts)
    assert all(p.text in " ".join(corpus().split() * 2) for p in prompts)  # a piece of the corpus, maybe wrapped
    assert synthetic_prompts(options, Lengths(16), WORDS, corpus()) == prompts
    other = synthetic_prompts(Synthetic(options.input_tokens, 30, seed=8), Lengths(16), WORDS, corpus())
    assert other != prompts


def test_a_prompt_longer_than_the_corpus_wraps_around_it() -> None:
    size = len(corpus().split())
    (prompt,) = synthetic_prompts(Synthetic(Lengths(size * 3), count=1), None, WORDS, corpus())
    assert prompt.input_tokens == size * 3 and prompt.max_tokens is None


def test_with_a_tokenizer_each_prompt_is_exactly_its_drawn_number_of_tokens() -> None:
    counter = TokenizerCounter(train(), "tokenizer.json")
    fixed = synthetic_prompts(Synthetic(Lengths(300), count=40, seed=1), None, counter, corpus())
    assert {(p.input_tokens, len(counter.units(p.text))) for p in fixed} == {(300, 300)}  # from any start
    spread = synthetic_prompts(Synthetic(Lengths(300, 100, 10, 900), count=40), None, counter, corpus())
    assert all(p.input_tokens == len(counter.units(p.text)) for p in spread)
    assert len({p.input_tokens for p in spread}) > 20


def test_a_missing_or_broken_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PayloadError, match=r"'nope.json' cannot be read .*nothing is downloaded"):
        open_counter("nope.json", tmp_path, "Loadrec.Prompts.Tokenizer")
    (tmp_path / "bad.json").write_text('{"model": 1}')
    with pytest.raises(PayloadError, match=r"'bad\.json' is not a Hugging Face tokenizer\.json"):
        open_counter("bad.json", tmp_path, "Loadrec.Prompts.Tokenizer")
    with pytest.raises(PayloadError, match="is not a file"):
        open_counter(".", tmp_path, "Loadrec.Prompts.Tokenizer")
    assert isinstance(open_counter(None, tmp_path, "x"), WordCounter)


PROMPT = Prompt("Alice was", 2, 32)


@pytest.mark.parametrize(
    ("template", "stream", "eos", "body"),
    [
        ("OpenAICompletions", True, True, {"model": "m", "prompt": "Alice was", "max_tokens": 32, "ignore_eos": True,
                                           "stream": True, "stream_options": {"include_usage": True}}),
        ("OpenAICompletions", False, False, {"model": "m", "prompt": "Alice was", "max_tokens": 32}),
        ("OpenAIChat", False, False, {"model": "m", "messages": [{"role": "user", "content": "Alice was"}],
                                      "max_tokens": 32}),
        ("TGI", True, False, {"inputs": "Alice was", "parameters": {"max_new_tokens": 32, "details": True},
                              "stream": True}),
        ("LMI", False, True, {"inputs": "Alice was", "parameters": {"max_new_tokens": 32, "ignore_eos": True}}),
        ("JumpStart", False, False, {"inputs": "Alice was", "parameters": {"max_new_tokens": 32}}),
    ],
)  # fmt: skip
def test_each_template_writes_its_servers_body(template: str, stream: bool, eos: bool, body: dict[str, Any]) -> None:
    assert json.loads(render(template, PROMPT, stream, "m", eos)) == body


def test_a_prompt_without_max_tokens_leaves_the_servers_default() -> None:
    assert json.loads(render("OpenAICompletions", Prompt("x", 1), False)) == {"prompt": "x"}
    assert json.loads(render("TGI", Prompt("x", 1), False)) == {"inputs": "x", "parameters": {"details": True}}


def lines(*rows: Any) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).encode()


def test_a_dataset_row_takes_its_text_and_max_tokens_or_draws_one() -> None:
    data = lines({"prompt": "one two three", "max_tokens": 9, "id": 4}, "", {"text": "four five"})
    prompts = dataset_prompts(data, "d.jsonl", WORDS, Lengths(20), random.Random(0))
    assert prompts == [Prompt("one two three", 3, 9), Prompt("four five", 2, 20)]
    assert dataset_prompts(data, "d.jsonl", WORDS, None, random.Random(0))[1].max_tokens is None


def test_every_bad_dataset_line_is_named_up_to_a_bound() -> None:
    data = lines(
        {"prompt": "fine"}, "{oops", [1, 2], {"prompt": "a", "text": "b"}, {"prompt": "a", "max_tokens": 0},
        {"prompt": "a", "max_tokens": True}, {"prompt": "   "}, {"prompt": 5},
    )  # fmt: skip
    with pytest.raises(PayloadError) as raised:
        dataset_prompts(data, "d.jsonl", WORDS, None, random.Random(0))
    message = str(raised.value)
    assert message.startswith("d.jsonl: line 2: is not JSON")
    assert "line 3: must be a JSON object" in message and "line 4: needs one non-empty string" in message
    assert "line 5: max_tokens 0 is not a whole number from 1 to 100,000" in message
    assert message.count("; line ") == MAX_REPORTED - 1 and message.endswith("(and 2 more lines)")
    assert "\n" not in message


@pytest.mark.parametrize(("data", "reason"), [(b"\xff\xfe", "is not UTF-8 text"), (b"\n\n", "holds no prompt")])
def test_a_dataset_that_is_no_text_or_holds_nothing_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        dataset_prompts(data, "d.jsonl", WORDS, None, random.Random(0))


SPEC = PromptsSpec("OpenAICompletions", Synthetic(Lengths(50, 10, 20, 80), count=20), output_tokens=Lengths(8))


def test_build_renders_each_prompt_as_a_json_body_and_summarises_them(tmp_path: Path) -> None:
    made = build_prompts(SPEC, tmp_path, stream=True)
    assert [p.name for p in made.payloads[:2]] == ["prompt-00001.json", "prompt-00002.json"]
    assert {p.content_type for p in made.payloads} == {"application/json"}
    bodies = [json.loads(p.body) for p in made.payloads]
    assert all(b["stream"] is True and b["max_tokens"] == 8 for b in bodies)
    summary = made.summary
    counts = sorted(len(b["prompt"].split()) for b in bodies)
    assert summary.input_tokens == {"Mean": round(statistics.fmean(counts), 1), "Min": counts[0], "P50": counts[10],
                                    "Max": counts[-1]}  # fmt: skip
    assert (summary.counting, summary.count, summary.max_output_tokens) == (
        "words", 20, {"Mean": 8, "Min": 8, "P50": 8, "Max": 8})  # fmt: skip
    assert "20 synthetic prompts (OpenAICompletions), input tokens mean" in summary.summary()


def test_prompts_past_the_payload_limit_are_refused_before_any_load(tmp_path: Path) -> None:
    with pytest.raises(PayloadError, match=r"^Loadrec.Prompts: prompt body .* past 2000 bytes"):
        build_prompts(SPEC, tmp_path, stream=False, limits=PayloadLimits(max_total_bytes=2000))


def test_a_local_dataset_and_a_tokenizer_are_read_from_the_jobs_folder(tmp_path: Path) -> None:
    write_tokenizer(tmp_path / "tok.json")
    (tmp_path / "d.jsonl").write_text(json.dumps({"prompt": "Alice was beginning to get very tired"}) + "\n")
    spec = PromptsSpec("TGI", dataset="d.jsonl", tokenizer="tok.json")
    made = build_prompts(spec, tmp_path, stream=False)
    assert made.summary.counting == "tokenizer tok.json" and made.summary.max_output_tokens is None
    assert made.summary.input_tokens["Min"] == len(train().encode("Alice was beginning to get very tired").ids)
    with pytest.raises(PayloadError, match=r"^Loadrec.Prompts.Dataset: .*missing.jsonl: cannot be read"):
        build_prompts(PromptsSpec("TGI", dataset="missing.jsonl"), tmp_path, stream=False)
    (tmp_path / "big.jsonl").write_bytes(b"x" * 3000)
    with pytest.raises(PayloadError, match="over the 2000-byte limit"):
        build_prompts(PromptsSpec("TGI", dataset="big.jsonl"), tmp_path, False, limits=PayloadLimits(10, 2000))


def test_the_summary_survives_its_record_and_refuses_damage() -> None:
    summary = build_prompts(SPEC, Path(), stream=False).summary
    assert PromptSummary.from_dict(json.loads(json.dumps(summary.to_dict()))) == summary
    for damage in ({"Count": 0}, {"Source": "Other"}, {"InputTokens": {"Mean": 1}}, {"MaxOutputTokens": {"Mean": "x",
                   "Min": 1, "P50": 1, "Max": 1}}):  # fmt: skip
        with pytest.raises((KeyError, TypeError, ValueError)):
            PromptSummary.from_dict(summary.to_dict() | damage)
