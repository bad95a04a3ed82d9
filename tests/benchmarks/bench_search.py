"""The search beside a STAIRS of the same resolution: both run for real against the sample endpoint, whose
knee is known from how it serves; each one's answer, figures and seconds side by side.

The sample endpoint serves from ``--slots`` slots, each request holding one for
``--service-ms`` (s). Closed loop, N users above the slots leave a share w = (N − slots) / N
of the requests waiting for a slot to free, up to one more service time (evenly, once the
users' phases have spread). The top 5 % of latencies are then all waiting ones, and P95 is
s × (1 + 1 − 0.05 / w) when w > 5 %: with P95 at most T (between s and 2s) the knee, the
most users holding it, is floor(slots / (1 − 0.05 / (2 − T / s))): 48 users for the defaults.
  a) ``Loadrec.Search`` from 1 to ``--max-users`` users, ``--tolerance`` percent, probes of
     ``--probe-s`` seconds;
  b) a STAIRS in steps of the search's resolution at the knee (``--tolerance`` of it, one
     user at least), ``--probe-s`` a step, stopping on the same P95 with a window of half
     a step (as a probe is judged on its second half): it climbs until its first miss.
Both run with the same load processes and evaluate every second. The seconds are each
test's StopSecond.

    .venv/bin/python tests/benchmarks/bench_search.py [--slots 44] [--service-ms 200] [--p95-ms 300]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.jobs import LOADREC, environment, http_target, write_job  # noqa: E402
from tests.e2e.servers import sample_endpoint  # noqa: E402


def run(job: Path, out: Path, window_s: int, processes: str) -> dict[str, Any]:
    command = [*LOADREC, "run", str(job), "--limits", "relaxed", "--out", str(out), "--window", str(window_s),
               "--evaluate-every", "1", "--processes", processes, "--seed", "7"]  # fmt: skip
    done = subprocess.run(command, cwd=job.parent, env=environment(), capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"{job.name}: exit {done.returncode}\n{done.stderr[-2000:]}")
    body = json.loads((out / "describe.json").read_text())
    test = body["Loadrec"]["Tests"][0]
    metrics = body["InferenceRecommendations"][0]["Metrics"]
    return {"test": test, "metrics": metrics, "timeline": pd.read_csv(out / "timeline.csv")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slots", type=int, default=44)
    parser.add_argument("--service-ms", type=float, default=200.0)
    parser.add_argument("--p95-ms", type=int, default=300)
    parser.add_argument("--max-users", type=int, default=128)
    parser.add_argument("--tolerance", type=float, default=5.0, help="percent")
    parser.add_argument("--probe-s", type=int, default=10)
    parser.add_argument("--processes", default="2")
    args = parser.parse_args()
    knee = math.floor(args.slots / (1 - 0.05 / (2 - args.p95_ms / args.service_ms)))
    resolution = max(1, math.floor(args.tolerance / 100 * knee))
    stopping = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": args.p95_ms}]}
    levels = math.ceil(args.max_users / resolution)
    search = {"Search": {"MinUsers": 1, "MaxUsers": args.max_users, "TolerancePercent": args.tolerance,
                         "ProbeSeconds": args.probe_s}}  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory() as scratch, sample_endpoint(args.slots, args.service_ms) as url:
        for name, extension, stairs in (
            ("search", search, (18, 6, 1)),
            ("STAIRS", {}, (levels * args.probe_s, levels, resolution)),
        ):
            folder = Path(scratch) / name
            folder.mkdir()
            job = write_job(folder, http_target(url), stopping, stairs=stairs, extension=extension)
            got = run(job, folder / "out", max(2, args.probe_s // 2), args.processes)
            test, timeline = got["test"], got["timeline"]
            if name == "search":
                answer = test["Search"]["AnswerUsers"]
            else:  # the level before the one it stopped in
                stop = int(test["StopSecond"])
                answer = int(timeline.loc[timeline["second"] <= stop, "users"].iloc[-1]) - resolution
            rows.append({
                "mode": name,
                "answer users": answer,
                "knee (server)": knee,
                "MaxInvocations": got["metrics"]["MaxInvocations"],
                "ModelLatency ms": got["metrics"]["ModelLatency"] / 1000,
                "stopped by": test["StopReason"],
                "seconds": test["StopSecond"],
            })  # fmt: skip
    table = pd.DataFrame(rows)
    print(f"sample endpoint {args.slots} slots x {args.service_ms:g} ms, P95 <= {args.p95_ms} ms, "
          f"tolerance {args.tolerance:g}% (resolution {resolution} users at the knee), "
          f"{args.probe_s} s a probe or step")  # fmt: skip
    print(table.to_string(index=False))
    seconds = table.set_index("mode")["seconds"]
    print(f"the search took {seconds['search'] / seconds['STAIRS']:.2f}x the STAIRS's seconds")


if __name__ == "__main__":
    main()
