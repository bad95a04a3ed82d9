"""``Loadrec.Prompts`` end to end: what the server got is what loadrec says it sent.

``tests.truth_server --tokenizer`` counts each distinct prompt's tokens with the same
tokenizer.json (built from the corpus by ``tests.tokenizer``) and notes the output tokens
each body asks for; loadrec's summary of the prompts it made must be those counts exactly.
A dataset comes from S3 (moto) as payloads do; a bad dataset line stops the job before
any load, naming the field and the line.
"""

from __future__ import annotations

import json
import statistics
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.jobs import environment, loadrec, results, streaming_job
from tests.e2e.servers import truth_server
from tests.tokenizer import write_tokenizer

pytestmark = pytest.mark.e2e

FAST = ("--ttft-ms", "5", "--token-ms", "1", "--tokens", "4")


def served(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/truth", timeout=10) as answer:
        truth: dict[str, Any] = json.load(answer)
    return truth


def spread(values: list[int]) -> dict[str, float | int]:
    ordered = sorted(values)
    return {"Mean": round(statistics.fmean(ordered), 1), "Min": ordered[0], "P50": ordered[len(ordered) // 2],
            "Max": ordered[-1]}  # fmt: skip


def prompts_job(folder: Path, url: str, prompts: dict[str, Any], seconds: int = 8, **extension: Any) -> Path:
    job = streaming_job(folder, url, users=4, seconds=seconds, extension={"Prompts": prompts, **extension})
    request = json.loads(job.read_text())
    del request["Loadrec"]["SamplePayloadUrl"]  # the prompts are the bodies
    job.write_text(json.dumps(request))
    return job


def test_synthetic_prompts_hold_the_token_counts_the_servers_tokenizer_finds(tmp_path: Path) -> None:
    tokenizer = write_tokenizer(tmp_path / "tokenizer.json")
    prompts = {
        "Template": "OpenAICompletions",
        "Synthetic": {"InputTokens": {"Mean": 120, "StdDev": 40, "Min": 30, "Max": 240}, "Count": 12, "Seed": 3},
        "OutputTokens": {"Mean": 12, "StdDev": 4, "Min": 4, "Max": 20},
        "IgnoreEos": True,
        "Tokenizer": tokenizer.name,
    }
    with truth_server(*FAST, "--tokenizer", str(tokenizer)) as url:
        done = loadrec(prompts_job(tmp_path, url, prompts), tmp_path / "out")
        truth = served(url)
    assert done.returncode == 0, done.stderr[-2000:]
    _, test, _ = results(tmp_path / "out")
    summary = test["Prompts"]
    assert summary["Source"] == "Synthetic" and summary["Count"] == 12
    assert summary["InputTokensCountedBy"] == "tokenizer tokenizer.json"
    seen = list(truth["prompts"].values())
    assert len(seen) == 12  # every prompt was sent (users take them round robin), none other
    assert summary["InputTokens"] == spread([tokens for tokens, _ in seen])  # the server's tokenizer agrees
    assert summary["MaxOutputTokens"] == spread([asked for _, asked in seen])
    assert summary["InputTokens"]["Min"] >= 30 and summary["InputTokens"]["Max"] <= 240
    assert "12 synthetic prompts (OpenAICompletions), input tokens mean" in done.stdout
    assert test["OutputTokensPerSecond"] > 0
    assert test["OutputTokensCountedBy"] == "tokenizer"  # the truth server sends no usage: the job's tokenizer


def test_a_dataset_in_s3_is_sent_row_for_row_and_a_bad_line_sends_nothing(tmp_path: Path, moto_url: str) -> None:
    rows = [{"prompt": f"Alice asked question {k} of the rabbit.", "max_tokens": 5 + k} for k in range(6)]
    bad = [rows[0], "not json", {"text": ""}, rows[1]]
    s3 = boto3.session.Session(**_keys()).client("s3", endpoint_url=moto_url, region_name="us-east-1")
    bucket = f"prompts-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="good.jsonl", Body="\n".join(json.dumps(r) for r in rows).encode())
    lines = [r if isinstance(r, str) else json.dumps(r) for r in bad]
    s3.put_object(Bucket=bucket, Key="bad.jsonl", Body="\n".join(lines).encode())
    tokenizer = write_tokenizer(tmp_path / "tokenizer.json")
    extension = {"S3EndpointUrl": moto_url}
    with truth_server(*FAST, "--tokenizer", str(tokenizer)) as url:
        prompts = {"Template": "OpenAIChat", "Dataset": f"s3://{bucket}/bad.jsonl"}
        refused = loadrec(prompts_job(tmp_path, url, prompts, **extension), tmp_path / "refused")
        nothing = served(url)
        good = tmp_path / "good"
        good.mkdir()
        prompts = {"Template": "OpenAIChat", "Dataset": f"s3://{bucket}/good.jsonl", "Model": "alice-1"}
        done = loadrec(prompts_job(good, url, prompts, seconds=6, **extension), good / "out")
        truth = served(url)
    assert refused.returncode == 2, refused.stdout[-2000:]
    assert f"Loadrec.Prompts.Dataset: s3://{bucket}/bad.jsonl: line 2: is not JSON" in refused.stderr
    assert "line 3: needs one non-empty string in prompt or text" in refused.stderr
    assert "Traceback" not in refused.stderr and nothing["arrived"] == []  # no load was sent
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(asked for _, asked in truth["prompts"].values()) == [5, 6, 7, 8, 9, 10]  # each row, its max_tokens
    _, test, _ = results(good / "out")
    assert test["Prompts"]["Source"] == "Dataset" and test["Prompts"]["Count"] == 6
    assert test["Prompts"]["InputTokensCountedBy"] == "words"  # no tokenizer named: words, and said so
    assert test["Prompts"]["InputTokens"]["Min"] == 7  # "Alice asked question 0 of the rabbit."
    assert test["OutputTokensCountedBy"] == "events"  # no usage, no tokenizer: one token per event


def _keys() -> dict[str, str]:
    env = environment()
    return {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}
