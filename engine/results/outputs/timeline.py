"""The timeline as a table: one row per test-second, every test of the job on the job's clock; the CSV the
results folder holds (``timeline.csv``, the job's, and ``tests/N/timeline.csv``, each ended test's).

pandas builds it (its frames are what a user analyses the file with, and what the report's
charts read); the columns are the same for every run, but for the streamed, request-rate and
SLO columns, present only for a test that has them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loadrec.engine.measurement.health import LIMITS
from loadrec.engine.measurement.histograms import REPORTED_PERCENTILES
from loadrec.engine.measurement.metrics import TimelineRow
from loadrec.engine.results.model import Benchmark, JobResults

if TYPE_CHECKING:
    import pandas as pd


def timeline_csv(results: JobResults) -> str:
    """The job's timeline.csv: every test's seconds, one table."""
    import pandas as pd  # loaded here: a test's process never needs it

    frames = [frame for benchmark in results.benchmarks if len(frame := frame_of(results, benchmark))]
    timeline = pd.concat(frames, ignore_index=True) if frames else timeline_frame(0, "", [])
    return str(timeline.to_csv(index=False))


def ended_test_csv(results: JobResults, benchmark: Benchmark) -> str | None:
    """An ended test's own timeline.csv (None: it has no seconds, or has not ended)."""
    frame = frame_of(results, benchmark)
    return str(frame.to_csv(index=False)) if benchmark.status.finished and len(frame) else None


def frame_of(results: JobResults, benchmark: Benchmark) -> pd.DataFrame:
    """One test's seconds from ``results``, on the job's clock."""
    rows = list(results.timelines.get(benchmark.index, ()))
    return timeline_frame(benchmark.index, benchmark.label, rows, benchmark.start_epoch or 0.0)


def timeline_frame(index: int, label: str, rows: list[TimelineRow], start_epoch: float = 0.0) -> pd.DataFrame:
    """One test's per-second rows; ``epoch`` places them on the job's clock, across tests."""
    import pandas as pd  # loaded here: a test's process never needs it

    records = []
    for row in rows:
        record: dict[str, Any] = {
            "test": index,
            "configuration": label,
            "epoch": int(start_epoch) + row.second,
            "second": row.second,
            "users": row.users,
            "running_users": row.running_users,
            "workers": row.workers,
            "invocations": row.successes,
            "failures": row.failures,
        }
        for quantile in REPORTED_PERCENTILES:
            record[f"p{quantile:g}_ms"] = row.latency_ms.get(quantile)
        record["errors"] = ";".join(f"{k}={v}" for k, v in sorted(row.errors.items()))
        for name, values in (("ttft", row.ttft_ms), ("itl", row.itl_ms)):
            for quantile in REPORTED_PERCENTILES:
                record[f"{name}_p{quantile:g}_ms"] = None if values is None else values.get(quantile)
        record["output_tokens"] = row.output_tokens
        record["answer_tokens_per_s_p50"] = row.answer_tokens_per_second
        record["dropped"] = row.dropped
        record["good"], record["good_output_tokens"] = row.good, row.good_tokens
        for quantile in (50.0, 99.0):
            record[f"late_p{quantile:g}_ms"] = None if row.late_ms is None else row.late_ms.get(quantile)
        health = row.generator
        record |= {
            "cpu_percent": None if health is None else health.cpu_percent,
            "loop_lag_ms": None if health is None else health.lag_ms,
            "send_delay_ms": None if health is None else health.send_delay_ms,
            "held_ms": None if health is None else health.held_ms,
            "generator_bound": None if health is None else LIMITS.bound(health),
        }
        records.append(record)
    columns = ["test", "configuration", "epoch", "second", "users", "running_users", "workers"]
    columns += ["invocations", "failures"]
    columns += [f"p{q:g}_ms" for q in REPORTED_PERCENTILES] + ["errors"]
    if any(row.ttft_ms is not None for row in rows):  # a streamed endpoint's columns, only for one
        columns += [f"{name}_p{q:g}_ms" for name in ("ttft", "itl") for q in REPORTED_PERCENTILES]
        columns += ["output_tokens", "answer_tokens_per_s_p50"]
    if any(row.late_ms is not None for row in rows):  # a request-rate test's: drops and how late sends went
        columns += ["dropped", "late_p50_ms", "late_p99_ms"]
    if any(row.good is not None for row in rows):  # with an SLO: the requests that met it, and their tokens
        columns += ["good", "good_output_tokens"]
    columns += ["cpu_percent", "loop_lag_ms", "send_delay_ms", "held_ms", "generator_bound"]  # the generator's health
    return pd.DataFrame.from_records(records, columns=columns)
