"""Streaming LLM endpoints end to end: the sample endpoint streams (SageMaker's event stream and server-sent
events) with a known time to first token and time per token; loadrec measures them, counts the tokens the
server sent, stops on a TTFT threshold, and merges its worker processes' token histograms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.e2e.jobs import command_provisioner, loadrec, results, sample_endpoint_command, write_job
from tests.e2e.servers import sample_endpoint

pytestmark = pytest.mark.e2e

TTFT_MS, TOKEN_MS, TOKENS = 80.0, 15.0, 12
SSE_PAYLOAD = {"messages": [{"role": "user", "content": "Tell me about Alice"}], "stream": True, "max_tokens": TOKENS}
TGI_PAYLOAD = {"inputs": "Alice was", "parameters": {"max_new_tokens": TOKENS}}


@pytest.fixture(scope="module")
def llm() -> Iterator[str]:
    """A streaming sample endpoint: 8 slots, 80 ms to the first token, 15 ms per token after it."""
    options = ["--ttft-ms", str(TTFT_MS), "--token-ms", str(TOKEN_MS)]
    with sample_endpoint(8, 1, 0.0, *options) as url:
        yield url


def streaming_job(folder: Path, target: dict[str, Any], payload: dict[str, Any], **job: Any) -> Path:
    """A STAIRS job whose payloads are ``payload`` (JSON), against a streamed ``target``."""
    (folder / "llm").mkdir(exist_ok=True)
    (folder / "llm" / "request.json").write_text(json.dumps(payload))
    stopping = job.pop("stopping", {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 5000}]})
    path = write_job(folder, target, stopping, stairs=job.pop("stairs", (6, 2, 1)), payloads="llm/",
                     extension=job.pop("extension", None))  # fmt: skip
    request = json.loads(path.read_text())
    request["InputConfig"]["ContainerConfig"]["PayloadConfig"]["SupportedContentTypes"] = ["application/json"]
    path.write_text(json.dumps(request))
    return path


def measured(folder: Path, job: Path, *extra: str) -> tuple[dict[str, Any], pd.DataFrame]:
    out = folder / "out"
    done = loadrec(job, out, *extra)
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    _, test, timeline = results(out)
    return test, timeline


def assert_close(value: float, expected: float, share: float = 0.10) -> None:
    assert abs(value - expected) <= share * expected, f"{value} is not within {share:.0%} of {expected}"


@pytest.mark.parametrize(
    ("target", "payload"),
    [
        ({"Http": {"Url": "{url}/v1/chat/completions"}, "Streaming": {"Framing": "ServerSentEvents"}}, SSE_PAYLOAD),
        (
            {"SageMaker": {"EndpointName": "llm", "Region": "us-east-1", "EndpointUrl": "{url}"}, "Streaming": {}},
            TGI_PAYLOAD,
        ),
    ],
    ids=["server-sent-events", "sagemaker-event-stream"],
)
def test_ttft_and_itl_are_the_servers_and_every_token_it_sent_is_counted(
    tmp_path: Path, llm: str, target: dict[str, Any], payload: dict[str, Any]
) -> None:
    spelled = json.loads(json.dumps(target).replace("{url}", llm))
    test, timeline = measured(tmp_path, streaming_job(tmp_path, spelled, payload))
    answered = timeline["invocations"].sum()
    assert answered > 10 and timeline["failures"].sum() == 0
    assert timeline["output_tokens"].sum() == TOKENS * answered  # each answer had TOKENS tokens
    busy = timeline[timeline["invocations"] > 0]
    assert_close(busy["ttft_p50_ms"].median(), TTFT_MS)
    assert_close(busy["itl_p50_ms"].median(), TOKEN_MS)
    assert_close(test["TimeToFirstTokenMs"], TTFT_MS, 0.25)  # a P95: a little above the median at low load
    assert_close(test["AnswerTokensPerSecond"], 1000 / TOKEN_MS)  # one answer's decode rate
    assert test["OutputTokensPerSecond"] > 0


def test_a_ttft_threshold_stops_the_test_with_its_reason(tmp_path: Path) -> None:
    with sample_endpoint(2, 1, 0.0, "--ttft-ms", "60", "--token-ms", "5") as url:
        target = {"Http": {"Url": f"{url}/v1/completions"}, "Streaming": {}}
        payload = {"prompt": "Alice was", "stream": True, "max_tokens": 8}
        conditions = {"TokenLatencyThresholds": [{"Metric": "TimeToFirstToken", "Percentile": "P95",
                                                  "ValueInMilliseconds": 150}]}  # fmt: skip
        job = streaming_job(tmp_path, target, payload, stairs=(40, 10, 1), extension={"StoppingConditions": conditions})
        test, _ = measured(tmp_path, job)
    assert test["StopReason"] == "time to first token threshold"
    assert test["StopDetail"].startswith("P95 time to first token ")
    assert test["StopSecond"] < 40  # before the pattern's end: the queue for 2 slots made TTFT climb
    assert test["TimeToFirstTokenMs"] <= 150  # the recommendation held under the threshold


def test_worker_processes_token_histograms_merge_whole(tmp_path: Path, llm: str) -> None:
    target = {"Http": {"Url": f"{llm}/v1/chat/completions"}, "Streaming": {}}
    test, timeline = measured(
        tmp_path, streaming_job(tmp_path, target, SSE_PAYLOAD, stairs=(6, 2, 2)), "--processes", "2"
    )
    assert test["WorkerProcesses"] == 2
    answered = timeline["invocations"].sum()
    assert answered > 10 and timeline["output_tokens"].sum() == TOKENS * answered
    assert_close(timeline[timeline["invocations"] > 0]["ttft_p50_ms"].median(), TTFT_MS)


def test_an_endpoint_the_command_provisioner_starts_can_stream(tmp_path: Path) -> None:
    server = [*sample_endpoint_command(1), "--ttft-ms", str(TTFT_MS), "--token-ms", str(TOKEN_MS), "--workers", "8"]
    provisioner = command_provisioner(server)
    provisioner["Command"] |= {"Url": "http://127.0.0.1:{port}/v1/chat/completions", "Streaming": {}}
    job = streaming_job(tmp_path, {"Http": {"Url": "http://127.0.0.1:9/unused"}}, SSE_PAYLOAD,
                        extension={"Provisioner": provisioner})  # fmt: skip
    request = json.loads(job.read_text())
    request["Loadrec"]["Targets"] = [None]  # created by the provisioner
    job.write_text(json.dumps(request))
    test, timeline = measured(tmp_path, job)
    answered = timeline["invocations"].sum()
    assert answered > 10 and timeline["output_tokens"].sum() == TOKENS * answered
    assert_close(timeline[timeline["invocations"] > 0]["ttft_p50_ms"].median(), TTFT_MS)
    assert test["OutputTokensPerSecond"] > 0
