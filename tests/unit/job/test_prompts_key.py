"""The Loadrec key's Prompts: parsed with its defaults, every bad value named on its own line with its path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import JobSpecError, parse_job
from loadrec.payloads.prompts import Lengths, PromptsSpec, Synthetic
from tests.conftest import VALID_REQUEST

HTTP = {"Http": {"Url": "http://127.0.0.1:8080/v1/completions"}}
STREAMED = {**HTTP, "Streaming": {}}


def job_with(prompts: Any, targets: list[Any] | None = None, **extension: Any) -> dict[str, Any]:
    request = copy.deepcopy(VALID_REQUEST)
    request["Loadrec"] = {"Targets": targets or [STREAMED], "Prompts": prompts, **extension}
    return request


def problems(prompts: Any, targets: list[Any] | None = None, **extension: Any) -> list[str]:
    with pytest.raises(JobSpecError) as raised:
        parse_job(job_with(prompts, targets, **extension), LimitsMode.RELAXED)
    return [str(problem) for problem in raised.value.problems]


def test_a_synthetic_key_is_read_with_its_defaults() -> None:
    raw = {"Template": "OpenAIChat", "Synthetic": {"InputTokens": {"Mean": 512}}}
    spec = parse_job(job_with(raw), LimitsMode.AWS).extension.prompts
    assert spec == PromptsSpec("OpenAIChat", Synthetic(Lengths(512.0, 0.0, 1, None), count=100, seed=0))


def test_every_field_is_read() -> None:
    raw = {
        "Template": "LMI",
        "Dataset": "s3://bucket/prompts.jsonl",
        "OutputTokens": {"Mean": 128, "StdDev": 32, "Min": 16, "Max": 256},
        "IgnoreEos": True,
        "Model": "llama",
        "Tokenizer": "tokenizer.json",
    }
    spec = parse_job(job_with(raw), LimitsMode.AWS).extension.prompts
    assert spec == PromptsSpec("LMI", None, "s3://bucket/prompts.jsonl", Lengths(128.0, 32.0, 16, 256), True,
                               "llama", "tokenizer.json")  # fmt: skip
    assert spec.source == "Dataset"


@pytest.mark.parametrize(
    ("prompts", "expected"),
    [
        ("x", 'Loadrec.Prompts: "x" is a string, expected an object'),
        ({"Synthetic": {"InputTokens": {"Mean": 5}}},
         "Loadrec.Prompts.Template: is required"),
        ({"Template": "Vertex", "Dataset": "d.jsonl"},
         'Loadrec.Prompts.Template: "Vertex" is not one of: OpenAICompletions, OpenAIChat, TGI, LMI, JumpStart'),
        ({"Template": "TGI"},
         "Loadrec.Prompts: needs one of Synthetic (prompts made to token lengths) or Dataset (a JSONL file)"),
        ({"Template": "TGI", "Dataset": "d.jsonl", "Synthetic": {"InputTokens": {"Mean": 5}}},
         "Loadrec.Prompts: needs one of Synthetic (prompts made to token lengths) or Dataset (a JSONL file)"),
        ({"Template": "TGI", "Synthetic": {}}, "Loadrec.Prompts.Synthetic.InputTokens: is required"),
        ({"Template": "TGI", "Synthetic": {"InputTokens": {"Mean": 0}}},
         "Loadrec.Prompts.Synthetic.InputTokens.Mean: 0 is below the minimum of 1"),
        ({"Template": "TGI", "Synthetic": {"InputTokens": {"Mean": 50, "Min": 60}}},
         "Loadrec.Prompts.Synthetic.InputTokens: Mean 50 must lie between Min and Max"),
        ({"Template": "TGI", "Synthetic": {"InputTokens": {"Mean": 50, "Max": 2.5}}},
         "Loadrec.Prompts.Synthetic.InputTokens.Max: 2.5 is a number, expected an integer"),
        ({"Template": "TGI", "Synthetic": {"InputTokens": {"Mean": 50, "StdDev": -1}}},
         "Loadrec.Prompts.Synthetic.InputTokens.StdDev: -1 is below the minimum of 0"),
        ({"Template": "TGI", "Synthetic": {"InputTokens": {"Mean": 50, "Median": 5}}},
         "Loadrec.Prompts.Synthetic.InputTokens.Median: unknown field (allowed here: Mean, StdDev, Min, Max)"),
        ({"Template": "TGI", "Synthetic": {"InputTokens": {"Mean": 5}, "Count": 10001}},
         "Loadrec.Prompts.Synthetic.Count: 10001 is above the maximum of 10,000"),
        ({"Template": "TGI", "Synthetic": {"InputTokens": {"Mean": 5}, "Seed": -1}},
         "Loadrec.Prompts.Synthetic.Seed: -1 is below the minimum of 0"),
        ({"Template": "TGI", "Dataset": ""},
         "Loadrec.Prompts.Dataset: length 0 is below the minimum of 1"),
        ({"Template": "TGI", "Dataset": " "},
         'Loadrec.Prompts.Dataset: " " is not a file path (not blank, no NUL character)'),
        ({"Template": "TGI", "Dataset": "d.jsonl", "Tokenizer": "a\0b"},
         'Loadrec.Prompts.Tokenizer: "a\\u0000b" is not a file path (not blank, no NUL character)'),
        ({"Template": "TGI", "Dataset": "d.jsonl", "OutputTokens": {"Mean": 200000}},
         "Loadrec.Prompts.OutputTokens.Mean: 200000 is above the maximum of 100,000"),
        ({"Template": "TGI", "Dataset": "d.jsonl", "IgnoreEos": True},
         "Loadrec.Prompts.IgnoreEos: TGI servers have no ignore_eos option (it is: OpenAICompletions, OpenAIChat, "
         "LMI)"),
        ({"Template": "LMI", "Dataset": "d.jsonl", "IgnoreEos": "yes"},
         'Loadrec.Prompts.IgnoreEos: "yes" is a string, expected a boolean'),
        ({"Template": "LMI", "Synthetic": {"InputTokens": {"Mean": 5}}, "IgnoreEos": True},
         "Loadrec.Prompts.IgnoreEos: needs OutputTokens: without a limit the answer never ends"),
        ({"Template": "LMI", "Dataset": "d.jsonl", "Prompt": "x"},
         "Loadrec.Prompts.Prompt: unknown field (allowed here: Template, Synthetic, Dataset, OutputTokens, "
         "IgnoreEos, Model, Tokenizer)"),
    ],
)  # fmt: skip
def test_each_bad_value_is_named_with_its_path(prompts: Any, expected: str) -> None:
    assert expected in problems(prompts)


def test_targets_that_stream_and_targets_that_do_not_cannot_share_the_bodies() -> None:
    raw = {"Template": "TGI", "Dataset": "d.jsonl"}
    request = job_with(raw, [STREAMED, HTTP])
    request["InputConfig"]["EndpointConfigurations"].append({"InstanceType": "ml.c5.large"})
    with pytest.raises(JobSpecError) as raised:
        parse_job(request, LimitsMode.RELAXED)
    assert [str(p) for p in raised.value.problems] == [
        "Loadrec.Prompts: the prompts' bodies ask to stream or not for every target alike: give every target a "
        "Streaming key, or none"
    ]


def test_prompts_and_a_payload_folder_are_refused_together() -> None:
    raw = {"Template": "TGI", "Dataset": "d.jsonl"}
    assert problems(raw, SamplePayloadUrl="payloads/") == [
        "Loadrec.Prompts: makes the request bodies, but Loadrec.SamplePayloadUrl names payloads too: keep one"
    ]
    request = job_with(raw)
    request["InputConfig"]["ContainerConfig"] = {"PayloadConfig": {"SamplePayloadUrl": "s3://b/p/"}}
    with pytest.raises(JobSpecError) as raised:
        parse_job(request, LimitsMode.RELAXED)
    assert "InputConfig.ContainerConfig.PayloadConfig.SamplePayloadUrl names payloads too" in str(raised.value)
