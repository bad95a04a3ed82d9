"""The metrics endpoint's collector: what it reads from a results folder, exposed in Prometheus' text format
and parsed back with prometheus_client's own parser."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from loadrec.engine.job.limits import LimitsMode
from loadrec.engine.job.spec import parse_job
from loadrec.engine.measurement.health import Health
from loadrec.engine.measurement.recording import SecondStats
from loadrec.engine.results.files import ResultsFolder
from loadrec.engine.telemetry.prometheus import BUCKETS_S, RunCollector, metric_names
from tests.report_fixture import COMPLETED, REQUEST

START = 1_800_000_000


def folder_at(path: Path) -> ResultsFolder:
    path.mkdir()
    return ResultsFolder(path)


def second(offset: int, ok: int, latency_ms: float, errors: dict[str, int] | None = None) -> dict[str, object]:
    stats = SecondStats(START + offset, ok, sum((errors or {}).values()), Counter(errors or {}))
    for _ in range(ok):
        stats.histogram.record_value(int(latency_ms * 1000))
    stats.health = Health(cpu_percent=40.0, lag_ms=3.0)
    return stats.to_wire()


def scrape(collector: RunCollector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape: (name, sorted labels) → value, read back from the text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}  # fmt: skip


def labels(**extra: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"test": "0", "configuration": "ml.c5.large", **extra}.items()))


def test_a_running_test_is_exposed_as_its_seconds_file_grows(tmp_path: Path) -> None:
    spec = parse_job(copy.deepcopy(REQUEST), LimitsMode.RELAXED)
    folder = folder_at(tmp_path / "run")
    collector = RunCollector(spec, lambda: folder)
    assert ("loadrec_invocations_total", labels()) not in scrape(collector)  # nothing written yet
    journal = folder.open_journal(0, START)
    journal.write({"u": 0, "t": 2, "r": 2, "w": 0})
    journal.write(second(0, 10, 20.0))
    journal.write(second(1, 5, 80.0, {"timeout": 2}))
    found = scrape(collector)
    assert found[("loadrec_invocations_total", labels())] == 15
    assert found[("loadrec_failures_total", labels(kind="timeout"))] == 2
    assert found[("loadrec_target_users", labels())] == 2
    assert found[("loadrec_generator_cpu_percent", labels())] == 40.0
    assert found[("loadrec_generator_loop_lag_seconds", labels())] == 0.003
    below = {bound: found[("loadrec_latency_seconds_bucket", labels(le=f"{bound:g}"))] for bound in BUCKETS_S}
    assert (below[0.01], below[0.025], below[0.075], below[0.1]) == (0, 10, 10, 15)
    assert found[("loadrec_latency_seconds_count", labels())] == 15
    assert abs(found[("loadrec_latency_seconds_sum", labels())] - (10 * 0.020 + 5 * 0.080)) < 0.01
    journal.write(second(1, 3, 20.0))  # a second part of second 1 (another worker's): added, not replacing
    journal.write({"u": 2, "t": 4, "r": 3, "w": 0})
    found = scrape(collector)
    assert found[("loadrec_invocations_total", labels())] == 18
    assert (found[("loadrec_target_users", labels())], found[("loadrec_running_users", labels())]) == (4, 3)
    assert found[("loadrec_monitor_max_invocations", ())] == 30000
    assert found[("loadrec_monitor_latency_threshold_seconds", (("quantile", "0.95"),))] == 0.1


def test_the_status_the_window_and_a_new_run(tmp_path: Path) -> None:
    spec = parse_job(copy.deepcopy(REQUEST), LimitsMode.RELAXED)
    first, second_run = folder_at(tmp_path / "run-1"), folder_at(tmp_path / "run-2")
    current = [first]
    collector = RunCollector(spec, lambda: current[0])
    first.open_journal(0, START).write(second(0, 7, 20.0))
    first.write_benchmark(COMPLETED)
    found = scrape(collector)
    assert found[("loadrec_test_status", labels(status="COMPLETED"))] == 1
    assert found[("loadrec_test_stop_reason", labels(reason="flat invocations"))] == 1
    assert found[("loadrec_invocations_total", labels())] == 7
    current[0] = second_run  # the web UI's next START: its counters start from 0
    second_run.open_journal(0, START).write(second(0, 2, 20.0))
    found = scrape(collector)
    assert found[("loadrec_invocations_total", labels())] == 2
    assert ("loadrec_test_status", labels(status="COMPLETED")) not in found


def test_a_torn_line_is_skipped_and_every_family_is_named_once(tmp_path: Path) -> None:
    spec = parse_job(copy.deepcopy(REQUEST), LimitsMode.RELAXED)
    folder = folder_at(tmp_path / "run")
    folder.open_journal(0, START).write(second(0, 4, 20.0))
    with (folder.test_dir(0) / "seconds.jsonl").open("a") as stream:
        stream.write('{"s": 18000000\n')  # cut short by a killed process
    found = scrape(RunCollector(spec, lambda: folder))
    assert found[("loadrec_invocations_total", labels())] == 4
    names = list(metric_names())
    assert len(names) == len(set(names)) and all(name.startswith("loadrec_") for name in names)
