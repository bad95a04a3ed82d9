"""loadrec beside the LLM benchmarkers: AIPerf and GuideLLM against the same streaming server, at the same
concurrency and the same request rate; every tool's TTFT, ITL and output tokens per second beside the truth.

The server is ``tests.truth_server --tokenizer``: it times each answer on its own side (TTFT
from reading the request to writing the first token; ITL as (last write − first write) /
(tokens − 1)), answers each request's ``max_tokens`` tokens, each one a single token of the
tokenizer every tool counts with (one trained on the corpus by ``tests.tokenizer``, saved as
a Hugging Face tokenizer folder: nothing is downloaded). Each tool sends synthetic prompts of
about 100 tokens asking for 64, streamed from ``/v1/completions`` with ``ignore_eos``:
  a) closed loop: ``--concurrency`` requests in flight (AIPerf ``--concurrency``, GuideLLM's
     ``concurrent`` profile, loadrec's users in a STAIRS of one step);
  b) open loop: ``--rate`` requests a second, constant arrivals (AIPerf ``--request-rate``
     ``--arrival-pattern constant``, GuideLLM's ``constant`` profile, loadrec's
     ``Loadrec.RequestRate``).
The peers are installed in environments of the benchmark's own (``--peers DIR``, by default
``~/.cache/loadrec/bench-peers``: AIPerf and GuideLLM at pinned versions, from PyPI, on
first use), never in loadrec's. Each figure is the median over the requests of the run
(loadrec's from its ``--records``); output tokens per second is every output token over the
run's span (first send to last answer); the truth is the server's over the same run.

    .venv/bin/python tests/benchmarks/bench_peers.py [--concurrency 8] [--rate 3] [--requests 120]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.servers import truth_server  # noqa: E402
from tests.tokenizer import write_tokenizer  # noqa: E402

PEERS = {"aiperf": "aiperf==0.13.0", "guidellm": "guidellm==0.8.1"}
TTFT_MS, TOKEN_MS, INPUT_TOKENS, OUTPUT_TOKENS = 200.0, 30.0, 100, 64
LOADREC = [sys.executable, "-P", "-m", "loadrec.engine"]
Figures = dict[str, float]


def peer(peers: Path, name: str) -> Path:
    """The peer's command, installed in an environment of its own on first use."""
    venv = peers / name
    command = venv / "bin" / name
    if not command.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", PEERS[name]], check=True)
    return command


def tokenizer_folder(folder: Path) -> Path:
    """A Hugging Face tokenizer folder (what AIPerf and GuideLLM load) around the corpus's tokenizer.json."""
    folder.mkdir(parents=True, exist_ok=True)
    write_tokenizer(folder / "tokenizer.json")
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 100_000}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def truth(url: str) -> Figures:
    """The server's own figures since it was last asked (and a fresh start)."""
    with urllib.request.urlopen(f"{url}/truth", timeout=10) as answer:
        served = json.load(answer)
    if not served["ttft_ms"]:
        return {}
    return {"ttft": statistics.median(served["ttft_ms"]), "itl": statistics.median(served["itl_ms"])}


def run_aiperf(command: Path, url: str, tokenizer: Path, out: Path, load: list[str], requests: int) -> Figures:
    args = [str(command), "profile", "--model", "alice", "--url", url, "--endpoint-type", "completions",
            "--streaming", "--request-count", str(requests), "--tokenizer", str(tokenizer),
            "--synthetic-input-tokens-mean", str(INPUT_TOKENS), "--output-tokens-mean", str(OUTPUT_TOKENS),
            "--extra-inputs", "ignore_eos:true", "--artifact-dir", str(out), "--ui-type", "none", *load]  # fmt: skip
    subprocess.run(args, check=True, capture_output=True, timeout=600)
    data = json.loads((out / "profile_export_aiperf.json").read_text())
    return {"ttft": data["time_to_first_token"]["p50"], "itl": data["inter_token_latency"]["p50"],
            "tokens_per_s": data["output_token_throughput"]["avg"]}  # fmt: skip


def run_guidellm(
    command: Path, url: str, tokenizer: Path, out: Path, profile: dict[str, Any], requests: int
) -> Figures:
    scenario = {"spec": {
        "backend": {"kind": "openai_http", "target": url, "model": str(tokenizer), "request_format": "/v1/completions",
                    "stream": True, "validate_backend": False, "extras": {"body": {"ignore_eos": True}}},
        "profile": profile,
        "data": [{"kind": "synthetic_text", "prompt_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS}],
        "constraints": [{"kind": "max_requests", "count": requests}],
        "outputs": [{"kind": "json", "path": str(out / "benchmarks.json")}],
    }}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.json").write_text(json.dumps(scenario))
    args = [str(command), "run", "--scenario", str(out / "scenario.json"), "--disable-console"]
    subprocess.run(args, check=True, capture_output=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    metrics = json.loads((out / "benchmarks.json").read_text())["benchmarks"][0]["metrics"]
    return {"ttft": metrics["time_to_first_token_ms"]["successful"]["median"],
            "itl": metrics["inter_token_latency_ms"]["successful"]["median"],
            "tokens_per_s": metrics["output_tokens_per_second"]["successful"]["mean"]}  # fmt: skip


def run_loadrec(url: str, tokenizer: Path, folder: Path, users: int, seconds: int, rate: float | None) -> Figures:
    """``loadrec run`` of one STAIRS step of ``users`` (each ``rate`` requests a second, when given)."""
    folder.mkdir(parents=True, exist_ok=True)
    extension: dict[str, Any] = {
        "Targets": [{"Http": {"Url": f"{url}/v1/completions"}, "Streaming": {}}],
        "Prompts": {"Template": "OpenAICompletions", "Synthetic": {"InputTokens": {"Mean": INPUT_TOKENS}},
                    "OutputTokens": {"Mean": OUTPUT_TOKENS}, "IgnoreEos": True,
                    "Tokenizer": str(tokenizer / "tokenizer.json")},
    }  # fmt: skip
    if rate is not None:
        extension["RequestRate"] = {"RequestsPerSecondPerUser": rate / users}
    job = {
        "JobName": "peers", "JobType": "Advanced",
        "InputConfig": {
            "TrafficPattern": {"TrafficType": "STAIRS",
                               "Stairs": {"DurationInSeconds": seconds, "NumberOfSteps": 1, "UsersPerStep": users}},
            "EndpointConfigurations": [{"InstanceType": "ml.g5.xlarge"}],
            "ContainerConfig": {"PayloadConfig": {"SupportedContentTypes": ["application/json"]}},
        },
        "StoppingConditions": {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 60000}]},
        "Loadrec": extension,
    }  # fmt: skip
    (folder / "job.json").write_text(json.dumps(job))
    command = [*LOADREC, "run", "job.json", "--limits", "relaxed", "--out", "out", "--records", "--processes", "0"]
    subprocess.run(command, cwd=folder, check=True, capture_output=True, timeout=600)
    records = pd.read_json(folder / "out" / "tests" / "0" / "records.jsonl.gz", lines=True)
    done = records[records["status"] == "ok"]
    span = (done["sent"] + done["latency_ms"] / 1000).max() - done["intended"].min()
    return {"ttft": float(done["ttft_ms"].median()), "itl": float(done["tpot_ms"].median()),
            "tokens_per_s": float(done["output_tokens"].sum() / span)}  # fmt: skip


def measured(url: str, run: Callable[[], Figures]) -> tuple[Figures, Figures]:
    truth(url)  # a fresh start
    figures = run()
    return figures, truth(url)


def row(tool: str, load: str, figures: Figures, served: Figures) -> str:
    def off(key: str) -> str:
        return f"{figures[key]:.1f} ({(figures[key] - served[key]) / served[key]:+.1%})"

    return f"| {load} | {tool} | {off('ttft')} | {off('itl')} | {figures['tokens_per_s']:.1f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=3.0, help="requests a second, for the open-loop runs")
    parser.add_argument("--requests", type=int, default=120, help="each peer's requests per run")
    parser.add_argument("--peers", type=Path, default=Path.home() / ".cache" / "loadrec" / "bench-peers")
    args = parser.parse_args()
    aiperf, guidellm = peer(args.peers, "aiperf"), peer(args.peers, "guidellm")
    per_request_s = (TTFT_MS + (OUTPUT_TOKENS - 1) * TOKEN_MS) / 1000
    closed_s = round(args.requests * per_request_s / args.concurrency)  # as long as the peers' runs
    open_s = round(args.requests / args.rate)
    lines = [
        "| load | tool | TTFT p50 ms (vs truth) | ITL p50 ms (vs truth) | output tokens/s |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch, truth_server(
        "--ttft-ms", str(TTFT_MS), "--token-ms", str(TOKEN_MS), "--tokens", str(OUTPUT_TOKENS),
        "--tokenizer", str(tokenizer_folder(Path(scratch) / "tokenizer") / "tokenizer.json"),
    ) as url:  # fmt: skip
        tokenizer, work = Path(scratch) / "tokenizer", Path(scratch)
        loads = [
            (f"{args.concurrency} in flight", ["--concurrency", str(args.concurrency)],
             {"kind": "concurrent", "streams": args.concurrency}, (args.concurrency, closed_s, None)),
            (f"{args.rate:g}/s constant", ["--request-rate", str(args.rate), "--arrival-pattern", "constant"],
             {"kind": "constant", "rate": args.rate}, (max(1, round(args.rate)), open_s, args.rate)),
        ]  # fmt: skip
        for number, (load, aiperf_load, guidellm_profile, (users, seconds, rate)) in enumerate(loads):
            runs: dict[str, Callable[[], Figures]] = {
                "AIPerf 0.13": partial(run_aiperf, aiperf, url, tokenizer, work / f"a{number}", aiperf_load,
                                       args.requests),
                "GuideLLM 0.8.1": partial(run_guidellm, guidellm, url, tokenizer, work / f"g{number}",
                                          guidellm_profile, args.requests),
                "loadrec": partial(run_loadrec, url, tokenizer, work / f"l{number}", users, seconds, rate),
            }  # fmt: skip
            for tool, run in runs.items():
                figures, served = measured(url, run)
                lines.append(row(tool, load, figures, served))
                print(lines[-1], flush=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
