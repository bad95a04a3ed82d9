"""Load-generator benchmark: how fast loadrec's users invoke, and what the monitor costs.

One run, side by side, against the same fast local HTTP server (a minimal responder in
its own process), each client in its own load process, one after another, repeated:
  a) loadrec's SigV4-signed SageMaker user (its own geventhttpclient connection + botocore signer)
  b) Locust's FastHttpUser, unsigned, posting the same body
  c) boto3 ``invoke_endpoint`` inside a Locust user
  d) loadrec's plain-HTTP user with the per-second recorder and the live monitor
Targets: a >= 0.8 x b, a >= 5 x c, d >= 0.95 x b (monitor overhead <= 5 %), and the
monitor's P95/P99 within 0.5 % of the exact percentiles of every recorded latency.

    .venv/bin/python tests/benchmarks/bench_invoke.py [--seconds 8] [--users 10] [--rounds 2]
"""

from gevent import monkey

monkey.patch_all()  # a process entry point: before anything imports ssl

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BODY = b"0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8\n"
RESPONSE = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n{"predictions": [0.512]}'
VARIANTS = {
    "a": "signed SageMaker user",
    "b": "FastHttpUser, unsigned",
    "c": "boto3 invoke_endpoint",
    "d": "HTTP user + recorder + monitor",
}


def serve(port: int) -> None:
    """A minimal keep-alive HTTP responder: reads a request, answers a fixed JSON."""
    from gevent.server import StreamServer

    sys.path.insert(0, str(ROOT))  # a plain script: the repository root holds the tests' loopback server
    from tests.loopback import requests

    def handle(sock: socket.socket, address: Any) -> None:
        with contextlib.suppress(OSError):  # a load process closing its connections at the end of its run
            answer(sock)

    def answer(sock: socket.socket) -> None:
        for _ in requests(sock):
            sock.sendall(RESPONSE)

    StreamServer(("127.0.0.1", port), handle).serve_forever()


def user_class(variant: str, url: str) -> type:
    from locust import FastHttpUser, User, constant, task

    from loadrec.engine.job.targets import HttpTarget, SageMakerTarget
    from loadrec.engine.load.invocation import prepare
    from loadrec.engine.load.users import make_user_class
    from loadrec.payloads import Payload

    payloads = (Payload("row.csv", BODY, "text/csv"),)
    if variant == "a":
        return make_user_class(prepare(SageMakerTarget("bench", "us-east-1", url)), payloads, 1)
    if variant in ("d", "accuracy"):
        return make_user_class(prepare(HttpTarget(f"{url}/invocations")), payloads, 1)
    if variant == "b":

        class Plain(FastHttpUser):
            host = url
            wait_time = constant(0)
            concurrency = 1

            @task
            def invoke(self) -> None:
                self.client.request("POST", "/invocations", data=BODY, headers={"Content-Type": "text/csv"})

        return Plain

    import boto3

    client = boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=url)

    class Boto3User(User):
        wait_time = constant(0)

        @task
        def invoke(self) -> None:
            start = time.perf_counter()
            exception = None
            try:
                client.invoke_endpoint(EndpointName="bench", Body=BODY, ContentType="text/csv")
            except Exception as error:  # counted as a failure, as Locust would
                exception = error
            self.environment.events.request.fire(
                request_type="POST",
                name="invoke",
                response_time=(time.perf_counter() - start) * 1000,
                response_length=0,
                exception=exception,
                context={},
            )

    return Boto3User


def measure(variant: str, url: str, users: int, seconds: float) -> dict[str, Any]:
    """Run one client in this process; requests per second after a warm-up second."""
    import gevent
    from locust.env import Environment
    from locust.event import Events

    from loadrec.engine.job.spec import LatencyThreshold, StoppingConditions
    from loadrec.engine.load.distributed import attach_recorder
    from loadrec.engine.load.live_monitor import LiveMonitor, Watch
    from loadrec.engine.measurement.metrics import Timeline
    from loadrec.engine.measurement.monitor import MonitorSettings
    from loadrec.engine.measurement.recording import SecondRecorder
    from loadrec.shapes.schedule import Stairs, TrafficPattern, build_schedule

    environment = Environment(user_classes=[user_class(variant, url)], events=Events())
    runner = environment.create_local_runner()
    count = {"ok": 0, "ko": 0}
    latencies: list[float] = []

    def on_request(exception: BaseException | None = None, response_time: float = 0.0, **_: Any) -> None:
        count["ko" if exception else "ok"] += 1
        if variant == "accuracy" and exception is None:
            latencies.append(response_time * 1000.0)

    environment.events.request.add_listener(on_request)
    timeline = Timeline(time.time())
    recorder = SecondRecorder()
    monitor = None
    if variant in ("d", "accuracy"):
        attach_recorder(environment, recorder)
        stopping = StoppingConditions(max_invocations=10**9, latency=LatencyThreshold("P99", 99.0, 10**6))
        schedule = build_schedule(TrafficPattern("STAIRS", stairs=Stairs(3600, 1, users)))
        watch = Watch(schedule, stopping, MonitorSettings(window_s=5, evaluate_every_s=1), lambda line: None)
        monitor = LiveMonitor(runner, timeline, watch, recorder)
        gevent.spawn(monitor.run)
    runner.start(users, spawn_rate=users)
    gevent.sleep(1.0)
    count.update(ok=0, ko=0)
    latencies.clear()
    begin = time.perf_counter()
    gevent.sleep(seconds)
    elapsed = time.perf_counter() - begin
    done = dict(count)
    runner.quit()
    result: dict[str, Any] = {"variant": variant, "rps": done["ok"] / elapsed, "failures": done["ko"]}
    if variant == "accuracy":
        result.update(_accuracy(latencies, recorder, timeline))
    return result


def _accuracy(latencies: list[float], recorder: Any, timeline: Any) -> dict[str, Any]:
    import numpy as np

    from loadrec.engine.measurement.histograms import new_histogram

    timeline.add(s.to_wire() for s in recorder.take_all())
    # every latency again into one histogram, as the monitor's windows merge them
    histogram = new_histogram()
    for value in latencies:
        histogram.record_value(max(1, round(value)))
    errors = {}
    for quantile in (95.0, 99.0):
        exact = float(np.percentile(np.array(latencies), quantile, method="inverted_cdf"))
        reported = float(histogram.get_value_at_percentile(quantile))
        errors[f"p{quantile:g}_error"] = abs(reported - exact) / exact
    merged = timeline.window(timeline.last_second, timeline.last_second, [95.0, 99.0])
    return {"samples": len(latencies), **errors, "window_p99_ms": merged.latency_ms[99.0]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_child(variant: str, url: str, users: int, seconds: float) -> dict[str, Any]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
    command = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--url",
        url,
        "--users",
        str(users),
        "--seconds",
        str(seconds),
    ]
    output = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.child:
        print(json.dumps(measure(args.child, args.url, args.users, args.seconds)))
        return 0
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    time.sleep(1.0)
    rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
    try:
        for _ in range(args.rounds):
            for variant in VARIANTS:
                rates[variant].append(run_child(variant, url, args.users, args.seconds)["rps"])
        accuracy = run_child("accuracy", url, args.users, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=10)
    best = {v: max(r) for v, r in rates.items()}
    ratios = {
        "a/b (target >= 0.80)": best["a"] / best["b"],
        "a/c (target >= 5.0)": best["a"] / best["c"],
        "d/b (target >= 0.95)": best["d"] / best["b"],
    }
    for variant, label in VARIANTS.items():
        rounds = ", ".join(f"{r:.0f}" for r in rates[variant])
        print(f"{variant}) {label:<32} {best[variant]:>8.0f} req/s  (rounds: {rounds})")
    for name, value in ratios.items():
        print(f"{name:<22} {value:.2f}")
    p95, p99 = accuracy["p95_error"], accuracy["p99_error"]
    print(f"P95 error {p95:.4%}, P99 error {p99:.4%} over {accuracy['samples']} latencies")
    ok = (
        ratios["a/b (target >= 0.80)"] >= 0.8
        and ratios["a/c (target >= 5.0)"] >= 5
        and ratios["d/b (target >= 0.95)"] >= 0.95
        and accuracy["p95_error"] <= 0.005
        and accuracy["p99_error"] <= 0.005
    )
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
