"""Streaming benchmark: loadrec's TTFT and ITL at 2,000 users against a bare client's at 100, memory per user,
and what decoding an event stream costs over botocore's parser alone.

One run, side by side, against the same local streaming server (the sample endpoint's
OpenAI-compatible SSE route; enough slots that no request queues, so the server's own
TTFT and ITL are the truth both clients should see):
  a) a bare minimal client: 100 greenlets on raw sockets, parsing chunked SSE by hand;
  b) ``loadrec run``: 2,000 users in one process (STAIRS, one step), TTFT/ITL from its
     timeline (the seconds after every user started); the test process's memory sampled
     each second: (peak − before the users) / users is the memory per user;
  c) decoding cost per event-stream chunk: loadrec's EventStreamDecoder (botocore's
     parser, then the inner JSON lines) against botocore's EventStreamBuffer alone.
Targets: b's TTFT and ITL medians within 5 % of a's; c reported as a ratio.

    .venv/bin/python tests/benchmarks/bench_streaming.py [--users 2000] [--seconds 40]
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402
from botocore.eventstream import EventStreamBuffer  # noqa: E402
from gevent import socket  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from loadrec.engine.streaming.frames import JSON_LINES, EventStreamDecoder, payload_part  # noqa: E402
from tests.e2e.servers import start_sample_endpoint  # noqa: E402

TTFT_MS, TOKEN_MS, TOKENS = 400.0, 150.0, 8
LOADREC = [sys.executable, "-P", "-m", "loadrec.engine"]
REQUEST = {"prompt": "Alice was", "stream": True, "max_tokens": TOKENS}


def bare_client(host: str, port: int, users: int, seconds: float) -> tuple[list[float], list[float]]:
    """TTFT and ITL (ms) of ``users`` greenlets on raw sockets: HTTP/1.1 by hand, chunked SSE by hand."""
    body = json.dumps(REQUEST).encode()
    head = (f"POST /v1/completions HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    ttft: list[float] = []
    itl: list[float] = []
    deadline = time.perf_counter() + seconds

    def user() -> None:
        sock = socket.create_connection((host, port))
        buffer = b""
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            sock.sendall(head + body)
            last = None
            done = False
            while not done:
                data = sock.recv(65536)
                now = time.perf_counter()
                buffer += data
                while b"data: " in buffer and b"\n\n" in buffer:
                    start = buffer.index(b"data: ")
                    end = buffer.index(b"\n\n", start)
                    event, buffer = buffer[start + 6 : end], buffer[end + 2 :]
                    if event == b"[DONE]":
                        done = True
                        break
                    if json.loads(event)["choices"][0]["text"]:
                        (ttft if last is None else itl).append((now - (started if last is None else last)) * 1000)
                        last = now
            buffer = buffer[buffer.index(b"0\r\n\r\n") + 5 :] if b"0\r\n\r\n" in buffer else b""
        sock.close()

    gevent.joinall([gevent.spawn(user) for _ in range(users)])
    return ttft, itl


def loadrec_run(url: str, users: int, seconds: int, folder: Path) -> tuple[pd.DataFrame, float]:
    """Run the job; returns its timeline and the test process's memory per user (bytes)."""
    (folder / "payloads").mkdir()
    (folder / "payloads" / "request.json").write_text(json.dumps(REQUEST))
    job = {
        "JobName": "bench-streaming", "JobType": "Advanced",
        "InputConfig": {
            "Endpoints": [{"EndpointName": "llm"}],
            "TrafficPattern": {"TrafficType": "STAIRS",
                               "Stairs": {"DurationInSeconds": seconds, "NumberOfSteps": 1, "UsersPerStep": users}},
            "ContainerConfig": {"PayloadConfig": {"SupportedContentTypes": ["application/json"]}},
        },
        "StoppingConditions": {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 60000}]},
        "Loadrec": {"SamplePayloadUrl": "payloads/",
                    "Targets": [{"Http": {"Url": f"{url}/v1/completions"}, "Streaming": {}}]},
    }  # fmt: skip
    (folder / "job.json").write_text(json.dumps(job))
    command = [*LOADREC, "run", "job.json", "--limits", "relaxed", "--out", "out", "--window", "10"]
    process = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL)
    samples: list[int] = []
    while process.poll() is None:
        children = psutil.Process(process.pid).children()
        if children:
            with contextlib.suppress(psutil.NoSuchProcess):  # it ended between the two calls
                samples.append(children[0].memory_info().rss)
        time.sleep(1)
    assert process.returncode == 0, "loadrec run failed"
    per_user = (max(samples) - samples[0]) / users if len(samples) > 2 else float("nan")
    return pd.read_csv(folder / "out" / "timeline.csv"), per_user


def decoding_cost(chunks: int = 20_000) -> tuple[float, float]:
    """µs per chunk: loadrec's decoder, botocore's buffer alone (the same frames, one chunk per feed)."""
    frames = [payload_part(json.dumps({"token": {"text": f" word{i}"}}).encode() + b"\n") for i in range(chunks)]
    started = time.perf_counter()
    decoder = EventStreamDecoder(JSON_LINES)
    for frame in frames:
        decoder.feed(frame)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    buffer = EventStreamBuffer()
    for frame in frames:
        buffer.add_data(frame)
        for _ in buffer:
            pass
    botocore_only = time.perf_counter() - started
    return ours / chunks * 1e6, botocore_only / chunks * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=40)
    args = parser.parse_args()
    options = ["--ttft-ms", str(TTFT_MS), "--token-ms", str(TOKEN_MS)]
    server = start_sample_endpoint(args.users + 100, 0, 0.0, *options)
    try:
        host, port = server.url.removeprefix("http://").split(":")
        bare_ttft, bare_itl = bare_client(host, int(port), 100, 15)
        with tempfile.TemporaryDirectory() as folder:
            timeline, per_user = loadrec_run(server.url, args.users, args.seconds, Path(folder))
    finally:
        server.stop()
    steady = timeline[(timeline["second"] >= 10) & (timeline["second"] < args.seconds - 2)]
    ours_ttft, ours_itl = steady["ttft_p50_ms"].median(), steady["itl_p50_ms"].median()
    base_ttft, base_itl = statistics.median(bare_ttft), statistics.median(bare_itl)
    decode_us, botocore_us = decoding_cost()
    print(f"server: {TTFT_MS:g} ms to the first token, {TOKEN_MS:g} ms per token, {TOKENS} tokens per answer")
    print(f"a) bare client, 100 users:       TTFT p50 {base_ttft:7.1f} ms   ITL p50 {base_itl:6.1f} ms")
    print(f"b) loadrec, {args.users} users:        TTFT p50 {ours_ttft:7.1f} ms   ITL p50 {ours_itl:6.1f} ms"
          f"   ({steady['invocations'].sum() / len(steady):.0f} answers/s, "
          f"{steady['output_tokens'].sum() / len(steady):.0f} tokens/s)")  # fmt: skip
    print(f"   b/a: TTFT {ours_ttft / base_ttft:.3f}, ITL {ours_itl / base_itl:.3f} (target within 0.95-1.05)")
    print(f"   memory per user: {per_user / 1024:.1f} KiB")
    print(
        f"c) decoding per event-stream chunk: loadrec {decode_us:.1f} µs, botocore's parser alone "
        f"{botocore_us:.1f} µs (ratio {decode_us / botocore_us:.2f})"
    )
    ok = abs(ours_ttft / base_ttft - 1) <= 0.05 and abs(ours_itl / base_itl - 1) <= 0.05
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
