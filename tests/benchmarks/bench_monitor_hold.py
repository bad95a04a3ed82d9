"""How long loadrec's own monitor and writers hold the load loop, seen by gevent's blocking monitor.

``loadrec run --processes 0`` streams from ``tests.truth_server`` with USERS users in one load
process, the monitor evaluating a full trailing window every second (the most it ever does),
under gevent's monitor thread (``GEVENT_MONITOR_THREAD_ENABLE``, ``GEVENT_MAX_BLOCKING_TIME``
5 ms: it prints a report, with the stack, for every stretch of more than 5 ms in which the loop
did not run). Counted: all reports, those of the load process (not of ``loadrec run``, which sends
no load), and those whose blocked stack is in the monitor, the session, the
results files or the timeline (loadrec's bookkeeping, which must never hold the loop more than
5 ms); and the generator's own ``held_ms``, the longest stretch per second it noted.

    .venv/bin/python tests/benchmarks/bench_monitor_hold.py [--users 200] [--seconds 40] [--window 30]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from loadrec.engine.results.seconds import SecondsFollower  # noqa: E402
from tests.benchmarks.bench_streaming import streaming_server, write_streaming_job  # noqa: E402

LOADREC = [sys.executable, "-P", "-m", "loadrec.engine"]
BOOKKEEPING = ("live_monitor.py", "session.py", "results/files.py", "results/seconds.py", "measurement/metrics.py")
REPORT = re.compile(r"appears to be blocked")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--window", type=int, default=30)
    args = parser.parse_args()
    with streaming_server() as port, tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_streaming_job(folder, port, args.users, args.seconds)
        env = {**os.environ, "GEVENT_MONITOR_THREAD_ENABLE": "true", "GEVENT_MAX_BLOCKING_TIME": "0.005"}
        command = [*LOADREC, "run", "job.json", "--limits", "relaxed", "--out", "out", "--processes", "0"]
        command += ["--window", str(args.window), "--evaluate-every", "1"]
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=True)
        timeline = SecondsFollower(folder / "out" / "tests" / "0" / "seconds.jsonl").read()
    assert timeline is not None
    reports = REPORT.split(done.stderr)[1:]
    # A report's blocked stack (of the loop's thread) comes before its dump of every other greenlet and thread.
    blocked = [report.split("Blocked Stack", 1)[-1].split("Info:", 1)[0] for report in reports]
    # The reports of ``loadrec run`` itself (it sends no load: it reaps the test and writes the job's files
    # after it) are told apart by their stack, which starts in the CLI.
    load = [stack for stack in blocked if "engine/cli.py" not in stack]
    ours = [stack for stack in load if any(name in stack for name in BOOKKEEPING)]
    held = [row.generator.held_ms for row in timeline.rows() if row.generator is not None]
    if os.environ.get("SHOW_REPORTS"):
        print("\n=====\n".join(stack[-1500:] for stack in load), [round(h, 1) for h in held])
    print(f"{args.users} streaming users in one load process, {args.seconds} s, "
          f"a {args.window} s window judged every second")  # fmt: skip
    print(f"gevent's blocking reports (> 5 ms): {len(reports)} in all, {len(load)} in the load process, "
          f"{len(ours)} of them in loadrec's monitor and writers")  # fmt: skip
    print(f"longest hold loadrec noted itself: {max(held, default=0.0):.2f} ms (target <= 5 ms)")
    return 0 if not ours and max(held, default=0.0) <= 5.0 else 1


if __name__ == "__main__":
    sys.exit(main())
