"""``make demo``: the built-in demo job against two local sample endpoints.

Starts the sample endpoint twice (standing in for an ml.c5.large and an ml.c5.xlarge
instance: 4 and 8 worker slots of 25 ms), runs ``examples/demo.json`` under relaxed
limits with a short window, prints the recommendation and where the results are, and
stops the endpoints. Signing uses throwaway credentials: the endpoints are local.

``make demo-ui`` (``--ui [PORT]``) runs the same job from the web UI instead, until Ctrl-C.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JOB = ROOT / "examples" / "demo.json"
OUT = ROOT / "results" / "demo"
UI_OUT = ROOT / "results" / "demo-ui"
UI_PORT = 8089
# The loadrec command in this environment; -P: the current directory never shadows loadrec.
LOADREC = [sys.executable, "-P", "-m", "loadrec.engine"]
# (port, worker slots, service ms): must match the targets in examples/demo.json
ENDPOINTS = ((18080, 4, 25), (18081, 8, 25))
DEMO_ENV = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "AWS_REGION": "us-east-1"}


def start_endpoint(port: int, workers: int, service_ms: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-P", "-m", "loadrec.engine.sample.endpoint", "--port", str(port)]
    command += ["--workers", str(workers)]
    process = subprocess.Popen([*command, "--service-ms", str(service_ms)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the sample endpoint on port {port} did not start (is the port in use?)")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the sample endpoint on port {port} did not answer /ping")


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    for key, value in DEMO_ENV.items():
        os.environ[key] = value
    options = [str(JOB), "--limits", "relaxed", "--window", "8", "--evaluate-every", "2", "--seed", "1"]
    if arguments[:1] == ["--ui"]:
        ui_port = arguments[1] if len(arguments) > 1 else str(UI_PORT)
        command = [*LOADREC, "ui", *options, "--out", str(UI_OUT), "--port", ui_port]  # each START: a new run-N
    else:
        command = [*LOADREC, "run", *options, "--out", str(OUT), "--overwrite"]  # replaces the last demo's results
    endpoints = []
    try:
        for port, workers, service_ms in ENDPOINTS:
            endpoints.append(start_endpoint(port, workers, service_ms))
        process = subprocess.Popen(command)
        try:
            return process.wait()
        except KeyboardInterrupt:  # loadrec stops and writes what it measured (a second signal changes nothing)
            process.send_signal(signal.SIGINT)  # a Ctrl-C from a terminal reached it already; a kill did not
            return process.wait()
    finally:
        for process in endpoints:
            process.terminate()
        for process in endpoints:
            process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
