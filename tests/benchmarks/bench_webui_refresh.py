"""Web UI refresh benchmark: what one page refresh costs while an hour-long test runs.

The page asks for the run as it stands every second. Side by side, on the same results
folder (a test of 3,600 recorded seconds, 300 requests each, real HdrHistograms):
  a) rebuilding the results from the files, as ``loadrec describe`` does (every second
     decoded and its percentiles computed again);
  b) the web UI's way: each seconds file followed as it grows, rows computed once, so a
     refresh reads the one second appended since the last.
Target: b at least 50 x faster than a, so a refresh never holds up the page or the job.

    .venv/bin/python tests/benchmarks/bench_webui_refresh.py [--seconds 3600] [--refreshes 20]
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # a plain script: the repository root holds the tests' fixture

from loadrec.engine.job.limits import LimitsMode  # noqa: E402
from loadrec.engine.job.spec import parse_job  # noqa: E402
from loadrec.engine.load.settings import RunSettings  # noqa: E402
from loadrec.engine.measurement.metrics import Timeline  # noqa: E402
from loadrec.engine.measurement.outcome import Status  # noqa: E402
from loadrec.engine.measurement.recording import SecondStats  # noqa: E402
from loadrec.engine.results.files import ResultsFolder  # noqa: E402
from loadrec.engine.results.model import Benchmark  # noqa: E402
from loadrec.engine.running.manifest import load_results, new_manifest, write_manifest  # noqa: E402
from tests.report_fixture import REQUEST  # noqa: E402

START = 1_700_000_000


def second(offset: int, rng: random.Random) -> SecondStats:
    stats = SecondStats(START + offset, successes=300)
    for _ in range(300):
        stats.histogram.record_value(int(rng.lognormvariate(10.3, 0.3)))  # about 30 ms, in µs
    return stats


def build(folder: ResultsFolder, seconds: int) -> Timeline:
    spec = parse_job(copy.deepcopy(REQUEST), LimitsMode.RELAXED)
    manifest = new_manifest(spec, folder.path, RunSettings(limits=LimitsMode.RELAXED), START)
    write_manifest(folder, manifest)
    folder.write_benchmark(Benchmark(0, "ml.c5.large", Status.IN_PROGRESS, start_epoch=START, run_id=manifest.run_id))
    journal = folder.open_journal(0, START)
    timeline = Timeline(START, journal.write)
    rng = random.Random(7)
    for offset in range(seconds):
        timeline.add([second(offset, rng).to_wire()])
        timeline.set_users(offset, 1 + offset // 60, 1 + offset // 60)
    return timeline


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3600)
    parser.add_argument("--refreshes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="loadrec-bench-") as temporary:
        folder = ResultsFolder(Path(temporary))
        live = build(folder, args.seconds)
        rng = random.Random(11)
        follower = folder.follow_seconds(0)

        def refresh_page() -> object:
            return load_results(folder, running=True, read_timeline=lambda _: follower.read())

        cold = timed(refresh_page)
        full: list[float] = []
        incremental: list[float] = []
        for refresh in range(args.refreshes):
            live.add([second(args.seconds + refresh, rng).to_wire()])  # the second that just ended
            incremental.append(timed(refresh_page))
            if refresh < 3:  # slow: three are enough for a median
                full.append(timed(lambda: load_results(folder, running=True)))
        results = load_results(folder, running=True, read_timeline=lambda _: follower.read())
        assert len(results.timelines[0]) == args.seconds + args.refreshes  # both ways read every second
        assert results.timelines[0] == load_results(folder, running=True).timelines[0]
    a, b = statistics.median(full), statistics.median(incremental)
    print(f"a) rebuild from the files     {a * 1000:9.1f} ms per refresh (median of {len(full)})")
    print(f"b) followed, rows kept        {b * 1000:9.1f} ms per refresh (median of {len(incremental)});"
          f" first read {cold * 1000:.0f} ms")  # fmt: skip
    print(f"a/b = {a / b:.0f}  (target >= 50)")
    return 0 if a / b >= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
