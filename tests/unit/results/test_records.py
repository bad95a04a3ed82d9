"""Per-request records: the even sample, the check of what a worker sends, the file pandas reads."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from loadrec.engine.measurement import recording
from loadrec.engine.measurement.records import RecordsSummary, Sample, is_record, request_record
from loadrec.engine.results.aws import describe
from loadrec.engine.results.files import ResultsFolder
from loadrec.engine.results.model import Benchmark
from loadrec.engine.results.outputs.terminal import render_results
from tests.report_fixture import COMPLETED, fixture_results


def record(number: int, status: str = "ok") -> dict[str, Any]:
    return request_record(1000.0 + number, 1000.0 + number, 12.5, status, "host:1", 3.0, 1.5, 40, 8, True)


def numbers(sample: Sample) -> list[float]:
    return [json.loads(line)["intended"] - 1000 for line in sample.lines().splitlines()]


def test_every_request_is_kept_while_there_is_room() -> None:
    sample = Sample(limit=8)
    sample.add(record(k) for k in range(8))
    assert numbers(sample) == list(range(8)) and not sample.sampled
    assert {json.loads(line)["weight"] for line in sample.lines().splitlines()} == {1}


@pytest.mark.parametrize(
    ("offered", "kept", "weight"),
    [
        (9, [0, 2, 4, 6, 8], 2),  # the room is full: every other one is let go, every second one taken
        (16, [0, 2, 4, 6, 8, 10, 12, 14], 2),
        (17, [0, 4, 8, 12, 16], 4),
        (100, [0, 16, 32, 48, 64, 80, 96], 16),
    ],
)
def test_past_the_limit_the_records_stay_evenly_spread_and_weighted(offered: int, kept: list[int], weight: int) -> None:
    sample = Sample(limit=8)
    sample.add(record(k) for k in range(offered))
    assert numbers(sample) == kept and sample.seen == offered and sample.stride == weight
    assert sample.kept <= 8 and sample.sampled
    weights = [json.loads(line)["weight"] for line in sample.lines().splitlines()]
    assert set(weights) == {weight} and sum(weights) >= offered - weight  # they stand for every request


def test_the_limit_holds_added_in_any_batches() -> None:
    one, many = Sample(limit=64), Sample(limit=64)
    one.add(record(k) for k in range(10_000))
    for start in range(0, 10_000, 37):
        many.add(record(k) for k in range(start, min(start + 37, 10_000)))
    assert one.lines() == many.lines() and one.kept <= 64


@pytest.mark.parametrize(
    "damage",
    [{"status": 5}, {"latency_ms": float("nan")}, {"output_tokens": -1}, {"good": "yes"}, {"worker": "w" * 201},
     {"intended": True}, {"extra": 1}],
)  # fmt: skip
def test_a_record_that_is_not_loadrecs_is_refused(damage: dict[str, Any]) -> None:
    assert is_record(record(1)) and not is_record(record(1) | damage)
    assert not is_record([1]) and not is_record({k: v for k, v in record(1).items() if k != "good"})


def test_the_keeper_writes_a_file_pandas_reads_and_leaves_damage_out(tmp_path: Path) -> None:
    folder = ResultsFolder(tmp_path)
    keeper = folder.records_keeper(0, limit=100)
    keeper.offer([record(k) for k in range(3)])
    keeper.offer([record(3, "HTTP 500"), {"not": "a record"}])
    keeper.offer("junk")
    keeper.flush()
    path = tmp_path / "tests" / "0" / "records.jsonl.gz"
    frame = pd.read_json(path, lines=True)
    assert list(frame["status"]) == ["ok", "ok", "ok", "HTTP 500"] and set(frame["weight"]) == {1}
    assert list(frame.columns) == [*json.loads(json.dumps(record(0))), "weight"]
    summary = keeper.summary()
    assert summary == RecordsSummary("tests/0/records.jsonl.gz", 4, 4, 1, 100, damaged=2)
    keeper.offer([record(4)])
    keeper.flush()  # rewritten whole: the last file is complete
    assert len(gzip.decompress(path.read_bytes()).splitlines()) == 5
    assert keeper.summary(lost=3).to_dict()["Lost"] == 3 and "Lost" not in summary.to_dict()  # said when any


def test_the_summary_rides_the_tests_record_and_shows_in_describe_and_the_terminal() -> None:
    summary = RecordsSummary("tests/0/records.jsonl.gz", 100, 1600, 16, 100)
    again = Benchmark.from_json(replace(COMPLETED, records=summary).to_json())
    assert again.records == summary
    results = fixture_results((again,), timelines=False)
    shown = describe(results)["Loadrec"]["Tests"][0]["Records"]
    assert shown == {"File": "tests/0/records.jsonl.gz", "Records": 100, "Requests": 1600, "Weight": 16,
                     "Limit": 100, "Sampled": True}  # fmt: skip
    assert "records: 100 of 1,600 requests in tests/0/records.jsonl.gz (past 100, every 16th" in render_results(
        results)  # fmt: skip


def test_a_recorder_holds_records_to_its_bound_and_counts_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recording, "MAX_PENDING_RECORDS", 3)
    recorder = recording.SecondRecorder()
    for k in range(5):
        recorder.record_request(record(k))
    assert len(recorder.take_records()) == 3 and recorder.records_lost == 2
    recorder.record_request(record(5))
    assert recorder.take_records() == [record(5)] and recorder.take_records() == []
