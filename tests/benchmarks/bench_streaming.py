"""Streaming accuracy and cost: loadrec's TTFT and ITL against what the server really served, at 100, 400 and
1,000 users, side by side with a minimal client; CPU per token event; where loadrec flags its own saturation.

One run, against one server of the benchmark's own (``tests.truth_server``: raw sockets, SSE by hand,
timing each answer on its side: TTFT from reading the request to writing the first token, ITL as
(last write − first write) / (tokens − 1)); 64 tokens 30 ms apart (33 tokens per second per
user), the first 200 ms after the request. For each number of users, one after the other:
  a) a minimal client in its own process: greenlets on raw sockets, SSE parsed by hand, each
     answer's TTFT and ITL by the same definitions;
  b) ``loadrec run`` with its defaults (``--processes auto``), STAIRS of one step, its figures
     from the steady seconds of its timeline, and its generator verdict from describe.json.
Each figure is compared with the server's truth over the same stretch (p50 and p95). CPU per
token event, in the steady stretch (start-up and imports left out): the client's CPU time over
the token events it read there; for loadrec, every process of its tree (the command, the test's
process or master, its workers), sampled with psutil.

    .venv/bin/python tests/benchmarks/bench_streaming.py [--users 100,400,1000] [--seconds 30]
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
import urllib.request  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import psutil  # noqa: E402
from gevent import socket  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from loadrec.engine.results.seconds import SecondsFollower  # noqa: E402
from tests.e2e.servers import truth_server  # noqa: E402

TTFT_MS, TOKEN_MS, TOKENS = 200.0, 30.0, 64
LOADREC = [sys.executable, "-P", "-m", "loadrec.engine"]
REQUEST = {"prompt": "Alice was", "stream": True, "max_tokens": TOKENS}
WARMUP_S = 5  # seconds after the users started that no figure counts (connections, first answers)


@contextmanager
def streaming_server() -> Iterator[int]:
    """The truth server with the benchmark's timing, on a free port (its number)."""
    options = ["--ttft-ms", str(TTFT_MS), "--token-ms", str(TOKEN_MS), "--tokens", str(TOKENS)]
    with truth_server(*options) as url:
        yield int(url.rsplit(":", 1)[1])


def truth(port: int) -> dict[str, list[float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/truth", timeout=30) as answer:
        data: dict[str, list[float]] = json.load(answer)
        return data


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else float("nan")


def minimal_client(port: int, users: int, seconds: float) -> dict[str, object]:
    """Runs in its own process: ``users`` greenlets on raw sockets, each answer's TTFT and ITL (ms)."""
    body = json.dumps(REQUEST).encode()
    request = (f"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body  # fmt: skip
    ttft: list[float] = []
    itl: list[float] = []
    events = 0  # token events read in the steady stretch
    started_at = time.perf_counter()
    deadline = started_at + seconds
    steady_cpu: list[float] = []

    def user() -> None:
        nonlocal events
        sock = socket.create_connection(("127.0.0.1", port))
        buffer = b""
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            sock.sendall(request)
            first = last = None
            tokens = 0
            done = False
            while not done:
                data = sock.recv(65536)
                if not data:
                    return
                now = time.perf_counter()
                buffer += data
                while (end := buffer.find(b"\n\n")) >= 0:
                    start = buffer.find(b"data: ")
                    payload, buffer = buffer[start + 6 : end], buffer[end + 2 :]
                    if payload == b"[DONE]":
                        done = True
                        break
                    if json.loads(payload)["choices"][0]["text"]:
                        tokens += 1
                        first = first if first is not None else now
                        last = now
            buffer = buffer[buffer.index(b"0\r\n\r\n") + 5 :] if b"0\r\n\r\n" in buffer else b""
            if started - started_at >= WARMUP_S and first is not None and last is not None:
                events += tokens
                ttft.append((first - started) * 1000)
                if tokens > 1 and last > first:
                    itl.append((last - first) * 1000 / (tokens - 1))
        sock.close()

    def sample() -> None:
        gevent.sleep(WARMUP_S)
        steady_cpu.append(time.process_time())
        gevent.sleep(max(0.0, deadline - time.perf_counter()))
        steady_cpu.append(time.process_time())

    gevent.joinall([gevent.spawn(sample), *(gevent.spawn(user) for _ in range(users))])
    return {"ttft_ms": ttft, "itl_ms": itl, "events": events, "cpu_s": steady_cpu[1] - steady_cpu[0]}


def run_minimal(port: int, users: int, seconds: int) -> tuple[dict[str, object], float]:
    command = [sys.executable, str(Path(__file__)), "--minimal-client", str(port), str(users), str(seconds)]
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout)
    cpu = result["cpu_s"]
    assert isinstance(cpu, float)
    return result, cpu


def write_streaming_job(folder: Path, port: int, users: int, seconds: int) -> Path:
    """A job streaming from the truth server on ``port``: STAIRS of one step of ``users`` for ``seconds``."""
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
                    "Targets": [{"Http": {"Url": f"http://127.0.0.1:{port}/v1/completions"}, "Streaming": {}}]},
    }  # fmt: skip
    path = folder / "job.json"
    path.write_text(json.dumps(job))
    return path


def run_loadrec(port: int, users: int, seconds: int, folder: Path) -> tuple[dict[str, object], float]:
    write_streaming_job(folder, port, users, seconds)
    command = [*LOADREC, "run", "job.json", "--limits", "relaxed", "--out", "out", "--window", "10"]
    process = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL)
    seconds_file = folder / "out" / "tests" / "0" / "seconds.jsonl"
    while not seconds_file.exists() and process.poll() is None:
        time.sleep(0.05)
    started = time.time()
    time.sleep(WARMUP_S)
    first, first_epoch = tree_cpu(process.pid), time.time()
    time.sleep(max(0.0, started + seconds - 2 - time.time()))
    last, last_epoch = tree_cpu(process.pid), time.time()
    cpu = sum(last[pid][0] - first[pid][0] for pid in last if pid in first)
    load_cpu = sum(last[pid][0] - first[pid][0] for pid in last if pid in first and last[pid][1])
    assert process.wait() == 0, "loadrec run failed"
    timeline = SecondsFollower(seconds_file).read()
    assert timeline is not None
    end = timeline.last_second - 1  # the last second is cut by the stop
    window = timeline.window(end, end - WARMUP_S, (50.0, 95.0))
    sampled = timeline.window(timeline.offset(last_epoch), int(last_epoch) - int(first_epoch), (50.0,))
    describe = json.loads((folder / "out" / "describe.json").read_text())
    health = describe["Loadrec"]["Tests"][0].get("GeneratorHealth", {})
    processes = json.loads((folder / "out" / "run.json").read_text())["Settings"]["processes"]
    assert window.ttft_ms is not None and window.itl_ms is not None
    return {
        "ttft_ms": window.ttft_ms, "itl_ms": window.itl_ms, "events": sampled.output_tokens,
        "health": health.get("MeasuredWindow") or health.get("Test"), "processes": processes, "load_cpu": load_cpu,
        "verdict": window.generator,
    }, cpu  # fmt: skip


def tree_cpu(pid: int) -> dict[int, tuple[float, bool]]:
    """CPU seconds so far of a process and every descendant, by pid, and whether it runs users: the test's
    process without workers, else the workers (not ``loadrec run``, nor a master)."""
    found: dict[int, tuple[float, bool]] = {}
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    workers = any("loadrec.engine.load.worker" in process.cmdline() for process in processes[1:])
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times, command = process.cpu_times(), " ".join(process.cmdline())
            users = "load.worker" in command if workers else "running.step" in command
            found[process.pid] = (times.user + times.system, users)
    return found


def error(value: float, true: float) -> str:
    return f"{(value / true - 1) * 100:+6.1f} %"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default="100,400,1000")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--minimal-client", nargs=3, type=int, metavar=("PORT", "USERS", "SECONDS"))
    args = parser.parse_args()
    if args.minimal_client:
        print(json.dumps(minimal_client(*args.minimal_client)))
        return 0
    rows = []
    with streaming_server() as port:
        for users in (int(u) for u in args.users.split(",")):
            truth(port)  # start afresh
            minimal, minimal_cpu = run_minimal(port, users, args.seconds)
            served_minimal = truth(port)
            with tempfile.TemporaryDirectory() as folder:
                ours, ours_cpu = run_loadrec(port, users, args.seconds, Path(folder))
            served_ours = truth(port)
            rows.append((users, minimal, minimal_cpu, served_minimal, ours, ours_cpu, served_ours))
    print(f"server: TTFT {TTFT_MS:g} ms, {TOKENS} tokens {TOKEN_MS:g} ms apart; the server's own timing is the truth")
    print(
        "users | true TTFT p50 | minimal TTFT p50 / p95 | loadrec TTFT p50 / p95 | true ITL p50 | minimal ITL p50"
        " | loadrec ITL p50 | loadrec processes | loadrec verdict"
    )
    for users, minimal, _, served_minimal, ours, _, served_ours in rows:
        true_ttft, true_ttft_ours = quantile(served_minimal["ttft_ms"], 50), quantile(served_ours["ttft_ms"], 50)
        true_ttft95, true_ttft95_ours = quantile(served_minimal["ttft_ms"], 95), quantile(served_ours["ttft_ms"], 95)
        true_itl, true_itl_ours = quantile(served_minimal["itl_ms"], 50), quantile(served_ours["itl_ms"], 50)
        m_ttft, m_itl = minimal["ttft_ms"], minimal["itl_ms"]
        assert isinstance(m_ttft, list) and isinstance(m_itl, list)
        o_ttft, o_itl = ours["ttft_ms"], ours["itl_ms"]
        assert isinstance(o_ttft, dict) and isinstance(o_itl, dict)
        verdict = ours["verdict"]
        said = "-" if verdict is None else verdict.summary()
        print(
            f"{users:5d} | {true_ttft:6.1f} / {true_ttft_ours:6.1f} ms | "
            f"{error(quantile(m_ttft, 50), true_ttft)} / {error(quantile(m_ttft, 95), true_ttft95)} | "
            f"{error(o_ttft[50.0], true_ttft_ours)} / {error(o_ttft[95.0], true_ttft95_ours)} | "
            f"{true_itl:5.1f} / {true_itl_ours:5.1f} ms | {error(quantile(m_itl, 50), true_itl)} | "
            f"{error(o_itl[50.0], true_itl_ours)} | {ours['processes']} | {said}"
        )
    print("CPU per token event (CPU time over token events read, steady seconds):")
    for users, minimal, minimal_cpu, _, ours, ours_cpu, _ in rows:
        m_events, o_events, load_cpu = minimal["events"], ours["events"], ours["load_cpu"]
        assert isinstance(m_events, int) and isinstance(o_events, int) and isinstance(load_cpu, float)
        per_m, per_load, per_tree = minimal_cpu / m_events * 1e6, load_cpu / o_events * 1e6, ours_cpu / o_events * 1e6
        print(f"  {users:5d} users: minimal {per_m:5.1f} µs; loadrec's load processes {per_load:5.1f} µs "
              f"(ratio {per_load / per_m:.2f}, target <= 1.25), its whole tree {per_tree:5.1f} µs "
              f"(ratio {per_tree / per_m:.2f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
